/*
 * notify: see include/notify.h.
 */
#include "notify.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define NOTIFY_STATUS_SECONDS 5.0

struct notify {
	int fd; /* -1: no service manager listening */
	struct sockaddr_un addr;
	socklen_t addrlen;
	uint64_t watchdog_us;
	struct ev_loop *loop;
	ev_timer beat;
	notify_status_fn status;
	void *arg;
};

static uint64_t notify_watchdog(void);
static void notify_beat(struct ev_loop *loop, ev_timer *w, int revents);

/* systemd's rule: WATCHDOG_USEC applies to us only if WATCHDOG_PID is
 * unset or names this process. */
static uint64_t
notify_watchdog(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	if (!usec || (pid && strtol(pid, NULL, 10) != (long)getpid()))
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	return errno || *end != '\0' ? 0 : (uint64_t)v;
}

struct notify *
notify_new(struct ev_loop *loop, notify_status_fn status, void *arg, char *err, size_t errlen)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct notify *n = calloc(1, sizeof(*n));
	size_t len;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->fd = -1;
	n->loop = loop;
	n->status = status;
	n->arg = arg;
	if (!path || !*path)
		return n;
	len = strlen(path);
	/* A path, or "@name" in the abstract namespace (a leading NUL). */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(n->addr.sun_path)) {
		snprintf(err, errlen, "NOTIFY_SOCKET '%s': not a socket path", path);
		goto fail;
	}
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0';
	n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "NOTIFY_SOCKET: %s", strerror(errno));
		goto fail;
	}
	n->watchdog_us = notify_watchdog();
	double every = n->watchdog_us ? (double)n->watchdog_us / 2e6 : NOTIFY_STATUS_SECONDS;
	if (every > NOTIFY_STATUS_SECONDS)
		every = NOTIFY_STATUS_SECONDS;
	ev_timer_init(&n->beat, notify_beat, every, every);
	n->beat.data = n;
	return n;
fail:
	free(n);
	return NULL;
}

void
notify_free(struct notify *n)
{
	if (!n)
		return;
	if (n->fd >= 0) {
		ev_timer_stop(n->loop, &n->beat);
		close(n->fd);
	}
	free(n);
}

bool
notify_enabled(const struct notify *n)
{
	return n->fd >= 0;
}

uint64_t
notify_watchdog_us(const struct notify *n)
{
	return n->watchdog_us;
}

bool
notify_send(struct notify *n, const char *msg)
{
	size_t len = strlen(msg);

	if (n->fd < 0)
		return true;
	if (!ev_is_active(&n->beat))
		ev_timer_start(n->loop, &n->beat);
	return sendto(n->fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&n->addr,
		      n->addrlen) == (ssize_t)len;
}

static void
notify_beat(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct notify *n = w->data;
	char msg[256] = "STATUS=";

	(void)loop;
	(void)revents;
	if (n->watchdog_us)
		(void)notify_send(n, "WATCHDOG=1");
	if (n->status) {
		n->status(n->arg, msg + 7, sizeof(msg) - 7);
		(void)notify_send(n, msg);
	}
}
