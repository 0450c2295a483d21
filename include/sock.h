/*
 * sock: small socket helpers shared by the listeners, stream and the
 * config parser: addresses parsed and printed, client keys, binding, and
 * which accept() errors mean "out of descriptors" (in the spirit of Redis's
 * anet.c). Errors are returned, not logged.
 */
#ifndef MXCACHE_SOCK_H
#define MXCACHE_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SOCK_ADDR_TEXT 64

struct sock_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* "192.0.2.1", "192.0.2.1@5353", "::1@53"; false if malformed. */
bool sock_parse_addr(const char *text, uint16_t default_port, struct sock_addr *out);

/* "192.0.2.1@53" / "::1@53" */
void sock_addr_text(const struct sockaddr *sa, char *out, size_t cap);

bool sock_is_wildcard(const struct sockaddr *sa);

/* What names one client in per-client limits: an IPv4 address, or an IPv6
 * /64 (one host's share of a network, as RRL counts it). Writes the key,
 * returns its length; 0 for other families. */
#define SOCK_CLIENT_KEY 9
size_t sock_client_key(const struct sockaddr *sa, uint8_t key[SOCK_CLIENT_KEY]);

/* How long a listener stops accepting once descriptors run out: the
 * waiting connection keeps the socket readable, and retrying at once
 * would spin. */
#define SOCK_ACCEPT_BACKOFF 0.1

/* Is this accept() errno "out of descriptors" (back off) rather than a
 * connection that went away (carry on)? */
bool sock_accept_exhausted(int err);

/* A non-blocking, close-on-exec socket of the given type bound to addr
 * (listening, for SOCK_STREAM); -1 with err set on failure. */
int sock_bind(const struct sock_addr *addr, int type, char *err, size_t errlen);

#endif
