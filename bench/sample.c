/*
 * sample: latency samples and their summary.
 */
#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
sample_init(struct sample_set *s)
{
	memset(s, 0, sizeof(*s));
}

void
sample_free(struct sample_set *s)
{
	free(s->v);
	sample_init(s);
}

bool
sample_add(struct sample_set *s, int64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		int64_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return false;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	s->sorted = false;
	return true;
}

static int
sample_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
sample_sort(struct sample_set *s)
{
	if (!s->sorted)
		qsort(s->v, s->n, sizeof(*s->v), sample_cmp);
	s->sorted = true;
}

int64_t
sample_percentile(struct sample_set *s, double p)
{
	/* The epsilon keeps p * n from rounding up past an exact rank
	 * (0.9 * 100 is 90.00000000000001 in binary floating point). */
	double rank = ceil(p / 100.0 * (double)s->n - 1e-9);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;

	sample_sort(s);
	return s->v[i < s->n ? i : s->n - 1];
}

void
sample_summarize(struct sample_set *s, double unit, struct sample_summary *out)
{
	double sum = 0;

	memset(out, 0, sizeof(*out));
	if (s->n == 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		sum += (double)s->v[i];
	out->count = s->n;
	out->p50 = (double)sample_percentile(s, 50) / unit;
	out->p90 = (double)sample_percentile(s, 90) / unit;
	out->p99 = (double)sample_percentile(s, 99) / unit;
	out->mean = sum / (double)s->n / unit;
	out->max = (double)s->v[s->n - 1] / unit;
}
