/*
 * freshness: the pipeline's decisions about time and failure, as pure
 * functions (no clock, no state), so the rules are tested on their own:
 * how long an answer may be cached (RFC 2308 for negative ones), when a
 * hit refreshes its entry, which upstream lane the refresh asks,
 * what an upstream result means for the clients waiting on it, and when a
 * waiting client is answered from a stale entry (RFC 8767).
 */
#ifndef MXCACHE_FRESHNESS_H
#define MXCACHE_FRESHNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver.h"

/* NXDOMAIN, or NOERROR without a record of qtype at the end of the
 * answer's CNAME chain (NODATA): RFC 2308's negative answers. */
bool freshness_negative(const uint8_t *wire, size_t len, uint16_t qtype);

/* How long an answer (stored form) may be cached, 0 for not at all: for a
 * negative one, min(SOA TTL, SOA MINIMUM, the chain's TTLs) up to
 * max_negative_ttl (no SOA: 0, RFC 2308 §5); else the smallest record TTL
 * within [min_ttl, max_ttl]; rcodes other than NOERROR/NXDOMAIN: 0. */
uint32_t freshness_ttl(const uint8_t *wire, size_t len, bool negative, uint32_t min_ttl,
		       uint32_t max_ttl, uint32_t max_negative_ttl);

/* A hit at now_ms on an entry stored at stored_ms and expiring at
 * expires_ms refreshes it when the entry is worth keeping warm and the
 * hit falls in the last tenth of its TTL. */
bool freshness_refresh_due(uint64_t stored_ms, uint64_t expires_ms, uint64_t now_ms, bool worth);

/* The lane a refresh asks: not the one that fetched the entry, whose
 * message cache would hand back the same ageing copy. */
enum resolver_lane freshness_refresh_lane(enum resolver_lane fetched_by);

enum freshness_outcome {
	FRESHNESS_ANSWER, /* cache it, answer the clients */
	FRESHNESS_FAILED, /* no usable answer: stale entry if any, else SERVFAIL */
	FRESHNESS_BOGUS,  /* failed validation: SERVFAIL, never a stale entry */
};

/* What became of a lookup: ok, libunbound returned a message; bogus, it
 * failed validation; cd, the clients disabled validation; usable, the
 * message answers the question; rcode, its rcode. */
enum freshness_outcome freshness_outcome(bool ok, bool bogus, bool cd, bool usable, unsigned rcode);

/* When a client that started waiting at start_ms may be answered stale
 * (the client-response timer), 0 for never: only with serve-stale on and
 * a timer shorter than the client's timeout. */
uint64_t freshness_stale_at(uint64_t start_ms, unsigned timeout_ms, unsigned stale_timeout_ms,
			    bool serve_stale);

enum freshness_wait {
	FRESHNESS_WAIT,	     /* nothing to do yet */
	FRESHNESS_TRY_STALE, /* answer stale if there is a stale entry, else wait on */
	FRESHNESS_EXPIRED,   /* the client's deadline: stale entry if any, else SERVFAIL */
};

/* A waiting client at now_ms, given its deadline, its stale time (see
 * freshness_stale_at) and whether a stale entry may still be there. */
enum freshness_wait freshness_waiter(uint64_t deadline_ms, uint64_t stale_ms, uint64_t now_ms,
				     bool stale_possible);

/* When that client's next event is due. */
uint64_t freshness_waiter_next(uint64_t deadline_ms, uint64_t stale_ms, bool stale_possible);

#endif
