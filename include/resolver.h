/*
 * resolver: the seam between the query engine and whatever answers a
 * question the cache could not.
 *
 * The engine holds a struct resolver * and never knows what is behind it:
 * upstream (libunbound recursion) in the daemon, a fake in the unit tests.
 * A tier may sit in front of another (a shared cache, say): its resolve
 * either answers through cb itself or forwards the question to the next
 * resolver with a callback of its own, and its cancel cancels whichever
 * it is waiting on. The contract every implementation keeps: cb runs
 * later, on the loop thread, exactly once, unless cancel came first;
 * never from within resolve (a tier with the answer at hand defers it).
 * A tier that keeps answers implements store: the engine shows it every
 * answer it caches that recursion (not a tier) produced.
 */
#ifndef MXCACHE_RESOLVER_H
#define MXCACHE_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A hint for recursion: which of upstream's caches to go through. */
enum resolver_lane {
	RESOLVER_MAIN,	/* client lookups and the chaser */
	RESOLVER_SPARE, /* refreshes of entries the main lane fetched */
	RESOLVER_LANES,
};

struct resolver_question {
	const uint8_t *name; /* uncompressed wire form, lowercased */
	size_t name_len;
	uint16_t qtype;
	uint16_t qclass;
	uint8_t flags; /* CACHE_KEY_*: what the clients asked for (DO, CD) */
	enum resolver_lane lane;
	bool refresh; /* the cache's entry is near expiry: only a fresher answer helps */
};

struct resolver_result {
	bool ok;	    /* false: no answer (timeout, network, internal error) */
	const uint8_t *pkt; /* the whole answer message; NULL when !ok */
	size_t len;
	bool secure;
	bool bogus;
	const char *why_bogus;
	enum resolver_lane lane; /* the lane that answered */
	bool cached;		 /* a cache tier answered, not recursion */
};

typedef void (*resolver_cb)(void *arg, const struct resolver_result *res);

struct resolver;
struct resolver_req; /* an implementation's handle on one lookup */

struct resolver_ops {
	/* Starts a lookup; NULL if it could not be started (cb never runs). */
	struct resolver_req *(*resolve)(struct resolver *r, const struct resolver_question *q,
					resolver_cb cb, void *arg);
	/* Forgets a lookup: its cb will not run. NULL is a no-op. */
	void (*cancel)(struct resolver *r, struct resolver_req *req);
	/* Optional: the engine cached pkt (stored form) for ttl seconds and
	 * keeps it linger seconds longer for serve-stale; secure: validated. */
	void (*store)(struct resolver *r, const struct resolver_question *q, const uint8_t *pkt,
		      size_t len, uint32_t ttl, uint32_t linger, bool secure);
};

/* Embedded first in each implementation's own struct. */
struct resolver {
	const struct resolver_ops *ops;
};

static inline struct resolver_req *
resolver_resolve(struct resolver *r, const struct resolver_question *q, resolver_cb cb, void *arg)
{
	return r->ops->resolve(r, q, cb, arg);
}

static inline void
resolver_cancel(struct resolver *r, struct resolver_req *req)
{
	r->ops->cancel(r, req);
}

static inline void
resolver_store(struct resolver *r, const struct resolver_question *q, const uint8_t *pkt,
	       size_t len, uint32_t ttl, uint32_t linger, bool secure)
{
	if (r->ops->store)
		r->ops->store(r, q, pkt, len, ttl, linger, secure);
}

#endif
