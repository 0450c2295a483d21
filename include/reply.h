/*
 * reply: a client's reply made from what the engine has for it, the one
 * place every answering path (cache hit, resolver result, stale entry,
 * waiters, errors) goes through.
 *
 * A stored answer gets the client's ID, flags and question case, TTLs
 * aged by the time in cache, DNSSEC AD only when asked for (RFC 6840
 * §5.7), is cut to the size the client takes (TC), may gain additional
 * records (the MX hook), and carries OPT only if the query did. Stored
 * answers hold no OPT and, for clients without DO, no DNSSEC records
 * (query.c stores them so): a hit costs one copy, no parsing.
 */
#ifndef MXCACHE_REPLY_H
#define MXCACHE_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Appends records to a reply in pkt of len bytes, staying within limit;
 * returns the new length (query_hooks.additional). */
typedef size_t (*reply_additional_fn)(void *arg, const struct wire_query *q, uint8_t *pkt,
				      size_t len, size_t limit);

/* What the reply is made from: a stored answer, or (wire NULL) an error. */
struct reply_source {
	const uint8_t *wire;
	size_t len;
	uint32_t age; /* seconds the answer spent in cache */
	bool secure;
	unsigned rcode; /* the error's rcode when wire is NULL */
};

/* Builds the reply for q (over TCP when tcp) in out (cap bytes, at least
 * WIRE_MAX_MSG + WIRE_OPT_LEN); returns its length, 0 if there is none to
 * send. additional may be NULL. */
size_t reply_build(const struct wire_query *q, bool tcp, const struct reply_source *src,
		   reply_additional_fn additional, void *arg, uint8_t *out, size_t cap);

/* The rcode the client sees, for counting (inline: every reply asks). */
static inline unsigned
reply_rcode(const struct reply_source *src)
{
	return src->wire ? WIRE_RCODE(wire_get16(src->wire + 2)) : src->rcode;
}

#endif
