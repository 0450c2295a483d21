/*
 * freshness: see include/freshness.h.
 */
#include "freshness.h"

#include "wire.h"

bool
freshness_refresh_due(uint64_t stored_ms, uint64_t expires_ms, uint64_t now_ms, bool worth)
{
	if (!worth || now_ms >= expires_ms || expires_ms <= stored_ms)
		return false;
	return (expires_ms - now_ms) * 10 <= expires_ms - stored_ms;
}

enum resolver_lane
freshness_refresh_lane(enum resolver_lane fetched_by)
{
	return fetched_by == RESOLVER_MAIN ? RESOLVER_SPARE : RESOLVER_MAIN;
}

enum freshness_outcome
freshness_outcome(bool ok, bool bogus, bool cd, bool usable, unsigned rcode)
{
	if (ok && bogus && !cd)
		return FRESHNESS_BOGUS;
	/* libunbound's SERVFAIL is its way of saying the servers failed. */
	if (!ok || !usable || rcode == WIRE_SERVFAIL)
		return FRESHNESS_FAILED;
	return FRESHNESS_ANSWER;
}

uint64_t
freshness_stale_at(uint64_t start_ms, unsigned timeout_ms, unsigned stale_timeout_ms,
		   bool serve_stale)
{
	if (!serve_stale || stale_timeout_ms == 0 || stale_timeout_ms >= timeout_ms)
		return 0;
	return start_ms + stale_timeout_ms;
}

enum freshness_wait
freshness_waiter(uint64_t deadline_ms, uint64_t stale_ms, uint64_t now_ms, bool stale_possible)
{
	if (deadline_ms <= now_ms)
		return FRESHNESS_EXPIRED;
	if (stale_possible && stale_ms != 0 && stale_ms <= now_ms)
		return FRESHNESS_TRY_STALE;
	return FRESHNESS_WAIT;
}

uint64_t
freshness_waiter_next(uint64_t deadline_ms, uint64_t stale_ms, bool stale_possible)
{
	return stale_possible && stale_ms != 0 && stale_ms < deadline_ms ? stale_ms : deadline_ms;
}

/* NXDOMAIN, or NOERROR without a record of the type asked for at the end
 * of a CNAME chain (NODATA, possibly after CNAMEs): RFC 2308 rules. */
bool
freshness_negative(const uint8_t *wire, size_t len, uint16_t qtype)
{
	unsigned rcode = WIRE_RCODE(wire_get16(wire + 2));
	struct wire_iter it;
	struct wire_rr rr;

	if (rcode == WIRE_NXDOMAIN)
		return true;
	if (rcode != WIRE_NOERROR || !wire_iter_init(&it, wire, len))
		return false;
	while (wire_iter_next(&it, &rr) == 1 && rr.section == WIRE_ANSWER)
		if (rr.type == qtype || qtype == WIRE_T_ANY ||
		    (rr.type != WIRE_T_CNAME && rr.type != WIRE_T_DNAME && rr.type != WIRE_T_RRSIG))
			return false;
	return true;
}

/* How long an answer may be cached: RFC 2308 for negative answers (the
 * SOA's TTL and MINIMUM, and no longer than any CNAME that led there),
 * the smallest record TTL otherwise, within the operator's clamps. */
uint32_t
freshness_ttl(const uint8_t *wire, size_t len, bool negative, uint32_t min_ttl, uint32_t max_ttl,
	      uint32_t max_negative_ttl)
{
	uint32_t ttl = 0, min = 0;

	if (negative) {
		if (!wire_negative_ttl(wire, len, &ttl))
			return 0; /* no SOA: RFC 2308 §5 says do not cache */
		if (wire_min_ttl(wire, len, &min) && min < ttl)
			ttl = min;
		return ttl < max_negative_ttl ? ttl : max_negative_ttl;
	}
	if (WIRE_RCODE(wire_get16(wire + 2)) != WIRE_NOERROR || !wire_min_ttl(wire, len, &ttl))
		return 0;
	if (ttl < min_ttl)
		ttl = min_ttl;
	return ttl > max_ttl ? max_ttl : ttl;
}
