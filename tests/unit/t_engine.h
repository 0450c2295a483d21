/*
 * The query engine on a test bench (test_query.c, test_route.c): a fake
 * resolver that records each request and answers when the test says, a
 * client that keeps its last reply, a fake clock, and the engine between
 * them. No sockets, no libunbound.
 */
#ifndef MXCACHE_T_ENGINE_H
#define MXCACHE_T_ENGINE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
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
	bool refresh;
	resolver_cb cb;
	void *arg;
	bool live;
};

struct t_fake {
	struct resolver base;
	struct t_req reqs[T_MAX_REQ];
	size_t n;
};

static inline struct resolver_req *
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
	req->refresh = q->refresh;
	req->cb = cb;
	req->arg = arg;
	req->live = true;
	return (struct resolver_req *)req;
}

static inline void
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

static inline void
t_client_deliver(struct query_client *c, const uint8_t *pkt, size_t len)
{
	struct t_client *tc = (struct t_client *)c;

	assert_true(len <= sizeof(tc->last));
	memcpy(tc->last, pkt, len);
	tc->len = len;
	tc->replies++;
}

static inline struct query_client *
t_client_hold(struct query_client *c)
{
	return c;
}

static inline void
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

static inline struct t_env *
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

static inline void
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

static inline void
t_chaser(struct t_env *t, unsigned max_exchangers)
{
	struct chaser_options co = {.enabled = true, .max_exchangers = max_exchangers};

	assert_non_null(t->chaser = chaser_new(&co, t->qe, t->cache, &t->stats));
	query_set_hooks(t->qe, &(struct query_hooks){.answered = chaser_answered,
						     .additional = chaser_additional,
						     .tagged_hit = chaser_tagged_hit,
						     .arg = t->chaser});
}

/* Client i asks name/qtype with flags (RD, CD...). */
static inline void
t_ask(struct t_env *t, int i, uint16_t id, const char *name, uint16_t qtype, uint16_t flags)
{
	uint8_t pkt[512], wname[WIRE_MAX_NAME];
	size_t nlen = t_dns_name(name, wname);
	size_t len =
	    wire_build_query(pkt, sizeof(pkt), id, flags, wname, nlen, qtype, false, 0, false);

	assert_true(len > 0);
	query_handle(t->qe, &t->c[i].base, (const struct sockaddr *)&t->peer, pkt, len);
}

static inline void
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
static inline void
t_advance_and_fire(struct t_env *t, uint64_t ms)
{
	struct inflight *f = inflight_oldest(query_table(t->qe));

	t->now_us += ms * 1000u;
	assert_non_null(f);
	ev_feed_event(t->loop, &f->timer, EV_TIMER);
	ev_invoke_pending(t->loop);
}

static inline unsigned
t_rcode(const struct t_client *c)
{
	return WIRE_RCODE(wire_get16(c->last + 2));
}

#endif
