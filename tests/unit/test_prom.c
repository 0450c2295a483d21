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

static void
t_assert_line(const char *text, const char *line)
{
	if (!t_has_line(text, line))
		fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void
scalar_names_and_kinds(void **state)
{
	struct t_expo e;
	(void)state;

	t_render(&e, t_json("{\"cache.hits\": 12, \"queries.total\": 40, \"cache.entries\": 7,"
			    " \"uptime_s\": 3600, \"upstream.in_flight\": 2}"));
	t_assert_well_formed(e.text);
	t_assert_line(e.text, "# HELP mxcache_cache_hits_total mxcached statistic cache.hits.");
	t_assert_line(e.text, "# TYPE mxcache_cache_hits_total counter");
	t_assert_line(e.text, "mxcache_cache_hits_total 12");
	/* Already a total: not "_total_total". */
	t_assert_line(e.text, "# TYPE mxcache_queries_total counter");
	t_assert_line(e.text, "mxcache_queries_total 40");
	/* Gauges keep their name. */
	t_assert_line(e.text, "# TYPE mxcache_cache_entries gauge");
	t_assert_line(e.text, "mxcache_cache_entries 7");
	t_assert_line(e.text, "# TYPE mxcache_uptime_s gauge");
	t_assert_line(e.text, "mxcache_uptime_s 3600");
	t_assert_line(e.text, "# TYPE mxcache_upstream_in_flight gauge");
	assert_null(strstr(e.text, "mxcache_cache_entries_total"));
	free(e.text);
}

/* Large counters are printed whole, never in exponent form. */
static void
large_values_whole(void **state)
{
	struct t_expo e;
	(void)state;

	t_render(&e, t_json("{\"cache.misses\": 123456789012}"));
	t_assert_well_formed(e.text);
	t_assert_line(e.text, "mxcache_cache_misses_total 123456789012");
	free(e.text);
}

static void
labelled_families(void **state)
{
	struct t_expo e;
	(void)state;

	t_render(&e, t_json("{\"queries.by_type.MX\": 5, \"queries.by_type.TYPE65280\": 1,"
			    " \"queries.by_rcode.NXDOMAIN\": 3, \"queries.by_rcode.NOERROR\": 9}"));
	t_assert_well_formed(e.text);
	t_assert_line(e.text, "# TYPE mxcache_queries_by_type_total counter");
	t_assert_line(e.text, "mxcache_queries_by_type_total{type=\"MX\"} 5");
	t_assert_line(e.text, "mxcache_queries_by_type_total{type=\"TYPE65280\"} 1");
	t_assert_line(e.text, "# TYPE mxcache_answers_by_rcode_total counter");
	t_assert_line(e.text, "mxcache_answers_by_rcode_total{rcode=\"NXDOMAIN\"} 3");
	t_assert_line(e.text, "mxcache_answers_by_rcode_total{rcode=\"NOERROR\"} 9");
	/* The family members are not scalars as well. */
	assert_null(strstr(e.text, "mxcache_queries_by_type_MX"));
	free(e.text);
}

/* Strings, objects and the latency quantiles (latency_us.p50: the JSON
 * summary; the histogram is the Prometheus form) are left out. */
static void
left_out(void **state)
{
	struct t_expo e;
	(void)state;

	t_render(&e, t_json("{\"version\": \"1.0\", \"latency_us.p50\": 80, \"nested\": {\"a\": 1},"
			    " \"flag\": true, \"cache.hits\": 1}"));
	t_assert_well_formed(e.text);
	assert_null(strstr(e.text, "version"));
	assert_null(strstr(e.text, "latency"));
	assert_null(strstr(e.text, "nested"));
	assert_null(strstr(e.text, "flag"));
	t_assert_line(e.text, "mxcache_cache_hits_total 1");
	free(e.text);
}

static void
histogram_cumulative_in_seconds(void **state)
{
	struct t_expo e;
	(void)state;

	t_render(&e, t_json("{\"histograms\": {\"latency_hit_us\": {\"le\": [63, 127, 1023],"
			    " \"count\": [4, 0, 6], \"sum\": 2500000, \"total\": 11}}}"));
	t_assert_well_formed(e.text);
	t_assert_line(e.text, "# TYPE mxcache_latency_hit_seconds histogram");
	t_assert_line(e.text, "mxcache_latency_hit_seconds_bucket{le=\"0.000063\"} 4");
	t_assert_line(e.text, "mxcache_latency_hit_seconds_bucket{le=\"0.000127\"} 4");
	t_assert_line(e.text, "mxcache_latency_hit_seconds_bucket{le=\"0.001023\"} 10");
	/* +Inf holds every observation, above the last bound too. */
	t_assert_line(e.text, "mxcache_latency_hit_seconds_bucket{le=\"+Inf\"} 11");
	t_assert_line(e.text, "mxcache_latency_hit_seconds_sum 2.500000");
	t_assert_line(e.text, "mxcache_latency_hit_seconds_count 11");
	/* The buckets in order, +Inf last. */
	const char *a = strstr(e.text, "le=\"0.000063\""), *b = strstr(e.text, "le=\"0.001023\""),
		   *inf = strstr(e.text, "le=\"+Inf\"");
	assert_true(a && b && inf && a < b && b < inf);
	free(e.text);
}

/* An empty histogram (nothing observed) still has +Inf, _sum and _count. */
static void
empty_histogram(void **state)
{
	struct t_expo e;
	(void)state;

	t_render(&e, t_json("{\"histograms\": {\"latency_us\": {\"le\": [], \"count\": [],"
			    " \"sum\": 0, \"total\": 0}}}"));
	t_assert_well_formed(e.text);
	t_assert_line(e.text, "mxcache_latency_seconds_bucket{le=\"+Inf\"} 0");
	t_assert_line(e.text, "mxcache_latency_seconds_sum 0.000000");
	t_assert_line(e.text, "mxcache_latency_seconds_count 0");
	assert_null(strstr(e.text, "le=\"0"));
	free(e.text);
}

static void
empty_stats(void **state)
{
	struct t_expo e;
	(void)state;

	t_render(&e, json_object());
	t_assert_well_formed(e.text);
	/* The labelled families are described even with no member yet. */
	t_assert_line(e.text, "# TYPE mxcache_queries_by_type_total counter");
	t_assert_line(e.text, "# TYPE mxcache_answers_by_rcode_total counter");
	free(e.text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(scalar_names_and_kinds),
	    cmocka_unit_test(large_values_whole),
	    cmocka_unit_test(labelled_families),
	    cmocka_unit_test(left_out),
	    cmocka_unit_test(histogram_cumulative_in_seconds),
	    cmocka_unit_test(empty_histogram),
	    cmocka_unit_test(empty_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
