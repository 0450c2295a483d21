/*
 * wire_write: writing and editing DNS messages (RFC 1035, RFC 6891).
 *
 * The stored form of an answer (copied, names compressed again, DNSSEC
 * records dropped), the in-place edits a cache needs (aging TTLs,
 * trimming to size), queries, OPT records and error replies. Reading is
 * wire.h. No allocation, no logging. Every function costs at most a small
 * constant per byte it reads or writes.
 */
#ifndef MXCACHE_WIRE_WRITE_H
#define MXCACHE_WIRE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Subtracts elapsed seconds from every TTL (not OPT's), flooring at 0; a
 * TTL of 2^31 or more counts as 0 (RFC 2181 §8). */
bool wire_age_ttls(uint8_t *pkt, size_t len, uint32_t elapsed);

/* Sets every TTL (not OPT's) to ttl, as a stale answer has (RFC 8767). */
bool wire_set_ttls(uint8_t *pkt, size_t len, uint32_t ttl);
/* Puts every TTL (not OPT's) into [lo, hi], as the cache's TTL clamps
 * demand of what clients see. */
bool wire_clamp_ttls(uint8_t *pkt, size_t len, uint32_t lo, uint32_t hi);

/* Types of records wire_copy can leave out. */
#define WIRE_DROP_OPT 1u
#define WIRE_DROP_DNSSEC 2u /* RRSIG, NSEC, NSEC3, and DS outside the answer */

/*
 * Copies a response, leaving out the records selected by drop, names
 * decompressed and compressed again so the copy stays valid whatever was
 * removed. Returns the copy's length, or 0 if the input is malformed or
 * the copy does not fit in cap.
 */
size_t wire_copy(const uint8_t *in, size_t len, unsigned drop, uint8_t *out, size_t cap);

/*
 * What compressing cost: names written, their labels, and probes of the
 * suffix table. Each label costs at most 2 * WIRE_SUFFIX_PROBES probes
 * (one lookup, one insertion), so a copy's work is linear in the labels it
 * writes; tests and fuzz_response check that bound.
 */
#define WIRE_SUFFIX_PROBES 8u
struct wire_work {
	size_t names;
	size_t labels;
	size_t probes;
};

/* wire_copy, adding its work to *work. */
size_t wire_copy_work(const uint8_t *in, size_t len, unsigned drop, uint8_t *out, size_t cap,
		      struct wire_work *work);

/*
 * Makes a response fit in limit bytes (limit >= header + question):
 * drops the additional section first (no TC, RFC 2181 §9), then, if the
 * rest still does not fit (or cannot be walked), keeps only the question
 * and sets TC. The OPT goes with the additional section: a caller answering
 * an EDNS query passes limit - WIRE_OPT_LEN and adds it back.
 * Returns the new length.
 */
size_t wire_truncate(uint8_t *pkt, size_t len, size_t limit);

/* Appends an OPT record (no options); returns the new length or 0. */
size_t wire_add_opt(uint8_t *pkt, size_t len, size_t cap, uint16_t udp_size, bool dnssec_ok,
		    uint8_t ext_rcode);

/* A query for name/qtype (class IN) with the given header flags (RD...),
 * and an OPT advertising udp_size when edns; returns the length or 0. */
size_t wire_build_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags, const uint8_t *name,
			size_t name_len, uint16_t qtype, bool edns, uint16_t udp_size,
			bool dnssec_ok);

/* An answer carrying only the question (if parsed) and rcode; an OPT is
 * added when the query had one. Returns the length, or 0 if cap is short. */
size_t wire_error_reply(const struct wire_query *q, unsigned rcode, uint8_t *out, size_t cap);

#endif
