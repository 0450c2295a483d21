/*
 * libFuzzer harness: the control socket's request parser and commands
 * (control_dispatch), one request line per input.
 *
 * The context is the daemon's: a real cache with a small bound, refilled
 * with the same few entries before every input (so "flush" in one input
 * does not change what the next one sees), zeroed counters, and a real
 * upstream and query engine (made once; libunbound does no network until a
 * lookup, and no command reachable here starts one: "route" needs a
 * connection and answers an error through control_dispatch).
 *
 * Checked: the answer is never NULL, always a JSON object that serializes;
 * an error is {"error": "<non-empty string>"} and nothing else; "out of
 * memory" is never claimed (the fuzzer's allocations do not fail, so that
 * answer would hide a different failure). Leaks are LeakSanitizer's job.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "cache.h"
#include "clock.h"
#include "control.h"
#include "fuzz.h"
#include "query.h"
#include "stats.h"
#include "upstream.h"
#include "wire.h"
#include "wire_write.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const uint8_t fz_seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static struct control_ctx fz_ctx;
static struct stats *fz_stats;
static struct cache *fz_cache;
static struct upstream *fz_up;
static struct query_engine *fz_qe;

/* The entries every input starts with. */
struct fz_entry {
	const char *name; /* presentation form */
	uint16_t qtype;
	uint8_t key_flags; /* CACHE_KEY_* */
	unsigned rcode;	   /* of the stored answer */
	unsigned aflags;   /* CACHE_ANSWER_* */
};

static const struct fz_entry fz_entries[] = {
    {"yada123.com.", WIRE_T_MX, 0, WIRE_NOERROR, 0},
    {"mx1.yada123.com.", WIRE_T_A, 0, WIRE_NOERROR, CACHE_ANSWER_PREFETCHED},
    {"mx1.yada123.com.", WIRE_T_AAAA, CACHE_KEY_DO, WIRE_NOERROR, CACHE_ANSWER_SECURE},
    {"_25._tcp.mx1.signed123.com.", WIRE_T_TLSA, CACHE_KEY_DO | CACHE_KEY_CD, WIRE_NOERROR,
     CACHE_ANSWER_SECURE | CACHE_ANSWER_PREFETCHED},
    {"nxdomain.yada123.com.", WIRE_T_A, 0, WIRE_NXDOMAIN, 0},
    {"odd\\.name\\032with\\\\escapes\\255.example.", 65280, 0, WIRE_NOERROR, 0},
    {".", WIRE_T_NS, 0, WIRE_NOERROR, 0},
    /* The longest name there is: 255 bytes in wire form. */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
     "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
     "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.",
     WIRE_T_TXT, 0, WIRE_SERVFAIL, 0},
};

static void
fz_fill(void)
{
	uint64_t now_ms = clock_us() / 1000u;

	cache_flush(fz_cache);
	cache_reset_stats(fz_cache);
	for (size_t i = 0; i < sizeof(fz_entries) / sizeof(fz_entries[0]); i++) {
		const struct fz_entry *e = &fz_entries[i];
		uint8_t name[WIRE_MAX_NAME], wire[WIRE_MAX_MSG];
		size_t nlen = wire_name_from_text(e->name, name), len;
		CHECK(nlen > 0);
		/* A response that only carries the question is all dump reads. */
		len = wire_build_query(wire, sizeof(wire), 0, WIRE_QR | WIRE_RA | e->rcode, name,
				       nlen, e->qtype, false, 0, false);
		CHECK(len > 0);
		struct cache_key key = {.name = name,
					.name_len = nlen,
					.qtype = e->qtype,
					.qclass = WIRE_CLASS_IN,
					.flags = e->key_flags};
		CHECK(cache_insert(fz_cache, &key, wire, len, 3600, e->aflags, now_ms));
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct upstream_options uo = {.trust_anchor = "none"};
	struct query_options qo = {.max_ttl = 86400,
				   .max_negative_ttl = 3600,
				   .timeout_ms = 5000,
				   .max_inflight = 100,
				   .max_waiters = 16,
				   .max_background = 10};
	char err[256] = "";

	(void)argc;
	(void)argv;
	fz_stats = calloc(1, sizeof(*fz_stats));
	fz_cache = cache_new(64 * 1024, fz_seed);
	if (!loop || !fz_stats || !fz_cache ||
	    !(fz_up = upstream_new(loop, &uo, err, sizeof(err))) ||
	    !(fz_qe = query_new(loop, &qo, fz_cache, upstream_resolver(fz_up), NULL, fz_stats))) {
		fprintf(stderr, "fuzz_control: setup failed: %s\n", err);
		abort();
	}
	fz_ctx = (struct control_ctx){.loop = loop,
				      .stats = fz_stats,
				      .cache = fz_cache,
				      .up = fz_up,
				      .qe = fz_qe,
				      .started_us = clock_us()};
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *ans, *err;
	char *text;

	if (size > CONTROL_MAX_LINE)
		return 0; /* the socket never hands over a longer line */
	memset(fz_stats, 0, sizeof(*fz_stats));
	fz_fill();

	/* Not NUL-terminated, like a line in the connection's buffer. */
	char *line = malloc(size ? size : 1);
	CHECK(line != NULL);
	if (size)
		memcpy(line, data, size);
	ans = control_dispatch(&fz_ctx, line, size);
	free(line);

	CHECK(ans != NULL);
	CHECK(json_is_object(ans));
	if ((err = json_object_get(ans, "error"))) {
		CHECK(json_object_size(ans) == 1);
		CHECK(json_is_string(err) && json_string_length(err) > 0);
		if (strcmp(json_string_value(err), "out of memory") == 0) {
			fprintf(stderr,
				"fuzz_control: \"out of memory\" without an allocation failure\n");
			abort();
		}
	}
	/* What control_send writes to the socket. */
	CHECK((text = json_dumps(ans, JSON_COMPACT)) != NULL);
	free(text);
	json_decref(ans);
	return 0;
}
