/*
 * notify: tells the service manager how the daemon is doing, with the
 * datagram protocol of sd_notify(3) on $NOTIFY_SOCKET: READY=1 once it
 * answers, RELOADING=1 and READY=1 around a reload, STOPPING=1 when it
 * drains, STATUS= a line for `systemctl status` (refreshed every few
 * seconds), and WATCHDOG=1 keep-alives at half of $WATCHDOG_USEC. Without
 * $NOTIFY_SOCKET nothing is sent.
 */
#ifndef MXCACHE_NOTIFY_H
#define MXCACHE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct notify;

/* Writes a one-line status (no newline) into buf. */
typedef void (*notify_status_fn)(void *arg, char *buf, size_t len);

/* Reads $NOTIFY_SOCKET and $WATCHDOG_USEC (ours only if $WATCHDOG_PID is
 * unset or names this process: call it in the process that will run).
 * NULL with err set when the variable is there but unusable; a missing
 * variable is no error. */
struct notify *notify_new(struct ev_loop *loop, notify_status_fn status, void *arg, char *err,
			  size_t errlen);
void notify_free(struct notify *n);

/* Sends one message ("READY=1"); false when it could not be sent. The
 * status line and the watchdog keep-alives start with the first message. */
bool notify_send(struct notify *n, const char *msg);

/* Whether a service manager listens, and its watchdog interval (0: none). */
bool notify_enabled(const struct notify *n);
uint64_t notify_watchdog_us(const struct notify *n);

#endif
