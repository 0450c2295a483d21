/*
 * query: one question's way through the resolver.
 *
 * parse + validate -> allow list -> cache -> (miss) in-flight table
 * (inflight.h) -> resolver (resolver.h) -> cache insert -> reply
 * (reply.h) to every client waiting on it.
 * Listeners hand packets in and get replies back through a query_client,
 * which hides whether the client is a UDP peer or a TCP connection.
 */
#ifndef MXCACHE_QUERY_H
#define MXCACHE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stats.h"

struct ev_loop;
struct ratelimit;
struct budget;
struct cache;
struct resolver;
struct acl;
struct stats;
struct query_engine;
struct query_client;
struct inflight_table;

struct query_client_ops {
	/* Sends one reply (the transport adds its own framing). */
	void (*deliver)(struct query_client *c, const uint8_t *pkt, size_t len);
	/* The engine keeps the client past the current call: a UDP peer is
	 * copied, a TCP connection referenced. */
	struct query_client *(*hold)(struct query_client *c);
	void (*release)(struct query_client *c);
};

struct query_client {
	const struct query_client_ops *ops;
	bool tcp;
	bool internal; /* the daemon asking itself: not counted as a client */
};

/* Who started an upstream lookup. */
enum query_origin {
	QUERY_CLIENT,  /* a client's cache miss */
	QUERY_CHASER,  /* fetched before anyone asked (MX-chaser) */
	QUERY_REFRESH, /* a popular entry about to expire */
};

enum query_prefetch_result {
	QUERY_PREFETCH_STARTED,
	QUERY_PREFETCH_CACHED,	/* fresh in the cache already */
	QUERY_PREFETCH_RUNNING, /* a lookup for it is in flight */
	QUERY_PREFETCH_FULL,	/* too many background lookups at once */
	QUERY_PREFETCH_ZONE,	/* the question's zone used its background budget */
};

struct cache_key;
struct wire_query;

/* Where other modules plug into the pipeline (main wires the chaser here). */
struct query_hooks {
	/* An upstream answer, in stored form, after its clients were answered;
	 * tag: the background lookup's tag (0: a client's or untagged). */
	void (*answered)(void *arg, const struct cache_key *key, const uint8_t *wire, size_t len,
			 bool secure, unsigned tag);
	/* May append additional records to a reply being built in pkt (cap
	 * bytes) as long as it stays within limit; returns the new length. */
	size_t (*additional)(void *arg, const struct wire_query *q, uint8_t *pkt, size_t len,
			     size_t limit);
	void *arg;
	/* clients (one or more) got SERVFAIL for key; detail may be NULL. */
	void (*servfail)(void *arg, const struct cache_key *key, enum stats_servfail why,
			 const char *detail, size_t clients);
	void *servfail_arg;
	/* A client was answered from an entry a background lookup tagged. */
	void (*tagged_hit)(void *arg, unsigned tag);
};

struct query_options {
	uint32_t min_ttl;	   /* clamps positive TTLs from below */
	uint32_t max_ttl;	   /* clamps positive TTLs from above */
	uint32_t max_negative_ttl; /* clamps RFC 2308 negative TTLs */
	unsigned timeout_ms;	   /* a client waits at most this long */
	size_t max_inflight;	   /* distinct upstream lookups at once */
	size_t max_waiters;	   /* clients sharing one lookup */
	size_t max_background;	   /* chaser and refresh lookups at once */
	unsigned jostle_ms;	   /* with the table full, older lookups give way */
	bool refresh;		   /* refresh MX and prefetched entries near expiry */
	bool serve_stale;	   /* answer from expired entries when upstream fails */
	uint32_t stale_ttl;	   /* TTL of such answers (RFC 8767: 30 s) */
	unsigned stale_client_ms;  /* then a waiting client gets a stale entry (0: off) */
};

struct query_engine *query_new(struct ev_loop *loop, const struct query_options *opts,
			       struct cache *cache, struct resolver *res, const struct acl *acl,
			       struct stats *stats);

/* Answers every waiting client with SERVFAIL and cancels the lookups. */
void query_free(struct query_engine *qe);

/* Handles one packet from peer; the reply may be delivered before this
 * returns (cache hit, error) or later (upstream). */
void query_handle(struct query_engine *qe, struct query_client *client, const struct sockaddr *peer,
		  const uint8_t *pkt, size_t len);

size_t query_inflight(const struct query_engine *qe);

/* The in-flight table (include/inflight.h): tests run its timers. */
struct inflight_table *query_table(const struct query_engine *qe);

/* Clients waiting for an upstream answer, all lookups together. */
size_t query_waiting(const struct query_engine *qe);

/* Whether the allow list in force lets peer use the resolver (TCP
 * listeners ask before they read anything). */
bool query_allowed(const struct query_engine *qe, const struct sockaddr *peer);

/* Replaced on reload; the engine does not own them. */
void query_set_acl(struct query_engine *qe, const struct acl *acl);
void query_set_options(struct query_engine *qe, const struct query_options *opts);
/* UDP queries over the limit are dropped (NULL: no limit). */
void query_set_ratelimit(struct query_engine *qe, struct ratelimit *rl);
/* Lookups are charged to their zone's budget (NULL: no per-zone limits). */
void query_set_budget(struct query_engine *qe, struct budget *budget);

void query_set_hooks(struct query_engine *qe, const struct query_hooks *hooks);

/* The cache key flags (CACHE_KEY_DO, CACHE_KEY_CD) of what q asks for. */
uint8_t query_key_flags(const struct wire_query *q);

/* Starts a background lookup for key unless it is cached and fresh or
 * already in flight; no client waits for it, the answer goes to the cache
 * with tag (CACHE_ANSWER_TAG, 0: none) so hits on it can be told apart. */
enum query_prefetch_result query_prefetch(struct query_engine *qe, const struct cache_key *key,
					  enum query_origin origin, unsigned tag);

#endif
