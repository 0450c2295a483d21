/*
 * cache: answers kept in wire form, found by question, bounded in bytes.
 *
 * A hash table (keyed SipHash, so crafted names cannot pile into one
 * bucket) over entries on an LRU list, plus a min-heap on expiry so a
 * sweep finds expired entries without walking the table. Time is passed
 * in by the caller (milliseconds on any monotonic clock), which makes
 * expiry testable without waiting. No logging, no global state.
 */
#ifndef MXCACHE_CACHE_H
#define MXCACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_KEY_DO 0x1u /* client asked for DNSSEC records */
#define CACHE_KEY_CD 0x2u /* client disabled validation */

#define CACHE_KEY_MAX (255 + 5) /* encoded key: name, type, class, flags */

struct cache;

struct cache_key {
	const uint8_t *name; /* uncompressed wire form; any case */
	size_t name_len;
	uint16_t qtype;
	uint16_t qclass;
	uint8_t flags; /* CACHE_KEY_* */
};

/* The key as bytes (lowercased name, type, class, flags), the form the
 * cache hashes and compares; other tables keyed by question reuse it. */
size_t cache_key_encode(const struct cache_key *key, uint8_t out[CACHE_KEY_MAX]);

/* A key encoded and hashed (with the cache's seed) once per question:
 * the cache and the in-flight table both look it up by this. */
struct cache_kbytes {
	uint8_t bytes[CACHE_KEY_MAX];
	size_t len;
	uint64_t hash;
};

void cache_key_prepare(const struct cache *c, const struct cache_key *key,
		       struct cache_kbytes *out);

/* Flags stored with an answer (cache_insert's aflags). */
#define CACHE_ANSWER_SECURE 0x1u     /* DNSSEC-validated */
#define CACHE_ANSWER_PREFETCHED 0x2u /* fetched before any client asked */
#define CACHE_ANSWER_SPARE 0x4u	     /* fetched on upstream's spare lane */
/* Who fetched an entry ahead of clients (the chaser's rule, 1..CACHE_TAGS-1;
 * 0: nobody), in aflags bits 8..11: hits and unused entries are counted per tag. */
#define CACHE_TAGS 16
#define CACHE_ANSWER_TAG(t) ((unsigned)(t) << 8)

/* What a lookup hands back; valid until the next call that changes the cache. */
struct cache_answer {
	const uint8_t *wire;
	size_t len;
	uint64_t stored_ms;
	uint64_t expires_ms;
	bool secure;
	bool prefetched;
	bool spare;  /* CACHE_ANSWER_SPARE: a refresh asks the other lane */
	uint8_t tag; /* CACHE_ANSWER_TAG */
	uint32_t hits;
};

struct cache_stats {
	uint64_t entries;
	uint64_t bytes;
	uint64_t max_bytes;
	uint64_t hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t evictions;
	uint64_t expired;
	uint64_t prefetched_unused;	    /* prefetched entries gone without a hit */
	uint64_t unused_by_tag[CACHE_TAGS]; /* tagged entries gone without a hit */
};

/* seed keys the hash; pass random bytes in production. */
struct cache *cache_new(size_t max_bytes, const uint8_t seed[16]);
void cache_free(struct cache *c);

/* A fresh entry for key (moved to the LRU head), or NULL. An expired
 * entry found on the way is removed and counted. */
const struct cache_answer *cache_lookup(struct cache *c, const struct cache_key *key,
					uint64_t now_ms);

/* cache_lookup for a key cache_key_prepare made. */
const struct cache_answer *cache_lookup_prepared(struct cache *c, const struct cache_kbytes *k,
						 uint64_t now_ms);

/* The same without counting a hit or a miss or touching the LRU order:
 * for looks the daemon takes on its own behalf. */
const struct cache_answer *cache_peek(const struct cache *c, const struct cache_key *key,
				      uint64_t now_ms);

/* An entry even if expired, as long as it is within the stale window set
 * by cache_set_stale (RFC 8767); no stats, no LRU move. */
const struct cache_answer *cache_lookup_stale(const struct cache *c, const struct cache_key *key,
					      uint64_t now_ms);

/* Keeps expired entries this much longer for cache_lookup_stale (0: off).
 * cache_lookup still never returns them. */
void cache_set_stale(struct cache *c, uint32_t stale_seconds);
/* That window in seconds (0: off). */
uint32_t cache_stale(const struct cache *c);

/* Changes the byte bound, evicting least recently used entries to fit. */
void cache_set_max_bytes(struct cache *c, size_t max_bytes);

/* Stores (or replaces) the answer for key for ttl seconds; evicts least
 * recently used entries to stay within the byte bound. aflags is a set of
 * CACHE_ANSWER_*. Returns false if ttl is 0, the entry alone exceeds the
 * bound, or memory runs out. */
bool cache_insert(struct cache *c, const struct cache_key *key, const uint8_t *wire, size_t len,
		  uint32_t ttl, unsigned aflags, uint64_t now_ms);

/* Removes every expired entry (past its stale window); returns how many. */
size_t cache_expire(struct cache *c, uint64_t now_ms);

/* Milliseconds until the next entry expires, or -1 if the cache is empty. */
int64_t cache_next_expiry(const struct cache *c, uint64_t now_ms);

void cache_flush(struct cache *c);

/* Removes the entries of one name: every type when qtype < 0, with or
 * without DO/CD. Scans the whole cache (an operator's command, not a
 * query path). Returns how many were removed. */
size_t cache_flush_name(struct cache *c, const uint8_t *name, size_t name_len, int qtype);

/* One entry as cache_walk shows it. */
struct cache_entry_info {
	const uint8_t *name; /* lowercased wire form */
	size_t name_len;
	uint16_t qtype;
	uint16_t qclass;
	uint8_t flags;
	uint32_t ttl_left; /* seconds, rounded down */
	size_t bytes;	   /* cost against the bound */
	const struct cache_answer *ans;
};

/* Calls fn for fresh entries, most recently used first, until fn returns
 * false. fn must not change the cache. */
void cache_walk(const struct cache *c, uint64_t now_ms,
		bool (*fn)(const struct cache_entry_info *info, void *arg), void *arg);

void cache_get_stats(const struct cache *c, struct cache_stats *st);

/* Zeroes the event counters (hits, misses, inserts, evictions, expired). */
void cache_reset_stats(struct cache *c);

/* Memory one entry costs against the bound, for sizing and tests. */
size_t cache_entry_cost(size_t name_len, size_t wire_len);

#endif
