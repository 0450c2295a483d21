/*
 * Unit tests for config (include/config.h): the command line, the -c file
 * and sizes. t_load runs config_load on a NULL-terminated argument list;
 * the struct config and any temporary file live in *state, released by
 * t_teardown even when a test fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <getopt.h>
#include <unistd.h>

#include "config.h"

#define T_MAX_ARGS 64

struct t_cfg {
	struct config cfg;
	char err[512];
	char path[64];	/* a config file, removed by the teardown */
	char out[8192]; /* what --help/--version printed */
};

/* Each test starts from a clean getopt (glibc rescans everything when
 * optind is 0), so a test cannot inherit a half-parsed argument list even
 * if config_load stopped resetting it; repeated_loads_independent checks
 * config_load's own reset. */
static int
t_setup(void **state)
{
	struct t_cfg *t = calloc(1, sizeof(*t));
	char *argv[] = {(char *)(uintptr_t) "reset", NULL};

	optind = 0;
	opterr = 0;
	(void)getopt(1, argv, "");
	*state = t;
	return t ? 0 : -1;
}

static int
t_teardown(void **state)
{
	struct t_cfg *t = *state;

	if (t) {
		config_free(&t->cfg);
		if (t->path[0])
			unlink(t->path);
		free(t);
	}
	*state = NULL;
	return 0;
}

/* config_load("mxcached", args..., NULL), the previous result freed first. */
static enum config_result
t_loadv(struct t_cfg *t, const char *arg, va_list ap)
{
	char *argv[T_MAX_ARGS + 2];
	int argc = 0;

	argv[argc++] = (char *)(uintptr_t) "mxcached";
	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		assert_true(argc <= T_MAX_ARGS);
		argv[argc++] = (char *)(uintptr_t)a;
	}
	argv[argc] = NULL;
	config_free(&t->cfg);
	t->err[0] = '\0';
	return config_load(&t->cfg, argc, argv, t->err, sizeof(t->err));
}

static enum config_result
t_load(struct t_cfg *t, const char *arg, ...)
{
	enum config_result r;
	va_list ap;

	va_start(ap, arg);
	r = t_loadv(t, arg, ap);
	va_end(ap);
	return r;
}

/* Asserts the arguments load. */
static void
t_ok(struct t_cfg *t, const char *arg, ...)
{
	enum config_result r;
	va_list ap;

	va_start(ap, arg);
	r = t_loadv(t, arg, ap);
	va_end(ap);
	if (r != CONFIG_OK)
		fail_msg("config_load: %d, '%s'", r, t->err);
}

/* Asserts the arguments are an error whose message contains want. */
static void
t_bad(struct t_cfg *t, const char *want, const char *arg, ...)
{
	enum config_result r;
	va_list ap;

	va_start(ap, arg);
	r = t_loadv(t, arg, ap);
	va_end(ap);
	if (r != CONFIG_ERROR)
		fail_msg("expected CONFIG_ERROR for %s, got %d", arg, r);
	if (!strstr(t->err, want))
		fail_msg("error '%s' does not contain '%s'", t->err, want);
}

/* Asserts a listen address is text@port. */
static void
t_listen(const struct sock_addr *a, const char *text, unsigned port)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		assert_int_equal(a->len, sizeof(*sin));
		assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		assert_int_equal(sa->sa_family, AF_INET6);
		assert_int_equal(a->len, sizeof(*sin6));
		assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)));
		assert_int_equal(ntohs(sin6->sin6_port), port);
	}
	assert_string_equal(host, text);
}

/* Writes text to a new temporary file; returns its path. */
static const char *
t_file(struct t_cfg *t, const char *text)
{
	int fd;

	if (t->path[0])
		unlink(t->path);
	strcpy(t->path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return t->path;
}

/* Runs config_load with stdout captured into t->out. */
static enum config_result
t_load_captured(struct t_cfg *t, const char *arg)
{
	FILE *tmp = tmpfile();
	int saved;
	enum config_result r;
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	dup2(fileno(tmp), STDOUT_FILENO);
	r = t_load(t, arg, NULL);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(t->out, 1, sizeof(t->out) - 1, tmp);
	t->out[n] = '\0';
	fclose(tmp);
	return r;
}

/* ---- defaults ------------------------------------------------------ */

static void
defaults(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, NULL);
	assert_int_equal(c->nlisten, 2);
	t_listen(&c->listen[0], "127.0.0.1", 53);
	t_listen(&c->listen[1], "::1", 53);
	assert_int_equal(c->cache_size, 64u << 20);
	assert_string_equal(c->control_path, CONFIG_DEFAULT_CONTROL);
	assert_true(c->chaser.enabled);
	assert_true(c->chaser.additional);
	assert_int_equal(c->chaser.max_exchangers, 10);
	assert_int_equal(c->chase_tlsa, -1);
	assert_int_equal(c->nallow, 0);
	assert_null(c->upstream.root_hints);
	assert_null(c->upstream.trust_anchor);
	assert_int_equal(c->upstream.nstubs, 0);
	assert_int_equal(c->upstream.nforwards, 0);
	assert_int_equal(c->upstream.noptions, 0);
	assert_int_equal(c->query.min_ttl, 0);
	assert_int_equal(c->query.max_ttl, 86400);
	assert_int_equal(c->query.max_negative_ttl, 3600);
	assert_int_equal(c->query.timeout_ms, 5000);
	assert_int_equal(c->query.max_inflight, 2000);
	assert_int_equal(c->query.jostle_ms, 200);
	assert_int_equal(c->budget.zone_inflight, 250);
	assert_int_equal(c->budget.zone_background, 64);
	assert_int_equal(c->budget.zone_bg_per_sec, 100);
	assert_true(c->log_servfail);
	assert_true(c->query.refresh);
	assert_false(c->query.serve_stale);
	assert_int_equal(c->query.stale_client_ms, 1800);
	assert_int_equal(c->tcp.max_conns, 512);
	assert_int_equal(c->tcp.idle_ms, 10000);
	assert_int_equal(c->tcp.write_ms, 10000);
	assert_int_equal(c->tcp.max_per_client, 0);
	assert_false(c->foreground);
	assert_int_equal(c->verbose, 0);
	assert_false(c->metrics_on);
}

/* ---- every flag ---------------------------------------------------- */

static void
metrics_flag(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--metrics", "127.0.0.1@9153", NULL);
	assert_true(c->metrics_on);
	t_listen(&c->metrics, "127.0.0.1", 9153);
	t_ok(t, "--metrics=::1@8080", NULL);
	t_listen(&c->metrics, "::1", 8080);
	/* The port is not implied: there is no standard one. */
	t_bad(t, "--metrics: '127.0.0.1' is not ADDR@PORT", "--metrics", "127.0.0.1", NULL);
	t_bad(t, "--metrics", "--metrics", "::1", NULL);
	t_bad(t, "--metrics", "--metrics", "127.0.0.1@0", NULL);
	t_bad(t, "--metrics", "--metrics", "localhost@9153", NULL);
	t_ok(t, "-c", t_file(t, "metrics 127.0.0.1@9100\n"), NULL);
	t_listen(&c->metrics, "127.0.0.1", 9100);
}

static void
listen_flags(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	/* Any listen replaces both defaults. */
	t_ok(t, "-l", "192.0.2.1@5353", NULL);
	assert_int_equal(c->nlisten, 1);
	t_listen(&c->listen[0], "192.0.2.1", 5353);

	t_ok(t, "--listen", "0.0.0.0", "--listen=::1@5300", "-l", "::", "-l2001:db8::53@53", NULL);
	assert_int_equal(c->nlisten, 4);
	t_listen(&c->listen[0], "0.0.0.0", 53);
	t_listen(&c->listen[1], "::1", 5300);
	t_listen(&c->listen[2], "::", 53);
	t_listen(&c->listen[3], "2001:db8::53", 53);
}

static void
upstream_flags(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--stub", "example.com=127.0.0.1@5300", "--stub", ".=::1", "--forward", "9.9.9.9",
	     "--forward", "2620:fe::fe@53", "--unbound-option", "verbosity:2", "--unbound-option",
	     "edns-buffer-size:1232", "--root-hints", "/etc/hints", "--trust-anchor", "none", NULL);
	assert_int_equal(c->upstream.nstubs, 2);
	assert_string_equal(c->upstream.stubs[0], "example.com=127.0.0.1@5300");
	assert_string_equal(c->upstream.stubs[1], ".=::1");
	assert_int_equal(c->upstream.nforwards, 2);
	assert_string_equal(c->upstream.forwards[0], "9.9.9.9");
	assert_string_equal(c->upstream.forwards[1], "2620:fe::fe@53");
	assert_int_equal(c->upstream.noptions, 2);
	assert_string_equal(c->upstream.options[0], "verbosity:2");
	assert_string_equal(c->upstream.options[1], "edns-buffer-size:1232");
	assert_string_equal(c->upstream.root_hints, "/etc/hints");
	assert_string_equal(c->upstream.trust_anchor, "none");
	/* The last of a single-valued option wins. */
	t_ok(t, "--trust-anchor", "/a", "--trust-anchor", "/b", "--root-hints", "/x",
	     "--root-hints", "/y", "-s", "/run/one.sock", "--control", "/run/two.sock", NULL);
	assert_string_equal(c->upstream.trust_anchor, "/b");
	assert_string_equal(c->upstream.root_hints, "/y");
	assert_string_equal(c->control_path, "/run/two.sock");
}

static void
allow_repeated(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--allow", "10.0.0.0/8", "--allow", "2001:db8::/32", "--allow", "192.0.2.1", NULL);
	assert_int_equal(c->nallow, 3);
	assert_string_equal(c->allow[0], "10.0.0.0/8");
	assert_string_equal(c->allow[1], "2001:db8::/32");
	assert_string_equal(c->allow[2], "192.0.2.1");
}

static void
cache_sizes(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--cache-size", "64k", NULL);
	assert_int_equal(c->cache_size, 64u << 10);
	t_ok(t, "--cache-size", "1m", NULL);
	assert_int_equal(c->cache_size, 1u << 20);
	t_ok(t, "--cache-size", "2g", NULL);
	assert_int_equal(c->cache_size, (size_t)2 << 30);
	t_ok(t, "--cache-size", "1000000", NULL);
	assert_int_equal(c->cache_size, 1000000);
	t_ok(t, "--cache-size=3M", NULL);
	assert_int_equal(c->cache_size, 3u << 20);
}

static void
ttl_clamps(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--cache-min-ttl", "60", "--cache-max-ttl", "3600", "--cache-max-negative-ttl",
	     "300", NULL);
	assert_int_equal(c->query.min_ttl, 60);
	assert_int_equal(c->query.max_ttl, 3600);
	assert_int_equal(c->query.max_negative_ttl, 300);
	t_ok(t, "--cache-min-ttl", "86400", "--cache-max-ttl", "2147483647",
	     "--cache-max-negative-ttl", "0", NULL);
	assert_int_equal(c->query.min_ttl, 86400);
	assert_int_equal(c->query.max_ttl, 2147483647u);
	assert_int_equal(c->query.max_negative_ttl, 0);
	/* Equal is fine, min above max is not. */
	t_ok(t, "--cache-min-ttl", "300", "--cache-max-ttl", "300", NULL);
	t_bad(t, "--cache-min-ttl is above --cache-max-ttl", "--cache-min-ttl", "301",
	      "--cache-max-ttl", "300", NULL);
	t_bad(t, "--cache-min-ttl", "--cache-min-ttl", "86401", NULL);
	t_bad(t, "--cache-max-ttl", "--cache-max-ttl", "2147483648", NULL);
	t_bad(t, "--cache-max-negative-ttl", "--cache-max-negative-ttl", "-1", NULL);
}

static void
query_timeout(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--query-timeout", "100", NULL);
	assert_int_equal(c->query.timeout_ms, 100);
	t_ok(t, "--query-timeout", "600000", NULL);
	assert_int_equal(c->query.timeout_ms, 600000);
	t_bad(t, "--query-timeout", "--query-timeout", "99", NULL);
	t_bad(t, "--query-timeout", "--query-timeout", "0", NULL);
	t_bad(t, "--query-timeout", "--query-timeout", "600001", NULL);
}

static void
stale_client_timeout(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--stale-client-timeout", "0", NULL);
	assert_int_equal(c->query.stale_client_ms, 0);
	t_ok(t, "--stale-client-timeout", "600000", NULL);
	assert_int_equal(c->query.stale_client_ms, 600000);
	t_bad(t, "--stale-client-timeout", "--stale-client-timeout", "600001", NULL);
	t_bad(t, "--stale-client-timeout", "--stale-client-timeout", "1.8s", NULL);
	t_bad(t, "--stale-client-timeout", "--stale-client-timeout", "-1", NULL);
}

static void
numeric_limits(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--max-inflight", "50", "--tcp-max-connections", "7", "--tcp-idle-timeout", "2500",
	     "--tcp-write-timeout", "700", "--tcp-max-per-client", "3", "--mx-chase-max", "64",
	     NULL);
	assert_int_equal(c->query.max_inflight, 50);
	assert_int_equal(c->tcp.max_conns, 7);
	assert_int_equal(c->tcp.idle_ms, 2500);
	assert_int_equal(c->tcp.write_ms, 700);
	assert_int_equal(c->tcp.max_per_client, 3);
	assert_int_equal(c->chaser.max_exchangers, 64);
	/* Zero means the smallest useful value for these. */
	t_ok(t, "--max-inflight", "0", "--tcp-idle-timeout", "0", "--tcp-write-timeout", "0",
	     "--mx-chase-max", "0", NULL);
	assert_int_equal(c->query.max_inflight, 1);
	assert_int_equal(c->tcp.idle_ms, 1);
	assert_int_equal(c->tcp.write_ms, 1);
	assert_int_equal(c->chaser.max_exchangers, 0);
	t_bad(t, "--mx-chase-max", "--mx-chase-max", "65", NULL);
	t_bad(t, "--max-inflight", "--max-inflight", "1000001", NULL);
	t_bad(t, "--tcp-max-connections", "--tcp-max-connections", "100001", NULL);
	t_bad(t, "--tcp-idle-timeout", "--tcp-idle-timeout", "3600001", NULL);
	t_bad(t, "--tcp-write-timeout", "--tcp-write-timeout", "3600001", NULL);
	t_bad(t, "--tcp-max-per-client", "--tcp-max-per-client", "100001", NULL);
}

static void
budget_flags(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	/* The zone share follows --max-inflight unless given. */
	t_ok(t, "--max-inflight", "800", NULL);
	assert_int_equal(c->budget.zone_inflight, 100);
	t_ok(t, "--max-inflight", "4", NULL);
	assert_int_equal(c->budget.zone_inflight, 1);
	t_ok(t, "--zone-max-inflight", "30", "--jostle-timeout", "50", "--chase-zone-max", "5",
	     "--chase-zone-rate", "7", NULL);
	assert_int_equal(c->budget.zone_inflight, 30);
	assert_int_equal(c->query.jostle_ms, 50);
	assert_int_equal(c->budget.zone_background, 5);
	assert_int_equal(c->budget.zone_bg_per_sec, 7);
	t_bad(t, "--jostle-timeout", "--jostle-timeout", "x", NULL);
	t_bad(t, "--chase-zone-rate", "--chase-zone-rate", "-1", NULL);
	/* Options after another one keep their values. */
	t_ok(t, "--chase-zone-max", "5", "--log-servfail", "no", "--chase-tlsa", "auto", NULL);
	assert_int_equal(c->budget.zone_background, 5);
	assert_false(c->log_servfail);
	t_bad(t, "--log-servfail", "--log-servfail", "maybe", NULL);
}

static void
yes_no_flags(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;

	t_ok(t, "--mx-chase", "no", "--mx-additional", "no", "--prefetch", "no", NULL);
	assert_false(c->chaser.enabled);
	assert_false(c->chaser.additional);
	assert_false(c->query.refresh);
	t_ok(t, "--mx-chase", "no", "--mx-chase", "yes", "--mx-additional", "yes", "--prefetch",
	     "yes", NULL);
	assert_true(c->chaser.enabled);
	assert_true(c->chaser.additional);
	assert_true(c->query.refresh);
	t_bad(t, "--mx-chase", "--mx-chase", "maybe", NULL);
	t_bad(t, "--mx-chase", "--mx-chase", "YES", NULL);
	t_bad(t, "--mx-additional", "--mx-additional", "1", NULL);
	t_bad(t, "--prefetch", "--prefetch", "", NULL);
}

static void
chase_tlsa(void **state)
{
	struct t_cfg *t = *state;

	t_ok(t, "--chase-tlsa", "yes", NULL);
	assert_int_equal(t->cfg.chase_tlsa, 1);
	t_ok(t, "--chase-tlsa", "no", NULL);
	assert_int_equal(t->cfg.chase_tlsa, 0);
	t_ok(t, "--chase-tlsa", "yes", "--chase-tlsa", "auto", NULL);
	assert_int_equal(t->cfg.chase_tlsa, -1);
	t_bad(t, "--chase-tlsa", "--chase-tlsa", "on", NULL);
}

static void
short_flags(void **state)
{
	struct t_cfg *t = *state;

	t_ok(t, "-f", "-v", "-v", "-v", NULL);
	assert_true(t->cfg.foreground);
	assert_int_equal(t->cfg.verbose, 3);
	t_ok(t, "-fvv", "-s/run/x.sock", NULL);
	assert_true(t->cfg.foreground);
	assert_int_equal(t->cfg.verbose, 2);
	assert_string_equal(t->cfg.control_path, "/run/x.sock");
	t_ok(t, "--foreground", "--verbose", NULL);
	assert_true(t->cfg.foreground);
	assert_int_equal(t->cfg.verbose, 1);
}

/* ---- errors -------------------------------------------------------- */

static void
bad_values_name_the_flag(void **state)
{
	struct t_cfg *t = *state;
	const char *cases[][2] = {
	    {"--listen", "nope"},
	    {"--listen", "1.2.3.4@0"},
	    {"--listen", "1.2.3.4@65536"},
	    {"--stub", "example.com"},
	    {"--stub", "=1.2.3.4"},
	    {"--stub", "example.com=nope"},
	    {"--forward", "resolver.example"},
	    {"--forward", "1.2.3.4@x"},
	    {"--unbound-option", "novalue"},
	    {"--unbound-option", ":value"},
	    {"--cache-size", "10x"},
	    {"--cache-size", "0"},
	    {"--cache-size", "-1m"},
	    {"--cache-min-ttl", "x"},
	    {"--cache-max-ttl", ""},
	    {"--query-timeout", "5s"},
	    {"--max-inflight", "-5"},
	    {"--tcp-max-connections", "1e3"},
	    {"--tcp-idle-timeout", "99999999999999999999999"},
	    {"--mx-chase-max", "ten"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_bad(t, cases[i][0], cases[i][0], cases[i][1], NULL);
		/* The message quotes the value too. */
		if (cases[i][1][0] && !strstr(t->err, cases[i][1]))
			fail_msg("error '%s' does not quote '%s'", t->err, cases[i][1]);
	}
	t_bad(t, "-l", "-l", "nope", NULL);
}

static void
unknown_option(void **state)
{
	struct t_cfg *t = *state;

	t_bad(t, "--bogus", "--bogus", NULL);
	t_bad(t, "unknown option", "--bogus", NULL);
	t_bad(t, "-x", "-x", NULL);
	/* A flag that takes no value given one. */
	t_bad(t, "--foreground", "--foreground=yes", NULL);
}

/* An unknown letter inside a cluster of short flags is still named. */
static void
unknown_option_in_cluster(void **state)
{
	struct t_cfg *t = *state;

	t_bad(t, "-x", "-xf", NULL);
}

/* A flag whose value is missing says so, rather than "unknown option". */
static void
missing_value(void **state)
{
	struct t_cfg *t = *state;

	t_bad(t, "--listen", "--listen", NULL);
	t_bad(t, "missing value", "--listen", NULL);
	t_bad(t, "missing value", "-l", NULL);
	t_bad(t, "missing value", "--cache-size", NULL);
	t_bad(t, "missing value", "-c", NULL);
}

static void
positional_rejected(void **state)
{
	struct t_cfg *t = *state;

	t_bad(t, "unexpected argument 'extra'", "extra", NULL);
	t_bad(t, "unexpected argument 'extra'", "-f", "extra", NULL);
	t_bad(t, "unexpected argument 'x'", "--", "x", NULL);
	/* Options after a positional one are not read as options. */
	t_bad(t, "unexpected argument 'extra'", "extra", "-f", NULL);
	t_ok(t, "-f", "--", NULL);
}

static void
help_and_version(void **state)
{
	struct t_cfg *t = *state;
	const char *longs[] = {
	    "--listen",	    "--stub",		"--forward", "--cache-size", "--query-timeout",
	    "--chase-tlsa", "--unbound-option", "--allow",   "--control",    "--config",
	    "--version",    "--help",		"--metrics"};

	assert_int_equal(t_load_captured(t, "--help"), CONFIG_EXIT);
	assert_non_null(strstr(t->out, "usage: mxcached"));
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
		if (!strstr(t->out, longs[i]))
			fail_msg("--help does not mention %s", longs[i]);
	assert_int_equal(t_load_captured(t, "-h"), CONFIG_EXIT);
	assert_non_null(strstr(t->out, "usage: mxcached"));
	assert_int_equal(t_load_captured(t, "--version"), CONFIG_EXIT);
	assert_non_null(strstr(t->out, "mxcached "));
	assert_int_equal(t_load_captured(t, "-V"), CONFIG_EXIT);
	assert_non_null(strstr(t->out, "mxcached "));
}

/* config_load may run many times in one process; nothing of an earlier
 * argument list may leak into a later one, even one left half-parsed. */
static void
repeated_loads_independent(void **state)
{
	struct t_cfg *t = *state;

	t_ok(t, "-f", "-v", "--cache-size", "1m", NULL);
	t_ok(t, NULL);
	assert_false(t->cfg.foreground);
	assert_int_equal(t->cfg.verbose, 0);
	assert_int_equal(t->cfg.cache_size, 64u << 20);

	/* Stopped inside a cluster of short flags: by --version... */
	assert_int_equal(t_load_captured(t, "-Vf"), CONFIG_EXIT);
	t_ok(t, NULL);
	assert_false(t->cfg.foreground);
	/* ...and by an error. */
	t_bad(t, "unknown option", "-xv", NULL);
	t_ok(t, NULL);
	assert_int_equal(t->cfg.verbose, 0);
}

/* ---- config_parse_size --------------------------------------------- */

static void
parse_size(void **state)
{
	size_t v = 12345;
	char text[64];
	const char *bad[] = {"0",
			     "",
			     "10x",
			     "1mm",
			     "1 m",
			     "k",
			     "m1",
			     "-1",
			     "-1m",
			     "0k",
			     "1.5m",
			     "0x10",
			     "18446744073709551616",
			     "99999999999999999999999999",
			     "17179869184g",
			     "17592186044416m",
			     "18014398509481984k",
			     "1t"};

	(void)state;
	assert_true(config_parse_size("1", &v));
	assert_int_equal(v, 1);
	assert_true(config_parse_size("512k", &v));
	assert_int_equal(v, 512u << 10);
	assert_true(config_parse_size("512K", &v));
	assert_int_equal(v, 512u << 10);
	assert_true(config_parse_size("64m", &v));
	assert_int_equal(v, 64u << 20);
	assert_true(config_parse_size("1G", &v));
	assert_int_equal(v, 1u << 30);
	/* The largest values that fit. */
	snprintf(text, sizeof(text), "%zu", SIZE_MAX);
	assert_true(config_parse_size(text, &v));
	assert_int_equal(v, SIZE_MAX);
	snprintf(text, sizeof(text), "%zug", SIZE_MAX >> 30);
	assert_true(config_parse_size(text, &v));
	assert_int_equal(v, (SIZE_MAX >> 30) << 30);
	snprintf(text, sizeof(text), "%zuk", SIZE_MAX >> 10);
	assert_true(config_parse_size(text, &v));
	/* One more overflows. */
	snprintf(text, sizeof(text), "%zug", (SIZE_MAX >> 30) + 1);
	assert_false(config_parse_size(text, &v));
	snprintf(text, sizeof(text), "%zuk", (SIZE_MAX >> 10) + 1);
	assert_false(config_parse_size(text, &v));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 777;
		if (config_parse_size(bad[i], &v))
			fail_msg("config_parse_size(\"%s\") accepted", bad[i]);
		assert_int_equal(v, 777); /* untouched */
	}
}

/* ---- the config file ----------------------------------------------- */

static void
file_good(void **state)
{
	struct t_cfg *t = *state;
	struct config *c = &t->cfg;
	const char *path = t_file(t, "# mxcached.conf\n"
				     "\n"
				     "listen 127.0.0.1@5353   # trailing comment\n"
				     "\t  listen\t::1@5354\n"
				     "cache-size 1m\r\n"
				     "foreground\n"
				     "verbose\n"
				     "verbose # twice\n"
				     "   \n"
				     "#allow 1.2.3.4\n"
				     "allow 10.0.0.0/8\n"
				     "chase-tlsa no\n"
				     "unbound-option verbosity:1");

	t_ok(t, "-c", path, NULL);
	assert_int_equal(c->nlisten, 2);
	t_listen(&c->listen[0], "127.0.0.1", 5353);
	t_listen(&c->listen[1], "::1", 5354);
	assert_int_equal(c->cache_size, 1u << 20);
	assert_true(c->foreground);
	assert_int_equal(c->verbose, 2);
	assert_int_equal(c->nallow, 1);
	assert_string_equal(c->allow[0], "10.0.0.0/8");
	assert_int_equal(c->chase_tlsa, 0);
	assert_int_equal(c->upstream.noptions, 1);
	assert_string_equal(c->upstream.options[0], "verbosity:1");

	/* Read where -c stands: later flags override it, earlier ones are kept. */
	t_ok(t, "--cache-size", "4m", "--allow", "::1", "--config", path, "--cache-size", "2m",
	     "-l", "192.0.2.1", NULL);
	assert_int_equal(c->cache_size, 2u << 20);
	assert_int_equal(c->nallow, 2);
	assert_string_equal(c->allow[0], "::1");
	assert_int_equal(c->nlisten, 3);
	t_listen(&c->listen[2], "192.0.2.1", 53);
}

static void
file_empty(void **state)
{
	struct t_cfg *t = *state;

	t_ok(t, "-c", t_file(t, ""), NULL);
	assert_int_equal(t->cfg.nlisten, 2);
	t_ok(t, "-c", t_file(t, "# only a comment\n\n\n"), NULL);
	assert_int_equal(t->cfg.cache_size, 64u << 20);
}

/* Asserts the file is an error containing want and path:line. */
static void
t_file_bad(struct t_cfg *t, const char *text, unsigned line, const char *want)
{
	char where[96];
	const char *path = t_file(t, text);

	snprintf(where, sizeof(where), "%s:%u", path, line);
	t_bad(t, where, "-c", path, NULL);
	if (!strstr(t->err, want))
		fail_msg("error '%s' does not contain '%s'", t->err, want);
}

static void
file_errors(void **state)
{
	struct t_cfg *t = *state;

	t_file_bad(t, "# x\nforeground\nbogus-option 1\n", 3, "unknown option 'bogus-option'");
	t_file_bad(t, "cache-size 1m\nlisten\n", 2, "expected 'listen ADDR[@PORT]'");
	t_file_bad(t, "listen # no value, only a comment\n", 1, "expected 'listen");
	t_file_bad(t, "\n\nforeground yes\n", 3, "expected 'foreground'");
	t_file_bad(t, "listen 1.2.3.4 5.6.7.8\n", 1, "expected 'listen");
	t_file_bad(t, "cache-size 10x\n", 1, "--cache-size: '10x'");
	t_file_bad(t, "\n\n\n\nmx-chase maybe\n", 5, "--mx-chase");
	/* Long option names only, without dashes. */
	t_file_bad(t, "--listen 1.2.3.4\n", 1, "unknown option '--listen'");
	t_file_bad(t, "l 1.2.3.4\n", 1, "unknown option 'l'");
	/* A line too long for the reader is an error, not two lines. */
	char long_line[1200 + 8] = "allow ";
	memset(long_line + 6, 'a', 1200);
	memcpy(long_line + 1206, "\n", 2);
	t_file_bad(t, long_line, 1, "line longer than");
}

static void
file_missing(void **state)
{
	struct t_cfg *t = *state;

	t_bad(t, "/nonexistent/mxcached.conf", "-c", "/nonexistent/mxcached.conf", NULL);
	t_bad(t, "/tmp", "--config", "/tmp", NULL); /* a directory: reading fails */
}

/* ---- config_free --------------------------------------------------- */

static void
free_everything(void **state)
{
	struct t_cfg *t = *state;
	const char *path = t_file(t, "allow 10.0.0.0/8\nstub a.example=127.0.0.1\n");

	/* Everything that allocates, some twice; valgrind checks the rest. */
	t_ok(t, "-l", "127.0.0.1@5300", "-l", "::1@5300", "--allow", "192.0.2.0/24", "--stub",
	     "example.com=127.0.0.1@5301", "--forward", "127.0.0.1@5302", "--unbound-option",
	     "verbosity:1", "--root-hints", "/a", "--root-hints", "/b", "--trust-anchor", "/c",
	     "--trust-anchor", "/d", "-s", "/e", "-s", "/f", "-c", path, NULL);
	config_free(&t->cfg);
	assert_null(t->cfg.listen);
	assert_int_equal(t->cfg.nlisten, 0);
	assert_null(t->cfg.allow);
	assert_null(t->cfg.control_path);
	assert_null(t->cfg.upstream.stubs);
	assert_null(t->cfg.upstream.root_hints);
	/* Twice is harmless. */
	config_free(&t->cfg);
	/* What a failed load allocated is freed the same way. */
	t_bad(t, "--listen", "--allow", "1.2.3.4", "-s", "/x", "--listen", "bad", NULL);
	config_free(&t->cfg);
	t_bad(t, "--cache-max-ttl", "--forward", "1.2.3.4", "--cache-min-ttl", "10",
	      "--cache-max-ttl", "5", NULL);
}

/* ---- the option table ---------------------------------------------- */

/* Every entry is complete and its default parses into a fresh config;
 * UINT bounds fit the field and hold the default; names and letters are
 * unique; --help names every option. */
static void
table_walk(void **state)
{
	struct t_cfg *t = *state;
	size_t n;
	const struct config_opt *opts = config_options(&n);

	assert_true(n > 30);
	assert_int_equal(t_load_captured(t, "--help"), CONFIG_EXIT);
	for (size_t i = 0; i < n; i++) {
		const struct config_opt *o = &opts[i];
		char name[64];

		assert_non_null(o->name);
		assert_non_null(o->help);
		if (!o->help[0])
			fail_msg("--%s has no help text", o->name);
		snprintf(name, sizeof(name), "--%s", o->name);
		if (!strstr(t->out, name))
			fail_msg("--help does not mention %s", name);
		/* Flags take no value; everything else names its value. */
		assert_int_equal(o->metavar == NULL,
				 o->type == CONFIG_T_FLAG || o->type == CONFIG_T_COUNT ||
				     (o->type == CONFIG_T_META && o->short_name != 'c'));
		for (size_t j = 0; j < i; j++) {
			if (strcmp(opts[j].name, o->name) == 0)
				fail_msg("--%s twice in the table", o->name);
			if (o->short_name && opts[j].short_name == o->short_name)
				fail_msg("-%c twice in the table", o->short_name);
		}
		if (o->type == CONFIG_T_UINT) {
			assert_true(o->min <= o->max);
			assert_true(o->floor <= o->max);
			assert_non_null(o->unit);
			assert_true(o->width == 4 || o->width == 8);
			if (o->width == 4)
				assert_true(o->max <= UINT32_MAX);
		}
		if (o->type == CONFIG_T_YESNO || o->type == CONFIG_T_FLAG)
			assert_int_equal(o->width, sizeof(bool));
		if (o->type == CONFIG_T_CUSTOM)
			assert_non_null(o->set);
		if (o->def) {
			struct config fresh;
			char err[256] = "";
			char words[256], *save = NULL;

			memset(&fresh, 0, sizeof(fresh));
			assert_true((size_t)snprintf(words, sizeof(words), "%s", o->def) <
				    sizeof(words));
			for (char *w = strtok_r(words, " ", &save); w;
			     w = strtok_r(NULL, " ", &save))
				if (!config_opt_set(o, &fresh, w, err, sizeof(err)))
					fail_msg("--%s: default '%s' does not parse: %s", o->name,
						 w, err);
			config_free(&fresh);
		}
	}
}

/* A value past either bound is refused with the option named, for every
 * integer option in the table. */
static void
table_bounds_hold(void **state)
{
	struct t_cfg *t = *state;
	size_t n;
	const struct config_opt *opts = config_options(&n);

	for (size_t i = 0; i < n; i++) {
		const struct config_opt *o = &opts[i];
		char name[64], over[32], under[32];

		if (o->type != CONFIG_T_UINT)
			continue;
		snprintf(name, sizeof(name), "--%s", o->name);
		snprintf(over, sizeof(over), "%lu", o->max + 1);
		t_bad(t, name, name, over, NULL);
		snprintf(over, sizeof(over), "%lu", o->max);
		t_ok(t, name, over, NULL);
		if (o->min > 0) {
			snprintf(under, sizeof(under), "%lu", o->min - 1);
			t_bad(t, name, name, under, NULL);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(defaults, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(listen_flags, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(metrics_flag, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(upstream_flags, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(allow_repeated, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(cache_sizes, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(ttl_clamps, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(query_timeout, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(budget_flags, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(stale_client_timeout, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(numeric_limits, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(budget_flags, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(yes_no_flags, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(chase_tlsa, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(short_flags, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(bad_values_name_the_flag, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(unknown_option, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(unknown_option_in_cluster, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(missing_value, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(positional_rejected, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(help_and_version, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(repeated_loads_independent, t_setup, t_teardown),
	    cmocka_unit_test(parse_size),
	    cmocka_unit_test_setup_teardown(file_good, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(file_empty, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(file_errors, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(file_missing, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(free_everything, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(table_walk, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(table_bounds_hold, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
