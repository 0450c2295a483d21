/*
 * Unit tests for chaser (include/chaser.h): what it chases for an MX
 * answer (through the engine on the bench of t_engine.h, so each chase
 * is a request the fake resolver records) and the additional records it
 * puts in MX replies from the cache.
 */
#include "t_engine.h"

static struct chaser *
t_chaser_with(struct t_env *t, struct chaser_options co)
{
	assert_non_null(t->chaser = chaser_new(&co, t->qe, t->cache, &t->stats));
	return t->chaser;
}

static void
t_answered(struct t_env *t, const char *qname, const struct t_dns_msg *m, bool secure)
{
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key = {.name = name,
				.name_len = t_dns_name(qname, name),
				.qtype = WIRE_T_MX,
				.qclass = WIRE_CLASS_IN};

	chaser_answered(t->chaser, &key, m->b, m->len, secure);
}

static void
test_chases_addresses(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	uint8_t mx2[WIRE_MAX_NAME];
	size_t mx2len = t_dns_name("mx2.example.com", mx2);
	(void)state;

	t_chaser_with(t, (struct chaser_options){.enabled = true, .max_exchangers = 8});
	t_dns_mx(&m, "example.com", 300,
		 (const char *[]){"mx1.example.com", "mx2.example.com", NULL});
	t_answered(t, "example.com", &m, false);
	assert_int_equal(t->fake.n, 4);
	assert_int_equal(t->fake.reqs[2].qtype, WIRE_T_A);
	assert_int_equal(t->fake.reqs[2].name_len, mx2len);
	assert_memory_equal(t->fake.reqs[2].name, mx2, mx2len);
	assert_int_equal(t->stats.mx_answers, 1);
	assert_int_equal(t->stats.mx_exchangers, 2);
	/* The same answer again: the lookups are running. */
	t_answered(t, "example.com", &m, false);
	assert_int_equal(t->fake.n, 4);
	assert_int_equal(t->stats.mx_skipped_running, 4);
	t_env_free(t);
}

static void
test_tlsa_only_for_secure(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_chaser_with(t,
		      (struct chaser_options){.enabled = true, .max_exchangers = 8, .tlsa = true});
	t_dns_mx(&m, "example.com", 300, (const char *[]){"mx1.example.com", NULL});
	t_answered(t, "example.com", &m, false);
	assert_int_equal(t->fake.n, 2); /* no TLSA for an insecure MX set */
	t_dns_mx(&m, "example.org", 300, (const char *[]){"mx1.example.org", NULL});
	t_answered(t, "example.org", &m, true);
	assert_int_equal(t->fake.n, 5);
	assert_int_equal(t->fake.reqs[4].qtype, WIRE_T_TLSA);
	assert_memory_equal(t->fake.reqs[4].name, "\3_25\4_tcp\3mx1", 13);
	t_env_free(t);
}

static void
test_disabled_or_not_mx(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	uint8_t name[WIRE_MAX_NAME];
	(void)state;

	t_chaser_with(t, (struct chaser_options){.enabled = false, .max_exchangers = 8});
	t_dns_mx(&m, "example.com", 300, (const char *[]){"mx1.example.com", NULL});
	t_answered(t, "example.com", &m, false);
	assert_int_equal(t->fake.n, 0);
	chaser_free(t->chaser);
	t_chaser_with(t, (struct chaser_options){.enabled = true, .max_exchangers = 8});
	struct cache_key a = {.name = name,
			      .name_len = t_dns_name("example.com", name),
			      .qtype = WIRE_T_A,
			      .qclass = WIRE_CLASS_IN};
	chaser_answered(t->chaser, &a, m.b, m.len, false);
	assert_int_equal(t->fake.n, 0);
	t_env_free(t);
}

static void
test_additional_from_cache(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m, a;
	uint8_t name[WIRE_MAX_NAME];
	struct wire_query q = {.qtype = WIRE_T_MX, .qclass = WIRE_CLASS_IN};
	(void)state;

	t_chaser_with(
	    t, (struct chaser_options){.enabled = true, .max_exchangers = 8, .additional = true});
	t_dns_a(&a, "mx1.example.com", 300, 0xc0000201);
	struct cache_key key = {.name = name,
				.name_len = t_dns_name("mx1.example.com", name),
				.qtype = WIRE_T_A,
				.qclass = WIRE_CLASS_IN};
	assert_true(cache_insert(t->cache, &key, a.b, a.len, 300, 0, clock_us() / 1000u));
	t_dns_mx(&m, "example.com", 300,
		 (const char *[]){"mx1.example.com", "mx2.example.com", NULL});
	size_t len = chaser_additional(t->chaser, &q, m.b, m.len, sizeof(m.b));
	assert_int_equal(len, m.len + 12 + 4); /* one A record, owner as a pointer */
	assert_int_equal(wire_get16(m.b + 10), 1);
	assert_int_equal(t->stats.mx_additional, 1);
	/* Within the limit only. */
	t_dns_mx(&m, "example.com", 300, (const char *[]){"mx1.example.com", NULL});
	assert_int_equal(chaser_additional(t->chaser, &q, m.b, m.len, m.len + 10), m.len);
	t_env_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chases_addresses),
	    cmocka_unit_test(test_tlsa_only_for_secure),
	    cmocka_unit_test(test_disabled_or_not_mx),
	    cmocka_unit_test(test_additional_from_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
