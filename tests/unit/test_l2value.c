/*
 * l2value: key names, and every way a value read from Redis is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "l2value.h"
#include "t_dns.h"
#include "wire_write.h"

#define T_NOW 1700000000000ull /* wall ms */

static const uint8_t t_secret[] = "fleet secret, 32 bytes or so...";

struct t_val {
	struct l2value_ctx ctx;
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key;
	struct t_dns_msg msg;
	uint8_t val[L2VALUE_MAX];
	size_t len;
	uint8_t out[WIRE_MAX_MSG];
	struct l2value_answer ans;
};

/* t->msg as a value stored at T_NOW for 300 s, validated. */
static void
t_val_encode(struct t_val *t)
{
	t->len = l2value_encode(&t->ctx, &t->key, t->msg.b, t->msg.len, 300, true, T_NOW, t->val,
				sizeof(t->val));
	assert_true(t->len > t->msg.len);
}

static void
t_val_init(struct t_val *t, const char *name, bool secret)
{
	memset(t, 0, sizeof(*t));
	t->ctx = (struct l2value_ctx){.secret = secret ? t_secret : NULL,
				      .secret_len = secret ? sizeof(t_secret) - 1 : 0,
				      .anchor_id = 42,
				      .validating = true};
	t->key = (struct cache_key){.name = t->name,
				    .name_len = t_dns_name(name, t->name),
				    .qtype = WIRE_T_A,
				    .qclass = WIRE_CLASS_IN,
				    .flags = CACHE_KEY_DO};
	t_dns_a(&t->msg, name, 300, 0xc0000201);
	t_val_encode(t);
}

static enum l2value_verdict
t_val_decode(struct t_val *t, uint64_t now)
{
	return l2value_decode(&t->ctx, &t->key, t->val, t->len, now, t->out, sizeof(t->out),
			      &t->ans);
}

static void
test_round_trip_ages_ttls(void **state)
{
	struct t_val t;

	(void)state;
	t_val_init(&t, "mx.example.com", true);
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_OK);
	assert_int_equal(t.ans.len, t.msg.len);
	assert_memory_equal(t.out, t.msg.b, t.msg.len);
	assert_true(t.ans.secure);
	assert_int_equal(t.ans.ttl, 300);
	/* 100.5 s later, on another host: TTLs and lifetime aged alike. */
	assert_int_equal(t_val_decode(&t, T_NOW + 100500), L2VALUE_OK);
	assert_int_equal(t_dns_first_ttl(t.out, t.ans.len), 200);
	assert_int_equal(t.ans.age, 100);
	assert_int_equal(t.ans.ttl, 199);
	assert_int_equal(t.ans.stored_ms, T_NOW);
	assert_int_equal(t.ans.expires_ms, T_NOW + 300000);
}

static void
test_expired_is_a_miss(void **state)
{
	struct t_val t;

	(void)state;
	t_val_init(&t, "mx.example.com", true);
	assert_int_equal(t_val_decode(&t, T_NOW + 300000), L2VALUE_EXPIRED);
	assert_int_equal(t_val_decode(&t, T_NOW + 299999), L2VALUE_OK);
}

static void
test_writer_clock_ahead_ages_nothing(void **state)
{
	struct t_val t;

	(void)state;
	t_val_init(&t, "mx.example.com", true);
	assert_int_equal(t_val_decode(&t, T_NOW - 5000), L2VALUE_OK);
	assert_int_equal(t_dns_first_ttl(t.out, t.ans.len), 300);
	assert_int_equal(t.ans.age, 0);
}

/* A writer's clock far ahead: how long ago it stored the value is not
 * known, and its TTLs would be served unaged for as long as Redis keeps
 * the key (its lifetime plus the stale window). */
static void
test_writer_clock_far_ahead_is_a_miss(void **state)
{
	struct t_val t;

	(void)state;
	t_val_init(&t, "mx.example.com", true);
	assert_int_equal(t_val_decode(&t, T_NOW - L2VALUE_SKEW_MS), L2VALUE_OK);
	assert_int_equal(t_val_decode(&t, T_NOW - L2VALUE_SKEW_MS - 1), L2VALUE_EXPIRED);
	assert_int_equal(t_val_decode(&t, T_NOW - 3600000), L2VALUE_EXPIRED);
}

static void
test_every_flipped_byte_is_refused(void **state)
{
	struct t_val t;

	(void)state;
	t_val_init(&t, "mx.example.com", true);
	for (size_t i = 0; i < t.len; i++) {
		t.val[i] ^= 0x20;
		enum l2value_verdict v = t_val_decode(&t, T_NOW);
		assert_true(v == L2VALUE_BAD_MAC || v == L2VALUE_BAD_FORMAT);
		t.val[i] ^= 0x20;
	}
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_OK);
}

static void
test_truncated_and_garbage(void **state)
{
	struct t_val t;

	(void)state;
	t_val_init(&t, "mx.example.com", true);
	for (size_t n = 0; n < t.len; n++)
		assert_int_not_equal(
		    l2value_decode(&t.ctx, &t.key, t.val, n, T_NOW, t.out, sizeof(t.out), &t.ans),
		    L2VALUE_OK);
	memset(t.val, 'x', t.len);
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_BAD_FORMAT);
	/* A value too large for the reader's buffer is refused, not copied. */
	t_val_init(&t, "mx.example.com", true);
	assert_int_equal(l2value_decode(&t.ctx, &t.key, t.val, t.len, T_NOW, t.out, 10, &t.ans),
			 L2VALUE_BAD_FORMAT);
}

static void
test_other_secret_or_none_is_refused(void **state)
{
	struct t_val t;

	(void)state;
	/* Written without the secret, read with it. */
	t_val_init(&t, "mx.example.com", false);
	t.ctx.secret = t_secret;
	t.ctx.secret_len = sizeof(t_secret) - 1;
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_BAD_MAC);
	/* Written with another secret. */
	t_val_init(&t, "mx.example.com", true);
	t.ctx.secret_len--;
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_BAD_MAC);
}

static void
test_value_copied_under_another_key(void **state)
{
	struct t_val a, b;

	(void)state;
	t_val_init(&a, "mx.example.com", true);
	t_val_init(&b, "mx.example.net", true);
	memcpy(b.val, a.val, a.len);
	b.len = a.len;
	assert_int_equal(t_val_decode(&b, T_NOW), L2VALUE_BAD_QUESTION);
	/* Same name, other type, or other DO/CD flags. */
	a.key.qtype = WIRE_T_AAAA;
	assert_int_equal(t_val_decode(&a, T_NOW), L2VALUE_BAD_QUESTION);
	a.key.qtype = WIRE_T_A;
	a.key.flags = 0;
	assert_int_equal(t_val_decode(&a, T_NOW), L2VALUE_BAD_QUESTION);
	/* Case does not make another question. */
	a.key.flags = CACHE_KEY_DO;
	a.name[1] = 'M';
	assert_int_equal(t_val_decode(&a, T_NOW), L2VALUE_OK);
}

static void
test_message_that_does_not_walk(void **state)
{
	struct t_val t;

	(void)state;
	t_val_init(&t, "mx.example.com", true);
	/* A valid MAC over a message with a count beyond its records: a
	 * writer holding the secret with a bug, still refused. */
	wire_put16(t.msg.b + 6, 2);
	t_val_encode(&t);
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_BAD_MESSAGE);
	/* A message for another name under a value for this one. */
	t_val_init(&t, "mx.example.com", true);
	t_dns_a(&t.msg, "mx.example.org", 300, 1);
	t_val_encode(&t);
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_BAD_MESSAGE);
	/* SERVFAIL is never shared. */
	t_val_init(&t, "mx.example.com", true);
	wire_put16(t.msg.b + 2, (uint16_t)(wire_get16(t.msg.b + 2) | WIRE_SERVFAIL));
	t_val_encode(&t);
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_BAD_MESSAGE);
}

static void
test_secure_needs_secret_and_anchor(void **state)
{
	struct t_val t;

	(void)state;
	t_val_init(&t, "mx.example.com", false);
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_OK);
	assert_false(t.ans.secure);
	/* Not even a value claiming it (status byte set, MAC made without a
	 * secret, as anyone can): a reader without a secret drops it. */
	t.val[5] = L2VALUE_SECURE;
	static const uint8_t nothing[1];
	unsigned ml;
	assert_non_null(HMAC(EVP_sha256(), nothing, 0, t.val, t.len - L2VALUE_MAC_LEN,
			     t.val + t.len - L2VALUE_MAC_LEN, &ml));
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_OK);
	assert_false(t.ans.secure);
	/* With the secret, under another anchor: a validating reader does not
	 * take it at all (that writer's insecure may be bogus here). */
	t_val_init(&t, "mx.example.com", true);
	t.ctx.anchor_id = 43;
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_OTHER_ANCHOR);
	/* A reader not validating takes it, never secure. */
	t.ctx.validating = false;
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_OK);
	assert_false(t.ans.secure);
	t.ctx.anchor_id = 42;
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_OK);
	assert_false(t.ans.secure);
	/* Nor from a writer that validated nothing (its anchor "none"). */
	t_val_init(&t, "mx.example.com", true);
	t.ctx.validating = false;
	t.ctx.anchor_id = 7;
	t_val_encode(&t);
	t.ctx.validating = true;
	t.ctx.anchor_id = 42;
	assert_int_equal(t_val_decode(&t, T_NOW), L2VALUE_OTHER_ANCHOR);
}

static void
test_key_names(void **state)
{
	struct t_val a, b;
	char ka[L2VALUE_KEY_MAX], kb[L2VALUE_KEY_MAX];

	(void)state;
	t_val_init(&a, "mx.example.com", true);
	t_val_init(&b, "MX.Example.COM", true);
	assert_int_equal(l2value_key(&a.ctx, &a.key, ka), sizeof(L2VALUE_KEY_PREFIX) - 1 + 32);
	l2value_key(&b.ctx, &b.key, kb);
	assert_string_equal(ka, kb);
	assert_null(strstr(ka, "example"));
	b.key.flags = 0;
	l2value_key(&b.ctx, &b.key, kb);
	assert_string_not_equal(ka, kb);
	b.key.flags = a.key.flags;
	b.ctx.secret_len--;
	l2value_key(&b.ctx, &b.key, kb);
	assert_string_not_equal(ka, kb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_ages_ttls),
	    cmocka_unit_test(test_expired_is_a_miss),
	    cmocka_unit_test(test_writer_clock_ahead_ages_nothing),
	    cmocka_unit_test(test_writer_clock_far_ahead_is_a_miss),
	    cmocka_unit_test(test_every_flipped_byte_is_refused),
	    cmocka_unit_test(test_truncated_and_garbage),
	    cmocka_unit_test(test_other_secret_or_none_is_refused),
	    cmocka_unit_test(test_value_copied_under_another_key),
	    cmocka_unit_test(test_message_that_does_not_walk),
	    cmocka_unit_test(test_secure_needs_secret_and_anchor),
	    cmocka_unit_test(test_key_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
