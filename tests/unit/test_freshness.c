/*
 * freshness: the pipeline's refresh and serve-stale decisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "freshness.h"
#include "wire.h"

#include "t_dns.h"

/* An entry stored at 1000 ms with a TTL of 20 s: its last tenth starts at 19000. */
static void
refresh_in_last_tenth_only(void **state)
{
	(void)state;
	assert_false(freshness_refresh_due(1000, 21000, 1000, true));
	assert_false(freshness_refresh_due(1000, 21000, 18999, true));
	assert_true(freshness_refresh_due(1000, 21000, 19000, true));
	assert_true(freshness_refresh_due(1000, 21000, 20999, true));
	/* Expired: a miss, not a refresh. */
	assert_false(freshness_refresh_due(1000, 21000, 21000, true));
	/* Not worth keeping warm (not MX, not chased). */
	assert_false(freshness_refresh_due(1000, 21000, 20000, false));
	/* A zero-length lifetime never refreshes. */
	assert_false(freshness_refresh_due(5000, 5000, 5000, true));
}

/* A refresh never asks the lane whose message cache holds the ageing copy. */
static void
refresh_asks_the_other_lane(void **state)
{
	(void)state;
	assert_int_equal(freshness_refresh_lane(RESOLVER_MAIN), RESOLVER_SPARE);
	assert_int_equal(freshness_refresh_lane(RESOLVER_SPARE), RESOLVER_MAIN);
	/* Alternating, consecutive refreshes of one name use both lanes. */
	enum resolver_lane lane = RESOLVER_MAIN;
	for (int i = 0; i < 4; i++) {
		enum resolver_lane next = freshness_refresh_lane(lane);
		assert_int_not_equal(next, lane);
		lane = next;
	}
	assert_int_equal(lane, RESOLVER_MAIN);
}

static void
outcomes(void **state)
{
	(void)state;
	/* ok, bogus, cd, usable, rcode */
	assert_int_equal(freshness_outcome(true, false, false, true, WIRE_NOERROR),
			 FRESHNESS_ANSWER);
	assert_int_equal(freshness_outcome(true, false, false, true, WIRE_NXDOMAIN),
			 FRESHNESS_ANSWER);
	/* libunbound's SERVFAIL packet is a failure: a stale entry may answer. */
	assert_int_equal(freshness_outcome(true, false, false, true, WIRE_SERVFAIL),
			 FRESHNESS_FAILED);
	assert_int_equal(freshness_outcome(false, false, false, false, 0), FRESHNESS_FAILED);
	assert_int_equal(freshness_outcome(true, false, false, false, 0), FRESHNESS_FAILED);
	/* Bogus is never answered stale, unless the client disabled validation. */
	assert_int_equal(freshness_outcome(true, true, false, true, WIRE_NOERROR), FRESHNESS_BOGUS);
	assert_int_equal(freshness_outcome(true, true, true, true, WIRE_NOERROR), FRESHNESS_ANSWER);
	assert_int_equal(freshness_outcome(true, true, true, true, WIRE_SERVFAIL),
			 FRESHNESS_FAILED);
}

static void
stale_timer_only_when_it_comes_first(void **state)
{
	(void)state;
	assert_int_equal(freshness_stale_at(10000, 5000, 1800, true), 11800);
	assert_int_equal(freshness_stale_at(10000, 5000, 1800, false), 0);
	assert_int_equal(freshness_stale_at(10000, 5000, 0, true), 0);
	/* At or past the deadline, the deadline itself serves stale. */
	assert_int_equal(freshness_stale_at(10000, 1000, 1800, true), 0);
	assert_int_equal(freshness_stale_at(10000, 1800, 1800, true), 0);
}

/* A client that started at 10000 with a 5 s timeout and a 1.8 s timer. */
static void
waiter_events(void **state)
{
	(void)state;
	uint64_t deadline = 15000, stale = 11800;

	assert_int_equal(freshness_waiter(deadline, stale, 11799, true), FRESHNESS_WAIT);
	assert_int_equal(freshness_waiter(deadline, stale, 11800, true), FRESHNESS_TRY_STALE);
	assert_int_equal(freshness_waiter(deadline, stale, 14999, true), FRESHNESS_TRY_STALE);
	assert_int_equal(freshness_waiter(deadline, stale, 15000, true), FRESHNESS_EXPIRED);
	/* No stale entry found at the timer: wait for the answer or the deadline. */
	assert_int_equal(freshness_waiter(deadline, stale, 12000, false), FRESHNESS_WAIT);
	assert_int_equal(freshness_waiter(deadline, stale, 15000, false), FRESHNESS_EXPIRED);
	assert_int_equal(freshness_waiter(deadline, 0, 12000, true), FRESHNESS_WAIT);

	assert_int_equal(freshness_waiter_next(deadline, stale, true), stale);
	assert_int_equal(freshness_waiter_next(deadline, stale, false), deadline);
	assert_int_equal(freshness_waiter_next(deadline, 0, true), deadline);
}

static void
ttl_positive_within_clamps(void **state)
{
	struct t_dns_msg m;
	(void)state;

	t_dns_a(&m, "a.example", 300, 0x01020304);
	assert_false(freshness_negative(m.b, m.len, WIRE_T_A));
	assert_int_equal(freshness_ttl(m.b, m.len, false, 0, 86400, 3600), 300);
	assert_int_equal(freshness_ttl(m.b, m.len, false, 600, 86400, 3600), 600);
	assert_int_equal(freshness_ttl(m.b, m.len, false, 0, 60, 3600), 60);
	wire_put16(m.b + 2, (uint16_t)(wire_get16(m.b + 2) | WIRE_REFUSED));
	assert_int_equal(freshness_ttl(m.b, m.len, false, 0, 86400, 3600), 0);
}

static void
ttl_negative_rfc2308(void **state)
{
	struct t_dns_msg m;
	(void)state;

	t_dns_nodata(&m, "a.example", WIRE_T_AAAA, 120); /* SOA TTL and MINIMUM 120 */
	assert_true(freshness_negative(m.b, m.len, WIRE_T_AAAA));
	assert_int_equal(freshness_ttl(m.b, m.len, true, 0, 86400, 3600), 120);
	assert_int_equal(freshness_ttl(m.b, m.len, true, 0, 86400, 60), 60);
	t_dns_start(&m, "a.example", WIRE_T_AAAA, 0, 0); /* no SOA: not cached */
	assert_true(freshness_negative(m.b, m.len, WIRE_T_AAAA));
	assert_int_equal(freshness_ttl(m.b, m.len, true, 0, 86400, 3600), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(refresh_in_last_tenth_only),
	    cmocka_unit_test(refresh_asks_the_other_lane),
	    cmocka_unit_test(outcomes),
	    cmocka_unit_test(stale_timer_only_when_it_comes_first),
	    cmocka_unit_test(waiter_events),
	    cmocka_unit_test(ttl_positive_within_clamps),
	    cmocka_unit_test(ttl_negative_rfc2308),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
