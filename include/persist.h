/*
 * persist: the cache saved to a file on a clean shutdown and loaded back
 * on start, so a mail server restart keeps its warm MX cache.
 *
 * The file holds each fresh entry with its age and remaining lifetime, the
 * wall-clock time of the save and the identity of the trust anchor it was
 * written under; loading subtracts the time since. The file is data, not
 * trust: whoever can write it (root or the daemon's own user) could forge
 * it, and its checksums, keyed with a constant, only catch damage. So every
 * entry is checked as if it came off the network (its message walks, its
 * question is its key, its rcode is one the cache keeps), the current TTL
 * clamps cut its lifetime and its record TTLs, and its DNSSEC "secure"
 * status survives only under the same trust anchor it was saved with. A
 * file that fails any check is refused as a whole (the cache stays empty),
 * never half trusted. No logging: errors come back as text.
 */
#ifndef MXCACHE_PERSIST_H
#define MXCACHE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct cache;

/* A save time further ahead of the clock than this is refused (a future
 * time would stop the aging and pass an old file as fresh). */
#define PERSIST_CLOCK_SKEW_MS 60000u

/* What a loaded entry is held to. */
struct persist_policy {
	uint32_t min_ttl;	   /* positive lifetimes, from below */
	uint32_t max_ttl;	   /* positive lifetimes and record TTLs, from above */
	uint32_t max_negative_ttl; /* NXDOMAIN / NODATA, from above */
	uint64_t anchor_id;	   /* persist_anchor_id of the anchor in force */
	bool validating;	   /* false: anchor "none", secure never restored */
	uid_t owner;		   /* besides root, the one owner a file may have */
};

struct persist_report {
	size_t loaded;
	size_t expired;	  /* ran out while the daemon was down */
	size_t unsecured; /* secure status dropped: another anchor, or none */
};

enum persist_result {
	PERSIST_LOADED,
	PERSIST_ABSENT,	  /* no file at path: nothing to say */
	PERSIST_REJECTED, /* err says why; the cache is left empty */
};

/* Identity of a trust anchor ("none" or a file: its path and contents),
 * to tell whether a file was written under the anchor in force. Read it
 * while the anchor file is readable (before dropping root). */
bool persist_anchor_id(const char *anchor, uint64_t *id, char *err, size_t errlen);

/* Writes path atomically: a new temporary file beside it (O_EXCL,
 * O_NOFOLLOW, mode 0600), synced, renamed over it. Refuses a path that
 * exists and is not a regular file. now_ms is the cache's clock, wall_ms
 * the wall clock. */
bool persist_save(const struct cache *c, const char *path, uint64_t anchor_id, uint64_t now_ms,
		  uint64_t wall_ms, size_t *saved, char *err, size_t errlen);

/* Fills the cache from path. Besides the content checks, the file must be
 * a regular file (no symbolic link), owned by root or policy->owner, and
 * writable by nobody else. */
enum persist_result persist_load(struct cache *c, const char *path,
				 const struct persist_policy *policy, uint64_t now_ms,
				 uint64_t wall_ms, struct persist_report *rep, char *err,
				 size_t errlen);

/* The content checks and the loading alone, from an open stream (the
 * fuzzer and the tests feed it memory). false: err set, cache flushed. */
bool persist_read(struct cache *c, FILE *f, const struct persist_policy *policy, uint64_t now_ms,
		  uint64_t wall_ms, struct persist_report *rep, char *err, size_t errlen);

#endif
