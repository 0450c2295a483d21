/*
 * report: outcome tallies, text and JSON output, the progress line.
 */
#include "report.h"

#include <unistd.h>

#include "wire.h"

#define REPORT_PROGRESS_AFTER_NS 3000000000LL
#define REPORT_PROGRESS_TTY_NS 500000000LL
#define REPORT_PROGRESS_LOG_NS 5000000000LL

static const char *const report_names[REPORT_OUTCOMES] = {
    "NOERROR", "NXDOMAIN", "SERVFAIL", "other", "truncated", "timeout",
};

enum report_outcome
report_outcome(const struct dnsc_result *r)
{
	if (r->status == DNSC_TIMEOUT)
		return REPORT_TIMEOUT;
	if (r->truncated)
		return REPORT_TRUNCATED;
	switch (r->rcode) {
	case WIRE_NOERROR:
		return REPORT_NOERROR;
	case WIRE_NXDOMAIN:
		return REPORT_NXDOMAIN;
	case WIRE_SERVFAIL:
		return REPORT_SERVFAIL;
	default:
		return REPORT_OTHER;
	}
}

const char *
report_outcome_name(enum report_outcome o)
{
	return report_names[o];
}

bool
report_is_definitive(enum report_outcome o)
{
	return o == REPORT_NOERROR || o == REPORT_NXDOMAIN;
}

void
report_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void
report_json_summary(FILE *f, const char *key, const struct sample_summary *s)
{
	fprintf(f, "\"%s\": {\"count\": %zu, ", key, s->count);
	if (s->count == 0) {
		/* No sample, no figure: null rather than an invented 0. */
		fputs("\"p50\": null, \"p90\": null, \"p99\": null, \"mean\": null, "
		      "\"max\": null}",
		      f);
		return;
	}
	fprintf(f, "\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"mean\": %.3f, \"max\": %.3f}",
		s->p50, s->p90, s->p99, s->mean, s->max);
}

void
report_json_tally(FILE *f, const char *key, const struct report_tally *t)
{
	fprintf(f, "\"%s\": {", key);
	for (int o = 0; o < REPORT_OUTCOMES; o++)
		fprintf(f, "%s\"%s\": %llu", o ? ", " : "", report_names[o],
			(unsigned long long)t->n[o]);
	fputc('}', f);
}

void
report_json_counters(FILE *f, const struct dnsc_counters *c)
{
	fprintf(f,
		"\"queries\": {\"sent\": %llu, \"retries\": %llu, \"answers\": %llu, "
		"\"timeouts\": %llu, \"unmatched\": %llu, \"send_errors\": %llu}",
		(unsigned long long)c->sent, (unsigned long long)c->retries,
		(unsigned long long)c->answers, (unsigned long long)c->timeouts,
		(unsigned long long)c->unmatched, (unsigned long long)c->send_errors);
}

void
report_text_summary(FILE *f, const char *label, const char *unit, const struct sample_summary *s)
{
	if (s->count == 0) {
		fprintf(f, "%-10s (no samples)\n", label);
		return;
	}
	fprintf(f,
		"%-10s %s  p50 %10.3f  p90 %10.3f  p99 %10.3f  mean %10.3f  max %10.3f  (n=%zu)\n",
		label, unit, s->p50, s->p90, s->p99, s->mean, s->max, s->count);
}

void
report_text_tally(FILE *f, const char *label, const struct report_tally *t)
{
	fprintf(f, "%-10s", label);
	for (int o = 0; o < REPORT_OUTCOMES; o++)
		fprintf(f, "  %s %llu", report_names[o], (unsigned long long)t->n[o]);
	fputc('\n', f);
}

void
report_progress_init(struct report_progress *p)
{
	p->start_ns = p->last_ns = dnsc_now_ns();
	p->tty = isatty(STDERR_FILENO);
	p->shown = false;
}

void
report_progress(struct report_progress *p, uint64_t done, uint64_t total, size_t inflight,
		uint64_t timeouts)
{
	int64_t now = dnsc_now_ns();
	int64_t every = p->tty ? REPORT_PROGRESS_TTY_NS : REPORT_PROGRESS_LOG_NS;

	if (now - p->start_ns < REPORT_PROGRESS_AFTER_NS || now - p->last_ns < every)
		return;
	p->last_ns = now;
	p->shown = true;
	fprintf(stderr, "%smxbench: %6.1fs  %llu", p->tty ? "\r" : "",
		(double)(now - p->start_ns) / 1e9, (unsigned long long)done);
	if (total)
		fprintf(stderr, "/%llu", (unsigned long long)total);
	fprintf(stderr, " done  %zu in flight  %llu timeouts%s", inflight,
		(unsigned long long)timeouts, p->tty ? "   " : "\n");
}

void
report_progress_end(struct report_progress *p)
{
	if (p->shown && p->tty)
		fputc('\n', stderr);
}
