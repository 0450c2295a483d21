/*
 * Unit tests for mxbench's own logic: the percentiles it reports.
 * (Query sequencing and timeout accounting are tested against scripted
 * servers in tests/bench/.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sample.h"

static void
fill(struct sample_set *s, const int64_t *v, size_t n)
{
	sample_init(s);
	for (size_t i = 0; i < n; i++)
		assert_true(sample_add(s, v[i]));
}

/* 1..100 in scrambled order: the p-th percentile is p itself. */
static void
test_percentile_hundred(void **state)
{
	struct sample_set s;
	(void)state;

	sample_init(&s);
	for (int64_t i = 0; i < 100; i++)
		assert_true(sample_add(&s, (i * 37) % 100 + 1));
	assert_int_equal(sample_percentile(&s, 50), 50);
	assert_int_equal(sample_percentile(&s, 90), 90);
	assert_int_equal(sample_percentile(&s, 99), 99);
	assert_int_equal(sample_percentile(&s, 100), 100);
	assert_int_equal(sample_percentile(&s, 1), 1);
	sample_free(&s);
}

/* Nearest rank: a sample is reported, never an interpolated value. */
static void
test_percentile_nearest_rank(void **state)
{
	static const int64_t v[] = {40, 10, 30, 20};
	struct sample_set s;
	(void)state;

	fill(&s, v, 4);
	assert_int_equal(sample_percentile(&s, 50), 20); /* rank ceil(2) = 2 */
	assert_int_equal(sample_percentile(&s, 51), 30); /* rank ceil(2.04) = 3 */
	assert_int_equal(sample_percentile(&s, 75), 30);
	assert_int_equal(sample_percentile(&s, 90), 40);
	assert_int_equal(sample_percentile(&s, 99), 40);
	sample_free(&s);
}

static void
test_percentile_single_and_ties(void **state)
{
	static const int64_t one[] = {7};
	static const int64_t ties[] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 1000};
	struct sample_set s;
	(void)state;

	fill(&s, one, 1);
	assert_int_equal(sample_percentile(&s, 50), 7);
	assert_int_equal(sample_percentile(&s, 99), 7);
	sample_free(&s);

	fill(&s, ties, 10);
	assert_int_equal(sample_percentile(&s, 50), 5);
	assert_int_equal(sample_percentile(&s, 90), 5);
	assert_int_equal(sample_percentile(&s, 99), 1000);
	sample_free(&s);
}

/* Adding after a percentile was taken re-sorts. */
static void
test_percentile_after_add(void **state)
{
	static const int64_t v[] = {3, 1, 2};
	struct sample_set s;
	(void)state;

	fill(&s, v, 3);
	assert_int_equal(sample_percentile(&s, 100), 3);
	assert_true(sample_add(&s, 0));
	assert_int_equal(sample_percentile(&s, 25), 0);
	assert_int_equal(sample_percentile(&s, 100), 3);
	sample_free(&s);
}

static void
test_summary_units(void **state)
{
	struct sample_set s;
	struct sample_summary sum;
	(void)state;

	sample_init(&s);
	for (int64_t i = 1; i <= 1000; i++)
		assert_true(sample_add(&s, i * 1000000)); /* 1..1000 ms in ns */
	sample_summarize(&s, 1e6, &sum);
	assert_int_equal(sum.count, 1000);
	assert_float_equal(sum.p50, 500, 1e-9);
	assert_float_equal(sum.p90, 900, 1e-9);
	assert_float_equal(sum.p99, 990, 1e-9);
	assert_float_equal(sum.mean, 500.5, 1e-9);
	assert_float_equal(sum.max, 1000, 1e-9);
	sample_free(&s);
}

/* No samples: every figure 0 and count 0 (the report prints null). */
static void
test_summary_empty(void **state)
{
	struct sample_set s;
	struct sample_summary sum;
	(void)state;

	sample_init(&s);
	sample_summarize(&s, 1e3, &sum);
	assert_int_equal(sum.count, 0);
	assert_float_equal(sum.p50, 0, 0);
	assert_float_equal(sum.max, 0, 0);
	sample_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_percentile_hundred),
	    cmocka_unit_test(test_percentile_nearest_rank),
	    cmocka_unit_test(test_percentile_single_and_ties),
	    cmocka_unit_test(test_percentile_after_add),
	    cmocka_unit_test(test_summary_units),
	    cmocka_unit_test(test_summary_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
