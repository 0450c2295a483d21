/*
 * config: see include/config.h. One table lists every option once with
 * its type, field, bounds, default and help; the command line parser, the
 * config file reader, the defaults and --help all read it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef MXCACHE_VERSION
#define MXCACHE_VERSION "0.1.0"
#endif

/* Where the help text starts: "  -x, " and the widest "--name METAVAR". */
#define CONFIG_HELP_COLUMN 36

static bool set_listen(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_chase_tlsa(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool config_valid_stub(const char *arg);
static bool config_valid_addr(const char *arg);
static bool config_valid_option(const char *arg);
static bool config_file(struct config *cfg, const char *path, char *err, size_t errlen);
static const struct config_opt *config_find(const char *name);
static bool config_late_default(const struct config_opt *o);
static bool config_apply_default(const struct config_opt *o, struct config *cfg, char *err,
				 size_t errlen);
static bool config_defaults(struct config *cfg, bool late, char *err, size_t errlen);
static void config_free_list(char **v, size_t n);

#define CONFIG_FIELD(f)                                                                            \
	.offset = offsetof(struct config, f), .width = sizeof(((struct config *)0)->f)
#define CONFIG_UINT(f, lo, hi, fl, u)                                                              \
	.type = CONFIG_T_UINT, CONFIG_FIELD(f), .min = (lo), .max = (hi), .floor = (fl), .unit = (u)
#define CONFIG_TYPED(t, f) .type = (t), CONFIG_FIELD(f)
#define CONFIG_LIST(f, n, check)                                                                   \
	.type = CONFIG_T_LIST, CONFIG_FIELD(f), .aux = offsetof(struct config, n), .valid = (check)

static const struct config_opt config_opts[] = {
    {"config", 'c', .metavar = "FILE", .type = CONFIG_T_META, .help = "read options from FILE"},
    {"listen", 'l', .metavar = "ADDR[@PORT]", .type = CONFIG_T_CUSTOM, .set = set_listen,
     .aux = offsetof(struct config, nlisten), .def = "127.0.0.1@53 ::1@53",
     .help = "listen on UDP and TCP, repeatable"},
    {"root-hints", 0, .metavar = "FILE", CONFIG_TYPED(CONFIG_T_STRING, upstream.root_hints),
     .help = "root hints zone file"},
    {"stub", 0, .metavar = "ZONE=ADDR[@PORT]",
     CONFIG_LIST(upstream.stubs, upstream.nstubs, config_valid_stub),
     .help = "send queries for ZONE to that server"},
    {"forward", 0, .metavar = "ADDR[@PORT]",
     CONFIG_LIST(upstream.forwards, upstream.nforwards, config_valid_addr),
     .help = "forward to this resolver (repeatable)"},
    {"trust-anchor", 0, .metavar = "FILE|none",
     CONFIG_TYPED(CONFIG_T_STRING, upstream.trust_anchor),
     .help = "DNSSEC trust anchor (default: the system root key, for the real root)"},
    {"cache-size", 0, .metavar = "SIZE", CONFIG_TYPED(CONFIG_T_SIZE, cache_size), .def = "64m",
     .reload = true, .help = "byte bound of the cache"},
    {"cache-min-ttl", 0, .metavar = "SECONDS", CONFIG_UINT(query.min_ttl, 0, 86400, 0, "s"),
     .def = "0", .reload = true, .help = "cache answers at least this long"},
    {"cache-max-ttl", 0, .metavar = "SECONDS", CONFIG_UINT(query.max_ttl, 0, 0x7fffffff, 0, "s"),
     .def = "86400", .reload = true, .help = "cache answers at most this long"},
    {"cache-max-negative-ttl", 0, .metavar = "SECONDS",
     CONFIG_UINT(query.max_negative_ttl, 0, 0x7fffffff, 0, "s"), .def = "3600", .reload = true,
     .help = "cache NXDOMAIN/NODATA at most this long"},
    {"query-timeout", 0, .metavar = "MS", CONFIG_UINT(query.timeout_ms, 100, 600000, 0, "ms"),
     .def = "5000", .reload = true, .help = "answer SERVFAIL after this long"},
    {"max-inflight", 0, .metavar = "N", CONFIG_UINT(query.max_inflight, 0, 1000000, 1, "lookups"),
     .def = "2000", .help = "distinct upstream lookups at once"},
    {"zone-max-inflight", 0, .metavar = "N",
     CONFIG_UINT(budget.zone_inflight, 0, 1000000, 0, "lookups"), .def = "0", .reload = true,
     .help = "client lookups in flight per zone, 0: an eighth of --max-inflight"},
    {"jostle-timeout", 0, .metavar = "MS", CONFIG_UINT(query.jostle_ms, 0, 600000, 0, "ms"),
     .def = "200", .reload = true, .help = "with the table full, lookups older than this give way"},
    {"tcp-max-connections", 0, .metavar = "N",
     CONFIG_UINT(tcp.max_conns, 0, 100000, 0, "connections"), .def = "512",
     .help = "TCP connections per listener"},
    {"tcp-max-per-client", 0, .metavar = "N",
     CONFIG_UINT(tcp.max_per_client, 0, 100000, 0, "connections"), .def = "0",
     .help = "TCP connections per client address or IPv6 /64, 0: no cap"},
    {"tcp-idle-timeout", 0, .metavar = "MS", CONFIG_UINT(tcp.idle_ms, 0, 3600000, 1, "ms"),
     .def = "10000", .help = "close idle TCP connections"},
    {"tcp-write-timeout", 0, .metavar = "MS", CONFIG_UINT(tcp.write_ms, 0, 3600000, 1, "ms"),
     .def = "10000", .help = "reset TCP clients that leave their answers untaken this long"},
    {"mx-chase", 0, .metavar = "yes|no", CONFIG_TYPED(CONFIG_T_YESNO, chaser.enabled), .def = "yes",
     .help = "fetch the exchangers' A/AAAA as soon as an MX answer arrives"},
    {"mx-chase-max", 0, .metavar = "N",
     CONFIG_UINT(chaser.max_exchangers, 0, CHASER_MAX_EXCHANGERS, 0, "exchangers"), .def = "10",
     .help = "exchangers chased per MX answer"},
    {"chase-zone-max", 0, .metavar = "N",
     CONFIG_UINT(budget.zone_background, 0, 100000, 0, "lookups"), .def = "64", .reload = true,
     .help = "background lookups in flight per zone"},
    {"chase-zone-rate", 0, .metavar = "N",
     CONFIG_UINT(budget.zone_bg_per_sec, 0, 1000000, 0, "lookups"), .def = "100", .reload = true,
     .help = "background lookups started per second per zone"},
    {"mx-additional", 0, .metavar = "yes|no", CONFIG_TYPED(CONFIG_T_YESNO, chaser.additional),
     .def = "yes", .help = "cached exchanger addresses in MX replies"},
    {"chase-tlsa", 0, .metavar = "yes|no|auto", .type = CONFIG_T_CUSTOM, .set = set_chase_tlsa,
     .def = "auto",
     .help = "also fetch _25._tcp TLSA of secure exchangers (auto: when validating)"},
    {"chase-ptr", 0, .metavar = "yes|no", CONFIG_TYPED(CONFIG_T_YESNO, chaser.ptr), .def = "yes",
     .help = "fetch the A/AAAA of the names a PTR answer gives (FCrDNS)"},
    {"chase-spf", 0, .metavar = "yes|no", CONFIG_TYPED(CONFIG_T_YESNO, chaser.spf), .def = "yes",
     .help = "fetch what an SPF record's include, redirect, a, mx and exists terms ask"},
    {"chase-dmarc", 0, .metavar = "yes|no", CONFIG_TYPED(CONFIG_T_YESNO, chaser.dmarc),
     .def = "yes", .help = "fetch _dmarc.<domain> TXT when a domain's SPF record arrives"},
    {"prefetch", 0, .metavar = "yes|no", CONFIG_TYPED(CONFIG_T_YESNO, query.refresh), .def = "yes",
     .reload = true, .help = "refresh MX and chased entries hit near expiry"},
    {"serve-stale", 0, .metavar = "yes|no", CONFIG_TYPED(CONFIG_T_YESNO, query.serve_stale),
     .def = "no", .reload = true,
     .help = "answer from expired entries when recursion fails (RFC 8767)"},
    {"stale-ttl", 0, .metavar = "SECONDS", CONFIG_UINT(query.stale_ttl, 0, 3600, 0, "s"),
     .def = "30", .reload = true, .help = "TTL of stale answers"},
    {"stale-max-age", 0, .metavar = "SECONDS", CONFIG_UINT(stale_max_age, 0, 7 * 86400, 0, "s"),
     .def = "86400", .reload = true, .help = "serve entries at most this long past expiry"},
    {"stale-client-timeout", 0, .metavar = "MS",
     CONFIG_UINT(query.stale_client_ms, 0, 600000, 0, "ms"), .def = "1800", .reload = true,
     .help = "with serve-stale, answer a waiting client stale after this long, 0: off"},
    {"ratelimit", 0, .metavar = "QPS", CONFIG_UINT(ratelimit, 0, 10000000, 0, "queries"),
     .def = "0", .reload = true, .help = "UDP queries per second per client, then drop, 0: off"},
    {"cache-file", 0, .metavar = "PATH", CONFIG_TYPED(CONFIG_T_STRING, cache_file),
     .help = "save the cache here on shutdown, load it on start"},
    {"redis", 0, .metavar = "ADDR[@PORT]|unix:PATH", CONFIG_TYPED(CONFIG_T_STRING, l2.addr),
     .reload = true, .help = "share the cache with a fleet through this Redis (port 6379; off)"},
    {"redis-read", 0, .metavar = "ADDR[@PORT]|unix:PATH",
     CONFIG_TYPED(CONFIG_T_STRING, l2.read_addr), .reload = true,
     .help = "read from this Redis replica, write to --redis"},
    {"redis-secret", 0, .metavar = "FILE", CONFIG_TYPED(CONFIG_T_STRING, l2.secret_file),
     .help = "the fleet's shared secret (mode 0600): keys names, MACs values"},
    {"redis-timeout", 0, .metavar = "MS", CONFIG_UINT(l2.timeout_ms, 1, 10000, 0, "ms"),
     .def = "20", .reload = true, .help = "wait this long for Redis, then recurse"},
    {"user", 'u', .metavar = "NAME", CONFIG_TYPED(CONFIG_T_STRING, user),
     .help = "drop root for this user once the sockets are bound"},
    {"control", 's', .metavar = "PATH", CONFIG_TYPED(CONFIG_T_STRING, control_path),
     .def = CONFIG_DEFAULT_CONTROL, .help = "JSON control/stats socket"},
    {"allow", 0, .metavar = "CIDR", CONFIG_LIST(allow, nallow, NULL), .reload = true,
     .help = "also allow these clients (repeatable; loopback always)"},
    {"metrics", 0, .metavar = "ADDR@PORT", CONFIG_TYPED(CONFIG_T_ADDR, metrics),
     .aux = offsetof(struct config, metrics_on),
     .help = "serve Prometheus metrics (GET /metrics) here, to allowed clients (off)"},
    {"unbound-option", 0, .metavar = "NAME:VALUE",
     CONFIG_LIST(upstream.options, upstream.noptions, config_valid_option),
     .help = "passed to ub_ctx_set_option (repeatable)"},
    {"log-servfail", 0, .metavar = "yes|no", CONFIG_TYPED(CONFIG_T_YESNO, log_servfail),
     .def = "yes", .reload = true,
     .help = "log each SERVFAIL with its reason, at most 10 lines a second"},
    {"foreground", 'f', .metavar = NULL, CONFIG_TYPED(CONFIG_T_FLAG, foreground),
     .help = "stay in the foreground, log to stderr"},
    {"verbose", 'v', .metavar = NULL, CONFIG_TYPED(CONFIG_T_COUNT, verbose),
     .help = "log more (repeatable)"},
    {"version", 'V', .metavar = NULL, .type = CONFIG_T_META, .help = "print the version"},
    {"help", 'h', .metavar = NULL, .type = CONFIG_T_META, .help = "print this help"},
};

#define CONFIG_NOPTS (sizeof(config_opts) / sizeof(config_opts[0]))

const struct config_opt *
config_options(size_t *n)
{
	*n = CONFIG_NOPTS;
	return config_opts;
}

static bool
config_valid_addr(const char *arg)
{
	struct sock_addr a;

	return sock_parse_addr(arg, CONFIG_DEFAULT_PORT, &a);
}

static bool
config_valid_stub(const char *arg)
{
	const char *eq = strchr(arg, '=');

	return eq && eq != arg && config_valid_addr(eq + 1);
}

static bool
config_valid_option(const char *arg)
{
	const char *colon = strchr(arg, ':');

	return colon && colon != arg;
}

static bool
set_listen(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	struct sock_addr *l = realloc(cfg->listen, (cfg->nlisten + 1) * sizeof(*l));

	if (!l)
		return false;
	cfg->listen = l;
	if (!sock_parse_addr(arg, CONFIG_DEFAULT_PORT, &cfg->listen[cfg->nlisten])) {
		snprintf(err, errlen, "--listen: '%s' is not ADDR[@PORT]", arg);
		return false;
	}
	cfg->nlisten++;
	return true;
}

/* yes, no, or auto (-1): on when validating, which only upstream knows. */
static bool
set_chase_tlsa(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	if (strcmp(arg, "auto") == 0)
		cfg->chase_tlsa = -1;
	else if (strcmp(arg, "yes") == 0 || strcmp(arg, "no") == 0)
		cfg->chase_tlsa = arg[0] == 'y';
	else {
		snprintf(err, errlen, "--chase-tlsa: '%s' is not yes, no or auto", arg);
		return false;
	}
	return true;
}

static const struct config_opt *
config_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_NOPTS; i++)
		if (config_opts[i].type != CONFIG_T_META && strcmp(config_opts[i].name, name) == 0)
			return &config_opts[i];
	return NULL;
}

static bool
config_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned lineno = 0;
	bool ok = true;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), f)) {
		char *name, *value, *save = NULL;
		lineno++;
		/* A line longer than the buffer would be read as two. */
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line longer than %zu bytes", path, lineno,
				 sizeof(line) - 2);
			ok = false;
			break;
		}
		line[strcspn(line, "#\r\n")] = '\0';
		if (!(name = strtok_r(line, " \t", &save)))
			continue;
		value = strtok_r(NULL, " \t", &save);
		const struct config_opt *o = config_find(name);
		if (!o) {
			snprintf(err, errlen, "%s:%u: unknown option '%s'", path, lineno, name);
			ok = false;
			break;
		}
		if ((o->metavar != NULL) != (value != NULL) || strtok_r(NULL, " \t", &save)) {
			snprintf(err, errlen, "%s:%u: expected '%s%s%s'", path, lineno, name,
				 o->metavar ? " " : "", o->metavar ? o->metavar : "");
			ok = false;
			break;
		}
		if (!config_opt_set(o, cfg, value, err, errlen)) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, " (%s:%u)", path, lineno);
			ok = false;
		}
	}
	if (ok && ferror(f)) {
		/* fopen() takes a directory; reading it is where it fails. */
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ok = false;
	}
	fclose(f);
	return ok;
}

/* Repeatable options and strings get their default only when nothing set
 * them (an appended default would stay beside the operator's values). */
static bool
config_late_default(const struct config_opt *o)
{
	return o->type == CONFIG_T_LIST || o->type == CONFIG_T_STRING ||
	       (o->type == CONFIG_T_CUSTOM && o->aux);
}

/* A default of a repeatable option may hold several values, space-separated. */
static bool
config_apply_default(const struct config_opt *o, struct config *cfg, char *err, size_t errlen)
{
	char words[256], *save = NULL;

	if ((size_t)snprintf(words, sizeof(words), "%s", o->def) >= sizeof(words))
		return false;
	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!config_opt_set(o, cfg, w, err, errlen))
			return false;
	return true;
}

static bool
config_defaults(struct config *cfg, bool late, char *err, size_t errlen)
{
	if (!late) {
		memset(cfg, 0, sizeof(*cfg));
		/* Not options: fixed bounds. */
		cfg->query.max_waiters = 256;
		cfg->query.max_background = 1000;
		cfg->tcp.max_pending = 64;
	}
	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];
		if (!o->def || config_late_default(o) != late)
			continue;
		if (late && !config_opt_unset(o, cfg))
			continue;
		if (!config_apply_default(o, cfg, err, errlen))
			return false;
	}
	return true;
}

void
config_usage(FILE *out)
{
	fprintf(out, "usage: mxcached [options]\n"
		     "A caching recursive DNS resolver for mail servers.\n\n");
	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];
		char left[64], shortname[8] = "    ";
		if (o->short_name)
			snprintf(shortname, sizeof(shortname), "-%c, ", o->short_name);
		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
			 o->metavar ? o->metavar : "");
		fprintf(out, "  %s%-*s %s%s%s%s%s\n", shortname, CONFIG_HELP_COLUMN, left, o->help,
			o->def ? " (" : "", o->def ? o->def : "", o->def ? ")" : "",
			o->reload ? " *" : "");
	}
	fprintf(out, "\n* SIGHUP applies a new value; the others change on restart.\n");
}

enum config_result
config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	struct option longopts[CONFIG_NOPTS + 1];
	/* "+": stop at the first argument; ":": report a missing value as ':'. */
	char shortopts[3 * CONFIG_NOPTS + 8] = "+:";
	size_t s = strlen(shortopts);
	bool control_default;
	int c;

	if (!config_defaults(cfg, false, err, errlen))
		return CONFIG_ERROR;
	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];
		longopts[i] = (struct option){o->name, o->metavar ? required_argument : no_argument,
					      NULL, o->short_name ? o->short_name : 256 + (int)i};
		if (o->short_name) {
			shortopts[s++] = (char)o->short_name;
			if (o->metavar)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	longopts[CONFIG_NOPTS] = (struct option){NULL, 0, NULL, 0};

	opterr = 0;
	optind = 0; /* glibc: 0 also resets the state left by an earlier parse */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct config_opt *o = NULL;
		switch (c) {
		case 'h':
			config_usage(stdout);
			return CONFIG_EXIT;
		case 'V':
			printf("mxcached %s\n", MXCACHE_VERSION);
			return CONFIG_EXIT;
		case 'c':
			if (!config_file(cfg, optarg, err, errlen))
				return CONFIG_ERROR;
			continue;
		case '?':
		case ':':
			/* A long option is the word just read; a short one (maybe
			 * in a cluster like -fx) is optopt. */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				snprintf(err, errlen, "%s: %s (see --help)", argv[optind - 1],
					 c == ':' ? "missing value" : "unknown option");
			else
				snprintf(err, errlen, "-%c: %s (see --help)", optopt,
					 c == ':' ? "missing value" : "unknown option");
			return CONFIG_ERROR;
		default:
			break;
		}
		if (c >= 256)
			o = &config_opts[c - 256];
		for (size_t i = 0; !o && i < CONFIG_NOPTS; i++)
			if (config_opts[i].short_name == c)
				o = &config_opts[i];
		if (!o || !config_opt_set(o, cfg, optarg, err, errlen))
			return CONFIG_ERROR;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		return CONFIG_ERROR;
	}
	control_default = !cfg->control_path;
	if (!config_defaults(cfg, true, err, errlen))
		return CONFIG_ERROR;
	cfg->control_default = control_default;
	cfg->upstream.cache_bytes = cfg->cache_size;
	cfg->upstream.max_lookups = cfg->query.max_inflight;
	if (cfg->budget.zone_inflight == 0)
		cfg->budget.zone_inflight =
		    cfg->query.max_inflight >= 8 ? cfg->query.max_inflight / 8 : 1;
	if (cfg->query.min_ttl > cfg->query.max_ttl) {
		snprintf(err, errlen, "--cache-min-ttl is above --cache-max-ttl");
		return CONFIG_ERROR;
	}
	return CONFIG_OK;
}

static void
config_free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
config_free(struct config *cfg)
{
	free(cfg->listen);
	config_free_list(cfg->allow, cfg->nallow);
	config_free_list(cfg->upstream.stubs, cfg->upstream.nstubs);
	config_free_list(cfg->upstream.forwards, cfg->upstream.nforwards);
	config_free_list(cfg->upstream.options, cfg->upstream.noptions);
	free((char *)(uintptr_t)cfg->upstream.root_hints);
	free((char *)(uintptr_t)cfg->upstream.trust_anchor);
	free(cfg->control_path);
	free(cfg->user);
	free(cfg->cache_file);
	free(cfg->l2.addr);
	free(cfg->l2.read_addr);
	free(cfg->l2.secret_file);
	memset(cfg, 0, sizeof(*cfg));
}
