/*
 * budget: what one zone may cost. Names a stranger chooses (every sender
 * and recipient domain, every exchanger) can all fall in one zone: a
 * random-subdomain flood, or MX answers naming thousands of exchangers in
 * a victim's zone. Every upstream lookup is charged to the registrable
 * domain of its question (public suffix list), and a zone may hold only
 * a share of the lookups in flight, and start only so many background
 * lookups a second, so one zone can neither take the in-flight table
 * from everyone else nor turn the resolver into a flood against a third
 * party. Memory is fixed at creation: zones beyond the table's size are
 * refused, never allocated.
 */
#ifndef MXCACHE_BUDGET_H
#define MXCACHE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct budget;

struct budget_options {
	size_t zone_inflight;	 /* client lookups in flight per zone */
	size_t zone_background;	 /* background lookups in flight per zone */
	unsigned zone_bg_per_sec; /* background lookups started per second per zone */
};

enum budget_verdict {
	BUDGET_OK,
	BUDGET_ZONE_FULL,  /* the zone holds its share of lookups in flight */
	BUDGET_ZONE_RATE,  /* the zone started its background lookups for this second */
	BUDGET_TABLE_FULL, /* more zones at once than the table tracks */
};

/* Tracks up to max_zones zones at once (a zone with a lookup in flight or
 * a background lookup in the last second). */
struct budget *budget_new(const struct budget_options *opts, size_t max_zones);
void budget_free(struct budget *b);
void budget_set_options(struct budget *b, const struct budget_options *opts);

/* The zone a question (wire-format name, any case) is charged to: a hash
 * of its registrable domain, or of the name itself when it is a public
 * suffix. */
uint64_t budget_zone(const struct budget *b, const uint8_t *name, size_t len);

/* Charges one lookup to zone, or says why not. */
enum budget_verdict budget_acquire(struct budget *b, uint64_t zone, bool background,
				   uint64_t now_ms);
/* What budget_acquire would say now, without charging anything. */
enum budget_verdict budget_peek(const struct budget *b, uint64_t zone, bool background,
				uint64_t now_ms);
/* Client lookups charged to zone now. */
size_t budget_load(const struct budget *b, uint64_t zone);

/* Gives back what budget_acquire charged. */
void budget_release(struct budget *b, uint64_t zone, bool background, uint64_t now_ms);

/* Zones tracked now. */
size_t budget_zones(const struct budget *b);

#endif
