/*
 * Unit tests for prom (include/prom.h): stats keys made Prometheus names
 * (counters with _total, gauges without, ".total" not doubled), HELP and
 * TYPE once per family and before its samples, the labelled families,
 * latency histograms in seconds with cumulative buckets, +Inf, _sum and
 * _count, and what is left out. Every line of every exposition is checked
 * against the text format.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <regex.h>

#include "prom.h"

#define T_MAX_FAMILIES 64

struct t_expo {
	char *text;
	size_t len;
};

static void
t_render(struct t_expo *e, json_t *stats)
{
	assert_non_null(e->text = prom_render(stats, &e->len));
	assert_int_equal(strlen(e->text), e->len);
	json_decref(stats);
}

static json_t *
t_json(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("%s: %s", text, err.text);
	return j;
}

/* Checks the whole exposition against the text format: each line a HELP,
 * a TYPE or a sample; names valid; one HELP then one TYPE per family,
 * both before the family's samples; sample values numbers. */
static void
t_assert_well_formed(const char *text)
{
	char families[T_MAX_FAMILIES][128];
	size_t nfam = 0;
	regex_t help, type, sample;
	const char *p = text;
	bool typed = false;

	assert_int_equal(regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+$", REG_EXTENDED),
			 0);
	assert_int_equal(regcomp(&type,
				 "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$",
				 REG_EXTENDED),
			 0);
	assert_int_equal(
	    regcomp(&sample,
		    "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"\\\\\n]*\"\\})? "
		    "-?[0-9]+(\\.[0-9]+)?$",
		    REG_EXTENDED),
	    0);
	assert_true(*text == '\0' || text[strlen(text) - 1] == '\n');
	while (*p) {
		const char *eol = strchr(p, '\n');
		char line[512], name[128];
		regmatch_t m[2];

		assert_true((size_t)(eol - p) < sizeof(line));
		memcpy(line, p, (size_t)(eol - p));
		line[eol - p] = '\0';
		p = eol + 1;
		if (regexec(&help, line, 2, m, 0) == 0) {
			snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
				 line + m[1].rm_so);
			for (size_t i = 0; i < nfam; i++)
				if (strcmp(families[i], name) == 0)
					fail_msg("family %s described twice", name);
			assert_true(nfam < T_MAX_FAMILIES);
			strcpy(families[nfam++], name);
			typed = false;
		} else if (regexec(&type, line, 2, m, 0) == 0) {
			assert_true(nfam > 0 && !typed);
			assert_int_equal((size_t)(m[1].rm_eo - m[1].rm_so),
					 strlen(families[nfam - 1]));
			assert_memory_equal(line + m[1].rm_so, families[nfam - 1],
					    strlen(families[nfam - 1]));
			typed = true;
		} else if (regexec(&sample, line, 2, m, 0) == 0) {
			/* A sample belongs to the family just described: its name
			 * or, for a histogram, name_bucket/_sum/_count. */
			assert_true(nfam > 0 && typed);
			const char *fam = families[nfam - 1];
			assert_memory_equal(line, fam, strlen(fam));
			const char *rest = line + strlen(fam);
			assert_true(
			    *rest == ' ' || *rest == '{' || strncmp(rest, "_bucket{", 8) == 0 ||
			    strncmp(rest, "_sum ", 5) == 0 || strncmp(rest, "_count ", 7) == 0);
		} else {
			fail_msg("not a line of the text format: \"%s\"", line);
		}
	}
	regfree(&help);
	regfree(&type);
	regfree(&sample);
}

static bool
t_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* A stats answer, the lines its exposition must hold, and what must
 * not be in it. */
struct t_case {
	const char *what;
	const char *stats;
	const char *lines[10];
	const char *absent[5];
};

static const struct t_case t_cases[] = {
    {"counters get _total, gauges keep their name, a total is not doubled",
     "{\"cache.hits\": 12, \"queries.total\": 40, \"cache.entries\": 7, \"uptime_s\": 3600,"
     " \"upstream.in_flight\": 2}",
     {"# HELP mxcache_cache_hits_total Lookups answered from the cache.",
      "# TYPE mxcache_cache_hits_total counter", "mxcache_cache_hits_total 12",
      "# TYPE mxcache_queries_total counter", "mxcache_queries_total 40",
      "# TYPE mxcache_cache_entries gauge", "mxcache_cache_entries 7",
      "# TYPE mxcache_uptime_s gauge", "mxcache_uptime_s 3600",
      "# TYPE mxcache_upstream_in_flight gauge"},
     {"mxcache_cache_entries_total", "_total_total"}},
    {"large counters whole, never in exponent form",
     "{\"cache.misses\": 123456789012}",
     {"mxcache_cache_misses_total 123456789012"},
     {"e+"}},
    {"the labelled families, their members not scalars as well",
     "{\"queries.by_type.MX\": 5, \"queries.by_type.TYPE65280\": 1,"
     " \"queries.by_rcode.NXDOMAIN\": 3, \"queries.by_rcode.NOERROR\": 9}",
     {"# TYPE mxcache_queries_by_type_total counter",
      "mxcache_queries_by_type_total{type=\"MX\"} 5",
      "mxcache_queries_by_type_total{type=\"TYPE65280\"} 1",
      "# TYPE mxcache_answers_by_rcode_total counter",
      "mxcache_answers_by_rcode_total{rcode=\"NXDOMAIN\"} 3",
      "mxcache_answers_by_rcode_total{rcode=\"NOERROR\"} 9"},
     {"mxcache_queries_by_type_MX"}},
    /* The quantiles are the JSON summary; the histogram is the
     * Prometheus form. */
    {"strings, objects, booleans and latency quantiles left out",
     "{\"version\": \"1.0\", \"latency_us.p50\": 80, \"nested\": {\"a\": 1}, \"flag\": true,"
     " \"cache.hits\": 1}",
     {"mxcache_cache_hits_total 1"},
     {"version", "latency", "nested", "flag"}},
    {"a histogram in seconds, buckets cumulative, +Inf holding every observation",
     "{\"histograms\": {\"latency_hit_us\": {\"le\": [63, 127, 1023], \"count\": [4, 0, 6],"
     " \"sum\": 2500000, \"total\": 11}}}",
     {"# TYPE mxcache_latency_hit_seconds histogram",
      "mxcache_latency_hit_seconds_bucket{le=\"0.000063\"} 4",
      "mxcache_latency_hit_seconds_bucket{le=\"0.000127\"} 4",
      "mxcache_latency_hit_seconds_bucket{le=\"0.001023\"} 10",
      "mxcache_latency_hit_seconds_bucket{le=\"+Inf\"} 11",
      "mxcache_latency_hit_seconds_sum 2.500000", "mxcache_latency_hit_seconds_count 11"},
     {"mxcache_latency_hit_us"}},
    {"an empty histogram still has +Inf, _sum and _count",
     "{\"histograms\": {\"latency_us\": {\"le\": [], \"count\": [], \"sum\": 0, \"total\": 0}}}",
     {"mxcache_latency_seconds_bucket{le=\"+Inf\"} 0", "mxcache_latency_seconds_sum 0.000000",
      "mxcache_latency_seconds_count 0"},
     {"le=\"0"}},
    {"keys the table does not know are left out (another version's)",
     "{\"cache.hits\": 1, \"cache.colour\": 4, \"l9.hits\": 2}",
     {"mxcache_cache_hits_total 1"},
     {"colour", "l9"}},
    {"the labelled families described even with no member yet",
     "{}",
     {"# TYPE mxcache_queries_by_type_total counter",
      "# TYPE mxcache_answers_by_rcode_total counter"},
     {"mxcache_cache"}},
};

static void
expositions(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(t_cases) / sizeof(t_cases[0]); i++) {
		const struct t_case *c = &t_cases[i];
		struct t_expo e;

		t_render(&e, t_json(c->stats));
		t_assert_well_formed(e.text);
		for (size_t j = 0; j < 10 && c->lines[j]; j++)
			if (!t_has_line(e.text, c->lines[j]))
				fail_msg("%s: no line \"%s\" in:\n%s", c->what, c->lines[j],
					 e.text);
		for (size_t j = 0; j < 5 && c->absent[j]; j++)
			if (strstr(e.text, c->absent[j]))
				fail_msg("%s: \"%s\" in:\n%s", c->what, c->absent[j], e.text);
		free(e.text);
	}
}

/* Buckets in increasing order, +Inf last, then _sum and _count. */
static void
histogram_order(void **state)
{
	struct t_expo e;
	(void)state;

	t_render(&e, t_json("{\"histograms\": {\"latency_us\": {\"le\": [1, 10, 100],"
			    " \"count\": [1, 1, 1], \"sum\": 30, \"total\": 3}}}"));
	const char *a = strstr(e.text, "le=\"0.000001\""), *b = strstr(e.text, "le=\"0.000010\""),
		   *c = strstr(e.text, "le=\"0.000100\""), *inf = strstr(e.text, "le=\"+Inf\""),
		   *sum = strstr(e.text, "_sum "), *count = strstr(e.text, "_count ");
	assert_true(a && b && c && inf && sum && count);
	assert_true(a < b && b < c && c < inf && inf < sum && sum < count);
	free(e.text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(expositions),
	    cmocka_unit_test(histogram_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
