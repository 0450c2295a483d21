/*
 * Unit tests for inflight (include/inflight.h): the table on its own,
 * with keys prepared by a real cache and the client of t_engine.h.
 */
#include <math.h>

#include "t_engine.h"

struct t_tab {
	struct ev_loop *loop;
	struct cache *cache;
	struct inflight_table *t;
	struct inflight *expired;
	unsigned expiries;
	struct t_client c[3]; /* outlive the test: teardown frees their waiters */
};

static void
t_expire(void *arg, struct inflight *f)
{
	struct t_tab *tt = arg;

	tt->expired = f;
	tt->expiries++;
}

static int
t_setup(void **state)
{
	struct t_tab *tt = calloc(1, sizeof(*tt));

	assert_non_null(tt);
	assert_non_null(tt->loop = ev_loop_new(EVFLAG_AUTO));
	assert_non_null(tt->cache = cache_new(1 << 16, t_seed));
	assert_non_null(tt->t = inflight_new(tt->loop, t_expire, tt));
	for (size_t i = 0; i < 3; i++)
		tt->c[i].base.ops = &t_client_ops;
	*state = tt;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_tab *tt = *state;
	struct inflight *f;

	while ((f = inflight_oldest(tt->t))) {
		struct inflight_waiter *w;
		while ((w = inflight_pop(f)))
			inflight_waiter_free(w);
		inflight_remove(f, 0);
	}
	inflight_free(tt->t);
	cache_free(tt->cache);
	ev_loop_destroy(tt->loop);
	free(tt);
	return 0;
}

/* Key and prepared bytes for name/qtype; name must outlive the key. */
static void
t_key(struct t_tab *tt, const uint8_t *name, size_t len, uint16_t qtype, struct cache_key *key,
      struct cache_kbytes *k)
{
	*key = (struct cache_key){
	    .name = name, .name_len = len, .qtype = qtype, .qclass = WIRE_CLASS_IN};
	cache_key_prepare(tt->cache, key, k);
}

static struct inflight *
t_start(struct t_tab *tt, const char *dotted, uint16_t qtype, enum query_origin origin,
	uint64_t now_us)
{
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key;
	struct cache_kbytes k;
	enum budget_verdict why;

	t_key(tt, name, t_dns_name(dotted, name), qtype, &key, &k);
	struct inflight *f = inflight_start(tt->t, &key, &k, origin, now_us, &why);
	assert_non_null(f);
	assert_int_equal(why, BUDGET_OK);
	return f;
}

static struct inflight *
t_find(struct t_tab *tt, const char *dotted, uint16_t qtype)
{
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key;
	struct cache_kbytes k;

	t_key(tt, name, t_dns_name(dotted, name), qtype, &key, &k);
	return inflight_find(tt->t, &k);
}

static void
test_find_by_question(void **state)
{
	struct t_tab *tt = *state;
	struct inflight *f = t_start(tt, "Mail.Example.com", WIRE_T_A, QUERY_CLIENT, 0);

	assert_ptr_equal(t_find(tt, "mail.example.COM", WIRE_T_A), f); /* any case */
	assert_memory_equal(f->name, "\4mail", 5);		       /* stored lowercased */
	assert_null(t_find(tt, "mail.example.com", WIRE_T_AAAA));
	assert_null(t_find(tt, "mx.example.com", WIRE_T_A));
	assert_int_equal(inflight_count(tt->t), 1);
	assert_int_equal(inflight_background(tt->t), 0);
	t_start(tt, "x.example.com", WIRE_T_A, QUERY_CHASER, 0);
	assert_int_equal(inflight_background(tt->t), 1);
	inflight_remove(f, 0);
	assert_null(t_find(tt, "mail.example.com", WIRE_T_A));
	assert_int_equal(inflight_count(tt->t), 1);
}

static void
test_oldest_first(void **state)
{
	struct t_tab *tt = *state;
	struct inflight *a = t_start(tt, "a.example", WIRE_T_A, QUERY_CLIENT, 1);
	struct inflight *b = t_start(tt, "b.example", WIRE_T_A, QUERY_CLIENT, 2);
	struct inflight *c = t_start(tt, "c.example", WIRE_T_A, QUERY_CLIENT, 3);

	assert_ptr_equal(inflight_oldest(tt->t), a);
	inflight_remove(b, 0); /* from the middle */
	assert_ptr_equal(inflight_oldest(tt->t), a);
	inflight_remove(a, 0);
	assert_ptr_equal(inflight_oldest(tt->t), c);
	inflight_remove(c, 0);
	assert_null(inflight_oldest(tt->t));
}

static void
test_waiters_in_order(void **state)
{
	struct t_tab *tt = *state;
	struct inflight *f = t_start(tt, "w.example", WIRE_T_A, QUERY_CLIENT, 0);
	struct t_client *c = tt->c;
	struct wire_query q = {0};

	for (uint16_t i = 0; i < 3; i++) {
		q.id = i;
		assert_true(inflight_join(f, &c[i].base, &q, i, 1000 + i, 0));
	}
	assert_int_equal(f->nwaiters, 3);
	assert_int_equal(inflight_waiting(tt->t), 3);
	for (uint16_t i = 0; i < 3; i++) {
		struct inflight_waiter *w = inflight_pop(f);
		assert_non_null(w);
		assert_int_equal(w->q.id, i);
		assert_ptr_equal(w->client, &c[i].base);
		inflight_waiter_free(w);
	}
	assert_null(inflight_pop(f));
	assert_int_equal(inflight_waiting(tt->t), 0);
	/* The tail was reset: a new waiter is found again. */
	assert_true(inflight_join(f, &c[0].base, &q, 0, 1, 0));
	assert_ptr_equal(f->waiters->client, &c[0].base);
}

static void
test_timer_follows_oldest_waiter(void **state)
{
	struct t_tab *tt = *state;
	struct inflight *f = t_start(tt, "t.example", WIRE_T_A, QUERY_CLIENT, 10000u * 1000u);
	struct wire_query q = {0};

	/* No waiter: the orphan's time after the start. */
	inflight_arm(f, 10000, 2000);
	assert_true(fabs(ev_timer_remaining(tt->loop, &f->timer) - 2.0) < 0.01);
	assert_true(inflight_join(f, &tt->c[0].base, &q, 0, 10500, 10200));
	inflight_arm(f, 10000, 2000);
	assert_true(fabs(ev_timer_remaining(tt->loop, &f->timer) - 0.2) < 0.01); /* stale time */
	ev_feed_event(tt->loop, &f->timer, EV_TIMER);
	ev_invoke_pending(tt->loop);
	assert_int_equal(tt->expiries, 1);
	assert_ptr_equal(tt->expired, f);
}

static void
test_budget_charged_and_given_back(void **state)
{
	struct t_tab *tt = *state;
	struct budget_options bo = {
	    .zone_inflight = 1, .zone_background = 1, .zone_bg_per_sec = 10};
	struct budget *b = budget_new(&bo, 16);
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key;
	struct cache_kbytes k;
	enum budget_verdict why;

	assert_non_null(b);
	inflight_set_budget(tt->t, b);
	struct inflight *f = t_start(tt, "a.zone.example", WIRE_T_A, QUERY_CLIENT, 0);
	assert_int_equal(budget_zones(b), 1);
	t_key(tt, name, t_dns_name("b.zone.example", name), WIRE_T_A, &key, &k);
	assert_null(inflight_start(tt->t, &key, &k, QUERY_CLIENT, 0, &why));
	assert_int_equal(why, BUDGET_ZONE_FULL);
	assert_int_equal(inflight_count(tt->t), 1);
	inflight_remove(f, 0);
	assert_non_null(inflight_start(tt->t, &key, &k, QUERY_CLIENT, 0, &why));
	assert_int_equal(why, BUDGET_OK);
	while ((f = inflight_oldest(tt->t)))
		inflight_remove(f, 0);
	inflight_set_budget(tt->t, NULL);
	budget_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_find_by_question, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_oldest_first, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_waiters_in_order, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_timer_follows_oldest_waiter, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_budget_charged_and_given_back, t_setup,
					    t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
