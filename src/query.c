/*
 * query: the pipeline from a client's packet to its reply. See include/query.h.
 */
#include "query.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "acl.h"
#include "budget.h"
#include "cache.h"
#include "clock.h"
#include "freshness.h"
#include "ratelimit.h"
#include "siphash.h"
#include "stats.h"
#include "upstream.h"
#include "wire.h"
#include "wire_write.h"

#define QUERY_BUCKETS 4096u
/* A lookup nobody waits for any more may still fill the cache, up to this
 * many timeouts after it started. */
#define QUERY_ORPHAN_TIMEOUTS 2

struct query_waiter {
	struct query_waiter *next;
	struct query_client *client;
	uint64_t start_us;
	uint64_t deadline_ms;
	uint64_t stale_ms; /* may be answered stale from then on (0: never) */
	struct wire_query q;
};

struct query_inflight {
	struct query_inflight *hnext;
	struct query_engine *qe;
	uint64_t hash;
	uint64_t started_us;
	struct cache_key key; /* key.name points at name */
	uint8_t name[WIRE_MAX_NAME];
	uint8_t kbytes[CACHE_KEY_MAX];
	size_t klen;
	struct query_waiter *waiters;
	struct query_waiter **tail;
	size_t nwaiters;
	struct upstream_req *req;
	enum query_origin origin;
	uint64_t zone; /* what budget charged this lookup to */
	/* Every lookup in flight, oldest first: who gives way when full. */
	struct query_inflight *older, *newer;
	enum upstream_lane lane;
	bool no_stale; /* a waiter's stale timer found no stale entry */
	ev_timer deadline;
};

struct query_engine {
	struct ev_loop *loop;
	struct query_options opts;
	struct cache *cache;
	struct upstream *up;
	const struct acl *acl;
	struct ratelimit *rl;
	struct budget *budget;
	struct stats *stats;
	uint8_t seed[16];
	struct query_hooks hooks;
	size_t ninflight;
	size_t nbackground;
	size_t nwaiting;
	struct query_inflight *oldest, *newest;
	struct query_inflight *buckets[QUERY_BUCKETS];
	uint8_t scratch[WIRE_MAX_MSG];
	uint8_t out[WIRE_MAX_MSG + WIRE_OPT_LEN];
};

static uint64_t query_now_ms(void);
static void query_reply_error(struct query_engine *qe, struct query_client *c,
			      const struct wire_query *q, unsigned rcode, uint64_t start_us);
static void query_reply_answer(struct query_engine *qe, struct query_client *c,
			       const struct wire_query *q, const uint8_t *wire, size_t len,
			       uint32_t age, bool secure);
static void query_account(struct query_engine *qe, const struct query_client *c, uint64_t start_us,
			  struct stats_hist *path);
static struct query_inflight *query_find(struct query_engine *qe, const struct cache_key *key,
					 uint8_t *kbytes, size_t *klen, uint64_t *hash);
static void query_maybe_refresh(struct query_engine *qe, const struct cache_key *key,
				const struct cache_answer *a, uint64_t now_ms);
static void query_answer_waiters(struct query_inflight *f, const uint8_t *wire, size_t len,
				 bool secure);
static size_t query_stale(struct query_engine *qe, const struct cache_key *key);
static void query_join(struct query_engine *qe, struct query_client *c, const struct wire_query *q,
		       const struct cache_key *key, uint64_t start_us);
static struct query_inflight *query_start(struct query_engine *qe, const struct cache_key *key,
					  const uint8_t *kbytes, size_t klen, uint64_t hash,
					  enum query_origin origin, enum budget_verdict *why);
static bool query_jostle(struct query_engine *qe, uint64_t now_us);
static enum stats_servfail query_refuse_start(struct query_engine *qe, enum budget_verdict why);
static void query_servfail(struct query_engine *qe, const struct cache_key *key,
			   enum stats_servfail why, const char *detail, size_t clients);
static void query_unlink(struct query_engine *qe, struct query_inflight *f);
static void query_finish(struct query_inflight *f, const uint8_t *wire, size_t len, bool secure);
static void query_upstream_done(void *arg, const struct upstream_result *res);
static size_t query_prepare(struct query_engine *qe, struct query_inflight *f,
			    const struct upstream_result *res);
static bool query_negative(const uint8_t *wire, size_t len, uint16_t qtype);
static uint32_t query_ttl(const struct query_engine *qe, const uint8_t *wire, size_t len,
			  bool negative);
static void query_deadline(struct ev_loop *loop, ev_timer *w, int revents);
static void query_arm(struct query_inflight *f, uint64_t now_ms);

static uint64_t
query_now_ms(void)
{
	return clock_us() / 1000u;
}

struct query_engine *
query_new(struct ev_loop *loop, const struct query_options *opts, struct cache *cache,
	  struct upstream *up, const struct acl *acl, struct stats *stats)
{
	struct query_engine *qe = calloc(1, sizeof(*qe));

	if (!qe)
		return NULL;
	if (getrandom(qe->seed, sizeof(qe->seed), 0) != (ssize_t)sizeof(qe->seed)) {
		free(qe);
		return NULL;
	}
	qe->loop = loop;
	qe->opts = *opts;
	qe->cache = cache;
	qe->up = up;
	qe->acl = acl;
	qe->stats = stats;
	return qe;
}

void
query_free(struct query_engine *qe)
{
	if (!qe)
		return;
	for (size_t b = 0; b < QUERY_BUCKETS; b++) {
		struct query_inflight *f, *next;
		for (f = qe->buckets[b]; f; f = next) {
			next = f->hnext;
			upstream_cancel(qe->up, f->req);
			query_finish(f, NULL, 0, false);
		}
	}
	free(qe);
}

size_t
query_inflight(const struct query_engine *qe)
{
	return qe->ninflight;
}

size_t
query_waiting(const struct query_engine *qe)
{
	return qe->nwaiting;
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
	qe->budget = budget;
}

static void
query_reply_error(struct query_engine *qe, struct query_client *c, const struct wire_query *q,
		  unsigned rcode, uint64_t start_us)
{
	size_t len = wire_error_reply(q, rcode, qe->out, sizeof(qe->out));

	if (!c->internal)
		stats_count_rcode(qe->stats, rcode);
	if (len)
		c->ops->deliver(c, qe->out, len);
	query_account(qe, c, start_us, NULL);
}

/* Client-facing latency, overall and for the path taken (hit or miss). */
static void
query_account(struct query_engine *qe, const struct query_client *c, uint64_t start_us,
	      struct stats_hist *path)
{
	uint64_t us = clock_us() - start_us;

	if (c->internal)
		return;
	stats_hist_add(&qe->stats->latency, us);
	if (path)
		stats_hist_add(path, us);
}

void
query_set_hooks(struct query_engine *qe, const struct query_hooks *hooks)
{
	qe->hooks = *hooks;
}

/*
 * A stored answer made this client's: its ID, flags and question case,
 * TTLs aged by the time in cache, DNSSEC AD only when asked for (RFC 6840
 * §5.7), cut to the size it can take, and OPT only if it sent one.
 */
static void
query_reply_answer(struct query_engine *qe, struct query_client *c, const struct wire_query *q,
		   const uint8_t *wire, size_t len, uint32_t age, bool secure)
{
	uint8_t *out = qe->out;
	uint16_t flags = (uint16_t)(WIRE_QR | WIRE_RA | (wire_get16(wire + 2) & 0xfu) |
				    (q->flags & (WIRE_RD | WIRE_CD)));

	if (secure && (q->dnssec_ok || (q->flags & WIRE_AD)))
		flags |= WIRE_AD;
	memcpy(out, wire, len);
	wire_put16(out, q->id);
	wire_put16(out + 2, flags);
	if (len >= (size_t)WIRE_HEADER_LEN + q->qname_len)
		memcpy(out + WIRE_HEADER_LEN, q->qname, q->qname_len);
	if (age > 0)
		wire_age_ttls(out, len, age);
	size_t limit = wire_reply_limit(q, c->tcp) - (q->edns ? WIRE_OPT_LEN : 0);
	len = wire_truncate(out, len, limit);
	if (qe->hooks.additional && !(wire_get16(out + 2) & WIRE_TC))
		len = qe->hooks.additional(qe->hooks.arg, q, out, len, limit);
	if (q->edns)
		len = wire_add_opt(out, len, sizeof(qe->out), WIRE_MAX_UDP, q->dnssec_ok, 0);
	if (!c->internal)
		stats_count_rcode(qe->stats, WIRE_RCODE(flags));
	c->ops->deliver(c, out, len);
}

void
query_handle(struct query_engine *qe, struct query_client *c, const struct sockaddr *peer,
	     const uint8_t *pkt, size_t len)
{
	static const unsigned verdict_rcode[] = {
	    [WIRE_BAD_FORMAT] = WIRE_FORMERR,
	    [WIRE_BAD_OPCODE] = WIRE_NOTIMP,
	    [WIRE_BAD_VERSION] = WIRE_BADVERS,
	};
	struct wire_query q;
	uint64_t start_us = clock_us();

	if (qe->rl && !c->tcp && !c->internal && !ratelimit_allow(qe->rl, peer, start_us / 1000u)) {
		qe->stats->ratelimited++;
		return;
	}
	enum wire_verdict v = wire_parse_query(pkt, len, &q);

	if (v == WIRE_DROP) {
		qe->stats->dropped++;
		return;
	}
	if (!c->internal)
		stats_count_query(qe->stats, q.qtype, c->tcp);
	if (!acl_allows(qe->acl, peer)) {
		/* A stranger's malformed packet gets nothing: no reflection. */
		if (v != WIRE_OK) {
			qe->stats->dropped++;
			return;
		}
		qe->stats->refused++;
		query_reply_error(qe, c, &q, WIRE_REFUSED, start_us);
		return;
	}
	if (v != WIRE_OK) {
		query_reply_error(qe, c, &q, verdict_rcode[v], start_us);
		return;
	}
	switch (q.qtype) {
	case WIRE_T_AXFR:
	case WIRE_T_IXFR:
	case WIRE_T_MAILA:
	case WIRE_T_MAILB:
		query_reply_error(qe, c, &q, WIRE_NOTIMP, start_us);
		return;
	default:
		break;
	}
	if (q.qclass != WIRE_CLASS_IN) {
		query_reply_error(qe, c, &q, WIRE_REFUSED, start_us);
		return;
	}

	struct cache_key key = {.name = q.qname,
				.name_len = q.qname_len,
				.qtype = q.qtype,
				.qclass = q.qclass,
				.flags = (uint8_t)((q.dnssec_ok ? CACHE_KEY_DO : 0) |
						   ((q.flags & WIRE_CD) ? CACHE_KEY_CD : 0))};
	uint64_t now = start_us / 1000u;
	const struct cache_answer *a = cache_lookup(qe->cache, &key, now);
	if (a) {
		query_reply_answer(qe, c, &q, a->wire, a->len,
				   (uint32_t)((now - a->stored_ms) / 1000u), a->secure);
		query_account(qe, c, start_us, &qe->stats->latency_hit);
		if (a->prefetched && !c->internal)
			qe->stats->prefetch_hits++;
		query_maybe_refresh(qe, &key, a, now);
		return;
	}
	/* RD=0 asks for what we hold, not for recursion (RFC 1034 §4.3.1):
	 * answered from the cache only, REFUSED otherwise, as Unbound does. */
	if (!(q.flags & WIRE_RD) && !c->internal) {
		qe->stats->refused++;
		query_reply_error(qe, c, &q, WIRE_REFUSED, start_us);
		return;
	}
	query_join(qe, c, &q, &key, start_us);
}

/* Adds the client to the lookup already running for this question, or
 * starts one. */
static void
query_join(struct query_engine *qe, struct query_client *c, const struct wire_query *q,
	   const struct cache_key *key, uint64_t start_us)
{
	uint8_t kbytes[CACHE_KEY_MAX];
	size_t klen;
	uint64_t hash;
	struct query_inflight *f = query_find(qe, key, kbytes, &klen, &hash);
	struct query_waiter *w;

	if (f && f->nwaiters >= qe->opts.max_waiters) {
		qe->stats->inflight_overflow++;
		query_servfail(qe, key, STATS_SF_WAITERS, NULL, 1);
		query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
		return;
	}
	if (f) {
		qe->stats->inflight_joined++;
	} else {
		enum budget_verdict why = BUDGET_OK;
		if (qe->ninflight >= qe->opts.max_inflight && !query_jostle(qe, start_us)) {
			qe->stats->inflight_overflow++;
			query_servfail(qe, key, STATS_SF_TABLE_FULL, NULL, 1);
			query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
			return;
		}
		if (!(f = query_start(qe, key, kbytes, klen, hash, QUERY_CLIENT, &why))) {
			query_servfail(qe, key, query_refuse_start(qe, why), NULL, 1);
			query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
			return;
		}
	}
	if (!(w = malloc(sizeof(*w))) || !(w->client = c->ops->hold(c))) {
		free(w);
		query_servfail(qe, key, STATS_SF_RESOURCES, NULL, 1);
		query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
		return;
	}
	w->q = *q;
	w->next = NULL;
	w->start_us = start_us;
	w->deadline_ms = start_us / 1000u + qe->opts.timeout_ms;
	w->stale_ms = freshness_stale_at(start_us / 1000u, qe->opts.timeout_ms,
					 qe->opts.stale_client_ms, qe->opts.serve_stale);
	*f->tail = w;
	f->tail = &w->next;
	qe->nwaiting++;
	if (f->nwaiters++ == 0)
		query_arm(f, start_us / 1000u);
}

/* The lookup in flight for key, if any; leaves the encoded key and its
 * hash behind for query_start. */
static struct query_inflight *
query_find(struct query_engine *qe, const struct cache_key *key, uint8_t *kbytes, size_t *klen,
	   uint64_t *hash)
{
	struct query_inflight *f;

	*klen = cache_key_encode(key, kbytes);
	*hash = siphash24(qe->seed, kbytes, *klen);
	for (f = qe->buckets[*hash % QUERY_BUCKETS]; f; f = f->hnext)
		if (f->hash == *hash && f->klen == *klen && memcmp(f->kbytes, kbytes, *klen) == 0)
			return f;
	return NULL;
}

enum query_prefetch_result
query_prefetch(struct query_engine *qe, const struct cache_key *key, enum query_origin origin)
{
	uint8_t kbytes[CACHE_KEY_MAX];
	size_t klen;
	uint64_t hash;
	struct query_inflight *f;

	if (origin != QUERY_REFRESH && cache_peek(qe->cache, key, query_now_ms()))
		return QUERY_PREFETCH_CACHED;
	if (query_find(qe, key, kbytes, &klen, &hash))
		return QUERY_PREFETCH_RUNNING;
	if (qe->nbackground >= qe->opts.max_background || qe->ninflight >= qe->opts.max_inflight)
		return QUERY_PREFETCH_FULL;
	enum budget_verdict why = BUDGET_OK;
	if (!(f = query_start(qe, key, kbytes, klen, hash, origin, &why)))
		return why == BUDGET_ZONE_FULL || why == BUDGET_ZONE_RATE ? QUERY_PREFETCH_ZONE
									  : QUERY_PREFETCH_FULL;
	query_arm(f, query_now_ms());
	return QUERY_PREFETCH_STARTED;
}

/* Unbound's jostle: with the table full, the oldest lookup, once it has
 * run for jostle_ms, gives way to a new one rather than the newest being
 * refused; a flood of slow names cannot hold the table. Its waiters get
 * what a deadline would give them. */
static bool
query_jostle(struct query_engine *qe, uint64_t now_us)
{
	struct query_inflight *f = qe->oldest;

	if (!f || now_us - f->started_us < (uint64_t)qe->opts.jostle_ms * 1000u)
		return false;
	qe->stats->inflight_jostled++;
	upstream_cancel(qe->up, f->req);
	f->req = NULL;
	query_servfail(qe, &f->key, STATS_SF_JOSTLED, NULL, f->nwaiters);
	query_finish(f, NULL, 0, false);
	return true;
}

/* Counts clients' SERVFAILs by reason and tells whoever explains them. */
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

/* A hit in the last tenth of the TTL of an entry worth keeping warm asks
 * the authorities again in the background (query_start picks the lane),
 * so a popular MX never goes cold; clients get the old entry meanwhile. */
static void
query_maybe_refresh(struct query_engine *qe, const struct cache_key *key,
		    const struct cache_answer *a, uint64_t now_ms)
{
	if (!qe->opts.refresh || !freshness_refresh_due(a->stored_ms, a->expires_ms, now_ms,
							key->qtype == WIRE_T_MX || a->prefetched))
		return;
	if (query_prefetch(qe, key, QUERY_REFRESH) == QUERY_PREFETCH_STARTED)
		qe->stats->refreshes++;
}

static struct query_inflight *
query_start(struct query_engine *qe, const struct cache_key *key, const uint8_t *kbytes,
	    size_t klen, uint64_t hash, enum query_origin origin, enum budget_verdict *why)
{
	struct query_inflight *f;
	char text[WIRE_NAME_TEXT_MAX];
	uint64_t now_us = clock_us(), zone = 0;
	bool background = origin != QUERY_CLIENT;

	if (qe->budget) {
		zone = budget_zone(qe->budget, key->name, key->name_len);
		if ((*why = budget_acquire(qe->budget, zone, background, now_us / 1000u)) !=
		    BUDGET_OK)
			return NULL;
	}
	if (!(f = calloc(1, sizeof(*f))))
		goto fail;
	memcpy(f->name, key->name, key->name_len);
	wire_name_lower(f->name, key->name_len);
	f->key = *key;
	f->key.name = f->name;
	memcpy(f->kbytes, kbytes, klen);
	f->klen = klen;
	f->hash = hash;
	f->qe = qe;
	f->tail = &f->waiters;
	f->origin = origin;
	f->zone = zone;
	f->started_us = now_us;
	f->lane = UPSTREAM_MAIN;
	if (origin == QUERY_REFRESH) {
		const struct cache_answer *a = cache_peek(qe->cache, key, now_us / 1000u);
		f->lane = freshness_refresh_lane(a && a->spare ? UPSTREAM_SPARE : UPSTREAM_MAIN);
	}
	if (!wire_name_to_text(f->name, key->name_len, text, sizeof(text)) ||
	    !(f->req = upstream_resolve(qe->up, f->lane, text, key->qtype, key->qclass,
					query_upstream_done, f)))
		goto fail;
	qe->stats->upstream_queries++;
	ev_init(&f->deadline, query_deadline);
	f->deadline.data = f;
	f->hnext = qe->buckets[hash % QUERY_BUCKETS];
	qe->buckets[hash % QUERY_BUCKETS] = f;
	f->older = qe->newest;
	*(qe->newest ? &qe->newest->newer : &qe->oldest) = f;
	qe->newest = f;
	qe->ninflight++;
	if (background)
		qe->nbackground++;
	return f;
fail:
	free(f);
	if (qe->budget)
		budget_release(qe->budget, zone, background, now_us / 1000u);
	return NULL;
}

static void
query_unlink(struct query_engine *qe, struct query_inflight *f)
{
	struct query_inflight **pp = &qe->buckets[f->hash % QUERY_BUCKETS];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	*(f->older ? &f->older->newer : &qe->oldest) = f->newer;
	*(f->newer ? &f->newer->older : &qe->newest) = f->older;
	qe->ninflight--;
	if (f->origin != QUERY_CLIENT)
		qe->nbackground--;
	if (qe->budget)
		budget_release(qe->budget, f->zone, f->origin != QUERY_CLIENT, query_now_ms());
}

/* Answers every waiter (SERVFAIL when wire is NULL) and frees the lookup. */
static void
query_finish(struct query_inflight *f, const uint8_t *wire, size_t len, bool secure)
{
	query_answer_waiters(f, wire, len, secure);
	query_unlink(f->qe, f);
	free(f);
}

static void
query_answer_waiters(struct query_inflight *f, const uint8_t *wire, size_t len, bool secure)
{
	struct query_engine *qe = f->qe;
	struct query_waiter *w, *next;

	ev_timer_stop(qe->loop, &f->deadline);
	for (w = f->waiters; w; w = next) {
		next = w->next;
		if (wire) {
			query_reply_answer(qe, w->client, &w->q, wire, len, 0, secure);
			query_account(qe, w->client, w->start_us, &qe->stats->latency_miss);
		} else {
			query_reply_error(qe, w->client, &w->q, WIRE_SERVFAIL, w->start_us);
		}
		w->client->ops->release(w->client);
		free(w);
	}
	qe->nwaiting -= f->nwaiters;
	f->waiters = NULL;
	f->tail = &f->waiters;
	f->nwaiters = 0;
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
query_upstream_done(void *arg, const struct upstream_result *res)
{
	struct query_inflight *f = arg;
	struct query_engine *qe = f->qe;
	bool cd = (f->key.flags & CACHE_KEY_CD) != 0;
	size_t len = 0;

	f->req = NULL;
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
			query_finish(f, qe->scratch, len, false);
			return;
		}
		query_servfail(qe, &f->key, STATS_SF_UPSTREAM,
			       res->ok ? "the servers answered SERVFAIL or nothing usable"
				       : "no answer from any server", f->nwaiters);
		break;
	}
	query_answer_waiters(f, len ? qe->scratch : NULL, len, secure);
	/* After the clients had their answer: the chaser's work never delays it. */
	if (len && qe->hooks.answered)
		qe->hooks.answered(qe->hooks.arg, &f->key, qe->scratch, len, secure);
	query_unlink(qe, f);
	free(f);
}

/* Turns libunbound's answer into the stored form (no OPT, DNSSEC records
 * only for DO clients, ID 0) and caches it; returns its length, 0 if the
 * answer is unusable. */
static size_t
query_prepare(struct query_engine *qe, struct query_inflight *f, const struct upstream_result *res)
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
	bool negative = query_negative(p, len, f->key.qtype);
	uint32_t ttl = query_ttl(qe, p, len, negative);
	/* What clients see follows the clamps too (as Unbound's cache-min-ttl):
	 * an entry kept 600 s must not show TTL 0 for most of its life. */
	if (negative)
		wire_clamp_ttls(p, len, 0, qe->opts.max_negative_ttl);
	else
		wire_clamp_ttls(p, len, qe->opts.min_ttl, qe->opts.max_ttl);
	unsigned aflags = (res->secure && !res->bogus) ? CACHE_ANSWER_SECURE : 0;
	if (f->origin != QUERY_CLIENT && f->key.qtype != WIRE_T_MX)
		aflags |= CACHE_ANSWER_PREFETCHED;
	if (res->lane == UPSTREAM_SPARE)
		aflags |= CACHE_ANSWER_SPARE;
	if (ttl > 0)
		cache_insert(qe->cache, &f->key, p, len, ttl, aflags, query_now_ms());
	return len;
}

/* NXDOMAIN, or NOERROR without a record of the type asked for at the end
 * of a CNAME chain (NODATA, possibly after CNAMEs): RFC 2308 rules. */
static bool
query_negative(const uint8_t *wire, size_t len, uint16_t qtype)
{
	unsigned rcode = WIRE_RCODE(wire_get16(wire + 2));
	struct wire_iter it;
	struct wire_rr rr;

	if (rcode == WIRE_NXDOMAIN)
		return true;
	if (rcode != WIRE_NOERROR || !wire_iter_init(&it, wire, len))
		return false;
	while (wire_iter_next(&it, &rr) == 1 && rr.section == WIRE_ANSWER)
		if (rr.type == qtype || qtype == WIRE_T_ANY ||
		    (rr.type != WIRE_T_CNAME && rr.type != WIRE_T_DNAME && rr.type != WIRE_T_RRSIG))
			return false;
	return true;
}

/* How long an answer may be cached: RFC 2308 for negative answers (the
 * SOA's TTL and MINIMUM, and no longer than any CNAME that led there),
 * the smallest record TTL otherwise, within the operator's clamps. */
static uint32_t
query_ttl(const struct query_engine *qe, const uint8_t *wire, size_t len, bool negative)
{
	uint32_t ttl = 0, min = 0;

	if (negative) {
		if (!wire_negative_ttl(wire, len, &ttl))
			return 0; /* no SOA: RFC 2308 §5 says do not cache */
		if (wire_min_ttl(wire, len, &min) && min < ttl)
			ttl = min;
		return ttl < qe->opts.max_negative_ttl ? ttl : qe->opts.max_negative_ttl;
	}
	if (WIRE_RCODE(wire_get16(wire + 2)) != WIRE_NOERROR || !wire_min_ttl(wire, len, &ttl))
		return 0;
	if (ttl < qe->opts.min_ttl)
		ttl = qe->opts.min_ttl;
	return ttl > qe->opts.max_ttl ? qe->opts.max_ttl : ttl;
}

/* The timer follows the oldest waiter (its stale time, then its
 * deadline); with none left, the lookup runs on for a while to fill the
 * cache, then is given up. */
static void
query_arm(struct query_inflight *f, uint64_t now_ms)
{
	uint64_t when =
	    f->waiters
		? freshness_waiter_next(f->waiters->deadline_ms, f->waiters->stale_ms, !f->no_stale)
		: f->started_us / 1000u + (uint64_t)QUERY_ORPHAN_TIMEOUTS * f->qe->opts.timeout_ms;
	double delay = when > now_ms ? (double)(when - now_ms) / 1000.0 : 0.0;

	ev_timer_stop(f->qe->loop, &f->deadline);
	ev_timer_set(&f->deadline, delay, 0.0);
	ev_timer_start(f->qe->loop, &f->deadline);
}

static void
query_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct query_inflight *f = t->data;
	struct query_engine *qe = f->qe;
	uint64_t now = query_now_ms();

	(void)loop;
	(void)revents;
	if (!f->waiters) {
		upstream_cancel(qe->up, f->req);
		f->req = NULL;
		query_finish(f, NULL, 0, false);
		return;
	}
	/* Waiters are in arrival order: the first one with nothing due ends
	 * the walk. The stale entry is looked up once, when first needed. */
	size_t stale = 0;
	bool looked = false;
	while (f->waiters) {
		struct query_waiter *w = f->waiters;
		enum freshness_wait due =
		    freshness_waiter(w->deadline_ms, w->stale_ms, now, !f->no_stale);
		if (due != FRESHNESS_WAIT && !looked) {
			looked = true;
			f->no_stale = (stale = query_stale(qe, &f->key)) == 0;
		}
		if (due == FRESHNESS_WAIT || (due == FRESHNESS_TRY_STALE && !stale))
			break;
		f->waiters = w->next;
		f->nwaiters--;
		qe->nwaiting--;
		if (due == FRESHNESS_EXPIRED)
			qe->stats->upstream_timeouts++;
		if (stale) {
			qe->stats->stale_served++;
			query_reply_answer(qe, w->client, &w->q, qe->scratch, stale, 0, false);
			query_account(qe, w->client, w->start_us, &qe->stats->latency_miss);
		} else {
			query_servfail(qe, &f->key, STATS_SF_DEADLINE, NULL, 1);
			query_reply_error(qe, w->client, &w->q, WIRE_SERVFAIL, w->start_us);
		}
		w->client->ops->release(w->client);
		free(w);
	}
	if (!f->waiters)
		f->tail = &f->waiters;
	query_arm(f, now);
}
