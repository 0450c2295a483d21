/*
 * query: one question's way through the resolver.
 *
 * parse + validate -> allow list -> cache -> (miss) in-flight table ->
 * upstream -> cache insert -> reply to every client waiting on it.
 * Listeners hand packets in and get replies back through a query_client,
 * which hides whether the client is a UDP peer or a TCP connection.
 */
#ifndef MXCACHE_QUERY_H
#define MXCACHE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;
struct cache;
struct upstream;
struct acl;
struct stats;
struct query_engine;
struct query_client;

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
};

struct query_options {
	uint32_t min_ttl;          /* clamps positive TTLs from below */
	uint32_t max_ttl;          /* clamps positive TTLs from above */
	uint32_t max_negative_ttl; /* clamps RFC 2308 negative TTLs */
	unsigned timeout_ms;       /* a client waits at most this long */
	size_t max_inflight;       /* distinct upstream lookups at once */
	size_t max_waiters;        /* clients sharing one lookup */
};

struct query_engine *query_new(struct ev_loop *loop, const struct query_options *opts,
			       struct cache *cache, struct upstream *up, const struct acl *acl,
			       struct stats *stats);

/* Answers every waiting client with SERVFAIL and cancels the lookups. */
void query_free(struct query_engine *qe);

/* Handles one packet from peer; the reply may be delivered before this
 * returns (cache hit, error) or later (upstream). */
void query_handle(struct query_engine *qe, struct query_client *client,
		  const struct sockaddr *peer, const uint8_t *pkt, size_t len);

size_t query_inflight(const struct query_engine *qe);

#endif
