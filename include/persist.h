/*
 * persist: the cache saved to a file on a clean shutdown and loaded back
 * on start, so a mail server restart keeps its warm MX cache.
 *
 * The file holds each fresh entry with its age and remaining lifetime and
 * the wall-clock time of the save; loading subtracts the time since. Every
 * record carries a checksum; a truncated, corrupt or foreign file is
 * refused as a whole (the cache stays empty), never half trusted.
 */
#ifndef MXCACHE_PERSIST_H
#define MXCACHE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache;

/* Writes path atomically (a temporary file renamed over it). now_ms is the
 * cache's clock, wall_ms the wall clock. */
bool persist_save(const struct cache *c, const char *path, uint64_t now_ms, uint64_t wall_ms,
		  size_t *saved, char *err, size_t errlen);

/* Fills the cache from path; entries that expired meanwhile are skipped. */
bool persist_load(struct cache *c, const char *path, uint64_t now_ms, uint64_t wall_ms,
		  size_t *loaded, char *err, size_t errlen);

#endif
