/*
 * Unit tests for the query engine (include/query.h): the real pipeline
 * against a fake resolver (each request recorded; the test answers it
 * when it chooses) and a fake clock. No sockets, no libunbound. Timers
 * are fired through libev (ev_feed_event) after the clock is moved, so
 * each test says exactly when time passes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <ev.h>
#include <netinet/in.h>

#include "acl.h"
#include "budget.h"
#include "cache.h"
#include "chaser.h"
#include "clock.h"
#include "inflight.h"
#include "query.h"
#include "resolver.h"
#include "stats.h"
#include "wire.h"
#include "wire_write.h"

#include "t_dns.h"

static const uint8_t t_seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* ---- the fake resolver ---------------------------------------------- */

#define T_MAX_REQ 64

struct t_req {
	uint8_t name[WIRE_MAX_NAME];
	size_t name_len;
	uint16_t qtype;
	uint8_t flags;
	enum resolver_lane lane;
	resolver_cb cb;
	void *arg;
	bool live;
};

struct t_fake {
	struct resolver base;
	struct t_req reqs[T_MAX_REQ];
	size_t n;
};

static struct resolver_req *
t_fake_resolve(struct resolver *r, const struct resolver_question *q, resolver_cb cb, void *arg)
{
	struct t_fake *f = (struct t_fake *)r;
	struct t_req *req;

	if (f->n == T_MAX_REQ)
		return NULL;
	req = &f->reqs[f->n++];
	memcpy(req->name, q->name, q->name_len);
	req->name_len = q->name_len;
	req->qtype = q->qtype;
	req->flags = q->flags;
	req->lane = q->lane;
	req->cb = cb;
	req->arg = arg;
	req->live = true;
	return (struct resolver_req *)req;
}

static void
t_fake_cancel(struct resolver *r, struct resolver_req *req)
{
	(void)r;
	if (req)
		((struct t_req *)req)->live = false;
}

static const struct resolver_ops t_fake_ops = {.resolve = t_fake_resolve, .cancel = t_fake_cancel};

/* ---- a client that keeps its last reply --------------------------- */

struct t_client {
	struct query_client base;
	uint8_t last[WIRE_MAX_MSG + WIRE_OPT_LEN];
	size_t len;
	unsigned replies;
};

static void
t_client_deliver(struct query_client *c, const uint8_t *pkt, size_t len)
{
	struct t_client *tc = (struct t_client *)c;

	assert_true(len <= sizeof(tc->last));
	memcpy(tc->last, pkt, len);
	tc->len = len;
	tc->replies++;
}

static struct query_client *
t_client_hold(struct query_client *c)
{
	return c;
}

static void
t_client_release(struct query_client *c)
{
	(void)c;
}

static const struct query_client_ops t_client_ops = {
    .deliver = t_client_deliver, .hold = t_client_hold, .release = t_client_release};

/* ---- the engine under test ---------------------------------------- */

struct t_env {
	struct ev_loop *loop;
	struct cache *cache;
	struct acl *acl;
	struct stats stats;
	struct t_fake fake;
	struct query_engine *qe;
	struct chaser *chaser;
	struct budget *budget;
	struct query_options opts;
	struct t_client c[4];
	struct sockaddr_in peer;
	uint64_t now_us;
};

static struct t_env *
t_env_new(void (*tweak)(struct query_options *o))
{
	struct t_env *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->now_us = 1000u * 1000000u;
	clock_set_fake(&t->now_us);
	t->opts = (struct query_options){.max_ttl = 86400,
					 .max_negative_ttl = 3600,
					 .timeout_ms = 1000,
					 .max_inflight = 100,
					 .max_waiters = 16,
					 .max_background = 10,
					 .jostle_ms = 200,
					 .stale_ttl = 30};
	if (tweak)
		tweak(&t->opts);
	assert_non_null(t->loop = ev_loop_new(EVFLAG_AUTO));
	assert_non_null(t->cache = cache_new(1 << 20, t_seed));
	cache_set_stale(t->cache, t->opts.serve_stale ? 3600 : 0);
	assert_non_null(t->acl = acl_new());
	assert_true(acl_add(t->acl, "127.0.0.0/8"));
	t->fake.base.ops = &t_fake_ops;
	assert_non_null(
	    t->qe = query_new(t->loop, &t->opts, t->cache, &t->fake.base, t->acl, &t->stats));
	for (size_t i = 0; i < 4; i++)
		t->c[i].base.ops = &t_client_ops;
	t->peer.sin_family = AF_INET;
	t->peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return t;
}

static void
t_env_free(struct t_env *t)
{
	query_free(t->qe);
	chaser_free(t->chaser);
	budget_free(t->budget);
	acl_free(t->acl);
	cache_free(t->cache);
	ev_loop_destroy(t->loop);
	clock_set_fake(NULL);
	free(t);
}

static void
t_chaser(struct t_env *t, unsigned max_exchangers)
{
	struct chaser_options co = {.enabled = true, .max_exchangers = max_exchangers};

	assert_non_null(t->chaser = chaser_new(&co, t->qe, t->cache, &t->stats));
	query_set_hooks(t->qe, &(struct query_hooks){.answered = chaser_answered,
						     .additional = chaser_additional,
						     .arg = t->chaser});
}

/* Client i asks name/qtype with flags (RD, CD...). */
static void
t_ask(struct t_env *t, int i, uint16_t id, const char *name, uint16_t qtype, uint16_t flags)
{
	uint8_t pkt[512], wname[WIRE_MAX_NAME];
	size_t nlen = t_dns_name(name, wname);
	size_t len =
	    wire_build_query(pkt, sizeof(pkt), id, flags, wname, nlen, qtype, false, 0, false);

	assert_true(len > 0);
	query_handle(t->qe, &t->c[i].base, (const struct sockaddr *)&t->peer, pkt, len);
}

static void
t_resolve(struct t_env *t, size_t r, const struct t_dns_msg *m, bool secure, bool bogus)
{
	struct t_req *req = &t->fake.reqs[r];
	struct resolver_result res = {.ok = m != NULL,
				      .pkt = m ? m->b : NULL,
				      .len = m ? m->len : 0,
				      .secure = secure,
				      .bogus = bogus,
				      .why_bogus = bogus ? "signature expired" : NULL,
				      .lane = req->lane};

	assert_true(r < t->fake.n);
	assert_true(req->live);
	req->live = false;
	req->cb(req->arg, &res);
}

/* Moves the clock and runs the timer of the oldest lookup, as libev would. */
static void
t_advance_and_fire(struct t_env *t, uint64_t ms)
{
	struct inflight *f = inflight_oldest(query_table(t->qe));

	t->now_us += ms * 1000u;
	assert_non_null(f);
	ev_feed_event(t->loop, &f->timer, EV_TIMER);
	ev_invoke_pending(t->loop);
}

static unsigned
t_rcode(const struct t_client *c)
{
	return WIRE_RCODE(wire_get16(c->last + 2));
}

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
	assert_int_equal(t->stats.upstream_queries, 1);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
