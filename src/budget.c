/*
 * budget: see include/budget.h.
 */
#include "budget.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "siphash.h"
#include "wire.h"

#define BUDGET_WINDOW_MS 1000u
#define BUDGET_SWEEP_MS 10u

struct budget_zone {
	uint64_t zone; /* 0: free slot */
	uint32_t client;
	uint32_t background;
	uint64_t window_ms; /* start of the second bg_starts counts */
	uint32_t bg_starts;
};

struct budget {
	struct budget_options opts;
	psl_ctx_t *psl; /* NULL: the last two labels stand for the zone */
	uint8_t seed[16];
	size_t used;
	size_t mask;
	uint64_t swept_ms; /* sweeps are O(table): at most one per BUDGET_SWEEP_MS */
	struct budget_zone *slots;
};

static struct budget_zone *budget_slot(const struct budget *b, uint64_t zone);
static struct budget_zone *budget_insert(struct budget *b, uint64_t zone, uint64_t now_ms);
static void budget_delete(struct budget *b, struct budget_zone *z);
static bool budget_idle(const struct budget_zone *z, uint64_t now_ms);
static void budget_sweep(struct budget *b, uint64_t now_ms, bool forget_rates);
static const char *budget_fallback(const char *name);

struct budget *
budget_new(const struct budget_options *opts, size_t max_zones)
{
	struct budget *b = calloc(1, sizeof(*b));
	size_t cap = 16;

	if (!b || getrandom(b->seed, sizeof(b->seed), 0) != (ssize_t)sizeof(b->seed))
		goto fail;
	/* At most half full: linear probing stays short. */
	while (cap < 2 * max_zones)
		cap *= 2;
	if (!(b->slots = calloc(cap, sizeof(*b->slots))))
		goto fail;
	b->mask = cap - 1;
	b->opts = *opts;
	/* The system list (Debian's publicsuffix) or the one built into
	 * libpsl, whichever is newer; read now, before privileges go. */
	b->psl = psl_latest(NULL);
	return b;
fail:
	free(b);
	return NULL;
}

void
budget_free(struct budget *b)
{
	if (!b)
		return;
	psl_free(b->psl);
	free(b->slots);
	free(b);
}

void
budget_set_options(struct budget *b, const struct budget_options *opts)
{
	b->opts = *opts;
}

size_t
budget_zones(const struct budget *b)
{
	return b->used;
}

/* Without a suffix list, "a.b.example" is charged to "b.example". */
static const char *
budget_fallback(const char *name)
{
	const char *last = strrchr(name, '.'), *p;

	if (!last)
		return name;
	for (p = last; p > name && p[-1] != '.'; p--)
		;
	return p > name ? p : name;
}

uint64_t
budget_zone(const struct budget *b, const uint8_t *name, size_t len)
{
	char text[WIRE_NAME_TEXT_MAX];
	const char *zone = NULL;
	size_t n;

	if (!wire_name_to_text(name, len, text, sizeof(text)))
		return 1;
	n = strlen(text);
	if (n > 1 && text[n - 1] == '.')
		text[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (text[i] >= 'A' && text[i] <= 'Z')
			text[i] = (char)(text[i] - 'A' + 'a');
	if (b->psl)
		zone = psl_registrable_domain(b->psl, text);
	if (!zone)
		zone = b->psl ? text : budget_fallback(text);
	/* Never 0, which marks a free slot. */
	return siphash24(b->seed, zone, strlen(zone)) | 1u;
}

static struct budget_zone *
budget_slot(const struct budget *b, uint64_t zone)
{
	for (size_t i = zone & b->mask;; i = (i + 1) & b->mask) {
		if (b->slots[i].zone == zone)
			return &b->slots[i];
		if (b->slots[i].zone == 0)
			return NULL;
	}
}

static struct budget_zone *
budget_insert(struct budget *b, uint64_t zone, uint64_t now_ms)
{
	size_t i;

	if (2 * (b->used + 1) > b->mask + 1 && now_ms - b->swept_ms >= BUDGET_SWEEP_MS) {
		b->swept_ms = now_ms;
		budget_sweep(b, now_ms, false);
		/* Still full of zones kept only for their rate window (a flood
		 * of background work in fresh zones): forget those windows
		 * rather than refuse every new zone. */
		if (2 * (b->used + 1) > b->mask + 1)
			budget_sweep(b, now_ms, true);
	}
	if (2 * (b->used + 1) > b->mask + 1)
		return NULL;
	for (i = zone & b->mask; b->slots[i].zone != 0; i = (i + 1) & b->mask)
		;
	b->slots[i] = (struct budget_zone){.zone = zone, .window_ms = now_ms};
	b->used++;
	return &b->slots[i];
}

/* Backward-shift deletion: later entries of the probe run move up, so
 * lookups never need tombstones. */
static void
budget_delete(struct budget *b, struct budget_zone *z)
{
	size_t hole = (size_t)(z - b->slots), i = hole;

	for (;;) {
		i = (i + 1) & b->mask;
		if (b->slots[i].zone == 0)
			break;
		size_t home = b->slots[i].zone & b->mask;
		/* Move i into the hole unless its home lies cyclically in (hole, i]. */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			b->slots[hole] = b->slots[i];
			hole = i;
		}
	}
	b->slots[hole].zone = 0;
	b->used--;
}

static bool
budget_idle(const struct budget_zone *z, uint64_t now_ms)
{
	return z->client == 0 && z->background == 0 &&
	       (z->bg_starts == 0 || now_ms - z->window_ms >= BUDGET_WINDOW_MS);
}

static void
budget_sweep(struct budget *b, uint64_t now_ms, bool forget_rates)
{
	for (size_t i = 0; i <= b->mask;) {
		const struct budget_zone *z = &b->slots[i];
		if (z->zone != 0 &&
		    (forget_rates ? z->client == 0 && z->background == 0 : budget_idle(z, now_ms)))
			budget_delete(b, &b->slots[i]); /* slot i may now hold another */
		else
			i++;
	}
}

enum budget_verdict
budget_acquire(struct budget *b, uint64_t zone, bool background, uint64_t now_ms)
{
	struct budget_zone *z = budget_slot(b, zone);

	if (!z && !(z = budget_insert(b, zone, now_ms)))
		return BUDGET_TABLE_FULL;
	if (!background) {
		if (z->client >= b->opts.zone_inflight)
			return BUDGET_ZONE_FULL;
		z->client++;
		return BUDGET_OK;
	}
	if (now_ms - z->window_ms >= BUDGET_WINDOW_MS) {
		z->window_ms = now_ms;
		z->bg_starts = 0;
	}
	if (z->background >= b->opts.zone_background)
		return BUDGET_ZONE_FULL;
	if (z->bg_starts >= b->opts.zone_bg_per_sec)
		return BUDGET_ZONE_RATE;
	z->background++;
	z->bg_starts++;
	return BUDGET_OK;
}

enum budget_verdict
budget_peek(const struct budget *b, uint64_t zone, bool background, uint64_t now_ms)
{
	const struct budget_zone *z = budget_slot(b, zone);

	if (!z)
		return BUDGET_OK; /* a new zone: the table makes room (budget_insert) */
	if (!background)
		return z->client >= b->opts.zone_inflight ? BUDGET_ZONE_FULL : BUDGET_OK;
	if (z->background >= b->opts.zone_background)
		return BUDGET_ZONE_FULL;
	bool same_second = now_ms - z->window_ms < BUDGET_WINDOW_MS;
	return same_second && z->bg_starts >= b->opts.zone_bg_per_sec ? BUDGET_ZONE_RATE
								       : BUDGET_OK;
}

size_t
budget_load(const struct budget *b, uint64_t zone)
{
	const struct budget_zone *z = budget_slot(b, zone);

	return z ? z->client : 0;
}

void
budget_release(struct budget *b, uint64_t zone, bool background, uint64_t now_ms)
{
	struct budget_zone *z = budget_slot(b, zone);

	if (!z)
		return;
	if (background && z->background > 0)
		z->background--;
	else if (!background && z->client > 0)
		z->client--;
	if (budget_idle(z, now_ms))
		budget_delete(b, z);
}
