/*
 * Unit tests for the query engine (include/query.h): the real pipeline
 * against a fake resolver (each request recorded; the test answers it
 * when it chooses) and a fake clock (t_engine.h). No sockets, no libunbound. Timers
 * are fired through libev (ev_feed_event) after the clock is moved, so
 * each test says exactly when time passes.
 */
#include "t_engine.h"

/* ---- tests ---------------------------------------------------------- */

static void
test_miss_then_hit(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_ask(t, 0, 0x1234, "mail.example.com", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->fake.n, 1);
	assert_int_equal(t->c[0].replies, 0);
	assert_int_equal(query_inflight(t->qe), 1);
	assert_int_equal(t->fake.reqs[0].lane, RESOLVER_MAIN);
	t_dns_a(&m, "mail.example.com", 300, 0x01020304);
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(t->c[0].replies, 1);
	assert_int_equal(wire_get16(t->c[0].last), 0x1234);
	assert_int_equal(t_rcode(&t->c[0]), WIRE_NOERROR);
	assert_int_equal(wire_get16(t->c[0].last + 6), 1);
	assert_int_equal(query_inflight(t->qe), 0);

	t->now_us += 100u * 1000000u;
	t_ask(t, 1, 0x4321, "MAIL.example.com", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->fake.n, 1); /* from the cache */
	assert_int_equal(t->c[1].replies, 1);
	assert_int_equal(wire_get16(t->c[1].last), 0x4321);
	assert_int_equal(t_dns_first_ttl(t->c[1].last, t->c[1].len), 200); /* aged */
	assert_memory_equal(t->c[1].last + WIRE_HEADER_LEN, "\4MAIL", 5);  /* its case */
	t_env_free(t);
}

static void
test_coalescing(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_ask(t, 0, 1, "mx.example.org", WIRE_T_A, WIRE_RD);
	t_ask(t, 1, 2, "MX.EXAMPLE.ORG", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->fake.n, 1);
	assert_int_equal(t->stats.inflight_joined, 1);
	assert_int_equal(query_waiting(t->qe), 2);
	t_dns_a(&m, "mx.example.org", 60, 0x0a000001);
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(t->c[0].replies, 1);
	assert_int_equal(t->c[1].replies, 1);
	assert_int_equal(wire_get16(t->c[0].last), 1);
	assert_int_equal(wire_get16(t->c[1].last), 2);
	assert_memory_equal(t->c[1].last + WIRE_HEADER_LEN, "\2MX", 3);
	assert_int_equal(query_waiting(t->qe), 0);
	t_env_free(t);
}

static void
test_deadline_servfail(void **state)
{
	struct t_env *t = t_env_new(NULL);
	(void)state;

	t_ask(t, 0, 7, "slow.example.net", WIRE_T_A, WIRE_RD);
	struct inflight *f = inflight_oldest(query_table(t->qe));
	assert_non_null(f);
	assert_true(ev_timer_remaining(t->loop, &f->timer) > 0.99 &&
		    ev_timer_remaining(t->loop, &f->timer) < 1.01);
	t_advance_and_fire(t, 999);
	assert_int_equal(t->c[0].replies, 0); /* not yet */
	t_advance_and_fire(t, 1);
	assert_int_equal(t->c[0].replies, 1);
	assert_int_equal(t_rcode(&t->c[0]), WIRE_SERVFAIL);
	assert_int_equal(t->stats.upstream_timeouts, 1);
	assert_int_equal(t->stats.servfail[STATS_SF_DEADLINE], 1);
	/* The lookup runs on as an orphan, then is given up. */
	assert_int_equal(query_inflight(t->qe), 1);
	t_advance_and_fire(t, 1000);
	assert_int_equal(query_inflight(t->qe), 0);
	assert_false(t->fake.reqs[0].live);
	t_env_free(t);
}

static void
t_stale_opts(struct query_options *o)
{
	o->serve_stale = true;
	o->stale_client_ms = 500;
}

/* An entry for name/A with TTL 60, then let it expire. */
static void
t_expired_entry(struct t_env *t, const char *name)
{
	struct t_dns_msg m;

	t_ask(t, 3, 9, name, WIRE_T_A, WIRE_RD);
	t_dns_a(&m, name, 60, 0x0a000002);
	t_resolve(t, t->fake.n - 1, &m, false, false);
	t->now_us += 61u * 1000000u;
}

static void
test_stale_on_failure(void **state)
{
	struct t_env *t = t_env_new(t_stale_opts);
	(void)state;

	t_expired_entry(t, "old.example.com");
	t_ask(t, 0, 5, "old.example.com", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->fake.n, 2);
	t_resolve(t, 1, NULL, false, false);
	assert_int_equal(t->c[0].replies, 1);
	assert_int_equal(t_rcode(&t->c[0]), WIRE_NOERROR);
	assert_int_equal(t_dns_first_ttl(t->c[0].last, t->c[0].len), 30);
	assert_int_equal(t->stats.stale_served, 1);
	assert_int_equal(t->stats.upstream_failures, 1);
	t_env_free(t);
}

static void
test_stale_client_timer(void **state)
{
	struct t_env *t = t_env_new(t_stale_opts);
	struct t_dns_msg m;
	(void)state;

	t_expired_entry(t, "old.example.com");
	t_ask(t, 0, 5, "old.example.com", WIRE_T_A, WIRE_RD);
	t_advance_and_fire(t, 500);
	assert_int_equal(t->c[0].replies, 1);
	assert_int_equal(t_dns_first_ttl(t->c[0].last, t->c[0].len), 30);
	assert_int_equal(t->stats.stale_served, 1);
	/* The lookup goes on and fills the cache when it answers. */
	assert_int_equal(query_inflight(t->qe), 1);
	t_dns_a(&m, "old.example.com", 600, 0x0a000003);
	t_resolve(t, 1, &m, false, false);
	t_ask(t, 1, 6, "old.example.com", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->fake.n, 2);
	assert_int_equal(t_dns_first_ttl(t->c[1].last, t->c[1].len), 600);
	t_env_free(t);
}

static void
t_refresh_opts(struct query_options *o)
{
	o->refresh = true;
}

static void
test_refresh_near_expiry(void **state)
{
	struct t_env *t = t_env_new(t_refresh_opts);
	struct t_dns_msg m;
	(void)state;

	t_ask(t, 0, 1, "example.com", WIRE_T_MX, WIRE_RD);
	t_dns_mx(&m, "example.com", 100, (const char *[]){"mx1.example.com", NULL});
	t_resolve(t, 0, &m, false, false);
	t->now_us += 50u * 1000000u;
	t_ask(t, 1, 2, "example.com", WIRE_T_MX, WIRE_RD);
	assert_int_equal(t->fake.n, 1); /* half way: no refresh */
	t->now_us += 45u * 1000000u;
	t_ask(t, 1, 3, "example.com", WIRE_T_MX, WIRE_RD);
	assert_int_equal(t->c[1].replies, 2); /* the client is answered from the cache */
	assert_int_equal(t->fake.n, 2);
	assert_int_equal(t->fake.reqs[1].qtype, WIRE_T_MX);
	assert_int_equal(t->fake.reqs[1].lane, RESOLVER_SPARE);
	assert_int_equal(t->stats.refreshes, 1);
	/* A second hit while it runs starts nothing more. */
	t_ask(t, 1, 4, "example.com", WIRE_T_MX, WIRE_RD);
	assert_int_equal(t->fake.n, 2);
	t_env_free(t);
}

static void
test_chaser_exchangers(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_chaser(t, 8);
	t_ask(t, 0, 1, "example.com", WIRE_T_MX, WIRE_RD);
	t_dns_mx(&m, "example.com", 300,
		 (const char *[]){"mx1.example.com", "mx2.example.com", NULL});
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(t->c[0].replies, 1); /* answered before the chase */
	assert_int_equal(t->fake.n, 5);	      /* A and AAAA of each */
	assert_int_equal(t->fake.reqs[1].qtype, WIRE_T_A);
	assert_int_equal(t->fake.reqs[2].qtype, WIRE_T_AAAA);
	assert_int_equal(t->stats.mx_prefetches, 4);
	t_env_free(t);
}

static void
test_chaser_null_mx(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_chaser(t, 8);
	t_ask(t, 0, 1, "nomail.example.com", WIRE_T_MX, WIRE_RD);
	t_dns_mx(&m, "nomail.example.com", 300, (const char *[]){".", NULL});
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(t->fake.n, 1);
	assert_int_equal(t->stats.mx_null, 1);
	t_env_free(t);
}

static void
test_chaser_implicit_mx(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	uint8_t self[WIRE_MAX_NAME];
	size_t slen = t_dns_name("host.example.com", self);
	(void)state;

	t_chaser(t, 8);
	t_ask(t, 0, 1, "host.example.com", WIRE_T_MX, WIRE_RD);
	t_dns_nodata(&m, "host.example.com", WIRE_T_MX, 300);
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(t->stats.mx_implicit, 1);
	assert_int_equal(t->fake.n, 3);
	assert_int_equal(t->fake.reqs[1].name_len, slen);
	assert_memory_equal(t->fake.reqs[1].name, self, slen);
	assert_int_equal(t->fake.reqs[1].qtype, WIRE_T_A);
	t_env_free(t);
}

static void
test_chaser_max(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_chaser(t, 1);
	t_ask(t, 0, 1, "example.com", WIRE_T_MX, WIRE_RD);
	t_dns_mx(&m, "example.com", 300,
		 (const char *[]){"mx1.example.com", "mx2.example.com", "mx3.example.com", NULL});
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(t->fake.n, 3); /* the most preferred exchanger only */
	assert_int_equal(t->stats.mx_over_limit, 2);
	t_env_free(t);
}

static void
test_chaser_zone_budget(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct budget_options bo = {
	    .zone_inflight = 10, .zone_background = 1, .zone_bg_per_sec = 100};
	struct t_dns_msg m;
	(void)state;

	assert_non_null(t->budget = budget_new(&bo, 64));
	query_set_budget(t->qe, t->budget);
	t_chaser(t, 8);
	t_ask(t, 0, 1, "example.com", WIRE_T_MX, WIRE_RD);
	t_dns_mx(&m, "example.com", 300,
		 (const char *[]){"mx1.victim.org", "mx2.victim.org", NULL});
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(t->fake.n, 2); /* one background lookup for victim.org */
	assert_int_equal(t->stats.mx_zone_budget, 3);
	t_env_free(t);
}

static void
test_bogus(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_ask(t, 0, 1, "bad.example.com", WIRE_T_A, WIRE_RD);
	t_dns_a(&m, "bad.example.com", 300, 0x01010101);
	t_resolve(t, 0, &m, false, true);
	assert_int_equal(t_rcode(&t->c[0]), WIRE_SERVFAIL);
	assert_int_equal(t->stats.upstream_bogus, 1);
	assert_int_equal(t->stats.servfail[STATS_SF_BOGUS], 1);

	/* With CD the client takes the data as it is. */
	t_ask(t, 1, 2, "bad.example.com", WIRE_T_A, WIRE_RD | WIRE_CD);
	assert_int_equal(t->fake.n, 2);
	assert_int_equal(t->fake.reqs[1].flags, CACHE_KEY_CD);
	t_resolve(t, 1, &m, false, true);
	assert_int_equal(t_rcode(&t->c[1]), WIRE_NOERROR);
	assert_int_equal(wire_get16(t->c[1].last + 6), 1);
	t_env_free(t);
}

static void
test_rd0(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_ask(t, 0, 1, "x.example.com", WIRE_T_A, 0);
	assert_int_equal(t->fake.n, 0);
	assert_int_equal(t_rcode(&t->c[0]), WIRE_REFUSED);
	t_ask(t, 1, 2, "x.example.com", WIRE_T_A, WIRE_RD);
	t_dns_a(&m, "x.example.com", 300, 0x01010101);
	t_resolve(t, 0, &m, false, false);
	t_ask(t, 0, 3, "x.example.com", WIRE_T_A, 0); /* cached: answered */
	assert_int_equal(t_rcode(&t->c[0]), WIRE_NOERROR);
	assert_int_equal(t->fake.n, 1);
	t_env_free(t);
}

static void
test_zone_share(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct budget_options bo = {
	    .zone_inflight = 1, .zone_background = 1, .zone_bg_per_sec = 10};
	(void)state;

	assert_non_null(t->budget = budget_new(&bo, 64));
	query_set_budget(t->qe, t->budget);
	t_ask(t, 0, 1, "a.flood.example", WIRE_T_A, WIRE_RD);
	t_ask(t, 1, 2, "b.flood.example", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->fake.n, 1);
	assert_int_equal(t_rcode(&t->c[1]), WIRE_SERVFAIL);
	assert_int_equal(t->stats.inflight_zone_capped, 1);
	assert_int_equal(t->stats.servfail[STATS_SF_ZONE_SHARE], 1);
	t_ask(t, 2, 3, "a.other.example", WIRE_T_A, WIRE_RD); /* another zone */
	assert_int_equal(t->fake.n, 2);
	t_env_free(t);
}

static void
t_small_table(struct query_options *o)
{
	o->max_inflight = 1;
}

static void
test_jostle(void **state)
{
	struct t_env *t = t_env_new(t_small_table);
	(void)state;

	t_ask(t, 0, 1, "a.example.com", WIRE_T_A, WIRE_RD);
	t->now_us += 100u * 1000u;
	t_ask(t, 1, 2, "b.example.com", WIRE_T_A, WIRE_RD); /* too soon to give way */
	assert_int_equal(t_rcode(&t->c[1]), WIRE_SERVFAIL);
	assert_int_equal(t->stats.servfail[STATS_SF_TABLE_FULL], 1);
	assert_int_equal(t->fake.n, 1);
	t->now_us += 100u * 1000u;
	t_ask(t, 2, 3, "c.example.com", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->stats.inflight_jostled, 1);
	assert_int_equal(t_rcode(&t->c[0]), WIRE_SERVFAIL);
	assert_false(t->fake.reqs[0].live);
	assert_int_equal(t->fake.n, 2);
	assert_int_equal(query_inflight(t->qe), 1);
	assert_int_equal(t->c[2].replies, 0);
	t_env_free(t);
}

static void
t_table_of_20(struct query_options *o)
{
	o->max_inflight = 20;
}

/* A flood that fills the table from one zone gives way to another zone's
 * question at once (it holds eight times more), while the flood's own new
 * questions wait for lookups old enough to jostle; other zones' lookups
 * are never the ones given up. */
static void
test_jostle_is_fair_between_zones(void **state)
{
	struct t_env *t = t_env_new(t_table_of_20);
	struct budget_options bo = {
	    .zone_inflight = 20, .zone_background = 1, .zone_bg_per_sec = 10};
	char name[64];
	(void)state;

	assert_non_null(t->budget = budget_new(&bo, 64));
	query_set_budget(t->qe, t->budget);
	t_ask(t, 1, 1, "mx.one.example", WIRE_T_A, WIRE_RD);
	for (int i = 0; i < 19; i++) {
		snprintf(name, sizeof(name), "r%d.flood.example", i);
		t_ask(t, 0, (uint16_t)(10 + i), name, WIRE_T_A, WIRE_RD);
	}
	assert_int_equal(query_inflight(t->qe), 20);
	/* Young, but the flood's zone is heavy: a flood lookup gives way. */
	t_ask(t, 2, 2, "mx.two.example", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->stats.inflight_jostled, 1);
	assert_int_equal(t->c[1].replies, 0); /* one.example's lookup goes on */
	assert_int_equal(t_rcode(&t->c[0]), WIRE_SERVFAIL);
	/* The flood's next question finds nobody old enough to give way. */
	t_ask(t, 0, 99, "r99.flood.example", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->stats.inflight_jostled, 1);
	assert_int_equal(t->stats.servfail[STATS_SF_TABLE_FULL], 1);
	/* Once old, it may: but still at the flood's expense, never one.example's. */
	t->now_us += 300u * 1000u;
	t_ask(t, 0, 100, "r100.flood.example", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->stats.inflight_jostled, 2);
	assert_int_equal(t->c[1].replies, 0);
	t_env_free(t);
}

/* Waiters are bounded for all lookups together (8 per slot of the
 * table), not only per lookup. */
static void
test_waiters_bounded_in_all(void **state)
{
	struct t_env *t = t_env_new(t_small_table);
	(void)state;

	for (uint16_t i = 0; i < 9; i++)
		t_ask(t, 0, (uint16_t)(1 + i), "a.example.com", WIRE_T_A, WIRE_RD);
	assert_int_equal(query_waiting(t->qe), 8);
	assert_int_equal(t->stats.servfail[STATS_SF_WAITERS], 1);
	t_env_free(t);
}

/* A question its zone could not take anyway makes nobody give way. */
static void
test_no_jostle_for_a_capped_zone(void **state)
{
	struct t_env *t = t_env_new(t_table_of_20);
	struct budget_options bo = {
	    .zone_inflight = 2, .zone_background = 1, .zone_bg_per_sec = 10};
	char name[64];
	(void)state;

	assert_non_null(t->budget = budget_new(&bo, 64));
	query_set_budget(t->qe, t->budget);
	for (int i = 0; i < 18; i++) {
		snprintf(name, sizeof(name), "mx.z%d.example", i);
		t_ask(t, 1, (uint16_t)(10 + i), name, WIRE_T_A, WIRE_RD);
	}
	t_ask(t, 0, 1, "a.flood.example", WIRE_T_A, WIRE_RD);
	t_ask(t, 0, 2, "b.flood.example", WIRE_T_A, WIRE_RD);
	assert_int_equal(query_inflight(t->qe), 20);
	t->now_us += 300u * 1000u;
	t_ask(t, 0, 3, "c.flood.example", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->stats.inflight_jostled, 0);
	assert_int_equal(t->stats.servfail[STATS_SF_ZONE_SHARE], 1);
	assert_int_equal(t->c[1].replies, 0);
	t_env_free(t);
}

/* A tier in front of the fake resolver, as a shared cache would sit: it
 * answers the names it holds itself (later, when the test says) and
 * passes every other question on. */
struct t_tier {
	struct resolver base;
	struct resolver *next;
	const char *holds; /* the one name it has an answer for */
	struct t_req own[4];
	size_t n;
	/* What the engine showed it to keep (store), the last one's details. */
	unsigned stores;
	uint16_t stored_qtype;
	uint32_t stored_ttl, stored_linger;
	bool stored_secure;
};

static struct resolver_req *
t_tier_resolve(struct resolver *r, const struct resolver_question *q, resolver_cb cb, void *arg)
{
	struct t_tier *tier = (struct t_tier *)r;
	uint8_t held[WIRE_MAX_NAME];
	size_t hlen = t_dns_name(tier->holds, held);

	if (q->name_len != hlen || memcmp(q->name, held, hlen) != 0 || tier->n == 4)
		return resolver_resolve(tier->next, q, cb, arg);
	tier->own[tier->n] = (struct t_req){.cb = cb, .arg = arg, .live = true};
	return (struct resolver_req *)&tier->own[tier->n++];
}

static void
t_tier_cancel(struct resolver *r, struct resolver_req *req)
{
	struct t_tier *tier = (struct t_tier *)r;
	struct t_req *own = (struct t_req *)req;

	if (own >= tier->own && own < tier->own + 4)
		own->live = false;
	else
		resolver_cancel(tier->next, req);
}

static void
t_tier_store(struct resolver *r, const struct resolver_question *q, const uint8_t *pkt, size_t len,
	     uint32_t ttl, uint32_t linger, bool secure)
{
	struct t_tier *tier = (struct t_tier *)r;

	assert_true(len > WIRE_HEADER_LEN);
	assert_int_equal(wire_get16(pkt), 0); /* the stored form: ID 0 */
	tier->stores++;
	tier->stored_qtype = q->qtype;
	tier->stored_ttl = ttl;
	tier->stored_linger = linger;
	tier->stored_secure = secure;
}

static const struct resolver_ops t_tier_ops = {
    .resolve = t_tier_resolve, .cancel = t_tier_cancel, .store = t_tier_store};

/* The engine with tier in front of its fake resolver. */
static void
t_with_tier(struct t_env *t, struct t_tier *tier, const char *holds)
{
	*tier = (struct t_tier){.base.ops = &t_tier_ops, .next = &t->fake.base, .holds = holds};
	query_free(t->qe);
	assert_non_null(t->qe =
			    query_new(t->loop, &t->opts, t->cache, &tier->base, t->acl, &t->stats));
}

static void
t_serve_stale(struct query_options *o)
{
	o->serve_stale = true;
}

/* What the tier is shown: recursion's answers as cached (lifetime, stale
 * window, validated status), never its own, a SERVFAIL or a bogus one;
 * what it answered is not counted as an upstream query. */
static void
test_tier_store(void **state)
{
	struct t_env *t = t_env_new(t_serve_stale);
	struct t_tier tier;
	struct t_dns_msg m;
	(void)state;

	t_with_tier(t, &tier, "shared.example");
	t_ask(t, 0, 1, "shared.example", WIRE_T_A, WIRE_RD);
	t_dns_a(&m, "shared.example", 300, 0x0a0a0a0a);
	struct resolver_result res = {.ok = true, .pkt = m.b, .len = m.len, .cached = true};
	tier.own[0].live = false;
	tier.own[0].cb(tier.own[0].arg, &res);
	assert_int_equal(t_rcode(&t->c[0]), WIRE_NOERROR);
	assert_int_equal(tier.stores, 0);
	assert_int_equal(t->fake.n, 0); /* nothing reached recursion */

	t_ask(t, 1, 2, "other.example", WIRE_T_A, WIRE_RD);
	t_dns_a(&m, "other.example", 120, 0x0a0a0a0b);
	t_resolve(t, 0, &m, true, false);
	assert_int_equal(tier.stores, 1);
	assert_int_equal(tier.stored_ttl, 120);
	assert_int_equal(tier.stored_linger, 3600); /* serve-stale's window */
	assert_true(tier.stored_secure);
	assert_int_equal(t->fake.n, 1);

	t_ask(t, 2, 3, "gone.example", WIRE_T_MX, WIRE_RD);
	t_dns_nodata(&m, "gone.example", WIRE_T_MX, 60);
	wire_put16(m.b + 2, (uint16_t)(wire_get16(m.b + 2) | WIRE_NXDOMAIN));
	t_resolve(t, 1, &m, false, false);
	assert_int_equal(tier.stores, 2);
	assert_int_equal(tier.stored_qtype, WIRE_T_MX);
	assert_int_equal(tier.stored_ttl, 60);
	assert_false(tier.stored_secure);

	t_ask(t, 3, 4, "broken.example", WIRE_T_A, WIRE_RD);
	t_dns_a(&m, "broken.example", 300, 1);
	wire_put16(m.b + 2, (uint16_t)(wire_get16(m.b + 2) | WIRE_SERVFAIL));
	t_resolve(t, 2, &m, false, false);
	assert_int_equal(t_rcode(&t->c[3]), WIRE_SERVFAIL);
	t_ask(t, 3, 5, "bogus.example", WIRE_T_A, WIRE_RD | WIRE_CD);
	t_dns_a(&m, "bogus.example", 300, 1);
	t_resolve(t, 3, &m, false, true);
	assert_int_equal(t_rcode(&t->c[3]), WIRE_NOERROR); /* CD: the data, cached */
	assert_int_equal(tier.stores, 2);
	t_env_free(t);
}

/* A refresh says so: a tier holding the copy the cache has gives it no
 * fresher answer. */
static void
test_refresh_is_marked(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key = {.name = name,
				.name_len = t_dns_name("warm.example", name),
				.qtype = WIRE_T_MX,
				.qclass = WIRE_CLASS_IN};
	(void)state;

	t_ask(t, 0, 1, "warm.example", WIRE_T_MX, WIRE_RD);
	assert_false(t->fake.reqs[0].refresh);
	t_dns_mx(&m, "warm.example", 100, (const char *const[]){"mx.warm.example", NULL});
	t_resolve(t, 0, &m, false, false);
	assert_int_equal(query_prefetch(t->qe, &key, QUERY_REFRESH, 0), QUERY_PREFETCH_STARTED);
	assert_true(t->fake.reqs[1].refresh);
	t_env_free(t);
}

static void
test_tier_in_front(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_tier tier;
	struct t_dns_msg m;
	(void)state;

	t_with_tier(t, &tier, "shared.example");
	t_ask(t, 0, 1, "shared.example", WIRE_T_A, WIRE_RD);
	t_ask(t, 3, 9, "shared.example", WIRE_T_A, WIRE_RD); /* joins the wait on the tier */
	assert_int_equal(tier.n, 1);
	assert_int_equal(t->fake.n, 0); /* recursion never asked */
	t_dns_a(&m, "shared.example", 300, 0x0a0a0a0a);
	struct resolver_result res = {.ok = true, .pkt = m.b, .len = m.len};
	tier.own[0].live = false;
	tier.own[0].cb(tier.own[0].arg, &res);
	assert_int_equal(t_rcode(&t->c[0]), WIRE_NOERROR);
	assert_int_equal(t->c[3].replies, 1);
	assert_int_equal(t_rcode(&t->c[3]), WIRE_NOERROR);
	t_ask(t, 1, 2, "shared.example", WIRE_T_A, WIRE_RD); /* now in the local cache */
	assert_int_equal(t->c[1].replies, 1);
	assert_int_equal(tier.n, 1);
	t_ask(t, 2, 3, "other.example", WIRE_T_A, WIRE_RD); /* passed on */
	assert_int_equal(tier.n, 1);
	assert_int_equal(t->fake.n, 1);
	query_free(t->qe); /* cancels the forwarded lookup through the tier */
	t->qe = NULL;
	assert_false(t->fake.reqs[0].live);
	t_env_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_miss_then_hit),
	    cmocka_unit_test(test_coalescing),
	    cmocka_unit_test(test_deadline_servfail),
	    cmocka_unit_test(test_stale_on_failure),
	    cmocka_unit_test(test_stale_client_timer),
	    cmocka_unit_test(test_refresh_near_expiry),
	    cmocka_unit_test(test_chaser_exchangers),
	    cmocka_unit_test(test_chaser_null_mx),
	    cmocka_unit_test(test_chaser_implicit_mx),
	    cmocka_unit_test(test_chaser_max),
	    cmocka_unit_test(test_chaser_zone_budget),
	    cmocka_unit_test(test_bogus),
	    cmocka_unit_test(test_rd0),
	    cmocka_unit_test(test_zone_share),
	    cmocka_unit_test(test_jostle),
	    cmocka_unit_test(test_jostle_is_fair_between_zones),
	    cmocka_unit_test(test_no_jostle_for_a_capped_zone),
	    cmocka_unit_test(test_waiters_bounded_in_all),
	    cmocka_unit_test(test_tier_in_front),
	    cmocka_unit_test(test_tier_store),
	    cmocka_unit_test(test_refresh_is_marked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
