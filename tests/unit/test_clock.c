/*
 * Unit tests for clock (include/clock.h): the injected clock is read at
 * every call, NULL gives the monotonic clock back, which never goes
 * backwards and agrees with CLOCK_MONOTONIC; the wall clock agrees with
 * CLOCK_REALTIME.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>
#include <time.h>

#include "clock.h"

static uint64_t
t_timespec_us(clockid_t id)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(id, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
fake_clock_is_read_at_each_call(void **state)
{
	uint64_t fake = 42;
	(void)state;

	clock_set_fake(&fake);
	assert_true(clock_us() == 42);
	assert_true(clock_us() == 42); /* time stands still */
	fake += 1500000;
	assert_true(clock_us() == 1500042);
	fake = UINT64_MAX - 1;
	assert_true(clock_us() == UINT64_MAX - 1);
	clock_set_fake(NULL);
}

static void
null_restores_the_monotonic_clock(void **state)
{
	uint64_t fake = 7, before, now, after;
	(void)state;

	clock_set_fake(&fake);
	clock_set_fake(NULL);
	before = t_timespec_us(CLOCK_MONOTONIC);
	now = clock_us();
	after = t_timespec_us(CLOCK_MONOTONIC);
	assert_true(before <= now && now <= after);
}

static void
monotonic_never_goes_back(void **state)
{
	uint64_t prev = clock_us();
	(void)state;

	for (int i = 0; i < 100000; i++) {
		uint64_t now = clock_us();
		assert_true(now >= prev);
		prev = now;
	}
}

static void
wall_clock_is_realtime_in_ms(void **state)
{
	uint64_t before, now, after;
	(void)state;

	before = t_timespec_us(CLOCK_REALTIME) / 1000u;
	now = clock_wall_ms();
	after = t_timespec_us(CLOCK_REALTIME) / 1000u;
	assert_true(before <= now && now <= after);
	/* The fake clock is for durations only: the wall clock ignores it. */
	uint64_t fake = 5;
	clock_set_fake(&fake);
	assert_true(clock_wall_ms() >= now);
	clock_set_fake(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fake_clock_is_read_at_each_call),
	    cmocka_unit_test(null_restores_the_monotonic_clock),
	    cmocka_unit_test(monotonic_never_goes_back),
	    cmocka_unit_test(wall_clock_is_realtime_in_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
