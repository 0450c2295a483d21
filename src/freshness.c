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
