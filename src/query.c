/*
 * query: the pipeline from a client's packet to its reply. See include/query.h.
 */
#include "query.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "budget.h"
#include "cache.h"
#include "clock.h"
#include "freshness.h"
#include "inflight.h"
#include "ratelimit.h"
#include "reply.h"
#include "resolver.h"
#include "stats.h"
#include "wire.h"
#include "wire_write.h"

/* A lookup nobody waits for any more may still fill the cache, up to this
 * many timeouts after it started. */
#define QUERY_ORPHAN_TIMEOUTS 2
/* Clients waiting, all lookups together, at most this many per lookup the
 * table holds (each is a client and its question, about half a KiB). */
#define QUERY_WAITERS_PER_LOOKUP 8

struct query_engine {
	struct ev_loop *loop;
	struct query_options opts;
	struct cache *cache;
	struct resolver *res;
	struct inflight_table *table;
	const struct acl *acl;
	struct ratelimit *rl;
	struct stats *stats;
	struct query_hooks hooks;
	uint8_t scratch[WIRE_MAX_MSG];
	uint8_t out[WIRE_MAX_MSG + WIRE_OPT_LEN];
};

static uint64_t query_now_ms(void);
static bool query_check(struct query_engine *qe, struct query_client *c,
			const struct sockaddr *peer, const uint8_t *pkt, size_t len,
			struct wire_query *q, uint64_t start_us);
static inline void query_reply(struct query_engine *qe, struct query_client *c,
			       const struct wire_query *q, const struct reply_source *src,
			       uint64_t start_us, struct stats_hist *path);
static void query_reply_error(struct query_engine *qe, struct query_client *c,
			      const struct wire_query *q, unsigned rcode, uint64_t start_us);
static void query_answer_waiter(struct query_engine *qe, struct inflight_waiter *w,
				const uint8_t *wire, size_t len, bool secure);
static void query_join(struct query_engine *qe, struct query_client *c, const struct wire_query *q,
		       const struct cache_key *key, const struct cache_kbytes *k,
		       uint64_t start_us);
static struct inflight *query_start(struct query_engine *qe, const struct cache_key *key,
				    const struct cache_kbytes *k, enum query_origin origin,
				    enum resolver_lane lane, enum budget_verdict *why);
static enum query_prefetch_result
query_background(struct query_engine *qe, const struct cache_key *key, const struct cache_kbytes *k,
		 enum query_origin origin, enum resolver_lane lane, unsigned tag);
static void query_maybe_refresh(struct query_engine *qe, const struct cache_key *key,
				const struct cache_kbytes *k, const struct cache_answer *a,
				uint64_t now_ms);
static enum budget_verdict query_make_room(struct query_engine *qe, const struct cache_key *key,
					   uint64_t now_us);
static enum stats_servfail query_refuse_start(struct query_engine *qe, enum budget_verdict why);
static void query_servfail(struct query_engine *qe, const struct cache_key *key,
			   enum stats_servfail why, const char *detail, size_t clients);
static void query_finish(struct query_engine *qe, struct inflight *f, const uint8_t *wire,
			 size_t len, bool secure, bool fresh);
static size_t query_stale(struct query_engine *qe, const struct cache_key *key);
static void query_resolved(void *arg, const struct resolver_result *res);
static void query_expire(void *arg, struct inflight *f);
static uint64_t query_orphan_ms(const struct query_engine *qe);
static size_t query_prepare(struct query_engine *qe, struct inflight *f,
			    const struct resolver_result *res);

static uint64_t
query_now_ms(void)
{
	return clock_us() / 1000u;
}

struct query_engine *
query_new(struct ev_loop *loop, const struct query_options *opts, struct cache *cache,
	  struct resolver *res, const struct acl *acl, struct stats *stats)
{
	struct query_engine *qe = calloc(1, sizeof(*qe));

	if (!qe)
		return NULL;
	if (!(qe->table = inflight_new(loop, query_expire, qe))) {
		free(qe);
		return NULL;
	}
	qe->loop = loop;
	qe->opts = *opts;
	qe->cache = cache;
	qe->res = res;
	qe->acl = acl;
	qe->stats = stats;
	return qe;
}

void
query_free(struct query_engine *qe)
{
	struct inflight *f;

	if (!qe)
		return;
	while ((f = inflight_oldest(qe->table))) {
		resolver_cancel(qe->res, f->req);
		f->req = NULL;
		query_finish(qe, f, NULL, 0, false, false);
	}
	inflight_free(qe->table);
	free(qe);
}

size_t
query_inflight(const struct query_engine *qe)
{
	return inflight_count(qe->table);
}

struct inflight_table *
query_table(const struct query_engine *qe)
{
	return qe->table;
}

size_t
query_waiting(const struct query_engine *qe)
{
	return inflight_waiting(qe->table);
}

bool
query_allowed(const struct query_engine *qe, const struct sockaddr *peer)
{
	return acl_allows(qe->acl, peer);
}

void
query_set_acl(struct query_engine *qe, const struct acl *acl)
{
	qe->acl = acl;
}

void
query_set_options(struct query_engine *qe, const struct query_options *opts)
{
	qe->opts = *opts;
}

void
query_set_ratelimit(struct query_engine *qe, struct ratelimit *rl)
{
	qe->rl = rl;
}

void
query_set_budget(struct query_engine *qe, struct budget *budget)
{
	inflight_set_budget(qe->table, budget);
}

void
query_set_hooks(struct query_engine *qe, const struct query_hooks *hooks)
{
	qe->hooks = *hooks;
}

uint8_t
query_key_flags(const struct wire_query *q)
{
	return (uint8_t)((q->dnssec_ok ? CACHE_KEY_DO : 0) |
			 ((q->flags & WIRE_CD) ? CACHE_KEY_CD : 0));
}

void
query_handle(struct query_engine *qe, struct query_client *c, const struct sockaddr *peer,
	     const uint8_t *pkt, size_t len)
{
	struct wire_query q;
	struct cache_kbytes k;
	uint64_t start_us = clock_us();

	if (!query_check(qe, c, peer, pkt, len, &q, start_us))
		return;

	struct cache_key key = {.name = q.qname,
				.name_len = q.qname_len,
				.qtype = q.qtype,
				.qclass = q.qclass,
				.flags = query_key_flags(&q)};
	uint64_t now = start_us / 1000u;
	cache_key_prepare(qe->cache, &key, &k);
	const struct cache_answer *a = cache_lookup_prepared(qe->cache, &k, now);
	if (a) {
		struct reply_source src = {.wire = a->wire,
					   .len = a->len,
					   .age = (uint32_t)((now - a->stored_ms) / 1000u),
					   .secure = a->secure};
		query_reply(qe, c, &q, &src, start_us, &qe->stats->latency_hit);
		if (a->prefetched && !c->internal)
			qe->stats->prefetch_hits++;
		if (a->tag && !c->internal && qe->hooks.tagged_hit)
			qe->hooks.tagged_hit(qe->hooks.arg, a->tag);
		query_maybe_refresh(qe, &key, &k, a, now);
		return;
	}
	/* RD=0 asks for what we hold, not for recursion (RFC 1034 §4.3.1):
	 * answered from the cache only, REFUSED otherwise, as Unbound does. */
	if (!(q.flags & WIRE_RD) && !c->internal) {
		qe->stats->refused++;
		query_reply_error(qe, c, &q, WIRE_REFUSED, start_us);
		return;
	}
	query_join(qe, c, &q, &key, &k, start_us);
}

/* The front door: rate limit, parse, allow list, what we do not serve.
 * false: the packet was answered (or dropped) here. */
static bool
query_check(struct query_engine *qe, struct query_client *c, const struct sockaddr *peer,
	    const uint8_t *pkt, size_t len, struct wire_query *q, uint64_t start_us)
{
	static const unsigned verdict_rcode[] = {
	    [WIRE_BAD_FORMAT] = WIRE_FORMERR,
	    [WIRE_BAD_OPCODE] = WIRE_NOTIMP,
	    [WIRE_BAD_VERSION] = WIRE_BADVERS,
	};

	if (qe->rl && !c->tcp && !c->internal && !ratelimit_allow(qe->rl, peer, start_us / 1000u)) {
		qe->stats->ratelimited++;
		return false;
	}
	enum wire_verdict v = wire_parse_query(pkt, len, q);

	if (v == WIRE_DROP) {
		qe->stats->dropped++;
		return false;
	}
	if (!c->internal)
		stats_count_query(qe->stats, q->qtype, c->tcp);
	if (!acl_allows(qe->acl, peer)) {
		/* A stranger's malformed packet gets nothing: no reflection. */
		if (v != WIRE_OK) {
			qe->stats->dropped++;
			return false;
		}
		qe->stats->refused++;
		query_reply_error(qe, c, q, WIRE_REFUSED, start_us);
		return false;
	}
	if (v != WIRE_OK) {
		query_reply_error(qe, c, q, verdict_rcode[v], start_us);
		return false;
	}
	switch (q->qtype) {
	case WIRE_T_AXFR:
	case WIRE_T_IXFR:
	case WIRE_T_MAILA:
	case WIRE_T_MAILB:
		query_reply_error(qe, c, q, WIRE_NOTIMP, start_us);
		return false;
	default:
		break;
	}
	if (q->qclass != WIRE_CLASS_IN) {
		query_reply_error(qe, c, q, WIRE_REFUSED, start_us);
		return false;
	}
	return true;
}

/* Every reply leaves through here: shaped by reply_build, counted by
 * rcode, and its client-facing latency recorded overall and for the path
 * taken (hit or miss; NULL: neither). Inlined: it is the hit path's
 * last step, and a call here cost the hit measurably (callgrind). */
__attribute__((always_inline)) static inline void
query_reply(struct query_engine *qe, struct query_client *c, const struct wire_query *q,
	    const struct reply_source *src, uint64_t start_us, struct stats_hist *path)
{
	size_t len = reply_build(q, c->tcp, src, qe->hooks.additional, qe->hooks.arg, qe->out,
				 sizeof(qe->out));

	if (!c->internal)
		stats_count_rcode(qe->stats, reply_rcode(src));
	if (len)
		c->ops->deliver(c, qe->out, len);
	if (c->internal)
		return;
	uint64_t us = clock_us() - start_us;
	stats_hist_add(&qe->stats->latency, us);
	if (path)
		stats_hist_add(path, us);
}

static void
query_reply_error(struct query_engine *qe, struct query_client *c, const struct wire_query *q,
		  unsigned rcode, uint64_t start_us)
{
	struct reply_source src = {.rcode = rcode};

	query_reply(qe, c, q, &src, start_us, NULL);
}

/* One waiter's reply: the answer (wire) or SERVFAIL (wire NULL). */
static void
query_answer_waiter(struct query_engine *qe, struct inflight_waiter *w, const uint8_t *wire,
		    size_t len, bool secure)
{
	struct reply_source src = {
	    .wire = wire, .len = len, .secure = secure, .rcode = WIRE_SERVFAIL};

	query_reply(qe, w->client, &w->q, &src, w->start_us,
		    wire ? &qe->stats->latency_miss : NULL);
	inflight_waiter_free(w);
}

/* Adds the client to the lookup already running for this question, or
 * starts one. */
static void
query_join(struct query_engine *qe, struct query_client *c, const struct wire_query *q,
	   const struct cache_key *key, const struct cache_kbytes *k, uint64_t start_us)
{
	struct inflight *f = inflight_find(qe->table, k);
	uint64_t now_ms = start_us / 1000u;

	/* Every waiter is memory (a client and its question): a bound for all
	 * of them, not only per lookup. */
	if ((f && f->nwaiters >= qe->opts.max_waiters) ||
	    inflight_waiting(qe->table) >= qe->opts.max_inflight * QUERY_WAITERS_PER_LOOKUP) {
		qe->stats->inflight_overflow++;
		query_servfail(qe, key, STATS_SF_WAITERS, NULL, 1);
		query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
		return;
	}
	if (f) {
		qe->stats->inflight_joined++;
	} else {
		enum budget_verdict why = BUDGET_OK;
		if (inflight_count(qe->table) >= qe->opts.max_inflight &&
		    (why = query_make_room(qe, key, start_us)) != BUDGET_OK) {
			query_servfail(qe, key, query_refuse_start(qe, why), NULL, 1);
			query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
			return;
		}
		if (!(f = query_start(qe, key, k, QUERY_CLIENT, RESOLVER_MAIN, &why))) {
			query_servfail(qe, key, query_refuse_start(qe, why), NULL, 1);
			query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
			return;
		}
	}
	if (!inflight_join(f, c, q, start_us, now_ms + qe->opts.timeout_ms,
			   freshness_stale_at(now_ms, qe->opts.timeout_ms, qe->opts.stale_client_ms,
					      qe->opts.serve_stale))) {
		query_servfail(qe, key, STATS_SF_RESOURCES, NULL, 1);
		query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
		return;
	}
	if (f->nwaiters == 1)
		inflight_arm(f, now_ms, query_orphan_ms(qe));
}

/* The lookup's question as its resolver sees it. */
static struct resolver_question
query_question(const struct inflight *f)
{
	return (struct resolver_question){.name = f->name,
					  .name_len = f->key.name_len,
					  .qtype = f->key.qtype,
					  .qclass = f->key.qclass,
					  .flags = f->key.flags,
					  .lane = f->lane,
					  .refresh = f->origin == QUERY_REFRESH};
}

/* A new lookup in the table with its request out. */
static struct inflight *
query_start(struct query_engine *qe, const struct cache_key *key, const struct cache_kbytes *k,
	    enum query_origin origin, enum resolver_lane lane, enum budget_verdict *why)
{
	uint64_t now_us = clock_us();
	struct inflight *f = inflight_start(qe->table, key, k, origin, now_us, why);

	if (!f)
		return NULL;
	f->lane = lane;
	struct resolver_question rq = query_question(f);
	if (!(f->req = resolver_resolve(qe->res, &rq, query_resolved, f))) {
		inflight_remove(f, now_us / 1000u);
		return NULL;
	}
	return f;
}

enum query_prefetch_result
query_prefetch(struct query_engine *qe, const struct cache_key *key, enum query_origin origin,
	       unsigned tag)
{
	struct cache_kbytes k;
	const struct cache_answer *a = cache_peek(qe->cache, key, query_now_ms());
	enum resolver_lane lane = RESOLVER_MAIN;

	if (origin != QUERY_REFRESH && a)
		return QUERY_PREFETCH_CACHED;
	if (origin == QUERY_REFRESH)
		lane = freshness_refresh_lane(a && a->spare ? RESOLVER_SPARE : RESOLVER_MAIN);
	cache_key_prepare(qe->cache, key, &k);
	return query_background(qe, key, &k, origin, lane, tag);
}

/* A lookup no client waits for: the answer goes to the cache. */
static enum query_prefetch_result
query_background(struct query_engine *qe, const struct cache_key *key, const struct cache_kbytes *k,
		 enum query_origin origin, enum resolver_lane lane, unsigned tag)
{
	struct inflight *f;
	enum budget_verdict why = BUDGET_OK;

	if (inflight_find(qe->table, k))
		return QUERY_PREFETCH_RUNNING;
	if (inflight_background(qe->table) >= qe->opts.max_background ||
	    inflight_count(qe->table) >= qe->opts.max_inflight)
		return QUERY_PREFETCH_FULL;
	if (!(f = query_start(qe, key, k, origin, lane, &why)))
		return why == BUDGET_ZONE_FULL || why == BUDGET_ZONE_RATE ? QUERY_PREFETCH_ZONE
									  : QUERY_PREFETCH_FULL;
	f->tag = (uint8_t)(tag % CACHE_TAGS);
	inflight_arm(f, query_now_ms(), query_orphan_ms(qe));
	return QUERY_PREFETCH_STARTED;
}

/* A hit in the last tenth of the TTL of an entry worth keeping warm asks
 * the authorities again in the background, on the lane that did not fetch
 * it, so a popular MX never goes cold; clients get the old entry meanwhile. */
static void
query_maybe_refresh(struct query_engine *qe, const struct cache_key *key,
		    const struct cache_kbytes *k, const struct cache_answer *a, uint64_t now_ms)
{
	if (!qe->opts.refresh || !freshness_refresh_due(a->stored_ms, a->expires_ms, now_ms,
							key->qtype == WIRE_T_MX || a->prefetched))
		return;
	enum resolver_lane lane = freshness_refresh_lane(a->spare ? RESOLVER_SPARE : RESOLVER_MAIN);
	if (query_background(qe, key, k, QUERY_REFRESH, lane, a->tag) == QUERY_PREFETCH_STARTED)
		qe->stats->refreshes++;
}

/* Unbound's jostle: with the table full, the oldest lookup, once it has
 * run for jostle_ms, gives way to a new one rather than the newest being
 * refused; a flood of slow names cannot hold the table. Its waiters get
 * what a deadline would give them. */
/* The table is full: a lookup gives way to this question if one should
 * (inflight_victim: Unbound's jostle, made fair between zones), unless the
 * question's zone could not take the slot anyway. BUDGET_OK once there
 * is room. */
static enum budget_verdict
query_make_room(struct query_engine *qe, const struct cache_key *key, uint64_t now_us)
{
	uint64_t zone = inflight_zone(qe->table, key);
	enum budget_verdict v = inflight_admits(qe->table, zone, now_us / 1000u);
	struct inflight *f;

	if (v != BUDGET_OK)
		return v;
	if (!(f = inflight_victim(qe->table, zone, now_us, (uint64_t)qe->opts.jostle_ms * 1000u)))
		return BUDGET_TABLE_FULL;
	qe->stats->inflight_jostled++;
	resolver_cancel(qe->res, f->req);
	f->req = NULL;
	query_servfail(qe, &f->key, STATS_SF_JOSTLED, NULL, f->nwaiters);
	query_finish(qe, f, NULL, 0, false, false);
	return BUDGET_OK;
}

static void
query_servfail(struct query_engine *qe, const struct cache_key *key, enum stats_servfail why,
	       const char *detail, size_t clients)
{
	if (clients == 0)
		return;
	qe->stats->servfail[why] += clients;
	if (qe->hooks.servfail)
		qe->hooks.servfail(qe->hooks.servfail_arg, key, why, detail, clients);
}

static enum stats_servfail
query_refuse_start(struct query_engine *qe, enum budget_verdict why)
{
	switch (why) {
	case BUDGET_ZONE_FULL:
		qe->stats->inflight_zone_capped++;
		return STATS_SF_ZONE_SHARE;
	case BUDGET_TABLE_FULL:
		qe->stats->inflight_overflow++;
		return STATS_SF_TABLE_FULL;
	default:
		return STATS_SF_RESOURCES;
	}
}

/* Answers every waiter (SERVFAIL when wire is NULL) and ends the lookup;
 * a fresh answer is then shown to the answered hook: the chaser's work
 * never delays a client. */
static void
query_finish(struct query_engine *qe, struct inflight *f, const uint8_t *wire, size_t len,
	     bool secure, bool fresh)
{
	struct inflight_waiter *w;

	while ((w = inflight_pop(f)))
		query_answer_waiter(qe, w, wire, len, secure);
	if (fresh && len && qe->hooks.answered)
		qe->hooks.answered(qe->hooks.arg, &f->key, wire, len, secure, f->tag);
	inflight_remove(f, query_now_ms());
}

/* RFC 8767: when recursion fails, an expired answer (within the stale
 * window) beats SERVFAIL for a mail server. Puts it in scratch with its
 * TTLs set to the stale TTL; returns its length, 0 if there is none. */
static size_t
query_stale(struct query_engine *qe, const struct cache_key *key)
{
	const struct cache_answer *a;

	if (!qe->opts.serve_stale || !(a = cache_lookup_stale(qe->cache, key, query_now_ms())) ||
	    a->len > sizeof(qe->scratch))
		return 0;
	memcpy(qe->scratch, a->wire, a->len);
	wire_set_ttls(qe->scratch, a->len, qe->opts.stale_ttl);
	return a->len;
}

static void
query_resolved(void *arg, const struct resolver_result *res)
{
	struct inflight *f = arg;
	struct query_engine *qe = inflight_owner(f);
	bool cd = (f->key.flags & CACHE_KEY_CD) != 0;
	size_t len = 0;

	f->req = NULL;
	if (!res->cached)
		stats_hist_add(&qe->stats->latency_upstream, clock_us() - f->started_us);
	if (res->ok && (!res->bogus || cd))
		len = query_prepare(qe, f, res);
	bool secure = res->ok && res->secure && !res->bogus;
	switch (freshness_outcome(res->ok, res->bogus, cd, len > 0,
				  len ? WIRE_RCODE(wire_get16(qe->scratch + 2)) : 0)) {
	case FRESHNESS_ANSWER:
		break;
	case FRESHNESS_BOGUS:
		qe->stats->upstream_bogus++;
		query_servfail(qe, &f->key, STATS_SF_BOGUS, res->why_bogus, f->nwaiters);
		len = 0;
		break;
	case FRESHNESS_FAILED:
		qe->stats->upstream_failures++;
		if ((len = query_stale(qe, &f->key)) > 0) {
			qe->stats->stale_served += f->nwaiters;
			query_finish(qe, f, qe->scratch, len, false, false);
			return;
		}
		query_servfail(qe, &f->key, STATS_SF_UPSTREAM,
			       res->ok ? "the servers answered SERVFAIL or nothing usable"
				       : "no answer from any server",
			       f->nwaiters);
		break;
	}
	query_finish(qe, f, len ? qe->scratch : NULL, len, secure, true);
}

/* The lookup's timer: waiters whose stale time or deadline came get a
 * stale entry or SERVFAIL; with none left, an orphan is given up. */
static void
query_expire(void *arg, struct inflight *f)
{
	struct query_engine *qe = arg;
	uint64_t now = query_now_ms();

	if (!f->waiters) {
		resolver_cancel(qe->res, f->req);
		f->req = NULL;
		query_finish(qe, f, NULL, 0, false, false);
		return;
	}
	/* Waiters are in arrival order: the first one with nothing due ends
	 * the walk. The stale entry is looked up once, when first needed. */
	size_t stale = 0;
	bool looked = false;
	while (f->waiters) {
		enum freshness_wait due = freshness_waiter(f->waiters->deadline_ms,
							   f->waiters->stale_ms, now, !f->no_stale);
		if (due != FRESHNESS_WAIT && !looked) {
			looked = true;
			f->no_stale = (stale = query_stale(qe, &f->key)) == 0;
		}
		if (due == FRESHNESS_WAIT || (due == FRESHNESS_TRY_STALE && !stale))
			break;
		if (due == FRESHNESS_EXPIRED)
			qe->stats->upstream_timeouts++;
		if (stale)
			qe->stats->stale_served++;
		else
			query_servfail(qe, &f->key, STATS_SF_DEADLINE, NULL, 1);
		query_answer_waiter(qe, inflight_pop(f), stale ? qe->scratch : NULL, stale, false);
	}
	inflight_arm(f, now, query_orphan_ms(qe));
}

static uint64_t
query_orphan_ms(const struct query_engine *qe)
{
	return (uint64_t)QUERY_ORPHAN_TIMEOUTS * qe->opts.timeout_ms;
}

/* Turns the resolver's answer into the stored form (no OPT, DNSSEC records
 * only for DO clients, ID 0) and caches it; returns its length, 0 if the
 * answer is unusable. */
static size_t
query_prepare(struct query_engine *qe, struct inflight *f, const struct resolver_result *res)
{
	unsigned drop = WIRE_DROP_OPT | ((f->key.flags & CACHE_KEY_DO) ? 0 : WIRE_DROP_DNSSEC);
	size_t len = wire_copy(res->pkt, res->len, drop, qe->scratch, sizeof(qe->scratch));
	uint8_t *p = qe->scratch;

	if (len < WIRE_HEADER_LEN + f->key.name_len + 4 || wire_get16(p + 4) != 1 ||
	    !wire_name_equal(p + WIRE_HEADER_LEN, f->key.name_len, f->name, f->key.name_len) ||
	    wire_get16(p + WIRE_HEADER_LEN + f->key.name_len) != f->key.qtype)
		return 0;
	wire_put16(p, 0);
	wire_put16(p + 2, (uint16_t)(wire_get16(p + 2) & ~WIRE_AD));
	if (WIRE_RCODE(wire_get16(p + 2)) == WIRE_SERVFAIL)
		return len; /* a failure (freshness_outcome), never cached */
	bool negative = freshness_negative(p, len, f->key.qtype);
	uint32_t ttl = freshness_ttl(p, len, negative, qe->opts.min_ttl, qe->opts.max_ttl,
				     qe->opts.max_negative_ttl);
	/* What clients see follows the clamps too (as Unbound's cache-min-ttl):
	 * an entry kept 600 s must not show TTL 0 for most of its life. */
	if (negative) /* RFC 2308 §5: no record outlives the negative answer */
		wire_clamp_ttls(p, len, 0, ttl);
	else
		wire_clamp_ttls(p, len, qe->opts.min_ttl, qe->opts.max_ttl);
	unsigned aflags = (res->secure && !res->bogus) ? CACHE_ANSWER_SECURE : 0;
	if (f->origin != QUERY_CLIENT && f->key.qtype != WIRE_T_MX)
		aflags |= CACHE_ANSWER_PREFETCHED;
	if (res->lane == RESOLVER_SPARE)
		aflags |= CACHE_ANSWER_SPARE;
	aflags |= CACHE_ANSWER_TAG(f->tag);
	if (ttl > 0 && cache_insert(qe->cache, &f->key, p, len, ttl, aflags, query_now_ms()) &&
	    !res->cached && !res->bogus) {
		struct resolver_question rq = query_question(f);
		resolver_store(qe->res, &rq, p, len, ttl, cache_stale(qe->cache),
			       (aflags & CACHE_ANSWER_SECURE) != 0);
	}
	return len;
}
