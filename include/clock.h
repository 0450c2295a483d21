/*
 * clock: monotonic time, immune to wall-clock steps, for TTLs and latency.
 */
#ifndef MXCACHE_CLOCK_H
#define MXCACHE_CLOCK_H

#include <stdint.h>

uint64_t clock_us(void);

/* Wall-clock milliseconds since the epoch: only for what outlives the
 * process (the cache file). */
uint64_t clock_wall_ms(void);

#endif
