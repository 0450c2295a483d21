/*
 * clock: monotonic time, immune to wall-clock steps, for TTLs and latency.
 */
#ifndef MXCACHE_CLOCK_H
#define MXCACHE_CLOCK_H

#include <stdint.h>

uint64_t clock_us(void);

/* Tests make time stand still: from now on clock_us returns *fake (read
 * at each call, so the test moves time by writing it); NULL goes back to
 * CLOCK_MONOTONIC. The daemon never calls it: one predictable branch. */
void clock_set_fake(const uint64_t *fake);

/* Wall-clock milliseconds since the epoch: only for what outlives the
 * process (the cache file). */
uint64_t clock_wall_ms(void);

#endif
