/*
 * Unit tests for budget (include/budget.h): which zone a name is charged
 * to, the per-zone shares, the background rate, and a table that never
 * grows past its size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "budget.h"
#include "wire.h"

static const struct budget_options t_opts = {
    .zone_inflight = 3, .zone_background = 2, .zone_bg_per_sec = 4};

static int
t_setup(void **state)
{
	*state = budget_new(&t_opts, 8);
	return *state ? 0 : -1;
}

static int
t_teardown(void **state)
{
	budget_free(*state);
	return 0;
}

static uint64_t
t_zone(const struct budget *b, const char *text)
{
	uint8_t name[WIRE_MAX_NAME];
	size_t len = wire_name_from_text(text, name);

	assert_true(len > 0);
	return budget_zone(b, name, len);
}

static void
test_zone_is_registrable_domain(void **state)
{
	struct budget *b = *state;

	assert_int_equal(t_zone(b, "a.b.yada123.com."), t_zone(b, "yada123.com."));
	assert_int_equal(t_zone(b, "MX1.Yada123.COM."), t_zone(b, "yada123.com."));
	assert_int_not_equal(t_zone(b, "yada123.com."), t_zone(b, "yada124.com."));
	/* co.uk is a public suffix: example.co.uk is the zone, not co.uk. */
	assert_int_equal(t_zone(b, "mail.example.co.uk."), t_zone(b, "example.co.uk."));
	assert_int_not_equal(t_zone(b, "example.co.uk."), t_zone(b, "other.co.uk."));
	/* A made-up TLD follows the default rule: the last two labels. */
	assert_int_equal(t_zone(b, "x.y.mailtest."), t_zone(b, "y.mailtest."));
	/* A public suffix (and the root) is charged to itself. */
	assert_int_not_equal(t_zone(b, "com."), t_zone(b, "yada123.com."));
	assert_int_not_equal(t_zone(b, "."), 0);
}

static void
test_client_share(void **state)
{
	struct budget *b = *state;
	uint64_t z = t_zone(b, "flood.example."), other = t_zone(b, "legit.example.");

	for (int i = 0; i < 3; i++)
		assert_int_equal(budget_acquire(b, z, false, 1000), BUDGET_OK);
	assert_int_equal(budget_acquire(b, z, false, 1000), BUDGET_ZONE_FULL);
	/* Another zone is not affected, nor background work in this one. */
	assert_int_equal(budget_acquire(b, other, false, 1000), BUDGET_OK);
	assert_int_equal(budget_acquire(b, z, true, 1000), BUDGET_OK);
	budget_release(b, z, false, 1001);
	assert_int_equal(budget_acquire(b, z, false, 1001), BUDGET_OK);
}

static void
test_background_inflight_and_rate(void **state)
{
	struct budget *b = *state;
	uint64_t z = t_zone(b, "victim.example.");

	assert_int_equal(budget_acquire(b, z, true, 0), BUDGET_OK);
	assert_int_equal(budget_acquire(b, z, true, 0), BUDGET_OK);
	assert_int_equal(budget_acquire(b, z, true, 0), BUDGET_ZONE_FULL);
	budget_release(b, z, true, 10);
	budget_release(b, z, true, 10);
	/* Two more fit in flight, then the rate (4 a second) says no. */
	assert_int_equal(budget_acquire(b, z, true, 20), BUDGET_OK);
	assert_int_equal(budget_acquire(b, z, true, 20), BUDGET_OK);
	budget_release(b, z, true, 30);
	budget_release(b, z, true, 30);
	assert_int_equal(budget_acquire(b, z, true, 40), BUDGET_ZONE_RATE);
	/* The zone is remembered while its second runs, even with nothing in flight. */
	assert_int_equal(budget_zones(b), 1);
	/* A new second, a new allowance. */
	assert_int_equal(budget_acquire(b, z, true, 1000), BUDGET_OK);
	budget_release(b, z, true, 1001);
}

static void
test_idle_zones_are_forgotten(void **state)
{
	struct budget *b = *state;
	uint64_t z = t_zone(b, "once.example.");

	assert_int_equal(budget_acquire(b, z, false, 5), BUDGET_OK);
	assert_int_equal(budget_zones(b), 1);
	budget_release(b, z, false, 6);
	assert_int_equal(budget_zones(b), 0);
	/* Releasing what was never charged changes nothing. */
	budget_release(b, z, false, 7);
	assert_int_equal(budget_zones(b), 0);
}

static void
test_table_is_bounded(void **state)
{
	struct budget *b = *state;
	char text[64];
	size_t ok = 0, full = 0;

	/* Sized for 8 zones: the table takes 16 slots, half of them at most. */
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "z%d.example.", i);
		enum budget_verdict v = budget_acquire(b, t_zone(b, text), false, 100);
		ok += v == BUDGET_OK;
		full += v == BUDGET_TABLE_FULL;
	}
	assert_true(ok >= 7 && ok <= 8);
	assert_int_equal(ok + full, 40);
	assert_int_equal(budget_zones(b), ok);
	/* Releasing every one empties it again, backward shifts and all. */
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "z%d.example.", i);
		budget_release(b, t_zone(b, text), false, 101);
	}
	assert_int_equal(budget_zones(b), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "again%d.example.", i);
		assert_int_equal(budget_acquire(b, t_zone(b, text), false, 200), BUDGET_OK);
	}
}

static void
test_sweep_reclaims_rate_windows(void **state)
{
	struct budget *b = *state;
	char text[64];

	/* Zones kept only for their rate window fill the table... */
	for (int i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "bg%d.example.", i);
		uint64_t z = t_zone(b, text);
		if (budget_acquire(b, z, true, 0) == BUDGET_OK)
			budget_release(b, z, true, 1);
	}
	assert_true(budget_zones(b) >= 7);
	/* ...and give way once their second is over. */
	assert_int_equal(budget_acquire(b, t_zone(b, "new.example."), false, 2000), BUDGET_OK);
	assert_int_equal(budget_zones(b), 1);
}

static void
test_full_of_rate_windows_makes_room(void **state)
{
	struct budget *b = *state;
	char text[64];

	/* Background work in fresh zones, each kept for its second... */
	for (int i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "fresh%d.example.", i);
		uint64_t z = t_zone(b, text);
		if (budget_acquire(b, z, true, 0) == BUDGET_OK)
			budget_release(b, z, true, 0);
	}
	/* ...does not lock out a client's new zone within that second. */
	assert_int_equal(budget_acquire(b, t_zone(b, "client.example."), false, 20), BUDGET_OK);
	assert_int_equal(budget_zones(b), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_zone_is_registrable_domain, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_client_share, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_background_inflight_and_rate, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_idle_zones_are_forgotten, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_table_is_bounded, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_reclaims_rate_windows, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_full_of_rate_windows_makes_room, t_setup,
					    t_teardown),
	};
	return cmocka_run_group_tests_name("budget", tests, NULL, NULL);
}
