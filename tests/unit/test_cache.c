/*
 * Unit tests for cache (include/cache.h) and the SipHash it keys on. Time
 * is whatever the test passes as now_ms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"
#include "siphash.h"
#include "wire.h"

static const uint8_t t_seed[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
				   0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

struct t_key {
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key k;
};

/* A key for "www.example.com" (no escapes), class IN. */
static const struct cache_key *
t_key(struct t_key *tk, const char *dotted, uint16_t qtype, uint8_t flags)
{
	size_t o = 0;
	const char *s = dotted;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		assert_true(n >= 1 && n <= WIRE_MAX_LABEL && o + n + 2 <= WIRE_MAX_NAME);
		tk->name[o++] = (uint8_t)n;
		memcpy(tk->name + o, s, n);
		o += n;
		s += n + (dot ? 1 : 0);
	}
	tk->name[o++] = 0;
	tk->k = (struct cache_key){.name = tk->name,
				   .name_len = o,
				   .qtype = qtype,
				   .qclass = WIRE_CLASS_IN,
				   .flags = flags};
	return &tk->k;
}

/* Some recognisable bytes. */
static void
t_fill(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(seed * 31u + i * 7u);
}

/* A small deterministic generator (xorshift32). */
static uint32_t
t_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A new cache, freed by t_teardown even when the test fails. */
static struct cache *
t_new(void **state, size_t max_bytes)
{
	struct cache *c = cache_new(max_bytes, t_seed);

	assert_non_null(c);
	*state = c;
	return c;
}

static int
t_teardown(void **state)
{
	cache_free(*state);
	*state = NULL;
	return 0;
}

static struct cache_stats
t_stats(const struct cache *c)
{
	struct cache_stats st;

	cache_get_stats(c, &st);
	return st;
}

static bool
t_has(struct cache *c, const char *dotted, uint16_t qtype, uint64_t now)
{
	struct t_key tk;

	return cache_lookup(c, t_key(&tk, dotted, qtype, 0), now) != NULL;
}

static bool
t_put(struct cache *c, const char *dotted, uint16_t qtype, size_t len, uint32_t ttl, uint64_t now)
{
	struct t_key tk;
	uint8_t wire[4096];

	assert_true(len <= sizeof(wire));
	t_fill(wire, len, (unsigned)len);
	return cache_insert(c, t_key(&tk, dotted, qtype, 0), wire, len, ttl, false, now);
}

/* ---- basic store and fetch ----------------------------------------- */

static void
insert_lookup(void **state)
{
	struct cache *c = t_new(state, 1 << 20);
	struct t_key tk;
	uint8_t wire[100], want[100];
	const struct cache_answer *a;

	assert_non_null(c);
	t_fill(wire, sizeof(wire), 1);
	memcpy(want, wire, sizeof(want));
	assert_true(cache_insert(c, t_key(&tk, "mx1.example.com", WIRE_T_MX, 0), wire, sizeof(wire),
				 300, true, 5000));
	memset(wire, 0, sizeof(wire)); /* the cache keeps its own copy */

	a = cache_lookup(c, t_key(&tk, "mx1.example.com", WIRE_T_MX, 0), 6000);
	assert_non_null(a);
	assert_int_equal(a->len, sizeof(want));
	assert_memory_equal(a->wire, want, sizeof(want));
	assert_int_equal(a->stored_ms, 5000);
	assert_int_equal(a->expires_ms, 5000 + 300 * 1000);
	assert_true(a->secure);

	t_fill(wire, sizeof(wire), 2);
	assert_true(cache_insert(c, t_key(&tk, "mx2.example.com", WIRE_T_MX, 0), wire, 10, 60,
				 false, 7000));
	a = cache_lookup(c, t_key(&tk, "mx2.example.com", WIRE_T_MX, 0), 7000);
	assert_non_null(a);
	assert_false(a->secure);
	assert_int_equal(a->len, 10);
	assert_memory_equal(a->wire, wire, 10);
	assert_int_equal(a->expires_ms, 7000 + 60 * 1000);
}

static void
lookup_case_insensitive(void **state)
{
	struct cache *c = t_new(state, 1 << 20);
	struct t_key tk;
	const struct cache_answer *a;

	assert_true(t_put(c, "mx1.example.com", WIRE_T_A, 40, 300, 0));
	a = cache_lookup(c, t_key(&tk, "MX1.Example.COM", WIRE_T_A, 0), 1);
	assert_non_null(a);
	assert_int_equal(a->len, 40);
	assert_true(t_put(c, "WWW.EXAMPLE.ORG", WIRE_T_A, 41, 300, 0));
	a = cache_lookup(c, t_key(&tk, "www.example.org", WIRE_T_A, 0), 1);
	assert_non_null(a);
	assert_int_equal(a->len, 41);
	/* Still a different name. */
	assert_false(t_has(c, "mx2.example.com", WIRE_T_A, 1));
	assert_false(t_has(c, "mx1.example.co", WIRE_T_A, 1));
}

static void
key_fields_distinct(void **state)
{
	struct cache *c = t_new(state, 1 << 20);
	struct t_key keys[6];
	const struct cache_key *k[6];
	const struct cache_answer *a;
	uint8_t wire[8];

	k[0] = t_key(&keys[0], "example.com", WIRE_T_A, 0);
	k[1] = t_key(&keys[1], "example.com", WIRE_T_AAAA, 0);
	k[2] = t_key(&keys[2], "example.com", WIRE_T_A, 0);
	keys[2].k.qclass = 3; /* CH */
	k[3] = t_key(&keys[3], "example.com", WIRE_T_A, CACHE_KEY_DO);
	k[4] = t_key(&keys[4], "example.com", WIRE_T_A, CACHE_KEY_CD);
	k[5] = t_key(&keys[5], "example.com", WIRE_T_A, CACHE_KEY_DO | CACHE_KEY_CD);

	t_fill(wire, sizeof(wire), 0);
	assert_true(cache_insert(c, k[0], wire, sizeof(wire), 300, false, 0));
	for (int i = 1; i < 6; i++)
		assert_null(cache_lookup(c, k[i], 1));
	for (int i = 1; i < 6; i++) {
		t_fill(wire, sizeof(wire), (unsigned)i);
		assert_true(cache_insert(c, k[i], wire, sizeof(wire), 300, false, 0));
	}
	assert_int_equal(t_stats(c).entries, 6);
	for (int i = 0; i < 6; i++) {
		t_fill(wire, sizeof(wire), (unsigned)i);
		a = cache_lookup(c, k[i], 1);
		assert_non_null(a);
		assert_memory_equal(a->wire, wire, sizeof(wire));
	}
}

static void
reinsert_replaces(void **state)
{
	struct cache *c = t_new(state, 1 << 20);
	struct t_key tk;
	const struct cache_key *k = t_key(&tk, "example.com", WIRE_T_MX, 0);
	const struct cache_answer *a;
	uint8_t w1[50], w2[80];
	struct cache_stats st;

	t_fill(w1, sizeof(w1), 1);
	t_fill(w2, sizeof(w2), 2);
	assert_true(cache_insert(c, k, w1, sizeof(w1), 60, true, 0));
	assert_true(cache_insert(c, k, w2, sizeof(w2), 120, false, 1000));
	a = cache_lookup(c, k, 2000);
	assert_non_null(a);
	assert_int_equal(a->len, sizeof(w2));
	assert_memory_equal(a->wire, w2, sizeof(w2));
	assert_int_equal(a->stored_ms, 1000);
	assert_int_equal(a->expires_ms, 121000);
	assert_false(a->secure);
	st = t_stats(c);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.inserts, 2);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.bytes, cache_entry_cost(k->name_len, sizeof(w2)));
	/* The old expiry went with the old entry. */
	assert_int_equal(cache_next_expiry(c, 1000), 120000);
	assert_int_equal(cache_expire(c, 61000), 0);
	assert_non_null(cache_lookup(c, k, 61000));
}

/* ---- expiry -------------------------------------------------------- */

static void
expiry_boundary(void **state)
{
	struct cache *c = t_new(state, 1 << 20);
	struct cache_stats st;

	assert_true(t_put(c, "example.com", WIRE_T_A, 30, 60, 1000));
	assert_true(t_has(c, "example.com", WIRE_T_A, 1000 + 60 * 1000 - 1));
	assert_false(t_has(c, "example.com", WIRE_T_A, 1000 + 60 * 1000));
	st = t_stats(c);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(cache_next_expiry(c, 61000), -1);
	/* Gone, not counted twice. */
	assert_false(t_has(c, "example.com", WIRE_T_A, 61001));
	assert_int_equal(t_stats(c).expired, 1);
	assert_int_equal(cache_expire(c, 100000), 0);
}

static void
expire_sweep(void **state)
{
	struct cache *c = t_new(state, 1 << 20);

	assert_int_equal(cache_next_expiry(c, 0), -1);
	assert_true(t_put(c, "a.example", WIRE_T_A, 10, 10, 0));   /* 10000 */
	assert_true(t_put(c, "b.example", WIRE_T_A, 10, 30, 0));   /* 30000 */
	assert_true(t_put(c, "c.example", WIRE_T_A, 10, 20, 0));   /* 20000 */
	assert_true(t_put(c, "d.example", WIRE_T_A, 10, 5, 1000)); /* 6000 */
	assert_int_equal(cache_next_expiry(c, 0), 6000);
	assert_int_equal(cache_next_expiry(c, 2000), 4000);
	assert_int_equal(cache_expire(c, 5999), 0);
	assert_int_equal(cache_expire(c, 6000), 1);
	assert_int_equal(cache_next_expiry(c, 6000), 4000);
	assert_int_equal(cache_expire(c, 20000), 2);
	assert_int_equal(t_stats(c).expired, 3);
	assert_int_equal(t_stats(c).entries, 1);
	assert_int_equal(cache_next_expiry(c, 20000), 10000);
	assert_int_equal(cache_next_expiry(c, 40000), 0); /* overdue, not yet swept */
	assert_true(t_has(c, "b.example", WIRE_T_A, 20000));
	assert_false(t_has(c, "a.example", WIRE_T_A, 20000));
	assert_false(t_has(c, "c.example", WIRE_T_A, 20000));
	assert_false(t_has(c, "d.example", WIRE_T_A, 20000));
	assert_int_equal(cache_expire(c, 40000), 1);
	assert_int_equal(cache_next_expiry(c, 40000), -1);
	assert_int_equal(t_stats(c).entries, 0);
	assert_int_equal(t_stats(c).bytes, 0);
}

/* Random TTLs, replacements and lookups of expired entries (removals from
 * the middle of the heap); each sweep must remove exactly the overdue
 * entries and report the right next expiry. */
static void
expire_random(void **state)
{
	enum { N = 2000 };
	struct cache *c = t_new(state, 64u << 20);
	static uint64_t expires[N]; /* 0: not in the cache */
	char name[32];
	uint32_t rng = 12345;
	uint64_t now = 0;

	memset(expires, 0, sizeof(expires));
	for (int round = 0; round < 3 * N; round++) {
		unsigned i = t_rand(&rng) % N;
		uint32_t ttl = 1 + t_rand(&rng) % 500;
		now += t_rand(&rng) % 50;
		snprintf(name, sizeof(name), "n%u.example", i);
		assert_true(t_put(c, name, WIRE_T_A, 1 + i % 200, ttl, now));
		expires[i] = now + (uint64_t)ttl * 1000;
	}
	while (t_stats(c).entries > 0) {
		size_t overdue = 0;
		uint64_t next = UINT64_MAX;
		now += 7000;
		/* Look some of the overdue ones up first. */
		for (unsigned i = 0; i < N; i += 3) {
			if (expires[i] == 0 || expires[i] > now)
				continue;
			snprintf(name, sizeof(name), "n%u.example", i);
			assert_false(t_has(c, name, WIRE_T_A, now));
			expires[i] = 0;
		}
		for (unsigned i = 0; i < N; i++) {
			if (expires[i] == 0)
				continue;
			if (expires[i] <= now) {
				overdue++;
				expires[i] = 0;
			} else if (expires[i] < next) {
				next = expires[i];
			}
		}
		assert_int_equal(cache_expire(c, now), overdue);
		if (next == UINT64_MAX)
			assert_int_equal(cache_next_expiry(c, now), -1);
		else
			assert_int_equal(cache_next_expiry(c, now), (int64_t)(next - now));
	}
	assert_int_equal(t_stats(c).bytes, 0);
}

/* ---- the byte bound and LRU ---------------------------------------- */

static void
lru_eviction(void **state)
{
	enum { N = 8 };
	struct t_key tk;
	size_t cost = cache_entry_cost(t_key(&tk, "e0.example", WIRE_T_A, 0)->name_len, 64);
	struct cache *c = t_new(state, N * cost);
	char name[32];
	struct cache_stats st;

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "e%d.example", i);
		assert_true(t_put(c, name, WIRE_T_A, 64, 300, (uint64_t)i));
	}
	st = t_stats(c);
	assert_int_equal(st.entries, N);
	assert_int_equal(st.bytes, N * cost);
	assert_int_equal(st.max_bytes, N * cost);
	assert_int_equal(st.evictions, 0);

	assert_true(t_has(c, "e0.example", WIRE_T_A, 10)); /* e1 is now the LRU */
	assert_true(t_put(c, "e8.example", WIRE_T_A, 64, 300, 11));
	st = t_stats(c);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.entries, N);
	assert_int_equal(st.bytes, N * cost);
	/* Order now, least recent first: e2..e7, e0, e8. */
	assert_true(t_put(c, "e9.example", WIRE_T_A, 64, 300, 12)); /* evicts e2 */
	assert_int_equal(t_stats(c).evictions, 2);
	assert_false(t_has(c, "e1.example", WIRE_T_A, 13));
	assert_false(t_has(c, "e2.example", WIRE_T_A, 13));
	assert_true(t_has(c, "e0.example", WIRE_T_A, 13));
	for (int i = 3; i <= 9; i++) {
		snprintf(name, sizeof(name), "e%d.example", i);
		assert_true(t_has(c, name, WIRE_T_A, 14));
	}
	/* Order: e0, e3..e9. An entry of twice the cost evicts the two LRU. */
	assert_true(t_put(c, "bg.example", WIRE_T_A, 64 + cost, 300, 15));
	st = t_stats(c);
	assert_int_equal(st.evictions, 4);
	assert_int_equal(st.entries, N - 1);
	assert_true(st.bytes <= st.max_bytes);
	assert_false(t_has(c, "e0.example", WIRE_T_A, 16));
	assert_false(t_has(c, "e3.example", WIRE_T_A, 16));
	assert_true(t_has(c, "e4.example", WIRE_T_A, 16));
	assert_true(t_has(c, "bg.example", WIRE_T_A, 16));
}

static void
bytes_bound(void **state)
{
	enum { KEYS = 700 };
	const size_t max = 64 * 1024;
	struct cache *c = t_new(state, max);
	struct t_key tk;
	char name[32];
	uint32_t rng = 777;
	uint64_t sum = 0, found = 0;
	struct cache_stats st;

	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "k%u.example.com", t_rand(&rng) % KEYS);
		assert_true(t_put(c, name, WIRE_T_A, 1 + t_rand(&rng) % 2000,
				  1 + t_rand(&rng) % 1000, (uint64_t)i));
		st = t_stats(c);
		assert_true(st.bytes <= max);
		assert_true(st.entries > 0);
		if (i % 3 == 0) {
			snprintf(name, sizeof(name), "k%u.example.com", t_rand(&rng) % KEYS);
			(void)t_has(c, name, WIRE_T_A, (uint64_t)i);
		}
	}
	st = t_stats(c);
	assert_true(st.evictions > 0);
	assert_int_equal(st.inserts, 5000);
	/* bytes is exactly the cost of what is in the cache. */
	for (unsigned k = 0; k < KEYS; k++) {
		const struct cache_answer *a;
		snprintf(name, sizeof(name), "k%u.example.com", k);
		a = cache_lookup(c, t_key(&tk, name, WIRE_T_A, 0), 5000);
		if (!a)
			continue;
		found++;
		sum += cache_entry_cost(tk.k.name_len, a->len);
	}
	assert_int_equal(found, st.entries);
	assert_int_equal(sum, st.bytes);
}

static void
too_large_refused(void **state)
{
	struct t_key tk;
	size_t max = cache_entry_cost(t_key(&tk, "x.example", WIRE_T_A, 0)->name_len, 100);
	struct cache *c = t_new(state, max);
	struct cache_stats st;

	assert_false(t_put(c, "x.example", WIRE_T_A, 101, 300, 0));
	assert_int_equal(t_stats(c).inserts, 0);
	assert_true(t_put(c, "x.example", WIRE_T_A, 100, 300, 0));
	assert_int_equal(t_stats(c).bytes, max);
	/* Refused before anything is evicted. */
	assert_false(t_put(c, "y.example", WIRE_T_A, 101, 300, 0));
	st = t_stats(c);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.inserts, 1);
	assert_true(t_has(c, "x.example", WIRE_T_A, 1));
	t_teardown(state);

	c = t_new(state, 0);
	assert_false(t_put(c, "x.example", WIRE_T_A, 1, 300, 0));
	assert_int_equal(t_stats(c).entries, 0);
}

static void
ttl_zero_refused(void **state)
{
	struct cache *c = t_new(state, 1 << 20);

	assert_false(t_put(c, "example.com", WIRE_T_A, 20, 0, 0));
	assert_false(t_has(c, "example.com", WIRE_T_A, 0));
	assert_int_equal(t_stats(c).entries, 0);
	assert_int_equal(t_stats(c).inserts, 0);
	assert_int_equal(t_stats(c).bytes, 0);
}

static void
flush_empties(void **state)
{
	struct cache *c = t_new(state, 1 << 20);
	char name[32];
	struct cache_stats st;

	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%d.example", i);
		assert_true(t_put(c, name, WIRE_T_A, 50, 300, 0));
	}
	assert_int_equal(t_stats(c).entries, 10);
	cache_flush(c);
	st = t_stats(c);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(cache_next_expiry(c, 0), -1);
	assert_int_equal(cache_expire(c, UINT64_MAX), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%d.example", i);
		assert_false(t_has(c, name, WIRE_T_A, 1));
	}
	/* Still usable. */
	assert_true(t_put(c, "f0.example", WIRE_T_A, 50, 300, 2));
	assert_true(t_has(c, "f0.example", WIRE_T_A, 3));
	assert_int_equal(cache_next_expiry(c, 2), 300000);
}

static void
stats_counts(void **state)
{
	struct cache *c = t_new(state, 12345);
	struct cache_stats st = t_stats(c);

	assert_int_equal(st.entries, 0);
	assert_int_equal(st.hits + st.misses + st.inserts + st.evictions + st.expired, 0);
	assert_int_equal(st.max_bytes, 12345);
	assert_false(t_has(c, "a.example", WIRE_T_A, 0));
	assert_true(t_put(c, "a.example", WIRE_T_A, 10, 300, 0));
	assert_true(t_put(c, "b.example", WIRE_T_A, 10, 300, 0));
	assert_true(t_put(c, "b.example", WIRE_T_A, 10, 300, 0));
	assert_true(t_has(c, "a.example", WIRE_T_A, 1));
	assert_true(t_has(c, "a.example", WIRE_T_A, 2));
	assert_true(t_has(c, "b.example", WIRE_T_A, 3));
	assert_false(t_has(c, "c.example", WIRE_T_A, 4));
	assert_false(t_has(c, "a.example", WIRE_T_AAAA, 5));
	st = t_stats(c);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.inserts, 3);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.expired, 0);
	assert_int_equal(st.bytes, 2 * cache_entry_cost(11, 10));
}

/* Enough entries for the table to grow several times. */
static void
many_entries(void **state)
{
	enum { N = 100000 };
	struct cache *c = t_new(state, (size_t)1 << 30);
	struct t_key tk;
	char name[32];
	uint8_t wire[4];
	const struct cache_answer *a;

	for (uint32_t i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "h%u.example.com", i);
		wire_put32(wire, i);
		assert_true(
		    cache_insert(c, t_key(&tk, name, WIRE_T_A, 0), wire, 4, 3600, false, i));
	}
	assert_int_equal(t_stats(c).entries, N);
	assert_int_equal(t_stats(c).evictions, 0);
	for (uint32_t i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "H%u.EXAMPLE.com", i);
		a = cache_lookup(c, t_key(&tk, name, WIRE_T_A, 0), N);
		assert_non_null(a);
		assert_int_equal(a->len, 4);
		assert_int_equal(wire_get32(a->wire), i);
	}
	assert_int_equal(t_stats(c).hits, N);
	assert_null(cache_lookup(c, t_key(&tk, "h100000.example.com", WIRE_T_A, 0), N));
}

static void
free_null(void **state)
{
	(void)state;
	cache_free(NULL);
	assert_int_equal(cache_entry_cost(10, 100) - cache_entry_cost(10, 0), 100);
	assert_int_equal(cache_entry_cost(20, 0) - cache_entry_cost(10, 0), 10);
}

/* ---- SipHash-2-4 ----------------------------------------------------- */

static void
siphash_vectors(void **state)
{
	uint8_t key[16], msg[64];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* The reference implementation's vectors (key 00..0f, message 00..len-1). */
	assert_int_equal(siphash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
	assert_int_equal(siphash24(key, msg, 15), 0xa129ca6149be45e5ULL); /* the paper's */
	/* The key matters. */
	key[0] ^= 1;
	assert_int_not_equal(siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(insert_lookup, t_teardown),
	    cmocka_unit_test_teardown(lookup_case_insensitive, t_teardown),
	    cmocka_unit_test_teardown(key_fields_distinct, t_teardown),
	    cmocka_unit_test_teardown(reinsert_replaces, t_teardown),
	    cmocka_unit_test_teardown(expiry_boundary, t_teardown),
	    cmocka_unit_test_teardown(expire_sweep, t_teardown),
	    cmocka_unit_test_teardown(expire_random, t_teardown),
	    cmocka_unit_test_teardown(lru_eviction, t_teardown),
	    cmocka_unit_test_teardown(bytes_bound, t_teardown),
	    cmocka_unit_test_teardown(too_large_refused, t_teardown),
	    cmocka_unit_test_teardown(ttl_zero_refused, t_teardown),
	    cmocka_unit_test_teardown(flush_empties, t_teardown),
	    cmocka_unit_test_teardown(stats_counts, t_teardown),
	    cmocka_unit_test_teardown(many_entries, t_teardown),
	    cmocka_unit_test(free_null),
	    cmocka_unit_test(siphash_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
