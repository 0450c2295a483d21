/*
 * Unit tests for persist (include/persist.h): the cache file as hostile
 * input. Files are written by persist_save or, for forgeries, by t_file,
 * a writer of the format of its own (so a change of format shows here),
 * into a private temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "persist.h"
#include "siphash.h"
#include "wire.h"

#define T_NOW 1000000u		/* the cache clock, ms */
#define T_WALL 1800000000000ull /* the wall clock, ms */
#define T_ANCHOR 0x0123456789abcdefull
#define T_HEADER 36

static const uint8_t t_seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t t_zero_key[16];
static const uint8_t t_name[] = "\3www\6paypal\3com"; /* with its root label: sizeof */

struct t_env {
	char dir[64];
	char path[128];
	struct cache *c;
	struct persist_policy policy;
	struct persist_report rep;
	char err[512];
};

/* One record as the file holds it. */
struct t_rec {
	const uint8_t *name;
	size_t nlen;
	uint16_t qtype;
	uint8_t kflags;
	uint8_t aflags;
	uint32_t age_ms;
	uint32_t left_ms;
	const uint8_t *msg;
	size_t mlen;
};

static int
t_setup(void **state)
{
	struct t_env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	strcpy(e->dir, "/tmp/test_persist.XXXXXX");
	if (!mkdtemp(e->dir) || !(e->c = cache_new(1 << 20, t_seed)))
		return -1;
	snprintf(e->path, sizeof(e->path), "%s/cache.bin", e->dir);
	e->policy = (struct persist_policy){.min_ttl = 0,
					    .max_ttl = 300,
					    .max_negative_ttl = 60,
					    .anchor_id = T_ANCHOR,
					    .validating = true,
					    .owner = geteuid()};
	*state = e;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_env *e = *state;
	char cmd[128];

	cache_free(e->c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static void
t_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

/* A stored answer for name/A: NOERROR with n A records of TTL ttl, or,
 * with n == 0, NXDOMAIN with an SOA of TTL ttl. */
static size_t
t_msg(uint8_t *out, const uint8_t *name, size_t nlen, unsigned n, uint32_t ttl)
{
	size_t len = WIRE_HEADER_LEN;

	memset(out, 0, WIRE_HEADER_LEN);
	wire_put16(out + 2, (uint16_t)(WIRE_QR | WIRE_RD | WIRE_RA | (n ? 0 : WIRE_NXDOMAIN)));
	wire_put16(out + 4, 1);
	wire_put16(out + 6, (uint16_t)n);
	wire_put16(out + 8, n ? 0 : 1);
	memcpy(out + len, name, nlen);
	len += nlen;
	wire_put16(out + len, WIRE_T_A);
	wire_put16(out + len + 2, WIRE_CLASS_IN);
	len += 4;
	for (unsigned i = 0; i < n; i++) {
		static const uint8_t a[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 6, 6, 6, 6};
		memcpy(out + len, a, sizeof(a));
		wire_put32(out + len + 6, ttl);
		len += sizeof(a);
	}
	if (!n) {
		/* ". SOA . . 1 2 3 4 5" */
		static const uint8_t soa[] = {0, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0, 0, 0, 0, 1,
					      0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0,	4, 0, 0, 0, 5};
		memcpy(out + len, soa, sizeof(soa));
		wire_put32(out + len + 5, ttl);
		len += sizeof(soa);
	}
	return len;
}

/* The file format, written independently of persist.c. */
static size_t
t_file(uint8_t *out, uint64_t saved_ms, uint64_t anchor, const struct t_rec *recs, size_t n)
{
	size_t len = T_HEADER;

	memcpy(out, "MXCACHE2", 8);
	t_put64(out + 8, saved_ms);
	wire_put32(out + 16, (uint32_t)n);
	t_put64(out + 20, anchor);
	t_put64(out + 28, siphash24(t_zero_key, out, 28));
	for (size_t i = 0; i < n; i++) {
		const struct t_rec *r = &recs[i];
		uint8_t *rec = out + len + 2;
		size_t rlen = 1 + r->nlen + 15 + r->mlen;
		wire_put16(out + len, (uint16_t)rlen);
		rec[0] = (uint8_t)r->nlen;
		memcpy(rec + 1, r->name, r->nlen);
		uint8_t *f = rec + 1 + r->nlen;
		wire_put16(f, r->qtype);
		wire_put16(f + 2, WIRE_CLASS_IN);
		f[4] = r->kflags;
		f[5] = r->aflags;
		wire_put32(f + 6, r->age_ms);
		wire_put32(f + 10, r->left_ms);
		f[14] = 0;
		memcpy(f + 15, r->msg, r->mlen);
		t_put64(rec + rlen, siphash24(t_zero_key, rec, rlen));
		len += 2 + rlen + 8;
	}
	return len;
}

static void
t_write(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

static enum persist_result
t_load(struct t_env *e)
{
	cache_flush(e->c);
	return persist_load(e->c, e->path, &e->policy, T_NOW, T_WALL, &e->rep, e->err,
			    sizeof(e->err));
}

static void
t_rejected(struct t_env *e, const char *why)
{
	assert_int_equal(t_load(e), PERSIST_REJECTED);
	if (!strstr(e->err, why))
		fail_msg("error \"%s\" does not contain \"%s\"", e->err, why);
	struct cache_stats st;
	cache_get_stats(e->c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(e->rep.loaded, 0);
}

static const struct cache_answer *
t_peek(struct t_env *e)
{
	struct cache_key key = {
	    .name = t_name, .name_len = sizeof(t_name), .qtype = WIRE_T_A, .qclass = WIRE_CLASS_IN};
	return cache_peek(e->c, &key, T_NOW);
}

/* A forged answer: TTL 2147483646, a year left, marked secure. */
static size_t
t_forged(uint8_t *file, uint8_t *msg, unsigned n, uint64_t anchor)
{
	struct t_rec r = {.name = t_name,
			  .nlen = sizeof(t_name),
			  .qtype = WIRE_T_A,
			  .aflags = CACHE_ANSWER_SECURE,
			  .left_ms = 0xfffffff0u};

	r.mlen = t_msg(msg, t_name, sizeof(t_name), n, 2147483646u);
	r.msg = msg;
	return t_file(file, T_WALL - 1000, anchor, &r, 1);
}

/* Every record TTL of the stored answer is at most max. */
static void
t_assert_ttls_at_most(const struct cache_answer *a, uint32_t max)
{
	struct wire_iter it;
	struct wire_rr rr;
	unsigned n = 0;

	assert_true(wire_iter_init(&it, a->wire, a->len));
	while (wire_iter_next(&it, &rr) == 1) {
		if (rr.ttl > max)
			fail_msg("record TTL %u above %u", rr.ttl, max);
		n++;
	}
	assert_true(n > 0);
}

static void
round_trip(void **state)
{
	struct t_env *e = *state;
	uint8_t msg[512];
	size_t len = t_msg(msg, t_name, sizeof(t_name), 2, 200), saved;
	struct cache_key key = {
	    .name = t_name, .name_len = sizeof(t_name), .qtype = WIRE_T_A, .qclass = WIRE_CLASS_IN};
	struct stat st;

	assert_true(cache_insert(e->c, &key, msg, len, 200, CACHE_ANSWER_SECURE, T_NOW - 50000));
	assert_true(persist_save(e->c, e->path, T_ANCHOR, T_NOW, T_WALL - 10000, &saved, e->err,
				 sizeof(e->err)));
	assert_int_equal(saved, 1);
	assert_int_equal(lstat(e->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Ten seconds later: 140 s of 200 left, the records aged by 60 s. */
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_int_equal(e->rep.loaded, 1);
	assert_int_equal(e->rep.unsecured, 0);
	const struct cache_answer *a = t_peek(e);
	assert_non_null(a);
	assert_true(a->secure);
	assert_int_equal((a->expires_ms - T_NOW) / 1000, 140);
	assert_int_equal(a->len, len);
	t_assert_ttls_at_most(a, 140);
	/* No temporary file left beside it. */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 1", e->dir);
	assert_int_equal(system(cmd), 0);
}

static void
expired_entries_are_skipped(void **state)
{
	struct t_env *e = *state;
	uint8_t msg[512], file[1024];
	struct t_rec r = {.name = t_name,
			  .nlen = sizeof(t_name),
			  .qtype = WIRE_T_A,
			  .age_ms = 1000,
			  .left_ms = 5000,
			  .msg = msg};

	r.mlen = t_msg(msg, t_name, sizeof(t_name), 1, 6);
	t_write(e->path, file, t_file(file, T_WALL - 5000, T_ANCHOR, &r, 1));
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_int_equal(e->rep.loaded, 0);
	assert_int_equal(e->rep.expired, 1);
	assert_null(t_peek(e));
}

static void
forged_question_must_match_its_key(void **state)
{
	struct t_env *e = *state;
	static const uint8_t other[] = "\4mail\7example\3com";
	uint8_t msg[512], file[1024];
	struct t_rec r = {.name = t_name,
			  .nlen = sizeof(t_name),
			  .qtype = WIRE_T_A,
			  .left_ms = 60000,
			  .msg = msg};

	/* The answer for another name, filed under www.paypal.com. */
	r.mlen = t_msg(msg, other, sizeof(other), 1, 60);
	t_write(e->path, file, t_file(file, T_WALL, T_ANCHOR, &r, 1));
	t_rejected(e, "question is not its key");
	/* The right name, another type. */
	r.mlen = t_msg(msg, t_name, sizeof(t_name), 1, 60);
	r.qtype = WIRE_T_MX;
	t_write(e->path, file, t_file(file, T_WALL, T_ANCHOR, &r, 1));
	t_rejected(e, "question is not its key");
}

static void
forged_message_must_walk(void **state)
{
	struct t_env *e = *state;
	uint8_t msg[512], file[1024];
	struct t_rec r = {.name = t_name,
			  .nlen = sizeof(t_name),
			  .qtype = WIRE_T_A,
			  .left_ms = 60000,
			  .msg = msg};

	/* One answer record claimed, two there: trailing bytes. */
	r.mlen = t_msg(msg, t_name, sizeof(t_name), 2, 60);
	wire_put16(msg + 6, 1);
	t_write(e->path, file, t_file(file, T_WALL, T_ANCHOR, &r, 1));
	t_rejected(e, "malformed");
	/* Three claimed, two there. */
	wire_put16(msg + 6, 3);
	t_write(e->path, file, t_file(file, T_WALL, T_ANCHOR, &r, 1));
	t_rejected(e, "malformed");
	/* A SERVFAIL, which the cache never keeps. */
	wire_put16(msg + 6, 2);
	wire_put16(msg + 2, WIRE_QR | WIRE_SERVFAIL);
	t_write(e->path, file, t_file(file, T_WALL, T_ANCHOR, &r, 1));
	t_rejected(e, "rcode");
	/* A key flag the cache does not know. */
	wire_put16(msg + 2, WIRE_QR);
	r.kflags = 0x80;
	t_write(e->path, file, t_file(file, T_WALL, T_ANCHOR, &r, 1));
	t_rejected(e, "unknown flags");
}

static void
ttl_clamps_apply_to_lifetime_and_records(void **state)
{
	struct t_env *e = *state;
	uint8_t msg[512], file[1024];

	/* The forgery of the issue: under --cache-max-ttl 300. */
	t_write(e->path, file, t_forged(file, msg, 2, T_ANCHOR));
	assert_int_equal(t_load(e), PERSIST_LOADED);
	const struct cache_answer *a = t_peek(e);
	assert_non_null(a);
	assert_true(a->expires_ms - T_NOW <= 300000);
	t_assert_ttls_at_most(a, 300);

	/* Negative answers: --cache-max-negative-ttl 60. */
	t_write(e->path, file, t_forged(file, msg, 0, T_ANCHOR));
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_non_null(a = t_peek(e));
	assert_true(a->expires_ms - T_NOW <= 60000);
	t_assert_ttls_at_most(a, 60);

	/* --cache-min-ttl lengthens a short positive lifetime. */
	struct t_rec r = {
	    .name = t_name, .nlen = sizeof(t_name), .qtype = WIRE_T_A, .left_ms = 5000, .msg = msg};
	r.mlen = t_msg(msg, t_name, sizeof(t_name), 1, 5);
	e->policy.min_ttl = 100;
	t_write(e->path, file, t_file(file, T_WALL, T_ANCHOR, &r, 1));
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_non_null(a = t_peek(e));
	assert_int_equal((a->expires_ms - T_NOW) / 1000, 100);
}

static void
secure_only_under_the_same_anchor(void **state)
{
	struct t_env *e = *state;
	uint8_t msg[512], file[1024];
	size_t len = t_forged(file, msg, 1, T_ANCHOR);

	t_write(e->path, file, len);
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_true(t_peek(e)->secure);

	e->policy.anchor_id = T_ANCHOR + 1; /* another anchor in force */
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_non_null(t_peek(e));
	assert_false(t_peek(e)->secure);
	assert_int_equal(e->rep.unsecured, 1);

	/* --trust-anchor none: never, even with the id the file holds. */
	e->policy.anchor_id = T_ANCHOR;
	e->policy.validating = false;
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_false(t_peek(e)->secure);
}

static void
anchor_id_depends_on_path_and_contents(void **state)
{
	struct t_env *e = *state;
	char a[160], b[160];
	uint64_t none1, none2, ida, idb, ida2;

	assert_true(persist_anchor_id("none", &none1, e->err, sizeof(e->err)));
	assert_true(persist_anchor_id("none", &none2, e->err, sizeof(e->err)));
	assert_true(none1 == none2);
	snprintf(a, sizeof(a), "%s/a.key", e->dir);
	snprintf(b, sizeof(b), "%s/b.key", e->dir);
	t_write(a, (const uint8_t *)". DS 1 8 2 AA\n", 14);
	t_write(b, (const uint8_t *)". DS 1 8 2 AA\n", 14);
	assert_true(persist_anchor_id(a, &ida, e->err, sizeof(e->err)));
	assert_true(persist_anchor_id(b, &idb, e->err, sizeof(e->err)));
	assert_true(ida != idb && ida != none1);
	t_write(a, (const uint8_t *)". DS 1 8 2 BB\n", 14);
	assert_true(persist_anchor_id(a, &ida2, e->err, sizeof(e->err)));
	assert_true(ida2 != ida);
	assert_false(persist_anchor_id(e->path, &ida, e->err, sizeof(e->err)));
}

static void
future_save_time_is_refused(void **state)
{
	struct t_env *e = *state;
	uint8_t msg[512], file[1024];
	struct t_rec r = {.name = t_name,
			  .nlen = sizeof(t_name),
			  .qtype = WIRE_T_A,
			  .left_ms = 60000,
			  .msg = msg};

	r.mlen = t_msg(msg, t_name, sizeof(t_name), 1, 60);
	t_write(e->path, file, t_file(file, T_WALL + 3600000, T_ANCHOR, &r, 1));
	t_rejected(e, "in the future");
	/* Within the allowed skew it loads, not aged. */
	t_write(e->path, file, t_file(file, T_WALL + PERSIST_CLOCK_SKEW_MS, T_ANCHOR, &r, 1));
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_int_equal(e->rep.loaded, 1);
}

/* A file of two records, from persist_save. */
static size_t
t_saved(struct t_env *e, uint8_t *out, size_t cap)
{
	static const uint8_t mx[] = "\2mx\6paypal\3com";
	uint8_t msg[512];
	size_t saved, len;
	struct cache_key k1 = {
	    .name = t_name, .name_len = sizeof(t_name), .qtype = WIRE_T_A, .qclass = WIRE_CLASS_IN};
	struct cache_key k2 = {.name = mx,
			       .name_len = sizeof(mx),
			       .qtype = WIRE_T_A,
			       .qclass = WIRE_CLASS_IN,
			       .flags = CACHE_KEY_DO};

	len = t_msg(msg, t_name, sizeof(t_name), 1, 100);
	assert_true(cache_insert(e->c, &k1, msg, len, 100, 0, T_NOW));
	len = t_msg(msg, mx, sizeof(mx), 2, 100);
	assert_true(cache_insert(e->c, &k2, msg, len, 100, CACHE_ANSWER_SECURE, T_NOW));
	assert_true(
	    persist_save(e->c, e->path, T_ANCHOR, T_NOW, T_WALL, &saved, e->err, sizeof(e->err)));
	assert_int_equal(saved, 2);
	FILE *f = fopen(e->path, "rb");
	assert_non_null(f);
	len = fread(out, 1, cap, f);
	fclose(f);
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_int_equal(e->rep.loaded, 2);
	return len;
}

static void
truncated_file_is_refused(void **state)
{
	struct t_env *e = *state;
	uint8_t file[2048];
	size_t len = t_saved(e, file, sizeof(file));

	for (size_t cut = 0; cut < len; cut++) {
		t_write(e->path, file, cut);
		assert_int_equal(t_load(e), PERSIST_REJECTED);
		assert_null(t_peek(e));
	}
	/* And one byte too many. */
	file[len] = 0;
	t_write(e->path, file, len + 1);
	t_rejected(e, "data after the last record");
}

static void
every_bit_flip_is_refused(void **state)
{
	struct t_env *e = *state;
	uint8_t file[2048];
	size_t len = t_saved(e, file, sizeof(file));

	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			file[i] ^= (uint8_t)(1u << bit);
			t_write(e->path, file, len);
			if (t_load(e) != PERSIST_REJECTED)
				fail_msg("byte %zu bit %u flipped: loaded", i, bit);
			file[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* A forged count in a correctly summed header: records missing. */
	wire_put32(file + 16, 3);
	t_put64(file + 28, siphash24(t_zero_key, file, 28));
	t_write(e->path, file, len);
	t_rejected(e, "record 3 of 3: missing");
	wire_put32(file + 16, 1);
	t_put64(file + 28, siphash24(t_zero_key, file, 28));
	t_write(e->path, file, len);
	t_rejected(e, "data after the last record");
}

static void
only_regular_files_are_loaded_or_replaced(void **state)
{
	struct t_env *e = *state;
	char target[160], cmd[256];
	uint8_t file[2048];
	size_t len = t_saved(e, file, sizeof(file)), saved;
	struct stat st;

	/* A symbolic link: not followed on load, not replaced on save. */
	snprintf(target, sizeof(target), "%s/target", e->dir);
	t_write(target, (const uint8_t *)"precious\n", 9);
	assert_int_equal(unlink(e->path), 0);
	assert_int_equal(symlink(target, e->path), 0);
	t_rejected(e, "symbolic link");
	assert_false(
	    persist_save(e->c, e->path, T_ANCHOR, T_NOW, T_WALL, &saved, e->err, sizeof(e->err)));
	assert_non_null(strstr(e->err, "symbolic link"));
	assert_int_equal(lstat(target, &st), 0);
	assert_int_equal(st.st_size, 9);
	assert_int_equal(unlink(e->path), 0);

	/* A FIFO (opening it must not block) and a directory. */
	assert_int_equal(mkfifo(e->path, 0600), 0);
	t_rejected(e, "a FIFO");
	assert_false(
	    persist_save(e->c, e->path, T_ANCHOR, T_NOW, T_WALL, &saved, e->err, sizeof(e->err)));
	assert_non_null(strstr(e->err, "a FIFO"));
	assert_int_equal(unlink(e->path), 0);
	assert_int_equal(mkdir(e->path, 0700), 0);
	t_rejected(e, "a directory");
	assert_int_equal(rmdir(e->path), 0);

	/* No file at all: absent, not an error. */
	assert_int_equal(t_load(e), PERSIST_ABSENT);

	/* A stale temporary file of ours, even a symbolic link, is replaced. */
	snprintf(cmd, sizeof(cmd), "%s.tmp.%ld", e->path, (long)getpid());
	assert_int_equal(symlink(target, cmd), 0);
	assert_true(
	    persist_save(e->c, e->path, T_ANCHOR, T_NOW, T_WALL, &saved, e->err, sizeof(e->err)));
	assert_int_equal(lstat(cmd, &st), -1);
	assert_int_equal(lstat(target, &st), 0);
	assert_int_equal(st.st_size, 9);
	(void)len;
}

static void
owner_and_mode_are_checked(void **state)
{
	struct t_env *e = *state;
	uint8_t file[2048];
	size_t len = t_saved(e, file, sizeof(file));

	t_write(e->path, file, len);
	assert_int_equal(chmod(e->path, 0620), 0);
	t_rejected(e, "writable by group or others");
	assert_int_equal(chmod(e->path, 0602), 0);
	t_rejected(e, "writable by group or others");
	assert_int_equal(chmod(e->path, 0644), 0);
	assert_int_equal(t_load(e), PERSIST_LOADED);
	if (geteuid() != 0)
		skip();
	/* Owned by someone else than root and the daemon's user. */
	e->policy.owner = 4242;
	assert_int_equal(chown(e->path, 4343, 4343), 0);
	t_rejected(e, "owned by uid 4343");
	assert_int_equal(chown(e->path, 4242, 4242), 0);
	assert_int_equal(t_load(e), PERSIST_LOADED);
	assert_int_equal(chown(e->path, 0, 0), 0);
	assert_int_equal(t_load(e), PERSIST_LOADED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(round_trip, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(expired_entries_are_skipped, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(forged_question_must_match_its_key, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(forged_message_must_walk, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(ttl_clamps_apply_to_lifetime_and_records, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(secure_only_under_the_same_anchor, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(anchor_id_depends_on_path_and_contents, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(future_save_time_is_refused, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(truncated_file_is_refused, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(every_bit_flip_is_refused, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(only_regular_files_are_loaded_or_replaced, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(owner_and_mode_are_checked, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
