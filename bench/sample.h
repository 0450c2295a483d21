/*
 * sample: latency samples and their summary (percentiles, mean, max).
 *
 * Samples are kept whole (not bucketed) so that percentiles are exact:
 * a benchmark run holds at most a few million of them.
 */
#ifndef MXBENCH_SAMPLE_H
#define MXBENCH_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sample_set {
	int64_t *v;
	size_t n;
	size_t cap;
	bool sorted;
};

/* Figures in the unit asked of sample_summarize; all 0 when count is 0. */
struct sample_summary {
	size_t count;
	double p50;
	double p90;
	double p99;
	double mean;
	double max;
};

void sample_init(struct sample_set *s);
void sample_free(struct sample_set *s);
bool sample_add(struct sample_set *s, int64_t v);

/* Nearest-rank percentile (the smallest sample with at least p% of the
 * samples at or below it); p in (0, 100]. The set must not be empty. */
int64_t sample_percentile(struct sample_set *s, double p);

/* Summary with every figure divided by unit (e.g. 1e6 for ns -> ms). */
void sample_summarize(struct sample_set *s, double unit, struct sample_summary *out);

#endif
