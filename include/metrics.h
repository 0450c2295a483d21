/*
 * metrics: a Prometheus scrape endpoint (GET /metrics, HTTP/1.0 and 1.1)
 * on the daemon's loop, serving the same exposition as
 * `mxcache-ctl --prometheus stats` (see prom.h). Clients outside the allow
 * list are closed on; each connection gets one answer, then
 * "Connection: close"; the request head, the time to send it and the
 * number of connections are bounded.
 */
#ifndef MXCACHE_METRICS_H
#define MXCACHE_METRICS_H

#include <stddef.h>

#define METRICS_MAX_HEAD 8192
#define METRICS_MAX_CONNS 16
#define METRICS_HEAD_TIMEOUT 5.0 /* seconds to send a complete request head */

struct ev_loop;
struct acl;
struct control_ctx;
struct sock_addr;
struct metrics;

enum metrics_verdict {
	METRICS_INCOMPLETE, /* no end of the head yet: read more */
	METRICS_OK,	    /* GET or HEAD /metrics */
	METRICS_BAD,	    /* 400: malformed, or no end within METRICS_MAX_HEAD */
	METRICS_METHOD,	    /* 405: a method other than GET and HEAD */
	METRICS_NOT_FOUND,  /* 404: a path other than /metrics */
};

struct metrics_request {
	size_t head_len; /* bytes up to and including the blank line */
	int head_only;	 /* HEAD: headers without the body */
};

/* Reads an HTTP request head from buf (not NUL-terminated); pure, for
 * fuzzing. req is filled for every verdict but METRICS_INCOMPLETE. */
enum metrics_verdict metrics_parse_request(const char *buf, size_t len,
					   struct metrics_request *req);

/* Listens on addr; answers from the control socket's "stats" (ctx is
 * copied); acl is the daemon's allow list (loopback is in it). */
struct metrics *metrics_new(struct ev_loop *loop, const struct sock_addr *addr,
			    const struct acl *acl, const struct control_ctx *ctx, char *err,
			    size_t errlen);

/* After a reload: the allow list to check new connections against. */
void metrics_set_acl(struct metrics *m, const struct acl *acl);

void metrics_free(struct metrics *m);

#endif
