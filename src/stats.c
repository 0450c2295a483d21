/*
 * stats: histogram arithmetic and the JSON form. See include/stats.h.
 */
#include "stats.h"

#include <jansson.h>
#include <stdio.h>

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

void
stats_hist_to_json(const struct stats_hist *h, json_t *obj, const char *prefix)
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
json_t *
stats_hist_buckets_json(const struct stats_hist *h)
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
    [STATS_SF_UPSTREAM] = "upstream",	  [STATS_SF_BOGUS] = "bogus",
    [STATS_SF_DEADLINE] = "deadline",	  [STATS_SF_TABLE_FULL] = "table_full",
    [STATS_SF_ZONE_SHARE] = "zone_share", [STATS_SF_JOSTLED] = "jostled",
    [STATS_SF_WAITERS] = "waiters",	  [STATS_SF_RESOURCES] = "resources",
};

const char *
stats_servfail_name(enum stats_servfail why)
{
	return why < STATS_SF_COUNT ? stats_servfail_names[why] : "unknown";
}

void
stats_to_json(const struct stats *st, json_t *obj, bool histograms)
{
	char key[64];
	stats_set(obj, "queries.total", st->queries_total);
	stats_set(obj, "queries.udp", st->queries_udp);
	stats_set(obj, "queries.tcp", st->queries_tcp);
	stats_set(obj, "queries.dropped", st->dropped);
	stats_set(obj, "queries.refused", st->refused);
	stats_set(obj, "queries.ratelimited", st->ratelimited);
	for (size_t i = 0; i < sizeof(stats_fixed_types) / sizeof(stats_fixed_types[0]); i++) {
		uint16_t t = stats_fixed_types[i];
		stats_set_code(obj, "queries.by_type", wire_type_name(t), "TYPE", t,
			       st->by_type[t]);
	}
	for (unsigned t = 0; t < 256; t++)
		if (st->by_type[t])
			stats_set_code(obj, "queries.by_type", wire_type_name((uint16_t)t), "TYPE",
				       t, st->by_type[t]);
	stats_set(obj, "queries.by_type.other", st->type_other);
	for (unsigned r = 0; r < STATS_RCODES; r++)
		if (wire_rcode_name(r) || st->by_rcode[r])
			stats_set_code(obj, "queries.by_rcode", wire_rcode_name(r), "RCODE", r,
				       st->by_rcode[r]);
	stats_set(obj, "upstream.queries", st->upstream_queries);
	stats_set(obj, "upstream.failures", st->upstream_failures);
	stats_set(obj, "upstream.timeouts", st->upstream_timeouts);
	stats_set(obj, "upstream.bogus", st->upstream_bogus);
	stats_set(obj, "upstream.coalesced", st->inflight_joined);
	stats_set(obj, "upstream.overflow", st->inflight_overflow);
	stats_set(obj, "upstream.zone_capped", st->inflight_zone_capped);
	stats_set(obj, "upstream.jostled", st->inflight_jostled);
	stats_set(obj, "tcp.accepted", st->tcp_accepted);
	stats_set(obj, "tcp.rejected", st->tcp_rejected);
	stats_set(obj, "tcp.timeouts", st->tcp_timeouts);
	stats_set(obj, "tcp.write_timeouts", st->tcp_write_timeouts);
	stats_set(obj, "tcp.refused", st->tcp_refused);
	stats_set(obj, "udp.send_errors", st->udp_send_errors);
	stats_set(obj, "cache.refreshes", st->refreshes);
	stats_set(obj, "cache.stale_served", st->stale_served);
	stats_set(obj, "mx_chaser.mx_answers", st->mx_answers);
	stats_set(obj, "mx_chaser.implicit_mx", st->mx_implicit);
	stats_set(obj, "mx_chaser.null_mx", st->mx_null);
	stats_set(obj, "mx_chaser.exchangers", st->mx_exchangers);
	stats_set(obj, "mx_chaser.prefetches", st->mx_prefetches);
	stats_set(obj, "mx_chaser.skipped_cached", st->mx_skipped_cached);
	stats_set(obj, "mx_chaser.skipped_running", st->mx_skipped_running);
	stats_set(obj, "mx_chaser.capped", st->mx_capped);
	stats_set(obj, "mx_chaser.over_limit", st->mx_over_limit);
	stats_set(obj, "mx_chaser.background_full", st->mx_background_full);
	stats_set(obj, "mx_chaser.zone_budget", st->mx_zone_budget);
	stats_set(obj, "mx_chaser.additional_records", st->mx_additional);
	stats_set(obj, "mx_chaser.prefetch_hits", st->prefetch_hits);
	for (unsigned i = 0; i < STATS_SF_COUNT; i++) {
		snprintf(key, sizeof(key), "servfail.%s", stats_servfail_names[i]);
		stats_set(obj, key, st->servfail[i]);
	}
	stats_hist_to_json(&st->latency, obj, "latency_us");
	stats_hist_to_json(&st->latency_hit, obj, "latency_hit_us");
	stats_hist_to_json(&st->latency_miss, obj, "latency_miss_us");
	stats_hist_to_json(&st->latency_upstream, obj, "latency_upstream_us");
	if (histograms)
		json_object_set_new(
		    obj, "histograms",
		    json_pack("{s:o, s:o, s:o, s:o}", "latency_us",
			      stats_hist_buckets_json(&st->latency), "latency_hit_us",
			      stats_hist_buckets_json(&st->latency_hit), "latency_miss_us",
			      stats_hist_buckets_json(&st->latency_miss), "latency_upstream_us",
			      stats_hist_buckets_json(&st->latency_upstream)));
}

void
stats_summary(const struct stats *st, uint64_t hits, uint64_t misses, size_t in_flight, char *buf,
	      size_t len)
{
	uint64_t asked = hits + misses;

	snprintf(buf, len, "%llu queries, %.1f%% cache hits, %zu lookups in flight, p99 %llu us",
		 (unsigned long long)st->queries_total, asked ? 100.0 * (double)hits / (double)asked : 0.0,
		 in_flight, (unsigned long long)stats_hist_quantile(&st->latency, 0.99));
}
