/*
 * Unit tests for control_dispatch (include/control.h): every command that
 * answers without a socket connection, against a real cache. "stats" also
 * needs an upstream and a query engine: t_setup_engine makes them on a
 * private libev loop (libunbound does no network until a lookup).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ev.h>
#include <jansson.h>

#include "cache.h"
#include "clock.h"
#include "control.h"
#include "query.h"
#include "stats.h"
#include "stats_keys.h"
#include "upstream.h"
#include "wire.h"
#include "wire_write.h"

static const uint8_t t_seed[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
				   0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

struct t_ctl {
	struct control_ctx ctx;
	struct stats *stats;
	struct cache *cache;
	struct ev_loop *loop;
	struct upstream *up;
	struct query_engine *qe;
	json_t *ans; /* the last answer */
};

static int t_teardown(void **state);

static int
t_setup(void **state)
{
	struct t_ctl *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	*state = t;
	t->stats = calloc(1, sizeof(*t->stats));
	t->cache = cache_new(1 << 20, t_seed);
	if (!t->stats || !t->cache) {
		t_teardown(state);
		return -1;
	}
	t->ctx =
	    (struct control_ctx){.stats = t->stats, .cache = t->cache, .started_us = clock_us()};
	return 0;
}

static int
t_setup_engine(void **state)
{
	struct t_ctl *t;
	struct upstream_options uo = {.trust_anchor = "none"};
	struct query_options qo = {.max_ttl = 86400,
				   .max_negative_ttl = 3600,
				   .timeout_ms = 5000,
				   .max_inflight = 100,
				   .max_waiters = 16,
				   .max_background = 10};
	char err[256];

	if (t_setup(state) != 0)
		return -1;
	t = *state;
	if (!(t->loop = ev_loop_new(EVFLAG_AUTO)) ||
	    !(t->up = upstream_new(t->loop, &uo, err, sizeof(err))) ||
	    !(t->qe =
		  query_new(t->loop, &qo, t->cache, upstream_resolver(t->up), NULL, t->stats))) {
		print_error("engine setup failed: %s\n", t->loop && !t->up ? err : "");
		t_teardown(state);
		return -1;
	}
	t->ctx.loop = t->loop;
	t->ctx.up = t->up;
	t->ctx.qe = t->qe;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_ctl *t = *state;

	if (!t)
		return 0;
	json_decref(t->ans);
	query_free(t->qe);
	upstream_free(t->up);
	if (t->loop)
		ev_loop_destroy(t->loop);
	cache_free(t->cache);
	free(t->stats);
	free(t);
	*state = NULL;
	return 0;
}

/* Dispatches one request line; the answer stays owned by t. */
static const json_t *
t_run(struct t_ctl *t, const char *line)
{
	json_decref(t->ans);
	t->ans = control_dispatch(&t->ctx, line, strlen(line));
	assert_non_null(t->ans);
	assert_true(json_is_object(t->ans));
	return t->ans;
}

/* Asserts the answer is {"error": "..."} with want in the text. */
static void
t_error(const json_t *ans, const char *want)
{
	const char *text = json_string_value(json_object_get(ans, "error"));

	if (!text)
		fail_msg("expected an error containing \"%s\"", want);
	if (!strstr(text, want))
		fail_msg("error \"%s\" does not contain \"%s\"", text, want);
	assert_int_equal(json_object_size(ans), 1);
}

static void
t_ok(const json_t *ans)
{
	if (json_object_get(ans, "error"))
		fail_msg("unexpected error: %s", json_string_value(json_object_get(ans, "error")));
	assert_true(json_is_true(json_object_get(ans, "ok")));
}

static json_int_t
t_int(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		fail_msg("key %s missing or not an integer", key);
	return json_integer_value(v);
}

/* The cache's clock as control sees it. */
static uint64_t
t_now_ms(void)
{
	return clock_us() / 1000u;
}

struct t_entry {
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key k;
	uint8_t wire[WIRE_MAX_NAME + 64];
	size_t len;
};

/* A response for dotted/qtype with the given rcode, keyed with flags. */
static void
t_entry(struct t_entry *e, const char *dotted, uint16_t qtype, uint8_t flags, unsigned rcode)
{
	size_t n = wire_name_from_text(dotted, e->name);

	assert_int_not_equal(n, 0);
	e->k = (struct cache_key){.name = e->name,
				  .name_len = n,
				  .qtype = qtype,
				  .qclass = WIRE_CLASS_IN,
				  .flags = flags};
	e->len =
	    wire_build_query(e->wire, sizeof(e->wire), 0, 0, e->name, n, qtype, false, 0, false);
	assert_int_not_equal(e->len, 0);
	wire_put16(e->wire + 2, (uint16_t)(WIRE_QR | WIRE_RA | rcode));
}

/* Inserts an entry stored age_s seconds ago for ttl seconds. */
static void
t_put_full(struct t_ctl *t, const char *dotted, uint16_t qtype, uint8_t flags, unsigned rcode,
	   uint32_t ttl, uint64_t age_s, bool secure)
{
	struct t_entry e;

	t_entry(&e, dotted, qtype, flags, rcode);
	assert_true(cache_insert(t->cache, &e.k, e.wire, e.len, ttl,
				 secure ? CACHE_ANSWER_SECURE : 0, t_now_ms() - age_s * 1000));
}

static void
t_put(struct t_ctl *t, const char *dotted, uint16_t qtype)
{
	t_put_full(t, dotted, qtype, 0, WIRE_NOERROR, 300, 0, false);
}

static bool
t_has(struct t_ctl *t, const char *dotted, uint16_t qtype, uint8_t flags)
{
	struct t_entry e;

	t_entry(&e, dotted, qtype, flags, 0);
	return cache_peek(t->cache, &e.k, t_now_ms()) != NULL;
}

/* A lookup as a client's would be: counts a hit or a miss. */
static bool
t_lookup(struct t_ctl *t, const char *dotted, uint16_t qtype)
{
	struct t_entry e;

	t_entry(&e, dotted, qtype, 0, 0);
	return cache_lookup(t->cache, &e.k, t_now_ms()) != NULL;
}

static struct cache_stats
t_cstats(const struct t_ctl *t)
{
	struct cache_stats st;

	cache_get_stats(t->cache, &st);
	return st;
}

/* ---- the request envelope ------------------------------------------ */

static void
ping(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a = t_run(t, "{\"cmd\": \"ping\"}");

	assert_true(json_is_true(json_object_get(a, "pong")));
	assert_int_equal(json_object_size(a), 1);
	/* Surrounding whitespace is fine. */
	a = t_run(t, "  {\"cmd\":\"ping\"}  ");
	assert_true(json_is_true(json_object_get(a, "pong")));
}

static void
help_lists_commands(void **state)
{
	struct t_ctl *t = *state;
	const char *want[] = {"ping",	    "stats", "stats_reset", "flush", "dump",
			      "cache_list", "route", "spf",	    "help"};
	const json_t *cmds;
	json_t *copy;
	const char *name;
	json_t *help;
	char line[128];

	cmds = json_object_get(t_run(t, "{\"cmd\": \"help\"}"), "commands");
	assert_true(json_is_object(cmds));
	assert_int_equal(json_object_size(cmds), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const json_t *h = json_object_get(cmds, want[i]);
		if (!json_is_string(h) || json_string_length(h) == 0)
			fail_msg("help: no text for %s", want[i]);
	}
	/* Every listed command is known to the dispatcher. */
	copy = json_deep_copy(cmds);
	assert_non_null(copy);
	json_object_foreach(copy, name, help)
	{
		const json_t *a, *err;
		snprintf(line, sizeof(line), "{\"cmd\": \"%s\"}", name);
		a = t_run(t, line);
		err = json_object_get(a, "error");
		if (err && strstr(json_string_value(err), "unknown command")) {
			json_decref(copy);
			fail_msg("%s is listed but unknown", name);
		}
	}
	json_decref(copy);
}

static void
unknown_command(void **state)
{
	struct t_ctl *t = *state;

	t_error(t_run(t, "{\"cmd\": \"nope\"}"), "unknown command 'nope'");
	t_error(t_run(t, "{\"cmd\": \"PING\"}"), "unknown command");
	t_error(t_run(t, "{\"cmd\": \"\"}"), "unknown command");
}

static void
missing_cmd(void **state)
{
	struct t_ctl *t = *state;

	t_error(t_run(t, "{}"), "missing \"cmd\"");
	t_error(t_run(t, "{\"command\": \"ping\"}"), "missing \"cmd\"");
	t_error(t_run(t, "{\"cmd\": 5}"), "missing \"cmd\"");
	t_error(t_run(t, "{\"cmd\": null}"), "missing \"cmd\"");
	t_error(t_run(t, "{\"cmd\": [\"ping\"]}"), "missing \"cmd\"");
}

static void
not_an_object(void **state)
{
	struct t_ctl *t = *state;

	t_error(t_run(t, "[\"ping\"]"), "JSON object");
	t_error(t_run(t, "[]"), "JSON object");
	/* Bare scalars are not even accepted as JSON text here. */
	assert_non_null(json_object_get(t_run(t, "\"ping\""), "error"));
	assert_non_null(json_object_get(t_run(t, "42"), "error"));
	assert_non_null(json_object_get(t_run(t, "null"), "error"));
}

static void
invalid_json(void **state)
{
	struct t_ctl *t = *state;
	const char *bad[] = {"",
			     "{",
			     "{\"cmd\": }",
			     "{\"cmd\": \"ping\"",
			     "{cmd: \"ping\"}",
			     "{\"cmd\": \"ping\"} {\"cmd\": \"ping\"}",
			     "{\"cmd\": \"ping\"} x",
			     "{'cmd': 'ping'}"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t_error(t_run(t, bad[i]), "invalid JSON");
	/* Only len bytes are read: a valid request followed by junk. */
	json_decref(t->ans);
	t->ans = control_dispatch(&t->ctx, "{\"cmd\": \"ping\"}garbage", 15);
	assert_true(json_is_true(json_object_get(t->ans, "pong")));
}

static void
duplicate_keys(void **state)
{
	struct t_ctl *t = *state;

	t_error(t_run(t, "{\"cmd\": \"ping\", \"cmd\": \"ping\"}"), "invalid JSON");
	t_error(t_run(t, "{\"cmd\": \"dump\", \"limit\": 1, \"limit\": 2}"), "invalid JSON");
}

static void
unknown_argument(void **state)
{
	struct t_ctl *t = *state;

	t_error(t_run(t, "{\"cmd\": \"ping\", \"x\": 1}"), "ping: unknown argument 'x'");
	t_error(t_run(t, "{\"cmd\": \"flush\", \"limit\": 1}"), "flush: unknown argument 'limit'");
	t_error(t_run(t, "{\"cmd\": \"dump\", \"name\": \"example.com\"}"),
		"dump: unknown argument 'name'");
	/* A prefix or an extension of a real argument is not one. */
	t_error(t_run(t, "{\"cmd\": \"flush\", \"nam\": \"example.com\"}"),
		"unknown argument 'nam'");
	t_error(t_run(t, "{\"cmd\": \"flush\", \"names\": \"example.com\"}"),
		"unknown argument 'names'");
	t_error(t_run(t, "{\"cmd\": \"dump\", \"limit,\": 1}"), "unknown argument");
	t_error(t_run(t, "{\"cmd\": \"stats_reset\", \"histograms\": true}"),
		"unknown argument 'histograms'");
	/* Nothing happened. */
	t_put(t, "example.com", WIRE_T_A);
	t_error(t_run(t, "{\"cmd\": \"flush\", \"x\": 1}"), "unknown argument");
	assert_int_equal(t_cstats(t).entries, 1);
}

/* ---- flush --------------------------------------------------------- */

static void
flush_all(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a;
	char name[32];

	a = t_run(t, "{\"cmd\": \"flush\"}");
	t_ok(a);
	assert_int_equal(t_int(a, "removed"), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "h%d.example.com", i);
		t_put(t, name, WIRE_T_A);
	}
	t_put(t, "h0.example.com", WIRE_T_MX);
	assert_int_equal(t_cstats(t).entries, 6);
	a = t_run(t, "{\"cmd\": \"flush\"}");
	t_ok(a);
	assert_int_equal(t_int(a, "removed"), 6);
	assert_int_equal(t_cstats(t).entries, 0);
	assert_int_equal(t_cstats(t).bytes, 0);
	assert_false(t_has(t, "h0.example.com", WIRE_T_A, 0));
	assert_false(t_has(t, "h0.example.com", WIRE_T_MX, 0));
}

/* example.com with A, AAAA, MX and MX+DO, and neighbours that must stay. */
static void
t_fill_example(struct t_ctl *t)
{
	t_put(t, "example.com", WIRE_T_A);
	t_put(t, "example.com", WIRE_T_AAAA);
	t_put(t, "example.com", WIRE_T_MX);
	t_put_full(t, "example.com", WIRE_T_MX, CACHE_KEY_DO, WIRE_NOERROR, 300, 0, true);
	t_put(t, "www.example.com", WIRE_T_A);
	t_put(t, "example.org", WIRE_T_MX);
	t_put(t, "com", WIRE_T_NS);
}

static void
flush_name(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a;

	t_fill_example(t);
	a = t_run(t, "{\"cmd\": \"flush\", \"name\": \"EXAMPLE.com.\"}");
	t_ok(a);
	assert_int_equal(t_int(a, "removed"), 4);
	assert_int_equal(t_cstats(t).entries, 3);
	assert_false(t_has(t, "example.com", WIRE_T_A, 0));
	assert_false(t_has(t, "example.com", WIRE_T_MX, CACHE_KEY_DO));
	assert_true(t_has(t, "www.example.com", WIRE_T_A, 0));
	assert_true(t_has(t, "example.org", WIRE_T_MX, 0));
	assert_true(t_has(t, "com", WIRE_T_NS, 0));
	/* Again: nothing left to remove. */
	a = t_run(t, "{\"cmd\": \"flush\", \"name\": \"example.com\"}");
	t_ok(a);
	assert_int_equal(t_int(a, "removed"), 0);
}

static void
flush_name_type(void **state)
{
	struct t_ctl *t = *state;
	const char *reqs[] = {
	    "{\"cmd\": \"flush\", \"name\": \"example.com\", \"type\": \"MX\"}",
	    "{\"cmd\": \"flush\", \"name\": \"example.com\", \"type\": \"mx\"}",
	    "{\"cmd\": \"flush\", \"name\": \"example.com\", \"type\": 15}",
	    "{\"cmd\": \"flush\", \"name\": \"example.com\", \"type\": \"TYPE15\"}",
	    "{\"cmd\": \"flush\", \"name\": \"example.com\", \"type\": \"15\"}",
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		const json_t *a;
		t_fill_example(t);
		a = t_run(t, reqs[i]);
		t_ok(a);
		assert_int_equal(t_int(a, "removed"), 2); /* with and without DO */
		assert_false(t_has(t, "example.com", WIRE_T_MX, 0));
		assert_false(t_has(t, "example.com", WIRE_T_MX, CACHE_KEY_DO));
		assert_true(t_has(t, "example.com", WIRE_T_A, 0));
		assert_true(t_has(t, "example.com", WIRE_T_AAAA, 0));
		assert_true(t_has(t, "example.org", WIRE_T_MX, 0));
		assert_int_equal(t_cstats(t).entries, 5);
		cache_flush(t->cache);
	}
	/* A type the name does not have. */
	t_fill_example(t);
	t_ok(t_run(t, "{\"cmd\": \"flush\", \"name\": \"example.com\", \"type\": \"TXT\"}"));
	assert_int_equal(t_int(t->ans, "removed"), 0);
	assert_int_equal(t_cstats(t).entries, 7);
}

static void
flush_bad_args(void **state)
{
	struct t_ctl *t = *state;
	const char *bad_types[] = {"\"BOGUS\"", "\"\"",		 "-1",	     "65536",
				   "true",	"null",		 "15.0",     "[15]",
				   "{}",	"\"TYPE65536\"", "\"TYPE\"", "\"TYPE-1\""};
	const char *bad_names[] = {"5", "\"\"", "\"a..b\"", "null", "[\"example.com\"]", "true"};
	char line[128];

	t_fill_example(t);
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"cmd\": \"flush\", \"name\": \"example.com\", \"type\": %s}",
			 bad_types[i]);
		t_error(t_run(t, line), "'type' must be a record type");
	}
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\": \"flush\", \"name\": %s}", bad_names[i]);
		t_error(t_run(t, line), "'name' must be a domain name");
	}
	/* A type alone would flush one type of every name: refused. */
	t_error(t_run(t, "{\"cmd\": \"flush\", \"type\": \"MX\"}"), "'type' needs a 'name'");
	assert_int_equal(t_cstats(t).entries, 7);
}

/* ---- dump ---------------------------------------------------------- */

/* Asserts the i-th dump entry's name and type. */
static const json_t *
t_dump_entry(const json_t *ans, size_t i, const char *name, const char *type)
{
	const json_t *e = json_array_get(json_object_get(ans, "entries"), i);

	assert_true(json_is_object(e));
	assert_string_equal(json_string_value(json_object_get(e, "name")), name);
	assert_string_equal(json_string_value(json_object_get(e, "type")), type);
	return e;
}

static void
dump_order_and_limit(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a, *e;

	t_put(t, "a.example", WIRE_T_A);
	t_put(t, "b.example", WIRE_T_AAAA);
	t_put(t, "c.example", WIRE_T_MX);
	t_put(t, "d.example", WIRE_T_TXT);
	t_put(t, "e.example", WIRE_T_NS);
	/* A hit moves b to the front. */
	assert_true(t_lookup(t, "b.example", WIRE_T_AAAA));

	a = t_run(t, "{\"cmd\": \"dump\", \"limit\": 3}");
	assert_int_equal(json_array_size(json_object_get(a, "entries")), 3);
	assert_int_equal(t_int(a, "total"), 5);
	assert_true(json_is_true(json_object_get(a, "truncated")));
	t_dump_entry(a, 0, "b.example.", "AAAA");
	t_dump_entry(a, 1, "e.example.", "NS");
	t_dump_entry(a, 2, "d.example.", "TXT");

	a = t_run(t, "{\"cmd\": \"dump\"}");
	assert_int_equal(json_array_size(json_object_get(a, "entries")), 5);
	assert_int_equal(t_int(a, "total"), 5);
	assert_true(json_is_false(json_object_get(a, "truncated")));
	t_dump_entry(a, 3, "c.example.", "MX");
	e = t_dump_entry(a, 4, "a.example.", "A");
	assert_int_equal(t_int(e, "class"), WIRE_CLASS_IN);

	a = t_run(t, "{\"cmd\": \"dump\", \"limit\": 5}");
	assert_int_equal(json_array_size(json_object_get(a, "entries")), 5);
	assert_true(json_is_false(json_object_get(a, "truncated")));

	a = t_run(t, "{\"cmd\": \"dump\", \"limit\": 0}");
	assert_int_equal(json_array_size(json_object_get(a, "entries")), 0);
	assert_int_equal(t_int(a, "total"), 5);
	assert_true(json_is_true(json_object_get(a, "truncated")));

	/* cache_list is the same command. */
	a = t_run(t, "{\"cmd\": \"cache_list\", \"limit\": 1}");
	assert_int_equal(json_array_size(json_object_get(a, "entries")), 1);
	assert_int_equal(t_int(a, "total"), 5);
	t_dump_entry(a, 0, "b.example.", "AAAA");

	/* A dump is not a use: the order did not change. */
	a = t_run(t, "{\"cmd\": \"dump\", \"limit\": 1}");
	t_dump_entry(a, 0, "b.example.", "AAAA");
}

/* More entries than the output cap holds: the answer is cut to fit and
 * says so, instead of being cut off with the connection. */
static void
dump_larger_than_the_output_cap(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a;
	char name[WIRE_NAME_TEXT_MAX], label[61];
	size_t n = 100000, shown;

	cache_free(t->cache);
	t->ctx.cache = t->cache = cache_new((size_t)256 << 20, t_seed);
	assert_non_null(t->cache);
	memset(label, 'x', 60);
	label[60] = '\0';
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%zu.%s.%s.%s.example", i, label, label, label);
		t_put(t, name, WIRE_T_A);
	}
	a = t_run(t, "{\"cmd\": \"dump\", \"limit\": 100000}");
	shown = json_array_size(json_object_get(a, "entries"));
	assert_int_equal(t_int(a, "total"), n);
	assert_true(shown > 1000 && shown < n);
	assert_true(json_is_true(json_object_get(a, "truncated")));
	assert_int_equal(t_int(a, "omitted"), n - shown);
	char *text = json_dumps(a, JSON_COMPACT);
	assert_non_null(text);
	assert_true(strlen(text) + 1 <= CONTROL_MAX_OUTPUT - 256 * 1024);
	free(text);
	/* Within the cap, nothing is omitted. */
	a = t_run(t, "{\"cmd\": \"dump\", \"limit\": 10}");
	assert_int_equal(t_int(a, "omitted"), n - 10);
	a = t_run(t, "{\"cmd\": \"flush\"}");
	t_put(t, "a.example", WIRE_T_A);
	a = t_run(t, "{\"cmd\": \"dump\"}");
	assert_int_equal(t_int(a, "omitted"), 0);
	assert_true(json_is_false(json_object_get(a, "truncated")));
}

static void
dump_fields(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a, *e;
	struct t_entry te;

	t_put_full(t, "Mail.Example.COM", WIRE_T_MX, CACHE_KEY_DO | CACHE_KEY_CD, WIRE_NXDOMAIN,
		   300, 10, true);
	t_put_full(t, "x.example", 4000, 0, WIRE_NOERROR, 60, 0, false);
	t_put_full(t, "y.example", 256, 0, WIRE_SERVFAIL, 3600, 0, false);

	a = t_run(t, "{\"cmd\": \"dump\"}");
	assert_int_equal(t_int(a, "total"), 3);
	e = t_dump_entry(a, 0, "y.example.", "URI");
	assert_int_equal(t_int(e, "rcode"), WIRE_SERVFAIL);
	assert_true(t_int(e, "ttl") >= 3599 && t_int(e, "ttl") <= 3600);
	e = t_dump_entry(a, 1, "x.example.", "TYPE4000");
	assert_true(json_is_false(json_object_get(e, "secure")));
	assert_true(json_is_false(json_object_get(e, "do")));
	assert_true(json_is_false(json_object_get(e, "cd")));
	assert_true(t_int(e, "ttl") >= 59 && t_int(e, "ttl") <= 60);

	/* Names come out lowercased; the TTL is what is left of 300 after 10 s. */
	e = t_dump_entry(a, 2, "mail.example.com.", "MX");
	assert_int_equal(t_int(e, "class"), WIRE_CLASS_IN);
	assert_true(t_int(e, "ttl") >= 288 && t_int(e, "ttl") <= 290);
	assert_true(json_is_true(json_object_get(e, "do")));
	assert_true(json_is_true(json_object_get(e, "cd")));
	assert_true(json_is_true(json_object_get(e, "secure")));
	assert_int_equal(t_int(e, "rcode"), WIRE_NXDOMAIN);
	t_entry(&te, "mail.example.com", WIRE_T_MX, 0, 0);
	assert_int_equal(t_int(e, "bytes"), cache_entry_cost(te.k.name_len, te.len));
}

static void
dump_skips_expired(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a;

	t_put_full(t, "old.example", WIRE_T_A, 0, 0, 300, 400, false); /* expired 100 s ago */
	t_put(t, "new.example", WIRE_T_A);
	a = t_run(t, "{\"cmd\": \"dump\"}");
	assert_int_equal(t_int(a, "total"), 1);
	assert_int_equal(json_array_size(json_object_get(a, "entries")), 1);
	t_dump_entry(a, 0, "new.example.", "A");
	assert_true(json_is_false(json_object_get(a, "truncated")));
}

static void
dump_bad_limit(void **state)
{
	struct t_ctl *t = *state;
	const char *bad[] = {"-1", "\"x\"", "\"10\"", "1.5", "null", "true", "100001", "[1]"};
	char line[96];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\": \"dump\", \"limit\": %s}", bad[i]);
		t_error(t_run(t, line), "'limit' must be a number from 0 to 100000");
	}
	assert_null(json_object_get(t_run(t, "{\"cmd\": \"dump\", \"limit\": 100000}"), "error"));
}

/* ---- stats_reset and route ----------------------------------------- */

static void
stats_reset(void **state)
{
	struct t_ctl *t = *state;
	static const struct stats zero;
	struct cache_stats cs;

	stats_count_query(t->stats, WIRE_T_MX, false);
	stats_count_rcode(t->stats, WIRE_NXDOMAIN);
	t->stats->mx_answers = 3;
	stats_hist_add(&t->stats->latency, 1234);
	stats_hist_add(&t->stats->latency_upstream, 99999);
	t_put(t, "a.example", WIRE_T_A);
	t_put(t, "b.example", WIRE_T_A);
	assert_true(t_lookup(t, "a.example", WIRE_T_A));  /* a hit */
	assert_false(t_lookup(t, "c.example", WIRE_T_A)); /* a miss */
	cs = t_cstats(t);
	assert_int_equal(cs.hits, 1);
	assert_int_equal(cs.misses, 1);
	assert_int_equal(cs.inserts, 2);

	t_ok(t_run(t, "{\"cmd\": \"stats_reset\"}"));
	assert_memory_equal(t->stats, &zero, sizeof(zero));
	cs = t_cstats(t);
	assert_int_equal(cs.hits, 0);
	assert_int_equal(cs.misses, 0);
	assert_int_equal(cs.inserts, 0);
	assert_int_equal(cs.evictions, 0);
	assert_int_equal(cs.expired, 0);
	/* The cache itself is untouched. */
	assert_int_equal(cs.entries, 2);
	assert_true(cs.bytes > 0);
	assert_true(t_has(t, "a.example", WIRE_T_A, 0));
}

static void
route_needs_connection(void **state)
{
	struct t_ctl *t = *state;

	t_error(t_run(t, "{\"cmd\": \"route\", \"domain\": \"example.com\"}"),
		"route: needs a socket connection");
	t_error(t_run(t, "{\"cmd\": \"route\"}"), "needs a socket connection");
	t_error(t_run(t, "{\"cmd\": \"route\", \"domain\": \"example.com\", \"x\": 1}"),
		"route: unknown argument 'x'");
	t_error(t_run(t, "{\"cmd\": \"spf\", \"domain\": \"example.com\"}"),
		"spf: needs a socket connection");
	t_error(t_run(t, "{\"cmd\": \"spf\", \"domain\": \"example.com\", \"x\": 1}"),
		"spf: unknown argument 'x'");
}

/* ---- stats, with a query engine ------------------------------------ */

static void
stats_every_key(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a;

	t_put(t, "a.example", WIRE_T_A);
	t_put(t, "b.example", WIRE_T_MX);
	t_put(t, "c.example", WIRE_T_AAAA);
	for (int i = 0; i < 7; i++)
		stats_count_query(t->stats, WIRE_T_MX, i % 2);
	t->ctx.started_us = clock_us() - 5000000u;

	a = t_run(t, "{\"cmd\": \"stats\"}");
	for (size_t i = 0; i < stats_nkeys; i++)
		if (stats_keys[i].kind != STATS_HISTOGRAM)
			(void)t_int(a, stats_keys[i].name);
	assert_int_equal(t_int(a, "cache.entries"), 3);
	assert_int_equal(t_int(a, "cache.inserts"), 3);
	assert_int_equal(t_int(a, "cache.bytes"), t_cstats(t).bytes);
	assert_int_equal(t_int(a, "cache.max_bytes"), 1 << 20);
	assert_int_equal(t_int(a, "queries.total"), 7);
	assert_int_equal(t_int(a, "queries.by_type.MX"), 7);
	assert_int_equal(t_int(a, "queries.tcp"), 3);
	assert_int_equal(t_int(a, "upstream.in_flight"), 0);
	assert_int_equal(t_int(a, "upstream.distinct_in_flight"), 0);
	assert_true(t_int(a, "uptime_s") >= 5 && t_int(a, "uptime_s") <= 6);
	assert_null(json_object_get(a, "histograms"));
	/* Every value is a number. */
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)(uintptr_t)a, key, v)
	{
		if (!json_is_integer(v))
			fail_msg("stats: %s is not a number", key);
	}
}

static void
stats_histograms(void **state)
{
	struct t_ctl *t = *state;
	const json_t *a, *h;

	stats_hist_add(&t->stats->latency, 100);
	a = t_run(t, "{\"cmd\": \"stats\", \"histograms\": true}");
	h = json_object_get(a, "histograms");
	assert_true(json_is_object(h));
	assert_true(json_is_array(json_object_get(json_object_get(h, "latency_us"), "le")));
	a = t_run(t, "{\"cmd\": \"stats\", \"histograms\": false}");
	assert_null(json_object_get(a, "histograms"));
	assert_int_equal(t_int(a, "latency_us.count"), 1);
	t_error(t_run(t, "{\"cmd\": \"stats\", \"histograms\": \"yes\"}"),
		"'histograms' must be true or false");
	t_error(t_run(t, "{\"cmd\": \"stats\", \"histograms\": 1}"), "must be true or false");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(ping, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(help_lists_commands, t_setup_engine, t_teardown),
	    cmocka_unit_test_setup_teardown(unknown_command, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(missing_cmd, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(not_an_object, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(invalid_json, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(duplicate_keys, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(unknown_argument, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_all, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_name, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_name_type, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_bad_args, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(dump_order_and_limit, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(dump_fields, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(dump_larger_than_the_output_cap, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(dump_skips_expired, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(dump_bad_limit, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(stats_reset, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(route_needs_connection, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(stats_every_key, t_setup_engine, t_teardown),
	    cmocka_unit_test_setup_teardown(stats_histograms, t_setup_engine, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
