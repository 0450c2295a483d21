/*
 * l2: the shared cache tier, a resolver (resolver.h) in front of
 * recursion that asks Redis first, so a fleet of relays shares one warm
 * cache.
 *
 * resolve sends one GET (pipelined on one connection, or on the
 * --redis-read replica's) and waits at most timeout_ms: a verified hit
 * (l2value.h) is answered from the reply, anything else (a miss, a value
 * that fails verification and is deleted, an error, the deadline, Redis
 * down) goes on to the next resolver as if the tier were not there. A
 * late reply is dropped. store writes what the engine cached with a
 * Redis expiry of its lifetime. Everything is bounded: GETs in flight,
 * bytes of writes not yet acknowledged (more are dropped and counted),
 * value size. A lost or stalled connection is dropped and made again with
 * exponential back-off; one log line per change of state.
 */
#ifndef MXCACHE_L2_H
#define MXCACHE_L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver.h"
#include "stats.h"

struct ev_loop;
struct json_t;
struct l2;

#define L2_DEFAULT_PORT 6379
#define L2_MAX_GETS 1024	      /* GETs awaiting a reply; more go straight on */
#define L2_MAX_WRITE_BYTES (1u << 20) /* writes sent and not yet acknowledged */
#define L2_MAX_VALUE 16384	      /* larger answers are not shared */

struct l2_options {
	char *addr;	   /* --redis: ADDR[@PORT] or unix:PATH; NULL: no tier */
	char *read_addr;   /* --redis-read: a replica for GETs (NULL: addr) */
	char *secret_file; /* --redis-secret */
	unsigned timeout_ms;
};

/* Counters, bumped on the loop thread ("l2.*" in the stats). */
struct l2_stats {
	uint64_t hits;
	uint64_t misses; /* not there, expired, or not asked (GETs at their bound) */
	uint64_t stores;
	uint64_t errors;	   /* error replies, lost connections */
	uint64_t timeouts;	   /* no reply within timeout_ms */
	uint64_t rejected;	   /* values that failed verification (deleted) */
	uint64_t dropped;	   /* writes not sent: Redis down, slow, or the value too large */
	struct stats_hist latency; /* GET to reply, microseconds */
};

/* Whether text is ADDR[@PORT] or unix:PATH (for the option table). */
bool l2_valid_addr(const char *text);

/* The tier in front of next; anchor_id/validating describe the trust
 * anchor in force (persist_anchor_id). Reads the secret file (before
 * privileges are dropped); NULL with err set if it is unusable. */
struct l2 *l2_new(struct ev_loop *loop, const struct l2_options *opts, struct resolver *next,
		  uint64_t anchor_id, bool validating, char *err, size_t errlen);
/* Cancels what waits on Redis (its callbacks never run), closes. */
void l2_free(struct l2 *l2);

struct resolver *l2_resolver(struct l2 *l2);

/* SIGHUP: a new timeout applies at once, a new address reconnects. */
void l2_set_options(struct l2 *l2, const struct l2_options *opts);

/* The counters ("l2.*" and "latency_l2_us" in the stats), zeros when l2
 * is NULL: the keys always exist. */
void l2_get_stats(const struct l2 *l2, struct l2_stats *st);
/* Whether the connection to --redis is up (reads: the one to the
 * --redis-read replica); false when l2 is NULL. */
bool l2_up(const struct l2 *l2, bool reads);
void l2_stats_reset(struct l2 *l2);

#endif
