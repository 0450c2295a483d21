/*
 * mxcache-ctl: the operator's client for mxcached's control socket.
 *
 *   mxcache-ctl [-s PATH] [--json | --prometheus] stats
 *   mxcache-ctl [-s PATH] flush [NAME [TYPE]] | dump [LIMIT] | route DOMAIN | ping | reset
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"

#define CTL_TIMEOUT_S 10
#define CTL_MAX_ANSWER (64 * 1024 * 1024)

enum ctl_format { CTL_TEXT, CTL_JSON, CTL_PROMETHEUS };

static json_t *ctl_request(const char *path, json_t *req);
static char *ctl_read_line(int fd);
static double ctl_num(const json_t *obj, const char *key);
static void ctl_print_stats(const json_t *st);
static void ctl_print_latency(const json_t *st, const char *label, const char *prefix);
static void ctl_print_counts(const json_t *st, const char *label, const char *prefix);
static void ctl_print_prometheus(const json_t *st);
static void ctl_prometheus_hist(const char *name, const json_t *h);
static bool ctl_prometheus_gauge(const char *key);
static void ctl_print_dump(const json_t *ans);
static void ctl_print_route(const json_t *ans);
static json_t *ctl_build(int argc, char **argv);
static void ctl_usage(FILE *out);

static void
ctl_usage(FILE *out)
{
	fprintf(out,
		"usage: mxcache-ctl [-s PATH] [--json | --prometheus] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  stats               counters, hit ratio, latency percentiles\n"
		"  reset               zero the counters\n"
		"  flush [NAME [TYPE]] drop the cache, or one name (and type)\n"
		"  dump [LIMIT]        list cache entries (default 100)\n"
		"  route DOMAIN        where mail to DOMAIN goes: exchangers and addresses\n"
		"  ping                check that the daemon answers\n"
		"\n"
		"  -s, --socket PATH   control socket (default %s)\n"
		"      --json          print the daemon's JSON answer as it is\n"
		"      --prometheus    stats in the Prometheus text format\n"
		"  -h, --help          this help\n",
		CONFIG_DEFAULT_CONTROL);
}

/* Reads one newline-terminated answer; NULL on error (errno set). */
static char *
ctl_read_line(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	while (buf) {
		if (len + 1 >= cap) {
			char *nb = cap < CTL_MAX_ANSWER ? realloc(buf, cap * 2) : NULL;
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			break;
		}
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n)) {
			buf[len] = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

static json_t *
ctl_request(const char *path, json_t *req)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CTL_TIMEOUT_S};
	json_error_t jerr;
	json_t *ans = NULL;
	char *text = NULL, *line = NULL;
	int fd = -1;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mxcache-ctl: socket path too long: %s\n", path);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr,
			"mxcache-ctl: cannot connect to %s: %s (is mxcached running? see -s)\n",
			path, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	text = json_dumps(req, JSON_COMPACT);
	if (!text || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    write(fd, "\n", 1) != 1 || !(line = ctl_read_line(fd))) {
		fprintf(stderr, "mxcache-ctl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (!(ans = json_loads(line, 0, &jerr)) || !json_is_object(ans)) {
		fprintf(stderr, "mxcache-ctl: unreadable answer from the daemon: %s\n", jerr.text);
		json_decref(ans);
		ans = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(line);
	return ans;
}

static double
ctl_num(const json_t *obj, const char *key)
{
	return json_number_value(json_object_get(obj, key));
}

static void
ctl_print_latency(const json_t *st, const char *label, const char *prefix)
{
	static const char *const keys[] = {"p50", "p90", "p99", "max"};
	char key[64];

	printf("  %-12s", label);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(key, sizeof(key), "%s.%s", prefix, keys[i]);
		double us = ctl_num(st, key);
		if (us >= 1000)
			printf("  %s %.1f ms", keys[i], us / 1000);
		else
			printf("  %s %.0f us", keys[i], us);
	}
	snprintf(key, sizeof(key), "%s.count", prefix);
	printf("  (%.0f)\n", ctl_num(st, key));
}

/* Non-zero entries of one family of keys ("queries.by_type."). */
static void
ctl_print_counts(const json_t *st, const char *label, const char *prefix)
{
	size_t plen = strlen(prefix);
	const char *key;
	json_t *v;

	printf("%-14s", label);
	json_object_foreach((json_t *)(uintptr_t)st, key, v)
	{
		if (strncmp(key, prefix, plen) == 0 && json_number_value(v) > 0)
			printf(" %s %.0f", key + plen, json_number_value(v));
	}
	printf("\n");
}

static void
ctl_print_stats(const json_t *st)
{
	double hits = ctl_num(st, "cache.hits"), misses = ctl_num(st, "cache.misses");
	double lookups = hits + misses;

	printf("queries        total %.0f  udp %.0f  tcp %.0f  refused %.0f  dropped %.0f\n",
	       ctl_num(st, "queries.total"), ctl_num(st, "queries.udp"), ctl_num(st, "queries.tcp"),
	       ctl_num(st, "queries.refused"), ctl_num(st, "queries.dropped"));
	printf("cache          hit ratio %.1f%%  hits %.0f  misses %.0f  entries %.0f\n",
	       lookups > 0 ? 100.0 * hits / lookups : 0.0, hits, misses,
	       ctl_num(st, "cache.entries"));
	printf("               %.1f of %.1f MiB  evictions %.0f  expired %.0f\n",
	       ctl_num(st, "cache.bytes") / 1048576.0, ctl_num(st, "cache.max_bytes") / 1048576.0,
	       ctl_num(st, "cache.evictions"), ctl_num(st, "cache.expired"));
	printf("latency\n");
	ctl_print_latency(st, "all", "latency_us");
	ctl_print_latency(st, "cache hit", "latency_hit_us");
	ctl_print_latency(st, "cache miss", "latency_miss_us");
	ctl_print_latency(st, "upstream", "latency_upstream_us");
	printf("upstream       queries %.0f  failures %.0f  timeouts %.0f  bogus %.0f  "
	       "coalesced %.0f  in flight %.0f\n",
	       ctl_num(st, "upstream.queries"), ctl_num(st, "upstream.failures"),
	       ctl_num(st, "upstream.timeouts"), ctl_num(st, "upstream.bogus"),
	       ctl_num(st, "upstream.coalesced"), ctl_num(st, "upstream.in_flight"));
	if (json_object_get(st, "mx_chaser.mx_answers"))
		printf("mx chaser      mx answers %.0f  prefetches %.0f  prefetch hits %.0f\n",
		       ctl_num(st, "mx_chaser.mx_answers"), ctl_num(st, "mx_chaser.prefetches"),
		       ctl_num(st, "mx_chaser.prefetch_hits"));
	ctl_print_counts(st, "rcodes", "queries.by_rcode.");
	ctl_print_counts(st, "types", "queries.by_type.");
	printf("uptime         %.0f s\n", ctl_num(st, "uptime_s"));
}

static bool
ctl_prometheus_gauge(const char *key)
{
	static const char *const gauges[] = {"cache.entries",
					     "cache.bytes",
					     "cache.max_bytes",
					     "upstream.in_flight",
					     "upstream.distinct_in_flight",
					     "uptime_s"};

	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (strcmp(key, gauges[i]) == 0)
			return true;
	return false;
}

/* A latency histogram in seconds, as Prometheus expects: cumulative
 * buckets, +Inf, _sum and _count. */
static void
ctl_prometheus_hist(const char *name, const json_t *h)
{
	const json_t *le = json_object_get(h, "le"), *counts = json_object_get(h, "count");
	char metric[96];
	double cum = 0;
	size_t len = strlen(name);

	/* "latency_hit_us" -> "mxcache_latency_hit_seconds" */
	snprintf(metric, sizeof(metric), "mxcache_%.*s_seconds",
		 (int)(len > 3 && strcmp(name + len - 3, "_us") == 0 ? len - 3 : len), name);
	printf("# HELP %s Client-facing DNS latency (%s).\n", metric, name);
	printf("# TYPE %s histogram\n", metric);
	for (size_t i = 0; i < json_array_size(le); i++) {
		cum += json_number_value(json_array_get(counts, i));
		printf("%s_bucket{le=\"%.6f\"} %.0f\n", metric,
		       json_number_value(json_array_get(le, i)) / 1e6, cum);
	}
	printf("%s_bucket{le=\"+Inf\"} %.0f\n", metric, ctl_num(h, "total"));
	printf("%s_sum %.6f\n", metric, ctl_num(h, "sum") / 1e6);
	printf("%s_count %.0f\n", metric, ctl_num(h, "total"));
}

static void
ctl_print_prometheus(const json_t *st)
{
	static const struct {
		const char *prefix;
		const char *metric;
		const char *label;
	} families[] = {
	    {"queries.by_type.", "mxcache_queries_by_type_total", "type"},
	    {"queries.by_rcode.", "mxcache_answers_by_rcode_total", "rcode"},
	};
	const char *key;
	json_t *v;

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		size_t plen = strlen(families[f].prefix);
		printf("# HELP %s Queries counted by %s.\n", families[f].metric, families[f].label);
		printf("# TYPE %s counter\n", families[f].metric);
		json_object_foreach((json_t *)(uintptr_t)st, key, v)
		{
			if (strncmp(key, families[f].prefix, plen) == 0)
				printf("%s{%s=\"%s\"} %.0f\n", families[f].metric,
				       families[f].label, key + plen, json_number_value(v));
		}
	}
	json_object_foreach((json_t *)(uintptr_t)st, key, v)
	{
		char metric[128];
		if (!json_is_number(v) || strncmp(key, "queries.by_", 11) == 0 ||
		    strncmp(key, "latency", 7) == 0)
			continue;
		bool gauge = ctl_prometheus_gauge(key);
		size_t klen = strlen(key);
		bool has_total = klen > 6 && strcmp(key + klen - 6, ".total") == 0;
		snprintf(metric, sizeof(metric), "mxcache_%s%s", key,
			 gauge || has_total ? "" : "_total");
		for (char *p = metric; *p; p++)
			if (*p == '.')
				*p = '_';
		printf("# HELP %s mxcached statistic %s.\n", metric, key);
		printf("# TYPE %s %s\n", metric, gauge ? "gauge" : "counter");
		printf("%s %.0f\n", metric, json_number_value(v));
	}
	json_object_foreach(json_object_get(st, "histograms"), key, v) ctl_prometheus_hist(key, v);
}

static void
ctl_print_dump(const json_t *ans)
{
	const json_t *entries = json_object_get(ans, "entries");
	size_t i;
	json_t *e;

	printf("%-40s %-6s %8s %7s  %s\n", "NAME", "TYPE", "TTL", "BYTES", "FLAGS");
	json_array_foreach(entries, i, e)
	{
		printf("%-40s %-6s %8.0f %7.0f  %s%s%s%s\n",
		       json_string_value(json_object_get(e, "name")),
		       json_string_value(json_object_get(e, "type")), ctl_num(e, "ttl"),
		       ctl_num(e, "bytes"), json_is_true(json_object_get(e, "do")) ? "do " : "",
		       json_is_true(json_object_get(e, "cd")) ? "cd " : "",
		       json_is_true(json_object_get(e, "secure")) ? "secure " : "",
		       ctl_num(e, "rcode") == 3 ? "nxdomain" : "");
	}
	printf("(%zu of %.0f entries)\n", json_array_size(entries), ctl_num(ans, "total"));
}

/* The MTA's view: exchangers in preference order with their addresses. */
static void
ctl_print_route(const json_t *ans)
{
	const json_t *exchangers = json_object_get(ans, "exchangers"), *ex, *addr;
	size_t i, j;

	printf("%s  %s%s%s%s\n", json_string_value(json_object_get(ans, "domain")),
	       json_string_value(json_object_get(ans, "rcode")),
	       json_is_true(json_object_get(ans, "secure")) ? ", DNSSEC-secure" : ", not secure",
	       json_is_true(json_object_get(ans, "implicit_mx")) ? ", implicit MX" : "",
	       json_is_true(json_object_get(ans, "null_mx")) ? ", null MX" : "");
	json_array_foreach(exchangers, i, ex)
	{
		printf("  %5.0f %s\n", ctl_num(ex, "preference"),
		       json_string_value(json_object_get(ex, "name")));
		json_array_foreach(json_object_get(ex, "addresses"), j, addr)
		    printf("          %-40s %-4s ttl %.0f\n",
			   json_string_value(json_object_get(addr, "address")),
			   json_string_value(json_object_get(addr, "type")), ctl_num(addr, "ttl"));
		if (json_object_get(ex, "problem"))
			printf("          ! %s\n",
			       json_string_value(json_object_get(ex, "problem")));
	}
	if (json_object_get(ans, "problem"))
		printf("  ! %s\n", json_string_value(json_object_get(ans, "problem")));
}

/* The request for the command line; NULL (after a message) if it is wrong. */
static json_t *
ctl_build(int argc, char **argv)
{
	const char *cmd = argv[0];
	char *end;

	if (strcmp(cmd, "stats") == 0 && argc == 1)
		return json_pack("{s:s}", "cmd", "stats");
	if (strcmp(cmd, "ping") == 0 && argc == 1)
		return json_pack("{s:s}", "cmd", "ping");
	if (strcmp(cmd, "reset") == 0 && argc == 1)
		return json_pack("{s:s}", "cmd", "stats_reset");
	if (strcmp(cmd, "route") == 0 && argc == 2)
		return json_pack("{s:s, s:s}", "cmd", "route", "domain", argv[1]);
	if (strcmp(cmd, "flush") == 0 && argc <= 3) {
		json_t *req = json_pack("{s:s}", "cmd", "flush");
		if (argc >= 2)
			json_object_set_new(req, "name", json_string(argv[1]));
		if (argc == 3)
			json_object_set_new(req, "type", json_string(argv[2]));
		return req;
	}
	if (strcmp(cmd, "dump") == 0 && argc <= 2) {
		long limit = argc == 2 ? strtol(argv[1], &end, 10) : 100;
		if (argc == 2 && (*end != '\0' || limit < 0)) {
			fprintf(stderr, "mxcache-ctl: dump: '%s' is not a count\n", argv[1]);
			return NULL;
		}
		return json_pack("{s:s, s:I}", "cmd", "dump", "limit", (json_int_t)limit);
	}
	fprintf(stderr, "mxcache-ctl: unknown command or wrong arguments: %s (see --help)\n", cmd);
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"prometheus", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_CONTROL;
	enum ctl_format format = CTL_TEXT;
	json_t *req, *ans;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			format = CTL_JSON;
			break;
		case 'p':
			format = CTL_PROMETHEUS;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return 2;
	}
	if (!(req = ctl_build(argc - optind, argv + optind)))
		return 2;
	if (format == CTL_PROMETHEUS) {
		if (strcmp(argv[optind], "stats") != 0) {
			fprintf(stderr, "mxcache-ctl: --prometheus goes with stats\n");
			json_decref(req);
			return 2;
		}
		json_object_set_new(req, "histograms", json_true());
	}
	ans = ctl_request(path, req);
	json_decref(req);
	if (!ans)
		return 1;
	if (json_object_get(ans, "error")) {
		fprintf(stderr, "mxcache-ctl: %s\n",
			json_string_value(json_object_get(ans, "error")));
		status = 1;
	} else if (format == CTL_JSON) {
		json_dumpf(ans, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else if (format == CTL_PROMETHEUS) {
		ctl_print_prometheus(ans);
	} else if (strcmp(argv[optind], "stats") == 0) {
		ctl_print_stats(ans);
	} else if (strcmp(argv[optind], "dump") == 0) {
		ctl_print_dump(ans);
	} else if (strcmp(argv[optind], "route") == 0) {
		ctl_print_route(ans);
	} else if (strcmp(argv[optind], "flush") == 0) {
		printf("flushed %.0f entries\n", ctl_num(ans, "removed"));
	} else {
		printf("ok\n");
	}
	json_decref(ans);
	return status;
}
