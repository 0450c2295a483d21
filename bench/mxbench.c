/*
 * mxbench: a load generator and MTA emulator against any DNS server.
 *
 *   mxbench -s ADDR[@PORT] --mode mta FILE   the lookups of a mail delivery
 *   mxbench -s ADDR[@PORT] --mode qps FILE   dnsperf-like query load
 *   mxbench -s ADDR[@PORT] --mode inbound FILE   a receiving server's lookups
 *
 * See usage() for the options; main only parses them and starts a mode.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "mxbench.h"

#define MXBENCH_MAX_CONCURRENCY 1000000

static const struct {
	const char *name;
	int (*run)(const struct mxbench_opts *o, struct dnsc *c);
	bool serial; /* one lookup after the other per job: an MTA's retries */
} mxbench_modes[] = {
    {"mta", mta_run, true},
    {"qps", qps_run, false},
    {"inbound", inbound_run, true},
};

static int
mxbench_mode(const char *name)
{
	for (size_t i = 0; i < sizeof(mxbench_modes) / sizeof(mxbench_modes[0]); i++)
		if (strcmp(mxbench_modes[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
mxbench_usage(FILE *f)
{
	fputs("usage: mxbench -s ADDR[@PORT] --mode mta|qps|inbound [options] FILE\n"
	      "A load generator and MTA emulator against any DNS server.\n"
	      "\n"
	      "  -s, --server ADDR[@PORT]  the DNS server (port 53 by default)\n"
	      "  -m, --mode MODE           mta: FILE has a domain per line; per domain MX,\n"
	      "                            then A and AAAA of each exchanger in preference\n"
	      "                            order, one lookup after the other\n"
	      "                            qps: FILE has \"name type\" per line (dnsperf format)\n"
	      "                            inbound: FILE has \"ADDRESS DOMAIN\" per line; per\n"
	      "                            message PTR, A/AAAA of the PTR names, the SPF\n"
	      "                            evaluation of DOMAIN (every term), DMARC, serially\n"
	      "  -c, --concurrency N       mta, inbound: domains or messages in parallel (10)\n"
	      "                            qps: queries outstanding at most (100)\n"
	      "  -r, --rate QPS            qps: send at this fixed rate (default: as fast as\n"
	      "                            answers come, -c outstanding)\n"
	      "  -d, --duration SEC        qps: send for this long (10)\n"
	      "  -p, --pause MS            mta: wait between the MX answer and the address\n"
	      "                            lookups; inbound: between the FCrDNS lookups and\n"
	      "                            SPF (0); not counted in any figure\n"
	      "  -t, --timeout MS          per try (2000)\n"
	      "      --retries N           tries after a timeout (mta 1, qps 0)\n"
	      "      --dnssec              set DO in the queries\n"
	      "      --json                print one JSON object with all figures\n"
	      "      --csv FILE            write every sample to FILE\n"
	      "  -h, --help                this text\n",
	      f);
}

/* strtod/strtol with the whole argument checked against [min, max]. */
static bool
mxbench_number(const char *text, double min, double max, double *out)
{
	char *end;
	double v = strtod(text, &end);

	if (end == text || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static const struct option mxbench_longopts[] = {
    {"server", required_argument, NULL, 's'},
    {"mode", required_argument, NULL, 'm'},
    {"concurrency", required_argument, NULL, 'c'},
    {"rate", required_argument, NULL, 'r'},
    {"duration", required_argument, NULL, 'd'},
    {"pause", required_argument, NULL, 'p'},
    {"timeout", required_argument, NULL, 't'},
    {"retries", required_argument, NULL, 'R'},
    {"dnssec", no_argument, NULL, 'D'},
    {"json", no_argument, NULL, 'j'},
    {"csv", required_argument, NULL, 'C'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Applies one option; false if its argument is bad. */
static bool
mxbench_option(struct mxbench_opts *o, int opt, const char *arg, double *retries,
	       const char **csv_path)
{
	double v = 0;

	switch (opt) {
	case 's':
		o->server = arg;
		return dnsc_parse_server(arg, &o->dns.server, &o->dns.server_len);
	case 'm':
		o->mode = arg;
		return mxbench_mode(arg) >= 0;
	case 'c':
		if (!mxbench_number(arg, 1, MXBENCH_MAX_CONCURRENCY, &v))
			return false;
		o->concurrency = (unsigned)v;
		return true;
	case 'r':
		return mxbench_number(arg, 1, 1e8, &o->rate);
	case 'd':
		return mxbench_number(arg, 0.001, 86400, &o->duration_s);
	case 'p':
		if (!mxbench_number(arg, 0, 3600000, &v))
			return false;
		o->pause_ms = (int)v;
		return true;
	case 't':
		if (!mxbench_number(arg, 1, 3600000, &v))
			return false;
		o->dns.timeout_ms = (int)v;
		return true;
	case 'R':
		return mxbench_number(arg, 0, 100, retries);
	case 'D':
		o->dns.dnssec_ok = true;
		return true;
	case 'j':
		o->json = true;
		return true;
	case 'C':
		*csv_path = arg;
		return true;
	default:
		return false;
	}
}

/* Fills o from argv; exits on --help or a usage error. */
static void
mxbench_parse(int argc, char **argv, struct mxbench_opts *o, const char **csv_path)
{
	double retries = -1;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:m:c:r:d:p:t:h", mxbench_longopts, NULL)) != -1) {
		if (opt == 'h') {
			mxbench_usage(stdout);
			exit(0);
		}
		if (!mxbench_option(o, opt, optarg, &retries, csv_path)) {
			if (optarg)
				fprintf(stderr, "mxbench: bad argument for -%c: %s\n", opt, optarg);
			mxbench_usage(stderr);
			exit(2);
		}
	}
	if (!o->server || !o->mode || optind != argc - 1) {
		mxbench_usage(stderr);
		exit(2);
	}
	o->file = argv[optind];
	bool mta = mxbench_modes[mxbench_mode(o->mode)].serial;
	/* An MTA's resolver library retries once; dnsperf never does. */
	o->dns.retries = retries >= 0 ? (int)retries : mta ? 1 : 0;
	if (o->concurrency == 0)
		o->concurrency = mta ? 10 : 100;
	/* A domain has one lookup in flight at a time. */
	o->dns.max_inflight = o->concurrency;
}

int
main(int argc, char **argv)
{
	struct mxbench_opts o = {.duration_s = 10, .dns = {.timeout_ms = 2000}};
	const char *csv_path = NULL;
	struct dnsc *c = NULL;
	int status = 1;

	mxbench_parse(argc, argv, &o, &csv_path);
	if (csv_path && !(o.csv = fopen(csv_path, "w"))) {
		perror(csv_path);
		goto out;
	}
	c = dnsc_new(&o.dns);
	if (!c) {
		perror("mxbench: socket");
		goto out;
	}
	status = mxbench_modes[mxbench_mode(o.mode)].run(&o, c);
out:
	dnsc_free(c);
	if (o.csv && fclose(o.csv) != 0) {
		perror(csv_path);
		status = 1;
	}
	return status;
}
