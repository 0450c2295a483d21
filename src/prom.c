/*
 * prom: see include/prom.h.
 *
 * The stats key table gives the names, kinds and help texts: flat keys
 * become metric names ("cache.hits" -> mxcache_cache_hits_total), the
 * by_type/by_rcode families labelled counters, and the latency histograms
 * (microseconds) Prometheus histograms in seconds. Keys the table does
 * not know (an older or newer daemon) are left out.
 */
#include "prom.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_keys.h"

static double prom_num(const json_t *obj, const char *key);
static void prom_families(FILE *out, const json_t *st);
static void prom_scalar(FILE *out, const struct stats_key *k, const json_t *v);
static void prom_hist(FILE *out, const struct stats_key *k, const json_t *h);

static double
prom_num(const json_t *obj, const char *key)
{
	return json_number_value(json_object_get(obj, key));
}

static void
prom_families(FILE *out, const json_t *st)
{
	const char *key;
	json_t *v;

	for (size_t f = 0; f < stats_nfamilies; f++) {
		const struct stats_family *fam = &stats_families[f];
		size_t plen = strlen(fam->prefix);
		fprintf(out, "# HELP %s %s\n", fam->metric, fam->help);
		fprintf(out, "# TYPE %s counter\n", fam->metric);
		json_object_foreach((json_t *)(uintptr_t)st, key, v)
		{
			/* "queries.by_type.other" is a key of its own, not a type. */
			if (strncmp(key, fam->prefix, plen) == 0 && !stats_key_find(key))
				fprintf(out, "%s{%s=\"%s\"} %.0f\n", fam->metric, fam->label,
					key + plen, json_number_value(v));
		}
	}
}

/* "cache.hits" -> mxcache_cache_hits_total; gauges and ".total" keys
 * keep their name. */
static void
prom_scalar(FILE *out, const struct stats_key *k, const json_t *v)
{
	bool gauge = k->kind == STATS_GAUGE;
	size_t klen = strlen(k->name);
	bool has_total = klen > 6 && strcmp(k->name + klen - 6, ".total") == 0;
	char metric[128];

	snprintf(metric, sizeof(metric), "mxcache_%s%s", k->name,
		 gauge || has_total ? "" : "_total");
	for (char *p = metric; *p; p++)
		if (*p == '.')
			*p = '_';
	fprintf(out, "# HELP %s %s\n", metric, k->help);
	fprintf(out, "# TYPE %s %s\n", metric, gauge ? "gauge" : "counter");
	fprintf(out, "%s %.0f\n", metric, json_number_value(v));
}

/* Cumulative buckets, +Inf, _sum and _count, as Prometheus expects. */
static void
prom_hist(FILE *out, const struct stats_key *k, const json_t *h)
{
	const char *name = k->name;
	const json_t *le = json_object_get(h, "le"), *counts = json_object_get(h, "count");
	char metric[96];
	double cum = 0;
	size_t len = strlen(name);

	/* "latency_hit_us" -> "mxcache_latency_hit_seconds" */
	snprintf(metric, sizeof(metric), "mxcache_%.*s_seconds",
		 (int)(len > 3 && strcmp(name + len - 3, "_us") == 0 ? len - 3 : len), name);
	fprintf(out, "# HELP %s %s\n", metric, k->help);
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
	const json_t *hists = json_object_get(stats, "histograms");
	json_t *v;
	FILE *out = open_memstream(&text, len);

	if (!out)
		return NULL;
	prom_families(out, stats);
	for (size_t i = 0; i < stats_nkeys; i++) {
		const struct stats_key *k = &stats_keys[i];
		if (k->kind != STATS_HISTOGRAM &&
		    json_is_number(v = json_object_get(stats, k->name)))
			prom_scalar(out, k, v);
	}
	for (size_t i = 0; i < stats_nkeys; i++) {
		const struct stats_key *k = &stats_keys[i];
		if (k->kind == STATS_HISTOGRAM && (v = json_object_get(hists, k->name)))
			prom_hist(out, k, v);
	}
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
