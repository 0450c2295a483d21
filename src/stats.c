/*
 * stats: histogram arithmetic and the JSON form. See include/stats.h.
 */
#include "stats.h"

#include <jansson.h>
#include <stdio.h>

#include "stats_keys.h"
#include "wire.h"

size_t
stats_hist_index(uint64_t v)
{
	if (v < STATS_HIST_SUB)
		return (size_t)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* v in [2^e, 2^(e+1)) */
	size_t i = (size_t)(e - 1) * STATS_HIST_SUB + ((v >> (e - 2)) & (STATS_HIST_SUB - 1));
	return i < STATS_HIST_BUCKETS ? i : STATS_HIST_BUCKETS - 1;
}

uint64_t
stats_hist_lower(size_t i)
{
	if (i < STATS_HIST_SUB)
		return i;
	unsigned e = (unsigned)(i / STATS_HIST_SUB) + 1;
	return (uint64_t)(STATS_HIST_SUB + i % STATS_HIST_SUB) << (e - 2);
}

void
stats_hist_add(struct stats_hist *h, uint64_t v)
{
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	h->buckets[stats_hist_index(v)]++;
}

uint64_t
stats_hist_quantile(const struct stats_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank == 0)
		rank = 1;
	for (size_t i = 0; i < STATS_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t upper =
			    i + 1 < STATS_HIST_BUCKETS ? stats_hist_lower(i + 1) - 1 : h->max;
			return upper < h->max ? upper : h->max;
		}
	}
	return h->max;
}

static void stats_set(json_t *obj, const char *key, uint64_t v);
static void stats_set_code(json_t *obj, const char *family, const char *name, const char *unnamed,
			   unsigned code, uint64_t v);
static void stats_hist_json(const struct stats_hist *h, json_t *obj, const char *prefix);
static json_t *stats_hist_buckets(const struct stats_hist *h);

/* Query types always listed, even at zero, so graphs have their series. */
static const uint16_t stats_fixed_types[] = {1, 2, 5, 6, 12, 15, 16, 28, 33, 43, 48, 52, 255};

static void
stats_set(json_t *obj, const char *key, uint64_t v)
{
	json_object_set_new(obj, key, json_integer((json_int_t)v));
}

/* "queries.by_type.MX", or "queries.by_type.TYPE99" for a code without a name. */
static void
stats_set_code(json_t *obj, const char *family, const char *name, const char *unnamed,
	       unsigned code, uint64_t v)
{
	char key[64];

	if (name)
		snprintf(key, sizeof(key), "%s.%s", family, name);
	else
		snprintf(key, sizeof(key), "%s.%s%u", family, unnamed, code);
	stats_set(obj, key, v);
}

static void
stats_hist_json(const struct stats_hist *h, json_t *obj, const char *prefix)
{
	static const struct {
		const char *name;
		double q;
	} quantiles[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}};
	char key[96];

	for (size_t i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
		snprintf(key, sizeof(key), "%s.%s", prefix, quantiles[i].name);
		stats_set(obj, key, stats_hist_quantile(h, quantiles[i].q));
	}
	snprintf(key, sizeof(key), "%s.max", prefix);
	stats_set(obj, key, h->max);
	snprintf(key, sizeof(key), "%s.mean", prefix);
	stats_set(obj, key, h->count ? h->sum / h->count : 0);
	snprintf(key, sizeof(key), "%s.count", prefix);
	stats_set(obj, key, h->count);
}

/* {"le": [upper bounds], "count": [per bucket], "sum": n}, up to the last
 * bucket in use. */
static json_t *
stats_hist_buckets(const struct stats_hist *h)
{
	json_t *le = json_array(), *counts = json_array();
	size_t last = 0;

	for (size_t i = 0; i < STATS_HIST_BUCKETS; i++)
		if (h->buckets[i])
			last = i;
	for (size_t i = 0; i <= last; i++) {
		/* The last bucket also holds everything above its range. */
		uint64_t upper = stats_hist_lower(i + 1) - 1;
		if (i == STATS_HIST_BUCKETS - 1 && h->max > upper)
			upper = h->max;
		json_array_append_new(le, json_integer((json_int_t)upper));
		json_array_append_new(counts, json_integer((json_int_t)h->buckets[i]));
	}
	return json_pack("{s:o, s:o, s:I, s:I}", "le", le, "count", counts, "sum",
			 (json_int_t)h->sum, "total", (json_int_t)h->count);
}

static const char *const stats_servfail_names[STATS_SF_COUNT] = {
#define STATS_SF_NAME(id, name, reason) [STATS_SF_##id] = #name,
    STATS_SERVFAILS(STATS_SF_NAME)
#undef STATS_SF_NAME
};

static const char *const stats_servfail_reasons[STATS_SF_COUNT] = {
#define STATS_SF_REASON(id, name, reason) [STATS_SF_##id] = (reason),
    STATS_SERVFAILS(STATS_SF_REASON)
#undef STATS_SF_REASON
};

const char *
stats_servfail_name(enum stats_servfail why)
{
	return why < STATS_SF_COUNT ? stats_servfail_names[why] : "unknown";
}

const char *
stats_servfail_reason(enum stats_servfail why)
{
	return why < STATS_SF_COUNT ? stats_servfail_reasons[why] : "unknown";
}

void
stats_hist_merge(struct stats_hist *sum, const struct stats_hist *h)
{
	sum->count += h->count;
	sum->sum += h->sum;
	if (h->max > sum->max)
		sum->max = h->max;
	for (size_t i = 0; i < STATS_HIST_BUCKETS; i++)
		sum->buckets[i] += h->buckets[i];
}

/* Every field up to the histograms is a count (see struct stats). */
void
stats_sum(struct stats *sum, const struct stats *w)
{
	uint64_t *to = (uint64_t *)(void *)sum;
	const uint64_t *from = (const uint64_t *)(const void *)w;

	for (size_t i = 0; i < offsetof(struct stats, latency) / sizeof(uint64_t); i++)
		to[i] += from[i];
	stats_hist_merge(&sum->latency, &w->latency);
	stats_hist_merge(&sum->latency_hit, &w->latency_hit);
	stats_hist_merge(&sum->latency_miss, &w->latency_miss);
	stats_hist_merge(&sum->latency_upstream, &w->latency_upstream);
}

static void
stats_families_json(const struct stats *st, json_t *obj)
{
	for (size_t i = 0; i < sizeof(stats_fixed_types) / sizeof(stats_fixed_types[0]); i++) {
		uint16_t t = stats_fixed_types[i];
		stats_set_code(obj, "queries.by_type", wire_type_name(t), "TYPE", t,
			       st->by_type[t]);
	}
	for (unsigned t = 0; t < 256; t++)
		if (st->by_type[t])
			stats_set_code(obj, "queries.by_type", wire_type_name((uint16_t)t), "TYPE",
				       t, st->by_type[t]);
	for (unsigned r = 0; r < STATS_RCODES; r++)
		if (wire_rcode_name(r) || st->by_rcode[r])
			stats_set_code(obj, "queries.by_rcode", wire_rcode_name(r), "RCODE", r,
				       st->by_rcode[r]);
}

void
stats_to_json(const struct stats_view *v, json_t *obj, bool histograms)
{
	json_t *buckets = histograms ? json_object() : NULL;

	stats_families_json(&v->counters, obj);
	for (size_t i = 0; i < stats_nkeys; i++) {
		const struct stats_key *k = &stats_keys[i];
		if (k->kind != STATS_HISTOGRAM) {
			stats_set(obj, k->name, stats_key_value(k, v));
			continue;
		}
		stats_hist_json(stats_key_hist(k, v), obj, k->name);
		if (buckets)
			json_object_set_new(buckets, k->name,
					    stats_hist_buckets(stats_key_hist(k, v)));
	}
	if (buckets)
		json_object_set_new(obj, "histograms", buckets);
}

void
stats_summary(const struct stats_view *v, char *buf, size_t len)
{
	uint64_t hits = v->cache.hits, asked = v->cache.hits + v->cache.misses;

	snprintf(buf, len, "%llu queries, %.1f%% cache hits, %llu lookups in flight, p99 %llu us",
		 (unsigned long long)v->counters.queries_total,
		 asked ? 100.0 * (double)hits / (double)asked : 0.0,
		 (unsigned long long)v->gauges.distinct_in_flight,
		 (unsigned long long)stats_hist_quantile(&v->counters.latency, 0.99));
}
