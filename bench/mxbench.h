/*
 * mxbench: a load generator and MTA emulator against any DNS server.
 * The options shared by both modes; each mode prints its own report.
 */
#ifndef MXBENCH_H
#define MXBENCH_H

#include <stdbool.h>
#include <stdio.h>

#include "dnsc.h"

struct mxbench_opts {
	const char *mode;
	const char *file;
	const char *server;
	struct dnsc_config dns;
	unsigned concurrency; /* domains (mta) or queries (qps) in flight */
	double rate;	      /* qps: queries per second, 0 = closed loop */
	double duration_s;    /* qps: how long to send */
	int pause_ms;	      /* mta: between the MX answer and the addresses;
			       * inbound: between the connection and MAIL FROM */
	bool json;
	FILE *csv; /* every sample, or NULL */
};

/* Both return the process exit status. */
int mta_run(const struct mxbench_opts *o, struct dnsc *c);
int qps_run(const struct mxbench_opts *o, struct dnsc *c);
int inbound_run(const struct mxbench_opts *o, struct dnsc *c);

#endif
