/*
 * cache: hash table + LRU list + expiry heap. See include/cache.h.
 */
#include "cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"
#include "wire.h"

#define CACHE_MIN_BUCKETS 1024u
/* Table slot, heap slot and their slack, plus the allocator's header. */
#define CACHE_SLOT_OVERHEAD (4 * sizeof(void *) + 16)

struct cache_entry {
	struct cache_entry *hnext;
	struct cache_entry *lru_prev;
	struct cache_entry *lru_next;
	uint64_t hash;
	size_t heap_index;
	size_t cost;
	struct cache_answer ans;
	uint16_t key_len;
	uint8_t data[]; /* the key (see cache_key_encode), then the wire answer */
};

struct cache {
	struct cache_entry **buckets;
	size_t nbuckets;
	struct cache_entry *lru_head;
	struct cache_entry *lru_tail;
	struct cache_entry **heap;
	size_t heap_len;
	size_t heap_cap;
	size_t max_bytes;
	uint64_t stale_ms; /* expired entries are kept this long (serve-stale) */
	uint8_t seed[16];
	struct cache_stats st;
};

static struct cache_entry *cache_find(const struct cache *c, const uint8_t *kbuf, size_t klen,
				      uint64_t hash);
static const struct cache_answer *cache_get(const struct cache *c, const struct cache_key *key,
					    uint64_t now_ms, uint64_t grace_ms);
static void cache_remove(struct cache *c, struct cache_entry *e);
static bool cache_grow(struct cache *c);
static void lru_unlink(struct cache *c, struct cache_entry *e);
static void lru_push_head(struct cache *c, struct cache_entry *e);
static void heap_swap(struct cache *c, size_t i, size_t j);
static void heap_up(struct cache *c, size_t i);
static void heap_down(struct cache *c, size_t i);
static void heap_remove(struct cache *c, size_t i);

size_t
cache_key_encode(const struct cache_key *key, uint8_t out[CACHE_KEY_MAX])
{
	size_t n = key->name_len;

	for (size_t i = 0; i < n; i++) {
		uint8_t ch = key->name[i];
		out[i] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + ('a' - 'A')) : ch;
	}
	wire_put16(out + n, key->qtype);
	wire_put16(out + n + 2, key->qclass);
	out[n + 4] = key->flags;
	return n + 5;
}

size_t
cache_entry_cost(size_t name_len, size_t wire_len)
{
	return sizeof(struct cache_entry) + name_len + 5 + wire_len + CACHE_SLOT_OVERHEAD;
}

struct cache *
cache_new(size_t max_bytes, const uint8_t seed[16])
{
	struct cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->nbuckets = CACHE_MIN_BUCKETS;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->max_bytes = max_bytes;
	memcpy(c->seed, seed, sizeof(c->seed));
	return c;
}

void
cache_free(struct cache *c)
{
	if (!c)
		return;
	cache_flush(c);
	free(c->buckets);
	free(c->heap);
	free(c);
}

static struct cache_entry *
cache_find(const struct cache *c, const uint8_t *kbuf, size_t klen, uint64_t hash)
{
	for (struct cache_entry *e = c->buckets[hash & (c->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == hash && e->key_len == klen && memcmp(e->data, kbuf, klen) == 0)
			return e;
	return NULL;
}

void
cache_key_prepare(const struct cache *c, const struct cache_key *key, struct cache_kbytes *out)
{
	out->len = cache_key_encode(key, out->bytes);
	out->hash = siphash24(c->seed, out->bytes, out->len);
}

const struct cache_answer *
cache_lookup(struct cache *c, const struct cache_key *key, uint64_t now_ms)
{
	struct cache_kbytes k;

	cache_key_prepare(c, key, &k);
	return cache_lookup_prepared(c, &k, now_ms);
}

const struct cache_answer *
cache_lookup_prepared(struct cache *c, const struct cache_kbytes *k, uint64_t now_ms)
{
	struct cache_entry *e = cache_find(c, k->bytes, k->len, k->hash);

	if (e && e->ans.expires_ms <= now_ms) {
		if (e->ans.expires_ms + c->stale_ms <= now_ms) {
			cache_remove(c, e);
			c->st.expired++;
		}
		e = NULL;
	}
	if (!e) {
		c->st.misses++;
		return NULL;
	}
	lru_unlink(c, e);
	lru_push_head(c, e);
	c->st.hits++;
	e->ans.hits++;
	return &e->ans;
}

/* The entry for key if it expires more than grace_ms after now; no
 * stats, no LRU move. */
static const struct cache_answer *
cache_get(const struct cache *c, const struct cache_key *key, uint64_t now_ms, uint64_t grace_ms)
{
	uint8_t kbuf[CACHE_KEY_MAX];
	size_t klen = cache_key_encode(key, kbuf);
	const struct cache_entry *e = cache_find(c, kbuf, klen, siphash24(c->seed, kbuf, klen));

	return e && e->ans.expires_ms + grace_ms > now_ms ? &e->ans : NULL;
}

const struct cache_answer *
cache_peek(const struct cache *c, const struct cache_key *key, uint64_t now_ms)
{
	return cache_get(c, key, now_ms, 0);
}

const struct cache_answer *
cache_lookup_stale(const struct cache *c, const struct cache_key *key, uint64_t now_ms)
{
	return cache_get(c, key, now_ms, c->stale_ms);
}

uint32_t
cache_stale(const struct cache *c)
{
	return (uint32_t)(c->stale_ms / 1000u);
}

void
cache_set_stale(struct cache *c, uint32_t stale_seconds)
{
	c->stale_ms = (uint64_t)stale_seconds * 1000u;
}

void
cache_set_max_bytes(struct cache *c, size_t max_bytes)
{
	c->max_bytes = max_bytes;
	while (c->st.bytes > c->max_bytes && c->lru_tail) {
		cache_remove(c, c->lru_tail);
		c->st.evictions++;
	}
}

bool
cache_insert(struct cache *c, const struct cache_key *key, const uint8_t *wire, size_t len,
	     uint32_t ttl, unsigned aflags, uint64_t now_ms)
{
	uint8_t kbuf[CACHE_KEY_MAX];
	size_t klen = cache_key_encode(key, kbuf);
	uint64_t hash = siphash24(c->seed, kbuf, klen);
	size_t cost = cache_entry_cost(key->name_len, len);
	struct cache_entry *e;

	if (ttl == 0 || cost > c->max_bytes)
		return false;
	if ((e = cache_find(c, kbuf, klen, hash)) != NULL)
		cache_remove(c, e);
	while (c->st.bytes + cost > c->max_bytes && c->lru_tail) {
		cache_remove(c, c->lru_tail);
		c->st.evictions++;
	}
	if (!cache_grow(c) || !(e = malloc(sizeof(*e) + klen + len)))
		return false;
	memcpy(e->data, kbuf, klen);
	memcpy(e->data + klen, wire, len);
	e->key_len = (uint16_t)klen;
	e->hash = hash;
	e->cost = cost;
	e->ans = (struct cache_answer){.wire = e->data + klen,
				       .len = len,
				       .stored_ms = now_ms,
				       .expires_ms = now_ms + (uint64_t)ttl * 1000u,
				       .secure = (aflags & CACHE_ANSWER_SECURE) != 0,
				       .prefetched = (aflags & CACHE_ANSWER_PREFETCHED) != 0,
				       .spare = (aflags & CACHE_ANSWER_SPARE) != 0,
				       .tag = (uint8_t)((aflags >> 8) % CACHE_TAGS),
				       .hits = 0};
	e->hnext = c->buckets[hash & (c->nbuckets - 1)];
	c->buckets[hash & (c->nbuckets - 1)] = e;
	lru_push_head(c, e);
	e->heap_index = c->heap_len;
	c->heap[c->heap_len++] = e;
	heap_up(c, e->heap_index);
	c->st.bytes += cost;
	c->st.entries++;
	c->st.inserts++;
	return true;
}

/* Makes room for one more entry: heap slot, and a table that stays at
 * most one entry per bucket on average. */
static bool
cache_grow(struct cache *c)
{
	if (c->heap_len == c->heap_cap) {
		size_t cap = c->heap_cap ? c->heap_cap * 2 : CACHE_MIN_BUCKETS;
		struct cache_entry **h = realloc(c->heap, cap * sizeof(*h));
		if (!h)
			return false;
		c->heap = h;
		c->heap_cap = cap;
	}
	if (c->st.entries < c->nbuckets)
		return true;

	size_t n = c->nbuckets * 2;
	struct cache_entry **b = calloc(n, sizeof(*b));
	if (!b)
		return true; /* a longer chain is still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct cache_entry *e = c->buckets[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
	return true;
}

static void
cache_remove(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	heap_remove(c, e->heap_index);
	if (e->ans.prefetched && e->ans.hits == 0)
		c->st.prefetched_unused++;
	if (e->ans.tag && e->ans.hits == 0)
		c->st.unused_by_tag[e->ans.tag]++;
	c->st.bytes -= e->cost;
	c->st.entries--;
	free(e);
}

size_t
cache_expire(struct cache *c, uint64_t now_ms)
{
	size_t n = 0;

	while (c->heap_len > 0 && c->heap[0]->ans.expires_ms + c->stale_ms <= now_ms) {
		cache_remove(c, c->heap[0]);
		c->st.expired++;
		n++;
	}
	return n;
}

int64_t
cache_next_expiry(const struct cache *c, uint64_t now_ms)
{
	if (c->heap_len == 0)
		return -1;
	uint64_t when = c->heap[0]->ans.expires_ms + c->stale_ms;
	return when <= now_ms ? 0 : (int64_t)(when - now_ms);
}

void
cache_flush(struct cache *c)
{
	while (c->lru_head)
		cache_remove(c, c->lru_head);
}

size_t
cache_flush_name(struct cache *c, const uint8_t *name, size_t name_len, int qtype)
{
	struct cache_entry *e = c->lru_head, *next;
	size_t n = 0;

	for (; e; e = next) {
		next = e->lru_next;
		if (e->key_len != name_len + 5 ||
		    !wire_name_equal(e->data, name_len, name, name_len) ||
		    (qtype >= 0 && wire_get16(e->data + name_len) != qtype))
			continue;
		cache_remove(c, e);
		n++;
	}
	return n;
}

void
cache_walk(const struct cache *c, uint64_t now_ms,
	   bool (*fn)(const struct cache_entry_info *info, void *arg), void *arg)
{
	for (const struct cache_entry *e = c->lru_head; e; e = e->lru_next) {
		if (e->ans.expires_ms <= now_ms)
			continue;
		size_t nl = (size_t)e->key_len - 5;
		struct cache_entry_info info = {
		    .name = e->data,
		    .name_len = nl,
		    .qtype = wire_get16(e->data + nl),
		    .qclass = wire_get16(e->data + nl + 2),
		    .flags = e->data[nl + 4],
		    .ttl_left = (uint32_t)((e->ans.expires_ms - now_ms) / 1000u),
		    .bytes = e->cost,
		    .ans = &e->ans,
		};
		if (!fn(&info, arg))
			return;
	}
}

void
cache_reset_stats(struct cache *c)
{
	c->st.hits = c->st.misses = c->st.inserts = c->st.evictions = c->st.expired = 0;
	c->st.prefetched_unused = 0;
	memset(c->st.unused_by_tag, 0, sizeof(c->st.unused_by_tag));
}

void
cache_get_stats(const struct cache *c, struct cache_stats *st)
{
	*st = c->st;
	st->max_bytes = c->max_bytes;
}

static void
lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push_head(struct cache *c, struct cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	else
		c->lru_tail = e;
	c->lru_head = e;
}

static void
heap_swap(struct cache *c, size_t i, size_t j)
{
	struct cache_entry *t = c->heap[i];

	c->heap[i] = c->heap[j];
	c->heap[j] = t;
	c->heap[i]->heap_index = i;
	c->heap[j]->heap_index = j;
}

static void
heap_up(struct cache *c, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (c->heap[parent]->ans.expires_ms <= c->heap[i]->ans.expires_ms)
			break;
		heap_swap(c, i, parent);
		i = parent;
	}
}

static void
heap_down(struct cache *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < c->heap_len && c->heap[l]->ans.expires_ms < c->heap[m]->ans.expires_ms)
			m = l;
		if (r < c->heap_len && c->heap[r]->ans.expires_ms < c->heap[m]->ans.expires_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(c, i, m);
		i = m;
	}
}

static void
heap_remove(struct cache *c, size_t i)
{
	c->heap_len--;
	if (i == c->heap_len)
		return;
	heap_swap(c, i, c->heap_len);
	heap_up(c, i);
	heap_down(c, i);
}
