/*
 * mxcache-ctl: the operator's client for mxcached's control socket.
 *
 *   mxcache-ctl [-s PATH] [--json | --prometheus] COMMAND [ARGS]
 *
 * Options may come before or after the command. Every command is one line
 * of ctl_cmds[]: its arguments, its help, its request and how its answer
 * is printed. Exit status: 0, 1 when the daemon answers an error or cannot
 * be reached, 2 for a wrong command line.
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
#include "prom.h"

#define CTL_TIMEOUT_S 10
#define CTL_MAX_ANSWER (64 * 1024 * 1024)
#define CTL_MAX_ARGS 8
#define CTL_DUMP_DEFAULT 100

enum ctl_format { CTL_TEXT, CTL_JSON, CTL_PROMETHEUS };

struct ctl_cmd {
	const char *name;
	const char *args; /* as the help shows them */
	int min_args;
	int max_args;
	const char *help;
	/* The request; NULL (after a message on stderr) if the arguments are wrong. */
	json_t *(*build)(const struct ctl_cmd *cmd, char **args, int nargs);
	void (*print)(const json_t *ans);
	bool prometheus; /* has a --prometheus form */
};

static json_t *ctl_request(const char *path, json_t *req);
static char *ctl_read_line(int fd);
static double ctl_num(const json_t *obj, const char *key);
static json_t *ctl_build_plain(const struct ctl_cmd *cmd, char **args, int nargs);
static json_t *ctl_build_reset(const struct ctl_cmd *cmd, char **args, int nargs);
static json_t *ctl_build_flush(const struct ctl_cmd *cmd, char **args, int nargs);
static json_t *ctl_build_dump(const struct ctl_cmd *cmd, char **args, int nargs);
static json_t *ctl_build_route(const struct ctl_cmd *cmd, char **args, int nargs);
static void ctl_print_stats(const json_t *st);
static void ctl_print_latency(const json_t *st, const char *label, const char *prefix);
static void ctl_print_counts(const json_t *st, const char *label, const char *prefix);
static bool ctl_print_prometheus(const json_t *st);
static void ctl_print_dump(const json_t *ans);
static void ctl_print_route(const json_t *ans);
static void ctl_print_flush(const json_t *ans);
static void ctl_print_ok(const json_t *ans);
static const struct ctl_cmd *ctl_find(const char *name);
static json_t *ctl_build(const char *name, char **args, int nargs, enum ctl_format format,
			 const struct ctl_cmd **out);
static bool ctl_push_word(char **words, int *nwords, char *word);
static void ctl_usage(FILE *out);

static const struct ctl_cmd ctl_cmds[] = {
    {"stats", "", 0, 0, "counters, hit ratio, latency percentiles", ctl_build_plain,
     ctl_print_stats, true},
    {"reset", "", 0, 0, "zero the counters", ctl_build_reset, ctl_print_ok, false},
    {"flush", "[NAME [TYPE]]", 0, 2, "drop the cache, or one name (and type)", ctl_build_flush,
     ctl_print_flush, false},
    {"dump", "[LIMIT]", 0, 1, "list cache entries (default 100)", ctl_build_dump, ctl_print_dump,
     false},
    {"route", "DOMAIN", 1, 1, "where mail to DOMAIN goes: exchangers and addresses",
     ctl_build_route, ctl_print_route, false},
    {"ping", "", 0, 0, "check that the daemon answers", ctl_build_plain, ctl_print_ok, false},
};

#define CTL_NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static void
ctl_usage(FILE *out)
{
	char left[64];

	fprintf(out, "usage: mxcache-ctl [-s PATH] [--json | --prometheus] COMMAND [ARGS]\n"
		     "       (options may also follow the command)\n\ncommands:\n");
	for (size_t i = 0; i < CTL_NCMDS; i++) {
		snprintf(left, sizeof(left), "%s %s", ctl_cmds[i].name, ctl_cmds[i].args);
		fprintf(out, "  %-20s%s\n", left, ctl_cmds[i].help);
	}
	fprintf(out,
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
	ctl_print_latency(st, "redis (l2)", "latency_l2_us");
	printf("upstream       queries %.0f  failures %.0f  timeouts %.0f  bogus %.0f  "
	       "coalesced %.0f  in flight %.0f\n",
	       ctl_num(st, "upstream.queries"), ctl_num(st, "upstream.failures"),
	       ctl_num(st, "upstream.timeouts"), ctl_num(st, "upstream.bogus"),
	       ctl_num(st, "upstream.coalesced"), ctl_num(st, "upstream.in_flight"));
	printf("shared (l2)    up %.0f  hits %.0f  misses %.0f  stores %.0f  rejected %.0f  "
	       "timeouts %.0f  errors %.0f  dropped %.0f\n",
	       ctl_num(st, "l2.up"), ctl_num(st, "l2.hits"), ctl_num(st, "l2.misses"),
	       ctl_num(st, "l2.stores"), ctl_num(st, "l2.rejected"), ctl_num(st, "l2.timeouts"),
	       ctl_num(st, "l2.errors"), ctl_num(st, "l2.dropped"));
	if (json_object_get(st, "mx_chaser.mx_answers"))
		printf("mx chaser      mx answers %.0f  prefetches %.0f  prefetch hits %.0f\n",
		       ctl_num(st, "mx_chaser.mx_answers"), ctl_num(st, "mx_chaser.prefetches"),
		       ctl_num(st, "mx_chaser.prefetch_hits"));
	ctl_print_counts(st, "rcodes", "queries.by_rcode.");
	ctl_print_counts(st, "types", "queries.by_type.");
	printf("uptime         %.0f s\n", ctl_num(st, "uptime_s"));
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

static bool
ctl_print_prometheus(const json_t *st)
{
	size_t len;
	char *text = prom_render(st, &len);

	if (!text) {
		fprintf(stderr, "mxcache-ctl: out of memory\n");
		return false;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return true;
}

static void
ctl_print_flush(const json_t *ans)
{
	printf("flushed %.0f entries\n", ctl_num(ans, "removed"));
}

static void
ctl_print_ok(const json_t *ans)
{
	(void)ans;
	printf("ok\n");
}

/* Commands whose request is their name alone. */
static json_t *
ctl_build_plain(const struct ctl_cmd *cmd, char **args, int nargs)
{
	(void)args;
	(void)nargs;
	return json_pack("{s:s}", "cmd", cmd->name);
}

static json_t *
ctl_build_reset(const struct ctl_cmd *cmd, char **args, int nargs)
{
	(void)cmd;
	(void)args;
	(void)nargs;
	return json_pack("{s:s}", "cmd", "stats_reset");
}

static json_t *
ctl_build_flush(const struct ctl_cmd *cmd, char **args, int nargs)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd->name);

	if (req && nargs >= 1)
		json_object_set_new(req, "name", json_string(args[0]));
	if (req && nargs == 2)
		json_object_set_new(req, "type", json_string(args[1]));
	return req;
}

static json_t *
ctl_build_dump(const struct ctl_cmd *cmd, char **args, int nargs)
{
	long limit = CTL_DUMP_DEFAULT;
	char *end;

	if (nargs == 1) {
		errno = 0;
		limit = strtol(args[0], &end, 10);
		if (end == args[0] || *end != '\0' || limit < 0 || errno) {
			fprintf(stderr, "mxcache-ctl: dump: '%s' is not a count\n", args[0]);
			return NULL;
		}
	}
	return json_pack("{s:s, s:I}", "cmd", cmd->name, "limit", (json_int_t)limit);
}

static json_t *
ctl_build_route(const struct ctl_cmd *cmd, char **args, int nargs)
{
	(void)nargs;
	return json_pack("{s:s, s:s}", "cmd", cmd->name, "domain", args[0]);
}

static const struct ctl_cmd *
ctl_find(const char *name)
{
	for (size_t i = 0; i < CTL_NCMDS; i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* The request for the command line; NULL (after a message) if it is wrong. */
static json_t *
ctl_build(const char *name, char **args, int nargs, enum ctl_format format,
	  const struct ctl_cmd **out)
{
	const struct ctl_cmd *cmd = ctl_find(name);
	json_t *req;

	if (!cmd) {
		fprintf(stderr, "mxcache-ctl: unknown command '%s' (see --help)\n", name);
		return NULL;
	}
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "mxcache-ctl: wrong arguments; usage: %s %s\n", cmd->name,
			cmd->args);
		return NULL;
	}
	if (format == CTL_PROMETHEUS && !cmd->prometheus) {
		fprintf(stderr, "mxcache-ctl: --prometheus goes with stats, not %s\n", cmd->name);
		return NULL;
	}
	if (!(req = cmd->build(cmd, args, nargs)))
		return NULL;
	if (format == CTL_PROMETHEUS)
		json_object_set_new(req, "histograms", json_true());
	*out = cmd;
	return req;
}

/* The command and its arguments, CTL_MAX_ARGS + 1 at most. */
static bool
ctl_push_word(char **words, int *nwords, char *word)
{
	if (*nwords > CTL_MAX_ARGS) {
		fprintf(stderr, "mxcache-ctl: too many arguments (see --help)\n");
		return false;
	}
	words[(*nwords)++] = word;
	return true;
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
	const struct ctl_cmd *cmd = NULL;
	enum ctl_format format = CTL_TEXT;
	char *words[CTL_MAX_ARGS + 1];
	int c, nwords = 0, status = 0;
	json_t *req, *ans;

	/* "-" first: words come back in order as they are (options anywhere,
	 * whatever POSIXLY_CORRECT says); "--" ends the options. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (!ctl_push_word(words, &nwords, optarg))
				return 2;
			break;
		case 's':
			path = optarg;
			break;
		case 'j':
		case 'p':
			if (format != CTL_TEXT &&
			    format != (c == 'j' ? CTL_JSON : CTL_PROMETHEUS)) {
				fprintf(stderr, "mxcache-ctl: --json or --prometheus, not both\n");
				return 2;
			}
			format = c == 'j' ? CTL_JSON : CTL_PROMETHEUS;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			/* A long option is the word just read; a short one (maybe
			 * in a cluster) is optopt. */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				fprintf(stderr, "mxcache-ctl: %s: %s (see --help)\n",
					argv[optind - 1],
					c == ':' ? "missing value" : "unknown option");
			else
				fprintf(stderr, "mxcache-ctl: -%c: %s (see --help)\n", optopt,
					c == ':' ? "missing value" : "unknown option");
			return 2;
		}
	}
	for (; optind < argc; optind++)
		if (!ctl_push_word(words, &nwords, argv[optind]))
			return 2;
	if (nwords == 0) {
		fprintf(stderr, "mxcache-ctl: no command given\n");
		ctl_usage(stderr);
		return 2;
	}
	if (!(req = ctl_build(words[0], words + 1, nwords - 1, format, &cmd)))
		return 2;
	ans = ctl_request(path, req);
	json_decref(req);
	if (!ans)
		return 1;
	if (json_object_get(ans, "error")) {
		const char *msg = json_string_value(json_object_get(ans, "error"));
		fprintf(stderr, "mxcache-ctl: %s\n", msg ? msg : "the daemon answered an error");
		status = 1;
	} else if (format == CTL_JSON) {
		json_dumpf(ans, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else if (format == CTL_PROMETHEUS) {
		status = ctl_print_prometheus(ans) ? 0 : 1;
	} else {
		cmd->print(ans);
	}
	json_decref(ans);
	return status;
}
