/*
 * Unit tests for stats (include/stats.h): the histogram arithmetic and the
 * JSON form the control socket serves. The struct stats under test lives
 * in *state, freed by t_teardown even when a test fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "stats.h"
#include "stats_keys.h"

#define T_LAST (STATS_HIST_BUCKETS - 1)

struct t_state {
	struct stats_view v;
	json_t *obj;
};

static struct t_state *
t_new(void **state)
{
	struct t_state *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	*state = t;
	t->obj = json_object();
	assert_non_null(t->obj);
	return t;
}

static int
t_teardown(void **state)
{
	struct t_state *t = *state;

	if (t) {
		json_decref(t->obj);
		free(t);
	}
	*state = NULL;
	return 0;
}

/* A small deterministic generator (xorshift64). */
static uint64_t
t_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Asserts v sits in its bucket: [lower(i), lower(i + 1)). The last bucket
 * also takes everything past its upper edge. */
static void
t_in_bucket(uint64_t v)
{
	size_t i = stats_hist_index(v);

	assert_true(i < STATS_HIST_BUCKETS);
	assert_true(stats_hist_lower(i) <= v);
	if (v < stats_hist_lower(STATS_HIST_BUCKETS))
		assert_true(v < stats_hist_lower(i + 1));
	else
		assert_int_equal(i, T_LAST);
}

/* The integer value of key in obj, which must be a JSON integer. */
static json_int_t
t_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		fail_msg("missing key %s", key);
	if (!json_is_integer(v))
		fail_msg("key %s is not an integer", key);
	return json_integer_value(v);
}

/* ---- bucket arithmetic --------------------------------------------- */

static void
hist_small_values_own_buckets(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < 4; v++) {
		assert_int_equal(stats_hist_index(v), v);
		assert_int_equal(stats_hist_lower((size_t)v), v);
	}
	assert_int_equal(stats_hist_index(4), 4);
	assert_int_equal(stats_hist_lower(4), 4);
	/* 4..7 are still exact: the first octave split in four is one apiece. */
	for (uint64_t v = 4; v < 8; v++)
		assert_int_equal(stats_hist_lower(stats_hist_index(v)), v);
}

static void
hist_index_lower_consistent(void **state)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL;

	(void)state;
	/* Everything up to 2^16... */
	for (uint64_t v = 0; v <= 65536; v++)
		t_in_bucket(v);
	/* ...then around and between every power of two up to 2^32... */
	for (unsigned e = 2; e <= 32; e++) {
		uint64_t p = (uint64_t)1 << e;
		for (uint64_t k = 0; k < 64; k++) {
			t_in_bucket(p + k * (p / 64));
			t_in_bucket(p + k * (p / 64) - 1);
			t_in_bucket(p + k);
			t_in_bucket(p - 1 - k);
		}
	}
	/* ...and a random sample of the rest, up to 2^32 and past it. */
	for (int k = 0; k < 200000; k++)
		t_in_bucket(t_rand(&rng) % (((uint64_t)1 << 32) + 1));
	t_in_bucket(UINT64_MAX);
}

static void
hist_buckets_monotonic(void **state)
{
	(void)state;
	for (size_t i = 1; i < STATS_HIST_BUCKETS; i++) {
		uint64_t lo = stats_hist_lower(i), prev = stats_hist_lower(i - 1);
		assert_true(lo > prev);
		/* Each bucket begins where the previous one ends. */
		assert_int_equal(stats_hist_index(lo), i);
		assert_int_equal(stats_hist_index(lo - 1), i - 1);
		/* Four per octave: a bucket is at most a quarter of its lower edge. */
		if (i - 1 >= 4)
			assert_true((lo - prev) * 4 <= prev);
	}
	assert_true(stats_hist_lower(STATS_HIST_BUCKETS) > stats_hist_lower(T_LAST));
	/* The index never goes down as values go up. */
	size_t last = 0;
	for (uint64_t v = 0; v < ((uint64_t)1 << 33); v += v / 7 + 1) {
		size_t i = stats_hist_index(v);
		assert_true(i >= last);
		last = i;
	}
	assert_int_equal(last, T_LAST);
}

/* ---- stats_hist_add ------------------------------------------------ */

static void
hist_add_counts(void **state)
{
	struct t_state *t = t_new(state);
	struct stats_hist *h = &t->v.counters.latency;
	const uint64_t vals[] = {0, 1, 3, 100, 100, 5000, 42, 1000000};
	uint64_t sum = 0, total = 0;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t b = stats_hist_index(vals[i]);
		uint64_t before = h->buckets[b];
		stats_hist_add(h, vals[i]);
		sum += vals[i];
		assert_int_equal(h->count, i + 1);
		assert_int_equal(h->sum, sum);
		assert_int_equal(h->buckets[b], before + 1);
	}
	assert_int_equal(h->max, 1000000);
	assert_int_equal(h->buckets[stats_hist_index(100)], 2);
	for (size_t i = 0; i < STATS_HIST_BUCKETS; i++)
		total += h->buckets[i];
	assert_int_equal(total, h->count);

	/* A smaller value does not lower the max; past the last edge lands last. */
	stats_hist_add(h, 7);
	assert_int_equal(h->max, 1000000);
	stats_hist_add(h, (uint64_t)1 << 40);
	assert_int_equal(h->max, (uint64_t)1 << 40);
	assert_int_equal(h->buckets[T_LAST], 1);
}

/* ---- stats_hist_quantile ------------------------------------------- */

static void
quantile_empty(void **state)
{
	struct t_state *t = t_new(state);

	assert_int_equal(stats_hist_quantile(&t->v.counters.latency, 0.5), 0);
	assert_int_equal(stats_hist_quantile(&t->v.counters.latency, 0.99), 0);
	assert_int_equal(stats_hist_quantile(&t->v.counters.latency, 1.0), 0);
}

static void
quantile_single_sample(void **state)
{
	struct t_state *t = t_new(state);
	const uint64_t vals[] = {0, 1, 4, 5, 100, 1000, 12345, 999999, (uint64_t)1 << 31};
	const double qs[] = {0.0001, 0.5, 0.9, 0.99, 1.0};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct stats_hist *h = &t->v.counters.latency;
		memset(h, 0, sizeof(*h));
		stats_hist_add(h, vals[i]);
		for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
			uint64_t got = stats_hist_quantile(h, qs[k]);
			assert_true(got >= vals[i]);
			assert_true(got <= h->max);
		}
	}
}

static void
quantile_two_modes(void **state)
{
	struct t_state *t = t_new(state);
	struct stats_hist *h = &t->v.counters.latency;
	size_t b100 = stats_hist_index(100);
	uint64_t width = stats_hist_lower(b100 + 1) - stats_hist_lower(b100);
	uint64_t p50, p99;

	for (int i = 0; i < 1000; i++)
		stats_hist_add(h, 100);
	for (int i = 0; i < 10; i++)
		stats_hist_add(h, 10000);
	assert_int_equal(h->count, 1010);
	assert_int_equal(h->max, 10000);

	/* p50: the upper edge of 100's bucket, within the bucket's width. */
	p50 = stats_hist_quantile(h, 0.50);
	assert_true(p50 >= 100);
	assert_true(p50 - 100 < width);
	assert_int_equal(stats_hist_index(p50), b100);
	assert_int_equal(p50, stats_hist_lower(b100 + 1) - 1);
	/* p90 and p99 too: 1000 of 1010 samples is 99.01%. */
	assert_int_equal(stats_hist_quantile(h, 0.90), p50);
	p99 = stats_hist_quantile(h, 0.99);
	assert_int_equal(stats_hist_index(p99), b100);
	/* Past that the slow mode, capped at the largest value seen. */
	assert_int_equal(stats_hist_quantile(h, 0.995), 10000);
	assert_int_equal(stats_hist_quantile(h, 1.0), 10000);
}

static void
quantile_uniform(void **state)
{
	struct t_state *t = t_new(state);
	struct stats_hist *h = &t->v.counters.latency;
	const struct {
		double q;
		uint64_t want;
	} cases[] = {{0.01, 10}, {0.25, 250}, {0.50, 500}, {0.90, 900}, {0.99, 990}};

	for (uint64_t v = 1; v <= 1000; v++)
		stats_hist_add(h, v);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got = stats_hist_quantile(h, cases[i].q);
		assert_true(got >= cases[i].want);
		assert_int_equal(stats_hist_index(got), stats_hist_index(cases[i].want));
	}
	assert_int_equal(stats_hist_quantile(h, 1.0), 1000);
	/* Non-decreasing in q. */
	uint64_t prev = 0;
	for (int k = 1; k <= 100; k++) {
		uint64_t got = stats_hist_quantile(h, k / 100.0);
		assert_true(got >= prev);
		prev = got;
	}
}

static void
quantile_overflow_bucket(void **state)
{
	struct t_state *t = t_new(state);
	struct stats_hist *h = &t->v.counters.latency;

	stats_hist_add(h, 10);
	stats_hist_add(h, (uint64_t)1 << 32);
	assert_int_equal(stats_hist_quantile(h, 1.0), (uint64_t)1 << 32);
	assert_int_equal(stats_hist_quantile(h, 0.5),
			 stats_hist_lower(stats_hist_index(10) + 1) - 1);
}

/* ---- stats_to_json ------------------------------------------------- */

/* Every key of the table is in the JSON, as a number, even at zero; a
 * histogram as its percentiles. Nothing else is, but the families. */
static void
json_table_keys(void **state)
{
	struct t_state *t = t_new(state);
	static const char *const parts[] = {"p50", "p90", "p99", "max", "mean", "count"};
	size_t expected = 0, families = 0;
	const char *key;
	json_t *v;
	char name[96];

	stats_to_json(&t->v, t->obj, false);
	for (size_t i = 0; i < stats_nkeys; i++) {
		if (stats_keys[i].kind != STATS_HISTOGRAM) {
			assert_int_equal(t_int(t->obj, stats_keys[i].name), 0);
			expected++;
			continue;
		}
		for (size_t j = 0; j < sizeof(parts) / sizeof(parts[0]); j++) {
			snprintf(name, sizeof(name), "%s.%s", stats_keys[i].name, parts[j]);
			assert_int_equal(t_int(t->obj, name), 0);
			expected++;
		}
	}
	json_object_foreach(t->obj, key, v)
	{
		for (size_t f = 0; f < stats_nfamilies; f++)
			if (strncmp(key, stats_families[f].prefix,
				    strlen(stats_families[f].prefix)) == 0 &&
			    !stats_key_find(key))
				families++;
	}
	assert_true(families > 0);
	assert_int_equal(json_object_size(t->obj), expected + families);
	assert_null(json_object_get(t->obj, "histograms"));
}

/* Names unique, help written, and every counter of struct stats (the
 * scalars and the SERVFAIL reasons) named by exactly one key. */
static void
table_covers_counters(void **state)
{
	enum { N = offsetof(struct stats, by_type) / sizeof(uint64_t) };
	unsigned seen[N] = {0};

	(void)state;
	for (size_t i = 0; i < stats_nkeys; i++) {
		const struct stats_key *k = &stats_keys[i];
		assert_non_null(k->help);
		assert_true(strlen(k->help) > 10);
		assert_int_equal(k->help[strlen(k->help) - 1], '.');
		assert_true(!k->line || k->label); /* shown on a line: labelled */
		assert_ptr_equal(stats_key_find(k->name), k);
		if (k->kind == STATS_COUNTER &&
		    k->offset < offsetof(struct stats_view, counters.by_type))
			seen[k->offset / sizeof(uint64_t)]++;
	}
	for (size_t i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	assert_null(stats_key_find("cache"));
}

/* Two workers' counters and histograms add up. */
static void
sum_workers(void **state)
{
	struct t_state *t = t_new(state);
	struct stats *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	assert_non_null(a);
	assert_non_null(b);
	a->queries_total = 3;
	b->queries_total = 4;
	a->servfail[STATS_SF_BOGUS] = 1;
	b->servfail[STATS_SF_BOGUS] = 2;
	b->by_type[15] = 5;
	a->by_rcode[3] = 1;
	stats_hist_add(&a->latency, 10);
	stats_hist_add(&b->latency, 9000);
	stats_hist_add(&b->latency_upstream, 70);
	stats_sum(&t->v.counters, a);
	stats_sum(&t->v.counters, b);
	assert_int_equal(t->v.counters.queries_total, 7);
	assert_int_equal(t->v.counters.servfail[STATS_SF_BOGUS], 3);
	assert_int_equal(t->v.counters.by_type[15], 5);
	assert_int_equal(t->v.counters.by_rcode[3], 1);
	assert_int_equal(t->v.counters.latency.count, 2);
	assert_int_equal(t->v.counters.latency.sum, 9010);
	assert_int_equal(t->v.counters.latency.max, 9000);
	assert_int_equal(t->v.counters.latency.buckets[stats_hist_index(9000)], 1);
	assert_int_equal(t->v.counters.latency_upstream.count, 1);
	free(a);
	free(b);
}

/* The SERVFAIL reasons: a name for the key, a sentence for the log. */
static void
servfail_names(void **state)
{
	(void)state;
	assert_string_equal(stats_servfail_name(STATS_SF_DEADLINE), "deadline");
	assert_string_equal(stats_servfail_name(STATS_SF_COUNT), "unknown");
	assert_string_equal(stats_servfail_reason(STATS_SF_BOGUS), "DNSSEC validation failed");
	assert_non_null(stats_key_find("servfail.zone_share"));
	assert_non_null(strstr(stats_key_find("servfail.waiters")->help,
			       stats_servfail_reason(STATS_SF_WAITERS)));
}

static void
json_query_counters(void **state)
{
	struct t_state *t = t_new(state);
	struct stats *st = &t->v.counters;

	for (int i = 0; i < 3; i++)
		stats_count_query(st, 1, false);
	stats_count_query(st, 28, true);
	stats_count_query(st, 15, false);
	stats_count_query(st, 15, true);
	stats_count_query(st, 300, false); /* above the per-type table */
	stats_count_rcode(st, 0);
	stats_count_rcode(st, 0);
	stats_count_rcode(st, 3);
	stats_count_rcode(st, 2);
	stats_count_rcode(st, 1000); /* folded into the last slot */
	stats_to_json(&t->v, t->obj, false);

	assert_int_equal(t_int(t->obj, "queries.total"), 7);
	assert_int_equal(t_int(t->obj, "queries.udp"), 5);
	assert_int_equal(t_int(t->obj, "queries.tcp"), 2);
	assert_int_equal(t_int(t->obj, "queries.by_type.A"), 3);
	assert_int_equal(t_int(t->obj, "queries.by_type.AAAA"), 1);
	assert_int_equal(t_int(t->obj, "queries.by_type.MX"), 2);
	assert_int_equal(t_int(t->obj, "queries.by_type.NS"), 0);
	assert_int_equal(t_int(t->obj, "queries.by_type.other"), 1);
	assert_int_equal(t_int(t->obj, "queries.by_rcode.NOERROR"), 2);
	assert_int_equal(t_int(t->obj, "queries.by_rcode.NXDOMAIN"), 1);
	assert_int_equal(t_int(t->obj, "queries.by_rcode.SERVFAIL"), 1);
	assert_int_equal(t_int(t->obj, "queries.by_rcode.REFUSED"), 0);
	assert_int_equal(t_int(t->obj, "queries.by_rcode.BADVERS"), 0);
	/* Codes without a name show up only once counted. */
	assert_int_equal(t_int(t->obj, "queries.by_rcode.RCODE23"), 1);
	assert_null(json_object_get(t->obj, "queries.by_rcode.RCODE7"));
}

static void
json_unnamed_types(void **state)
{
	struct t_state *t = t_new(state);
	struct stats *st = &t->v.counters;

	stats_to_json(&t->v, t->obj, false);
	assert_null(json_object_get(t->obj, "queries.by_type.TYPE200"));
	assert_null(json_object_get(t->obj, "queries.by_type.TYPE0"));
	assert_null(json_object_get(t->obj, "queries.by_type.SPF")); /* named, not listed */
	json_object_clear(t->obj);

	stats_count_query(st, 200, false);
	stats_count_query(st, 200, false);
	stats_count_query(st, 0, false);
	stats_count_query(st, 99, false);
	stats_to_json(&t->v, t->obj, false);
	assert_int_equal(t_int(t->obj, "queries.by_type.TYPE200"), 2);
	assert_int_equal(t_int(t->obj, "queries.by_type.TYPE0"), 1);
	assert_int_equal(t_int(t->obj, "queries.by_type.SPF"), 1);
	assert_null(json_object_get(t->obj, "queries.by_type.TYPE201"));
	assert_null(json_object_get(t->obj, "queries.by_type.TYPE99"));
}

static void
json_counters_map_to_fields(void **state)
{
	struct t_state *t = t_new(state);
	struct stats *st = &t->v.counters;
	const struct {
		const char *key;
		uint64_t *field;
	} map[] = {
	    {"queries.dropped", &st->dropped},
	    {"queries.refused", &st->refused},
	    {"upstream.queries", &t->v.gauges.upstream_queries},
	    {"upstream.failures", &st->upstream_failures},
	    {"upstream.timeouts", &st->upstream_timeouts},
	    {"upstream.bogus", &st->upstream_bogus},
	    {"upstream.coalesced", &st->inflight_joined},
	    {"upstream.overflow", &st->inflight_overflow},
	    {"tcp.accepted", &st->tcp_accepted},
	    {"tcp.rejected", &st->tcp_rejected},
	    {"tcp.timeouts", &st->tcp_timeouts},
	    {"tcp.write_timeouts", &st->tcp_write_timeouts},
	    {"tcp.refused", &st->tcp_refused},
	    {"udp.send_errors", &st->udp_send_errors},
	    {"cache.refreshes", &st->refreshes},
	    {"mx_chaser.mx_answers", &st->mx_answers},
	    {"mx_chaser.implicit_mx", &st->mx_implicit},
	    {"mx_chaser.null_mx", &st->mx_null},
	    {"mx_chaser.exchangers", &st->mx_exchangers},
	    {"mx_chaser.prefetches", &st->mx_prefetches},
	    {"mx_chaser.skipped_cached", &st->mx_skipped_cached},
	    {"mx_chaser.skipped_running", &st->mx_skipped_running},
	    {"mx_chaser.capped", &st->mx_capped},
	    {"mx_chaser.additional_records", &st->mx_additional},
	    {"mx_chaser.prefetch_hits", &st->prefetch_hits},
	    {"mx_chaser.over_limit", &st->mx_over_limit},
	    {"mx_chaser.background_full", &st->mx_background_full},
	    {"mx_chaser.zone_budget", &st->mx_zone_budget},
	    {"mx_chaser.prefetch_unused", &t->v.cache.prefetched_unused},
	    {"queries.ratelimited", &st->ratelimited},
	    {"queries.by_type.other", &st->type_other},
	    {"cache.stale_served", &st->stale_served},
	    {"cache.hits", &t->v.cache.hits},
	    {"cache.misses", &t->v.cache.misses},
	    {"cache.entries", &t->v.cache.entries},
	    {"cache.bytes", &t->v.cache.bytes},
	    {"cache.max_bytes", &t->v.cache.max_bytes},
	    {"cache.inserts", &t->v.cache.inserts},
	    {"cache.evictions", &t->v.cache.evictions},
	    {"cache.expired", &t->v.cache.expired},
	    {"upstream.zone_capped", &st->inflight_zone_capped},
	    {"upstream.jostled", &st->inflight_jostled},
	    {"upstream.in_flight", &t->v.gauges.upstream_in_flight},
	    {"upstream.distinct_in_flight", &t->v.gauges.distinct_in_flight},
	    {"uptime_s", &t->v.gauges.uptime_s},
	    {"servfail.jostled", &st->servfail[STATS_SF_JOSTLED]},
	};
	size_t n = sizeof(map) / sizeof(map[0]);

	/* Distinct values, so a key wired to the wrong field shows. */
	for (size_t i = 0; i < n; i++)
		*map[i].field = 1000 + i;
	stats_to_json(&t->v, t->obj, false);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(t_int(t->obj, map[i].key), 1000 + i);
}

static void
json_latency(void **state)
{
	struct t_state *t = t_new(state);
	struct stats *st = &t->v.counters;
	const char *prefixes[] = {"latency_us", "latency_hit_us", "latency_miss_us",
				  "latency_upstream_us"};
	struct stats_hist *hists[] = {&st->latency, &st->latency_hit, &st->latency_miss,
				      &st->latency_upstream};
	char key[64];

	for (size_t k = 0; k < 4; k++)
		for (uint64_t v = 1; v <= 100; v++)
			stats_hist_add(hists[k], v * (k + 1) * 10);
	stats_to_json(&t->v, t->obj, false);
	for (size_t k = 0; k < 4; k++) {
		const struct {
			const char *name;
			double q;
		} qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}};
		for (size_t i = 0; i < 3; i++) {
			snprintf(key, sizeof(key), "%s.%s", prefixes[k], qs[i].name);
			assert_int_equal(t_int(t->obj, key),
					 stats_hist_quantile(hists[k], qs[i].q));
		}
		snprintf(key, sizeof(key), "%s.max", prefixes[k]);
		assert_int_equal(t_int(t->obj, key), 1000 * (k + 1));
		snprintf(key, sizeof(key), "%s.count", prefixes[k]);
		assert_int_equal(t_int(t->obj, key), 100);
		snprintf(key, sizeof(key), "%s.mean", prefixes[k]);
		assert_int_equal(t_int(t->obj, key), hists[k]->sum / 100);
	}
}

/* Asserts the shape of one histogram in the "histograms" object and
 * returns it. */
static const json_t *
t_hist_shape(const json_t *hists, const char *name, const struct stats_hist *h)
{
	const json_t *o = json_object_get(hists, name), *le, *count;
	json_int_t prev = -1, total = 0;

	assert_true(json_is_object(o));
	le = json_object_get(o, "le");
	count = json_object_get(o, "count");
	assert_true(json_is_array(le));
	assert_true(json_is_array(count));
	assert_int_equal(json_array_size(le), json_array_size(count));
	assert_true(json_array_size(le) >= 1);
	assert_true(json_array_size(le) <= STATS_HIST_BUCKETS);
	for (size_t i = 0; i < json_array_size(le); i++) {
		const json_t *l = json_array_get(le, i), *c = json_array_get(count, i);
		assert_true(json_is_integer(l));
		assert_true(json_is_integer(c));
		assert_true(json_integer_value(l) > prev);
		prev = json_integer_value(l);
		assert_int_equal(json_integer_value(c), h->buckets[i]);
		total += json_integer_value(c);
	}
	assert_int_equal(total, h->count);
	assert_int_equal(t_int(o, "sum"), h->sum);
	assert_int_equal(t_int(o, "total"), h->count);
	return o;
}

static void
json_histograms(void **state)
{
	struct t_state *t = t_new(state);
	struct stats *st = &t->v.counters;
	const json_t *hists, *o, *le;

	for (uint64_t v = 0; v < 5000; v += 7)
		stats_hist_add(&st->latency, v);
	stats_hist_add(&st->latency_hit, 3);
	stats_hist_add(&st->latency_miss, 250000);
	stats_to_json(&t->v, t->obj, true);
	hists = json_object_get(t->obj, "histograms");
	assert_true(json_is_object(hists));
	o = t_hist_shape(hists, "latency_us", &st->latency);
	/* Up to the last bucket in use; each le is the bucket's upper edge. */
	le = json_object_get(o, "le");
	assert_int_equal(json_array_size(le), stats_hist_index(4998) + 1);
	for (size_t i = 0; i < json_array_size(le); i++)
		assert_int_equal(json_integer_value(json_array_get(le, i)),
				 stats_hist_lower(i + 1) - 1);
	o = t_hist_shape(hists, "latency_hit_us", &st->latency_hit);
	assert_int_equal(json_array_size(json_object_get(o, "le")), 4);
	t_hist_shape(hists, "latency_miss_us", &st->latency_miss);
	/* Empty: one bucket, counting nothing. */
	o = t_hist_shape(hists, "latency_upstream_us", &st->latency_upstream);
	assert_int_equal(json_array_size(json_object_get(o, "le")), 1);
}

/* Every sample must be <= the "le" of its bucket, the last (overflow)
 * bucket included: 600 s is the longest --query-timeout allows. */
static void
json_histogram_le_covers_samples(void **state)
{
	struct t_state *t = t_new(state);
	struct stats *st = &t->v.counters;
	const json_t *le;
	const uint64_t slow = 600000000u; /* 600 s in microseconds */

	stats_hist_add(&st->latency_upstream, 100);
	stats_hist_add(&st->latency_upstream, slow);
	stats_to_json(&t->v, t->obj, true);
	le = json_object_get(
	    json_object_get(json_object_get(t->obj, "histograms"), "latency_upstream_us"), "le");
	assert_true(json_is_array(le));
	assert_int_equal(json_array_size(le), stats_hist_index(slow) + 1);
	assert_true((uint64_t)json_integer_value(json_array_get(le, json_array_size(le) - 1)) >=
		    slow);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hist_small_values_own_buckets),
	    cmocka_unit_test(hist_index_lower_consistent),
	    cmocka_unit_test(hist_buckets_monotonic),
	    cmocka_unit_test_teardown(hist_add_counts, t_teardown),
	    cmocka_unit_test_teardown(quantile_empty, t_teardown),
	    cmocka_unit_test_teardown(quantile_single_sample, t_teardown),
	    cmocka_unit_test_teardown(quantile_two_modes, t_teardown),
	    cmocka_unit_test_teardown(quantile_uniform, t_teardown),
	    cmocka_unit_test_teardown(quantile_overflow_bucket, t_teardown),
	    cmocka_unit_test_teardown(json_table_keys, t_teardown),
	    cmocka_unit_test(table_covers_counters),
	    cmocka_unit_test_teardown(sum_workers, t_teardown),
	    cmocka_unit_test(servfail_names),
	    cmocka_unit_test_teardown(json_query_counters, t_teardown),
	    cmocka_unit_test_teardown(json_unnamed_types, t_teardown),
	    cmocka_unit_test_teardown(json_counters_map_to_fields, t_teardown),
	    cmocka_unit_test_teardown(json_latency, t_teardown),
	    cmocka_unit_test_teardown(json_histograms, t_teardown),
	    cmocka_unit_test_teardown(json_histogram_le_covers_samples, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
