/*
 * prom: see include/prom.h.
 *
 * Flat keys become metric names ("cache.hits" -> mxcache_cache_hits_total),
 * the by_type/by_rcode families become labelled counters, and the latency
 * histograms (microseconds) become Prometheus histograms in seconds.
 */
#include "prom.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool prom_is_gauge(const char *key);
static double prom_num(const json_t *obj, const char *key);
static void prom_families(FILE *out, const json_t *st);
static void prom_scalars(FILE *out, const json_t *st);
static void prom_hist(FILE *out, const char *name, const json_t *h);

static bool
prom_is_gauge(const char *key)
{
	static const char *const gauges[] = {"cache.entries",
					     "cache.bytes",
					     "cache.max_bytes",
					     "upstream.in_flight",
					     "upstream.distinct_in_flight",
					     "l2.up",
					     "l2.read_up",
					     "uptime_s"};

	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (strcmp(key, gauges[i]) == 0)
			return true;
	return false;
}

static double
prom_num(const json_t *obj, const char *key)
{
	return json_number_value(json_object_get(obj, key));
}

static void
prom_families(FILE *out, const json_t *st)
{
	static const struct {
		const char *prefix;
		const char *metric;
		const char *label;
	} families[] = {
	    {"queries.by_type.", "mxcache_queries_by_type_total", "type"},
	    {"queries.by_rcode.", "mxcache_answers_by_rcode_total", "rcode"},
	};
	const char *key;
	json_t *v;

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		size_t plen = strlen(families[f].prefix);
		fprintf(out, "# HELP %s Queries counted by %s.\n", families[f].metric,
			families[f].label);
		fprintf(out, "# TYPE %s counter\n", families[f].metric);
		json_object_foreach((json_t *)(uintptr_t)st, key, v)
		{
			if (strncmp(key, families[f].prefix, plen) == 0)
				fprintf(out, "%s{%s=\"%s\"} %.0f\n", families[f].metric,
					families[f].label, key + plen, json_number_value(v));
		}
	}
}

static void
prom_scalars(FILE *out, const json_t *st)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)st, key, v)
	{
		char metric[128];
		if (!json_is_number(v) || strncmp(key, "queries.by_", 11) == 0 ||
		    strncmp(key, "latency", 7) == 0)
			continue;
		bool gauge = prom_is_gauge(key);
		size_t klen = strlen(key);
		bool has_total = klen > 6 && strcmp(key + klen - 6, ".total") == 0;
		snprintf(metric, sizeof(metric), "mxcache_%s%s", key,
			 gauge || has_total ? "" : "_total");
		for (char *p = metric; *p; p++)
			if (*p == '.')
				*p = '_';
		fprintf(out, "# HELP %s mxcached statistic %s.\n", metric, key);
		fprintf(out, "# TYPE %s %s\n", metric, gauge ? "gauge" : "counter");
		fprintf(out, "%s %.0f\n", metric, json_number_value(v));
	}
}

/* Cumulative buckets, +Inf, _sum and _count, as Prometheus expects. */
static void
prom_hist(FILE *out, const char *name, const json_t *h)
{
	const json_t *le = json_object_get(h, "le"), *counts = json_object_get(h, "count");
	char metric[96];
	double cum = 0;
	size_t len = strlen(name);

	/* "latency_hit_us" -> "mxcache_latency_hit_seconds" */
	snprintf(metric, sizeof(metric), "mxcache_%.*s_seconds",
		 (int)(len > 3 && strcmp(name + len - 3, "_us") == 0 ? len - 3 : len), name);
	fprintf(out, "# HELP %s Client-facing DNS latency (%s).\n", metric, name);
	fprintf(out, "# TYPE %s histogram\n", metric);
	for (size_t i = 0; i < json_array_size(le); i++) {
		cum += json_number_value(json_array_get(counts, i));
		fprintf(out, "%s_bucket{le=\"%.6f\"} %.0f\n", metric,
			json_number_value(json_array_get(le, i)) / 1e6, cum);
	}
	fprintf(out, "%s_bucket{le=\"+Inf\"} %.0f\n", metric, prom_num(h, "total"));
	fprintf(out, "%s_sum %.6f\n", metric, prom_num(h, "sum") / 1e6);
	fprintf(out, "%s_count %.0f\n", metric, prom_num(h, "total"));
}

char *
prom_render(const json_t *stats, size_t *len)
{
	char *text = NULL;
	const char *key;
	json_t *v;
	FILE *out = open_memstream(&text, len);

	if (!out)
		return NULL;
	prom_families(out, stats);
	prom_scalars(out, stats);
	json_object_foreach(json_object_get(stats, "histograms"), key, v) prom_hist(out, key, v);
	if (ferror(out)) {
		fclose(out);
		free(text);
		return NULL;
	}
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
