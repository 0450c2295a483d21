/*
 * control: the operator's JSON socket. A Unix stream socket on the loop,
 * newline-delimited JSON: one request object per line, one answer object
 * per line, errors as {"error": "..."} with the connection kept open.
 */
#ifndef MXCACHE_CONTROL_H
#define MXCACHE_CONTROL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_MAX_LINE (64 * 1024)
/* Output queued for one client past which it is cut off; answers are
 * built to fit (a dump says "truncated" instead). */
#define CONTROL_MAX_OUTPUT (16 * 1024 * 1024)

struct ev_loop;
struct cache;
struct stats;
struct upstream;
struct l2;
struct query_engine;
struct chaser;
struct control;

/* What the commands read and act on. */
struct control_ctx {
	struct ev_loop *loop;
	struct stats *stats;
	struct cache *cache;
	struct upstream *up;
	struct l2 *l2; /* NULL without --redis: its stats are zeros */
	struct query_engine *qe;
	struct chaser *chaser; /* NULL: no chaser counters */
	uint64_t started_us;
};

/* Listens on path (mode 0660), replacing a stale socket left by a crash
 * but refusing to take over one a live daemon still answers on. */
struct control *control_new(struct ev_loop *loop, const char *path, const struct control_ctx *ctx,
			    char *err, size_t errlen);
void control_free(struct control *ctl);

/* The socket's directory if control_new created it (NULL otherwise): a
 * daemon that drops root hands it over, to be able to remove the socket. */
const char *control_made_dir(const struct control *ctl);

/* The numbers the stats key table points into, as of now. */
struct stats_view;
void control_stats_view(const struct control_ctx *ctx, struct stats_view *v);

/* Answers one request line; never NULL. Commands that wait on lookups
 * (route, spf) need a connection and answer an error here. */
json_t *control_dispatch(const struct control_ctx *ctx, const char *line, size_t len);

#endif
