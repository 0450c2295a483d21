/*
 * inflight: the lookups the engine has out with its resolver, found by
 * question, each with the clients waiting on it.
 *
 * One lookup per distinct question: identical questions join it. The
 * table charges every lookup to its zone's budget while it runs, keeps
 * them oldest first (who gives way when the table is full, see query.c's
 * jostle), and runs one timer per lookup that follows its oldest waiter
 * (stale time, then deadline) and, once nobody waits, how long it may run
 * on to fill the cache. What to answer a waiter is the engine's business:
 * the table hands waiters out and the expire callback back.
 */
#ifndef MXCACHE_INFLIGHT_H
#define MXCACHE_INFLIGHT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "cache.h"
#include "query.h"
#include "resolver.h"
#include "wire.h"

struct inflight_table;

struct inflight_waiter {
	struct inflight_waiter *next;
	struct query_client *client; /* held (query_client_ops.hold) */
	uint64_t start_us;
	uint64_t deadline_ms;
	uint64_t stale_ms; /* may be answered stale from then on (0: never) */
	struct wire_query q;
};

struct inflight {
	struct inflight *hnext;
	struct inflight_table *table;
	struct cache_kbytes k; /* the question encoded and hashed: the table's key */
	uint64_t started_us;
	struct cache_key key; /* key.name points at name */
	uint8_t name[WIRE_MAX_NAME];
	struct inflight_waiter *waiters; /* in arrival order */
	struct inflight_waiter **tail;
	size_t nwaiters;
	struct resolver_req *req; /* NULL once the resolver answered or was cancelled */
	enum query_origin origin;
	uint8_t tag;   /* background lookups: CACHE_ANSWER_TAG of the answer */
	uint64_t zone; /* what the budget charged this lookup to */
	struct inflight *older, *newer;
	enum resolver_lane lane;
	bool no_stale; /* a waiter's stale timer found no stale entry */
	ev_timer timer;
};

/* expire runs when a lookup's timer is due (see inflight_arm). */
struct inflight_table *inflight_new(struct ev_loop *loop,
				    void (*expire)(void *arg, struct inflight *f), void *arg);
/* The arg given to inflight_new, from one of its lookups. */
void *inflight_owner(const struct inflight *f);
/* Frees the table; the engine empties it first. */
void inflight_free(struct inflight_table *t);

/* Lookups are charged to their zone's budget (NULL: no per-zone limits). */
void inflight_set_budget(struct inflight_table *t, struct budget *budget);

struct inflight *inflight_find(const struct inflight_table *t, const struct cache_kbytes *k);

/* Charges the budget and adds a lookup for key (no waiter, no timer, no
 * request yet); NULL with *why set when the budget says no, or with
 * BUDGET_OK when memory ran out. */
struct inflight *inflight_start(struct inflight_table *t, const struct cache_key *key,
				const struct cache_kbytes *k, enum query_origin origin,
				uint64_t now_us, enum budget_verdict *why);

/* Adds a waiting client (held); false if memory or the client's hold failed. */
bool inflight_join(struct inflight *f, struct query_client *c, const struct wire_query *q,
		   uint64_t start_us, uint64_t deadline_ms, uint64_t stale_ms);

/* Takes the oldest waiter off f (NULL if none); free it with
 * inflight_waiter_free once answered. */
struct inflight_waiter *inflight_pop(struct inflight *f);
void inflight_waiter_free(struct inflight_waiter *w);

/* Sets f's timer: the oldest waiter's next event, or with none left,
 * orphan_ms after the lookup started. */
void inflight_arm(struct inflight *f, uint64_t now_ms, uint64_t orphan_ms);

/* Unlinks f, gives its budget back and frees it; its waiters must be
 * gone and its request finished or cancelled. */
void inflight_remove(struct inflight *f, uint64_t now_ms);

/* The lookup that has run longest, NULL when the table is empty. */
struct inflight *inflight_oldest(const struct inflight_table *t);

/* The zone a question would be charged to (0 without a budget). */
uint64_t inflight_zone(const struct inflight_table *t, const struct cache_key *key);
/* Whether a client lookup in zone would be admitted (budget_peek). */
enum budget_verdict inflight_admits(const struct inflight_table *t, uint64_t zone,
				    uint64_t now_ms);

/*
 * With the table full, the lookup that should give way to a new client
 * question in zone, or NULL. Unbound's jostle, made fair: among the
 * INFLIGHT_VICTIMS oldest lookups, a background one if any, else the one
 * whose zone holds the most; it must have run jostle_us, unless its zone
 * holds INFLIGHT_HEAVY times more than the question's. So a flood spread
 * over a few zones gives way to everyone else's questions, and cannot
 * jostle another zone's lookups faster than they complete.
 */
#define INFLIGHT_VICTIMS 32
#define INFLIGHT_HEAVY 8
struct inflight *inflight_victim(const struct inflight_table *t, uint64_t zone, uint64_t now_us,
				 uint64_t jostle_us);

size_t inflight_count(const struct inflight_table *t);
size_t inflight_background(const struct inflight_table *t);
/* Clients waiting, all lookups together. */
size_t inflight_waiting(const struct inflight_table *t);

#endif
