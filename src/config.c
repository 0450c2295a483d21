/*
 * config: see include/config.h. One table lists every option once; the
 * command line parser, the config file reader and --help all use it.
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

struct config_opt {
	const char *name;
	int short_name;	     /* 0: long only */
	const char *metavar; /* NULL: a flag without argument */
	bool (*set)(struct config *cfg, const char *arg, char *err, size_t errlen);
	const char *help;
};

static bool set_listen(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_root_hints(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_stub(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_forward(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_trust_anchor(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_cache_size(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_min_ttl(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_max_ttl(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_max_neg_ttl(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_timeout(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_max_inflight(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_zone_max_inflight(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_jostle(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_chase_zone_max(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_chase_zone_rate(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_tcp_max(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_tcp_idle(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_tcp_per_client(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_tcp_write(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool config_tcp_ms(const char *name, const char *arg, unsigned *out, char *err,
			  size_t errlen);
static bool set_control(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_allow(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_metrics(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_unbound_option(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_mx_chase(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_mx_chase_max(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_mx_additional(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_chase_tlsa(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_prefetch(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_log_servfail(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool config_yes_no(const char *name, const char *arg, bool *out, char *err, size_t errlen);
static bool set_user(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_cache_file(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_serve_stale(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_stale_ttl(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_stale_max_age(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_stale_client_timeout(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_ratelimit(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool config_string(char **slot, const char *arg);
static bool set_foreground(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool set_verbose(struct config *cfg, const char *arg, char *err, size_t errlen);
static bool config_push(char ***v, size_t *n, const char *s);
static bool config_uint(const char *name, const char *arg, unsigned long max, unsigned long *out,
			char *err, size_t errlen);
static bool config_file(struct config *cfg, const char *path, char *err, size_t errlen);
static const struct config_opt *config_find(const char *name);
static void config_defaults(struct config *cfg);
static void config_free_list(char **v, size_t n);

static const struct config_opt config_opts[] = {
    {"listen", 'l', "ADDR[@PORT]", set_listen,
     "listen on UDP and TCP (repeatable; default 127.0.0.1@53 and ::1@53)"},
    {"root-hints", 0, "FILE", set_root_hints, "root hints zone file"},
    {"stub", 0, "ZONE=ADDR[@PORT]", set_stub, "send queries for ZONE to that server"},
    {"forward", 0, "ADDR[@PORT]", set_forward, "forward to this resolver (repeatable)"},
    {"trust-anchor", 0, "FILE|none", set_trust_anchor,
     "DNSSEC trust anchor (default: the system root key, for the real root)"},
    {"cache-size", 0, "SIZE", set_cache_size, "byte bound of the cache (default 64m)"},
    {"cache-min-ttl", 0, "SECONDS", set_min_ttl, "cache answers at least this long (0)"},
    {"cache-max-ttl", 0, "SECONDS", set_max_ttl, "cache answers at most this long (86400)"},
    {"cache-max-negative-ttl", 0, "SECONDS", set_max_neg_ttl,
     "cache NXDOMAIN/NODATA at most this long (3600)"},
    {"query-timeout", 0, "MS", set_timeout, "answer SERVFAIL after this long (5000)"},
    {"max-inflight", 0, "N", set_max_inflight, "distinct upstream lookups at once (2000)"},
    {"zone-max-inflight", 0, "N", set_zone_max_inflight,
     "client lookups in flight per zone (0: an eighth of --max-inflight)"},
    {"jostle-timeout", 0, "MS", set_jostle,
     "with the table full, lookups older than this give way (200)"},
    {"tcp-max-connections", 0, "N", set_tcp_max, "TCP connections per listener (512)"},
    {"tcp-max-per-client", 0, "N", set_tcp_per_client,
     "TCP connections per client address or IPv6 /64 (0: no cap)"},
    {"tcp-idle-timeout", 0, "MS", set_tcp_idle, "close idle TCP connections (10000)"},
    {"tcp-write-timeout", 0, "MS", set_tcp_write,
     "reset TCP clients that leave their answers untaken this long (10000)"},
    {"mx-chase", 0, "yes|no", set_mx_chase,
     "fetch the exchangers' A/AAAA as soon as an MX answer arrives (yes)"},
    {"mx-chase-max", 0, "N", set_mx_chase_max, "exchangers chased per MX answer (10)"},
    {"chase-zone-max", 0, "N", set_chase_zone_max,
     "background lookups in flight per zone (64)"},
    {"chase-zone-rate", 0, "N", set_chase_zone_rate,
     "background lookups started per second per zone (100)"},
    {"mx-additional", 0, "yes|no", set_mx_additional,
     "cached exchanger addresses in MX replies (yes)"},
    {"chase-tlsa", 0, "yes|no|auto", set_chase_tlsa,
     "also fetch _25._tcp TLSA of secure exchangers (auto: when validating)"},
    {"prefetch", 0, "yes|no", set_prefetch, "refresh MX and chased entries hit near expiry (yes)"},
    {"serve-stale", 0, "yes|no", set_serve_stale,
     "answer from expired entries when recursion fails (RFC 8767) (no)"},
    {"stale-ttl", 0, "SECONDS", set_stale_ttl, "TTL of stale answers (30)"},
    {"stale-max-age", 0, "SECONDS", set_stale_max_age,
     "serve entries at most this long past expiry (86400)"},
    {"stale-client-timeout", 0, "MS", set_stale_client_timeout,
     "with serve-stale, answer a waiting client stale after this long (1800; 0: off)"},
    {"ratelimit", 0, "QPS", set_ratelimit, "UDP queries per second per client, then drop (0: off)"},
    {"cache-file", 0, "PATH", set_cache_file, "save the cache here on shutdown, load it on start"},
    {"user", 'u', "NAME", set_user, "drop root for this user once the sockets are bound"},
    {"control", 's', "PATH", set_control,
     "JSON control/stats socket (default " CONFIG_DEFAULT_CONTROL ")"},
    {"allow", 0, "CIDR", set_allow, "also allow these clients (repeatable; loopback always)"},
    {"metrics", 0, "ADDR@PORT", set_metrics,
     "serve Prometheus metrics (GET /metrics) here, to allowed clients (off)"},
    {"unbound-option", 0, "NAME:VALUE", set_unbound_option,
     "passed to ub_ctx_set_option (repeatable)"},
    {"log-servfail", 0, "yes|no", set_log_servfail,
     "log each SERVFAIL with its reason, at most 10 lines a second (yes)"},
    {"foreground", 'f', NULL, set_foreground, "stay in the foreground, log to stderr"},
    {"verbose", 'v', NULL, set_verbose, "log more (repeatable)"},
};

#define CONFIG_NOPTS (sizeof(config_opts) / sizeof(config_opts[0]))

static bool
config_push(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);
	char **nv = copy ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;

	if (!nv) {
		free(copy);
		return false;
	}
	nv[(*n)++] = copy;
	*v = nv;
	return true;
}

static bool
config_uint(const char *name, const char *arg, unsigned long max, unsigned long *out, char *err,
	    size_t errlen)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end != '\0' || errno || *out > max) {
		snprintf(err, errlen, "--%s: '%s' is not a number from 0 to %lu", name, arg, max);
		return false;
	}
	return true;
}

bool
config_parse_size(const char *text, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (*text < '0' || *text > '9' || errno)
		return false;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return false;
	}
	if (*end && end[1] != '\0')
		return false;
	if (v == 0 || v > (SIZE_MAX >> shift))
		return false;
	*out = (size_t)(v << shift);
	return true;
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

static bool
set_root_hints(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	free((char *)(uintptr_t)cfg->upstream.root_hints);
	return (cfg->upstream.root_hints = strdup(arg)) != NULL;
}

static bool
set_trust_anchor(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	free((char *)(uintptr_t)cfg->upstream.trust_anchor);
	return (cfg->upstream.trust_anchor = strdup(arg)) != NULL;
}

static bool
set_stub(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	struct sock_addr a;

	if (!eq || eq == arg || !sock_parse_addr(eq + 1, CONFIG_DEFAULT_PORT, &a)) {
		snprintf(err, errlen, "--stub: '%s' is not ZONE=ADDR[@PORT]", arg);
		return false;
	}
	return config_push(&cfg->upstream.stubs, &cfg->upstream.nstubs, arg);
}

static bool
set_forward(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	struct sock_addr a;

	if (!sock_parse_addr(arg, CONFIG_DEFAULT_PORT, &a)) {
		snprintf(err, errlen, "--forward: '%s' is not ADDR[@PORT]", arg);
		return false;
	}
	return config_push(&cfg->upstream.forwards, &cfg->upstream.nforwards, arg);
}

static bool
set_unbound_option(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');

	if (!colon || colon == arg) {
		snprintf(err, errlen, "--unbound-option: '%s' is not NAME:VALUE", arg);
		return false;
	}
	return config_push(&cfg->upstream.options, &cfg->upstream.noptions, arg);
}

static bool
set_cache_size(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	if (!config_parse_size(arg, &cfg->cache_size)) {
		snprintf(err, errlen, "--cache-size: '%s' is not a size like 64m", arg);
		return false;
	}
	return true;
}

static bool
set_min_ttl(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("cache-min-ttl", arg, 86400, &v, err, errlen))
		return false;
	cfg->query.min_ttl = (uint32_t)v;
	return true;
}

static bool
set_max_ttl(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("cache-max-ttl", arg, 0x7fffffff, &v, err, errlen))
		return false;
	cfg->query.max_ttl = (uint32_t)v;
	return true;
}

static bool
set_max_neg_ttl(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("cache-max-negative-ttl", arg, 0x7fffffff, &v, err, errlen))
		return false;
	cfg->query.max_negative_ttl = (uint32_t)v;
	return true;
}

static bool
set_timeout(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("query-timeout", arg, 600000, &v, err, errlen))
		return false;
	if (v < 100) {
		snprintf(err, errlen, "--query-timeout: at least 100 ms");
		return false;
	}
	cfg->query.timeout_ms = (unsigned)v;
	return true;
}

static bool
set_max_inflight(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("max-inflight", arg, 1000000, &v, err, errlen))
		return false;
	cfg->query.max_inflight = v ? v : 1;
	return true;
}

static bool
set_zone_max_inflight(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("zone-max-inflight", arg, 1000000, &v, err, errlen))
		return false;
	cfg->budget.zone_inflight = v;
	return true;
}

static bool
set_jostle(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("jostle-timeout", arg, 600000, &v, err, errlen))
		return false;
	cfg->query.jostle_ms = (unsigned)v;
	return true;
}

static bool
set_chase_zone_max(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("chase-zone-max", arg, 100000, &v, err, errlen))
		return false;
	cfg->budget.zone_background = v;
	return true;
}

static bool
set_chase_zone_rate(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("chase-zone-rate", arg, 1000000, &v, err, errlen))
		return false;
	cfg->budget.zone_bg_per_sec = (unsigned)v;
	return true;
}

static bool
set_tcp_max(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("tcp-max-connections", arg, 100000, &v, err, errlen))
		return false;
	cfg->tcp.max_conns = (unsigned)v;
	return true;
}

static bool
set_tcp_per_client(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("tcp-max-per-client", arg, 100000, &v, err, errlen))
		return false;
	cfg->tcp.max_per_client = (unsigned)v;
	return true;
}

/* TCP timeouts: up to an hour; zero means the smallest, 1 ms. */
static bool
config_tcp_ms(const char *name, const char *arg, unsigned *out, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint(name, arg, 3600000, &v, err, errlen))
		return false;
	*out = v ? (unsigned)v : 1;
	return true;
}

static bool
set_tcp_idle(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	return config_tcp_ms("tcp-idle-timeout", arg, &cfg->tcp.idle_ms, err, errlen);
}

static bool
set_tcp_write(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	return config_tcp_ms("tcp-write-timeout", arg, &cfg->tcp.write_ms, err, errlen);
}

static bool
config_yes_no(const char *name, const char *arg, bool *out, char *err, size_t errlen)
{
	if (strcmp(arg, "yes") == 0 || strcmp(arg, "no") == 0) {
		*out = arg[0] == 'y';
		return true;
	}
	snprintf(err, errlen, "--%s: '%s' is not yes or no", name, arg);
	return false;
}

static bool
set_mx_chase(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	return config_yes_no("mx-chase", arg, &cfg->chaser.enabled, err, errlen);
}

static bool
set_mx_chase_max(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("mx-chase-max", arg, CHASER_MAX_EXCHANGERS, &v, err, errlen))
		return false;
	cfg->chaser.max_exchangers = (unsigned)v;
	return true;
}

static bool
set_mx_additional(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	return config_yes_no("mx-additional", arg, &cfg->chaser.additional, err, errlen);
}

static bool
set_chase_tlsa(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	bool on;

	if (strcmp(arg, "auto") == 0) {
		cfg->chase_tlsa = -1;
		return true;
	}
	if (!config_yes_no("chase-tlsa", arg, &on, err, errlen))
		return false;
	cfg->chase_tlsa = on;
	return true;
}

static bool
set_log_servfail(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	return config_yes_no("log-servfail", arg, &cfg->log_servfail, err, errlen);
}

static bool
set_prefetch(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	return config_yes_no("prefetch", arg, &cfg->query.refresh, err, errlen);
}

static bool
config_string(char **slot, const char *arg)
{
	free(*slot);
	return (*slot = strdup(arg)) != NULL;
}

static bool
set_control(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return config_string(&cfg->control_path, arg);
}

static bool
set_user(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return config_string(&cfg->user, arg);
}

static bool
set_cache_file(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return config_string(&cfg->cache_file, arg);
}

static bool
set_serve_stale(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	return config_yes_no("serve-stale", arg, &cfg->query.serve_stale, err, errlen);
}

static bool
set_stale_ttl(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("stale-ttl", arg, 3600, &v, err, errlen))
		return false;
	cfg->query.stale_ttl = (uint32_t)v;
	return true;
}

static bool
set_stale_max_age(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("stale-max-age", arg, 7 * 86400, &v, err, errlen))
		return false;
	cfg->stale_max_age = (uint32_t)v;
	return true;
}

static bool
set_stale_client_timeout(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("stale-client-timeout", arg, 600000, &v, err, errlen))
		return false;
	cfg->query.stale_client_ms = (unsigned)v;
	return true;
}

static bool
set_ratelimit(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (!config_uint("ratelimit", arg, 10000000, &v, err, errlen))
		return false;
	cfg->ratelimit = (unsigned)v;
	return true;
}

static bool
set_allow(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return config_push(&cfg->allow, &cfg->nallow, arg);
}

static bool
set_metrics(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	if (!strchr(arg, '@') || !sock_parse_addr(arg, 0, &cfg->metrics)) {
		snprintf(err, errlen, "--metrics: '%s' is not ADDR@PORT", arg);
		return false;
	}
	cfg->metrics_on = true;
	return true;
}

static bool
set_foreground(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	cfg->foreground = true;
	return true;
}

static bool
set_verbose(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	cfg->verbose++;
	return true;
}

static const struct config_opt *
config_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_NOPTS; i++)
		if (strcmp(config_opts[i].name, name) == 0)
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
		if (!o->set(cfg, value, err, errlen)) {
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

static void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cache_size = 64u << 20;
	cfg->query = (struct query_options){.min_ttl = 0,
					    .max_ttl = 86400,
					    .max_negative_ttl = 3600,
					    .timeout_ms = 5000,
					    .max_inflight = 2000,
					    .max_waiters = 256,
					    .max_background = 1000,
					    .jostle_ms = 200,
					    .refresh = true,
					    .serve_stale = false,
					    .stale_ttl = 30,
					    .stale_client_ms = 1800};
	cfg->stale_max_age = 86400;
	cfg->chaser = (struct chaser_options){
	    .enabled = true, .max_exchangers = 10, .tlsa = false, .additional = true};
	cfg->chase_tlsa = -1;
	cfg->log_servfail = true;
	cfg->budget = (struct budget_options){.zone_background = 64, .zone_bg_per_sec = 100};
	cfg->tcp = (struct listen_tcp_options){
	    .max_conns = 512, .idle_ms = 10000, .write_ms = 10000, .max_pending = 64};
}

void
config_usage(FILE *out)
{
	fprintf(out, "usage: mxcached [options]\n"
		     "A caching recursive DNS resolver for mail servers.\n\n"
		     "  -c, --config FILE                   read options from FILE\n");
	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];
		char left[40];
		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
			 o->metavar ? o->metavar : "");
		if (o->short_name)
			fprintf(out, "  -%c, %-34s%s\n", o->short_name, left, o->help);
		else
			fprintf(out, "      %-34s%s\n", left, o->help);
	}
	fprintf(out, "  -V, --version                       print the version\n"
		     "  -h, --help                          print this help\n");
}

enum config_result
config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	struct option longopts[CONFIG_NOPTS + 4];
	/* "+": stop at the first argument; ":": report a missing value as ':'. */
	char shortopts[3 * CONFIG_NOPTS + 8] = "+:c:Vh";
	size_t s = strlen(shortopts);
	int c;

	config_defaults(cfg);
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
	longopts[CONFIG_NOPTS] = (struct option){"config", required_argument, NULL, 'c'};
	longopts[CONFIG_NOPTS + 1] = (struct option){"version", no_argument, NULL, 'V'};
	longopts[CONFIG_NOPTS + 2] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[CONFIG_NOPTS + 3] = (struct option){NULL, 0, NULL, 0};

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
		if (!o || !o->set(cfg, optarg, err, errlen))
			return CONFIG_ERROR;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		return CONFIG_ERROR;
	}
	if (cfg->nlisten == 0 && (!set_listen(cfg, "127.0.0.1@53", err, errlen) ||
				  !set_listen(cfg, "::1@53", err, errlen)))
		return CONFIG_ERROR;
	if (!cfg->control_path) {
		if (!(cfg->control_path = strdup(CONFIG_DEFAULT_CONTROL)))
			return CONFIG_ERROR;
		cfg->control_default = true;
	}
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
	memset(cfg, 0, sizeof(*cfg));
}
