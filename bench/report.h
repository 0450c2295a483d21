/*
 * report: what both modes print — outcome tallies, summaries as text or
 * JSON, and the progress line.
 */
#ifndef MXBENCH_REPORT_H
#define MXBENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dnsc.h"
#include "sample.h"

/* How a lookup ended. Order matters: see report_worse. */
enum report_outcome {
	REPORT_NOERROR,
	REPORT_NXDOMAIN,
	REPORT_SERVFAIL,
	REPORT_OTHER, /* any other rcode */
	REPORT_TRUNCATED,
	REPORT_TIMEOUT,
	REPORT_OUTCOMES
};

struct report_tally {
	uint64_t n[REPORT_OUTCOMES];
};

enum report_outcome report_outcome(const struct dnsc_result *r);
const char *report_outcome_name(enum report_outcome o);

/* NOERROR and NXDOMAIN are answers a mail server can act on; the rest
 * make it defer. */
bool report_is_definitive(enum report_outcome o);

void report_json_string(FILE *f, const char *s);
void report_json_summary(FILE *f, const char *key, const struct sample_summary *s);
void report_json_tally(FILE *f, const char *key, const struct report_tally *t);
void report_json_counters(FILE *f, const struct dnsc_counters *c);

void report_text_summary(FILE *f, const char *label, const char *unit,
			 const struct sample_summary *s);
void report_text_tally(FILE *f, const char *label, const struct report_tally *t);

/* The progress line on stderr, shown once a run has lasted a few seconds:
 * rewritten in place on a terminal, a line every few seconds otherwise. */
struct report_progress {
	int64_t start_ns;
	int64_t last_ns;
	bool tty;
	bool shown;
};

void report_progress_init(struct report_progress *p);
void report_progress(struct report_progress *p, uint64_t done, uint64_t total, size_t inflight,
		     uint64_t timeouts);
void report_progress_end(struct report_progress *p);

#endif
