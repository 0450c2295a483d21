/*
 * clock: see include/clock.h.
 */
#include "clock.h"

#include <stddef.h>
#include <time.h>

static const uint64_t *clock_fake;

uint64_t
clock_us(void)
{
	struct timespec ts;

	if (__builtin_expect(clock_fake != NULL, 0))
		return *clock_fake;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
clock_set_fake(const uint64_t *fake)
{
	clock_fake = fake;
}

uint64_t
clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
