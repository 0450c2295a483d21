/*
 * inflight: see include/inflight.h.
 */
#include "inflight.h"

#include <stdlib.h>
#include <string.h>

#include "freshness.h"

#define INFLIGHT_BUCKETS 4096u

struct inflight_table {
	struct ev_loop *loop;
	void (*expire)(void *arg, struct inflight *f);
	void *arg;
	struct budget *budget;
	size_t count;
	size_t background;
	size_t waiting;
	struct inflight *oldest, *newest;
	struct inflight *buckets[INFLIGHT_BUCKETS];
};

static void inflight_timer(struct ev_loop *loop, ev_timer *w, int revents);

struct inflight_table *
inflight_new(struct ev_loop *loop, void (*expire)(void *arg, struct inflight *f), void *arg)
{
	struct inflight_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	t->expire = expire;
	t->arg = arg;
	return t;
}

void *
inflight_owner(const struct inflight *f)
{
	return f->table->arg;
}

void
inflight_free(struct inflight_table *t)
{
	free(t);
}

void
inflight_set_budget(struct inflight_table *t, struct budget *budget)
{
	t->budget = budget;
}

struct inflight *
inflight_find(const struct inflight_table *t, const struct cache_kbytes *k)
{
	for (struct inflight *f = t->buckets[k->hash % INFLIGHT_BUCKETS]; f; f = f->hnext)
		if (f->k.hash == k->hash && f->k.len == k->len &&
		    memcmp(f->k.bytes, k->bytes, k->len) == 0)
			return f;
	return NULL;
}

struct inflight *
inflight_start(struct inflight_table *t, const struct cache_key *key, const struct cache_kbytes *k,
	       enum query_origin origin, uint64_t now_us, enum budget_verdict *why)
{
	struct inflight *f;
	uint64_t zone = 0;
	bool background = origin != QUERY_CLIENT;

	*why = BUDGET_OK;
	if (t->budget) {
		zone = budget_zone(t->budget, key->name, key->name_len);
		if ((*why = budget_acquire(t->budget, zone, background, now_us / 1000u)) !=
		    BUDGET_OK)
			return NULL;
	}
	if (!(f = calloc(1, sizeof(*f)))) {
		if (t->budget)
			budget_release(t->budget, zone, background, now_us / 1000u);
		return NULL;
	}
	memcpy(f->name, key->name, key->name_len);
	wire_name_lower(f->name, key->name_len);
	f->key = *key;
	f->key.name = f->name;
	f->k = *k;
	f->table = t;
	f->tail = &f->waiters;
	f->origin = origin;
	f->zone = zone;
	f->started_us = now_us;
	f->lane = RESOLVER_MAIN;
	ev_init(&f->timer, inflight_timer);
	f->timer.data = f;
	f->hnext = t->buckets[k->hash % INFLIGHT_BUCKETS];
	t->buckets[k->hash % INFLIGHT_BUCKETS] = f;
	f->older = t->newest;
	*(t->newest ? &t->newest->newer : &t->oldest) = f;
	t->newest = f;
	t->count++;
	if (background)
		t->background++;
	return f;
}

bool
inflight_join(struct inflight *f, struct query_client *c, const struct wire_query *q,
	      uint64_t start_us, uint64_t deadline_ms, uint64_t stale_ms)
{
	struct inflight_waiter *w = malloc(sizeof(*w));

	if (!w || !(w->client = c->ops->hold(c))) {
		free(w);
		return false;
	}
	w->q = *q;
	w->next = NULL;
	w->start_us = start_us;
	w->deadline_ms = deadline_ms;
	w->stale_ms = stale_ms;
	*f->tail = w;
	f->tail = &w->next;
	f->nwaiters++;
	f->table->waiting++;
	return true;
}

struct inflight_waiter *
inflight_pop(struct inflight *f)
{
	struct inflight_waiter *w = f->waiters;

	if (!w)
		return NULL;
	if (!(f->waiters = w->next))
		f->tail = &f->waiters;
	f->nwaiters--;
	f->table->waiting--;
	return w;
}

void
inflight_waiter_free(struct inflight_waiter *w)
{
	w->client->ops->release(w->client);
	free(w);
}

void
inflight_arm(struct inflight *f, uint64_t now_ms, uint64_t orphan_ms)
{
	uint64_t when = f->waiters ? freshness_waiter_next(f->waiters->deadline_ms,
							   f->waiters->stale_ms, !f->no_stale)
				   : f->started_us / 1000u + orphan_ms;
	double delay = when > now_ms ? (double)(when - now_ms) / 1000.0 : 0.0;

	ev_timer_stop(f->table->loop, &f->timer);
	ev_timer_set(&f->timer, delay, 0.0);
	ev_timer_start(f->table->loop, &f->timer);
}

void
inflight_remove(struct inflight *f, uint64_t now_ms)
{
	struct inflight_table *t = f->table;
	struct inflight **pp = &t->buckets[f->k.hash % INFLIGHT_BUCKETS];

	ev_timer_stop(t->loop, &f->timer);
	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	*(f->older ? &f->older->newer : &t->oldest) = f->newer;
	*(f->newer ? &f->newer->older : &t->newest) = f->older;
	t->count--;
	if (f->origin != QUERY_CLIENT)
		t->background--;
	if (t->budget)
		budget_release(t->budget, f->zone, f->origin != QUERY_CLIENT, now_ms);
	free(f);
}

struct inflight *
inflight_oldest(const struct inflight_table *t)
{
	return t->oldest;
}

size_t
inflight_count(const struct inflight_table *t)
{
	return t->count;
}

size_t
inflight_background(const struct inflight_table *t)
{
	return t->background;
}

size_t
inflight_waiting(const struct inflight_table *t)
{
	return t->waiting;
}

static void
inflight_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct inflight *f = w->data;

	(void)loop;
	(void)revents;
	f->table->expire(f->table->arg, f);
}

uint64_t
inflight_zone(const struct inflight_table *t, const struct cache_key *key)
{
	return t->budget ? budget_zone(t->budget, key->name, key->name_len) : 0;
}

enum budget_verdict
inflight_admits(const struct inflight_table *t, uint64_t zone, uint64_t now_ms)
{
	return t->budget ? budget_peek(t->budget, zone, false, now_ms) : BUDGET_OK;
}

struct inflight *
inflight_victim(const struct inflight_table *t, uint64_t zone, uint64_t now_us, uint64_t jostle_us)
{
	struct inflight *best = NULL;
	size_t best_load = 0, own = t->budget ? budget_load(t->budget, zone) : 0;
	unsigned seen = 0;

	for (struct inflight *f = t->oldest; f && seen < INFLIGHT_VICTIMS; f = f->newer, seen++) {
		bool old = now_us - f->started_us >= jostle_us;
		if (f->origin != QUERY_CLIENT) {
			if (old)
				return f; /* nobody waits for it */
			continue;
		}
		size_t load = t->budget ? budget_load(t->budget, f->zone) : 0;
		if ((old || load >= INFLIGHT_HEAVY * (own + 1)) && (!best || load > best_load)) {
			best = f;
			best_load = load;
		}
	}
	return best;
}
