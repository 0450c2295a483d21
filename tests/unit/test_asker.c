/*
 * Unit tests for asker (include/asker.h): the daemon asking its own engine,
 * driven through the real engine with the fake resolver and clock of
 * t_engine.h. The owner hears of answers from the loop, never from inside
 * the delivery, and is let go of only once finished and unreferenced.
 */
#include "t_engine.h"

#include "asker.h"

struct t_owner {
	struct asker ask; /* first */
	unsigned answered;
	unsigned gone;
};

static struct t_owner *t_last_gone;

static void
t_answered(struct asker *a)
{
	((struct t_owner *)a)->answered++;
}

static void
t_gone(struct asker *a)
{
	((struct t_owner *)a)->gone++;
	t_last_gone = (struct t_owner *)a;
}

static void
t_loop(struct t_env *t)
{
	ev_run(t->loop, EVRUN_NOWAIT);
}

static void
t_ask_name(struct t_owner *o, uint16_t id, const char *name, uint16_t qtype)
{
	uint8_t w[WIRE_MAX_NAME];

	asker_ask(&o->ask, id, w, t_dns_name(name, w), qtype);
}

/* A miss goes to the resolver; its answer lands under the ID, and the
 * owner hears of it from the loop. */
static void
test_miss_then_answer(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_owner o = {0};
	struct t_dns_msg m;
	(void)state;

	assert_true(asker_init(&o.ask, t->loop, t->qe, 4, t_answered, t_gone));
	t_ask_name(&o, 2, "mx.example.com", WIRE_T_A);
	assert_int_equal(t->fake.n, 1);
	assert_int_equal(o.ask.pending, 1);
	t_dns_a(&m, "mx.example.com", 300, 0xc0000201);
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(o.answered, 0); /* not from inside the delivery */
	assert_non_null(o.ask.replies[2].pkt);
	assert_null(o.ask.replies[0].pkt);
	assert_int_equal(wire_get16(o.ask.replies[2].pkt), 2);
	assert_true(wire_get16(o.ask.replies[2].pkt + 2) & WIRE_QR);
	/* Asked as a mail server asks: recursion wanted, no DNSSEC records. */
	assert_true(t->fake.reqs[0].flags == 0);
	t_loop(t);
	assert_int_equal(o.answered, 1);
	asker_finish(&o.ask);
	assert_int_equal(o.gone, 1);
	t_env_free(t);
}

/* A cached question is answered during the ask; the owner still hears
 * of it only from the loop, once, after the whole batch. */
static void
test_cached_batch(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_owner o = {0};
	struct t_dns_msg m;
	(void)state;

	t_ask(t, 0, 7, "a.example.com", WIRE_T_A, WIRE_RD);
	t_dns_a(&m, "a.example.com", 300, 0xc0000202);
	t_resolve(t, 0, &m, false, false);
	assert_true(asker_init(&o.ask, t->loop, t->qe, 4, t_answered, t_gone));
	t_ask_name(&o, 0, "a.example.com", WIRE_T_A);
	t_ask_name(&o, 1, "b.example.com", WIRE_T_A);
	assert_non_null(o.ask.replies[0].pkt);
	assert_int_equal(o.ask.pending, 1);
	t_loop(t);
	assert_int_equal(o.answered, 0); /* b is still out */
	t_dns_a(&m, "b.example.com", 300, 0xc0000203);
	t_resolve(t, 1, &m, false, false);
	t_loop(t);
	assert_int_equal(o.answered, 1);
	asker_finish(&o.ask);
	assert_int_equal(o.gone, 1);
	t_env_free(t);
}

/* An ID beyond the table counts as answered without a reply. */
static void
test_bad_id_counts_as_answered(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_owner o = {0};
	(void)state;

	assert_true(asker_init(&o.ask, t->loop, t->qe, 2, t_answered, t_gone));
	t_ask_name(&o, 5, "c.example.com", WIRE_T_A);
	assert_int_equal(t->fake.n, 0);
	assert_int_equal(o.ask.pending, 0);
	t_loop(t);
	assert_int_equal(o.answered, 1);
	asker_finish(&o.ask);
	t_env_free(t);
}

/* Finished while the engine still holds it (a lookup running): gone only
 * when the engine lets go, here at the lookup's deadline. */
static void
test_finish_while_held(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_owner *o = calloc(1, sizeof(*o));
	(void)state;

	assert_non_null(o);
	assert_true(asker_init(&o->ask, t->loop, t->qe, 2, t_answered, t_gone));
	t_ask_name(o, 0, "slow.example.com", WIRE_T_MX);
	assert_true(o->ask.holds > 0);
	asker_finish(&o->ask);
	assert_int_equal(o->gone, 0);
	t_last_gone = NULL;
	t_advance_and_fire(t, 2000); /* past timeout_ms: SERVFAIL, released */
	assert_ptr_equal(t_last_gone, o);
	assert_int_equal(o->answered, 0); /* finished: no more news */
	free(o);
	t_env_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_miss_then_answer),
	    cmocka_unit_test(test_cached_batch),
	    cmocka_unit_test(test_bad_id_counts_as_answered),
	    cmocka_unit_test(test_finish_while_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
