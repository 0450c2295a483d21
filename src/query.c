/*
 * query: the pipeline from a client's packet to its reply. See include/query.h.
 */
#include "query.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "acl.h"
#include "cache.h"
#include "clock.h"
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
	ev_timer deadline;
};

struct query_engine {
	struct ev_loop *loop;
	struct query_options opts;
	struct cache *cache;
	struct upstream *up;
	const struct acl *acl;
	struct ratelimit *rl;
	struct stats *stats;
	uint8_t seed[16];
	struct query_hooks hooks;
	size_t ninflight;
	size_t nbackground;
	size_t nwaiting;
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
					  enum query_origin origin);
static void query_unlink(struct query_engine *qe, struct query_inflight *f);
static void query_finish(struct query_inflight *f, const uint8_t *wire, size_t len, bool secure);
static void query_upstream_done(void *arg, const struct upstream_result *res);
static size_t query_prepare(struct query_engine *qe, struct query_inflight *f,
			    const struct upstream_result *res);
static uint32_t query_ttl(const struct query_engine *qe, const uint8_t *wire, size_t len);
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
		query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
		return;
	}
	if (f) {
		qe->stats->inflight_joined++;
	} else if (qe->ninflight >= qe->opts.max_inflight ||
		   !(f = query_start(qe, key, kbytes, klen, hash, QUERY_CLIENT))) {
		qe->stats->inflight_overflow++;
		query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
		return;
	}
	if (!(w = malloc(sizeof(*w))) || !(w->client = c->ops->hold(c))) {
		free(w);
		query_reply_error(qe, c, q, WIRE_SERVFAIL, start_us);
		return;
	}
	w->q = *q;
	w->next = NULL;
	w->start_us = start_us;
	w->deadline_ms = start_us / 1000u + qe->opts.timeout_ms;
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
	if (qe->nbackground >= qe->opts.max_background || qe->ninflight >= qe->opts.max_inflight ||
	    !(f = query_start(qe, key, kbytes, klen, hash, origin)))
		return QUERY_PREFETCH_FULL;
	query_arm(f, query_now_ms());
	return QUERY_PREFETCH_STARTED;
}

/* A hit in the last tenth of the TTL of an entry worth keeping warm asks
 * upstream again in the background (and lets libunbound's own prefetch
 * refresh its cache), so a popular MX never goes cold. */
static void
query_maybe_refresh(struct query_engine *qe, const struct cache_key *key,
		    const struct cache_answer *a, uint64_t now_ms)
{
	uint64_t total = a->expires_ms - a->stored_ms, left = a->expires_ms - now_ms;

	if (!qe->opts.refresh || left * 10 > total)
		return;
	if (key->qtype != WIRE_T_MX && !a->prefetched)
		return;
	if (query_prefetch(qe, key, QUERY_REFRESH) == QUERY_PREFETCH_STARTED)
		qe->stats->refreshes++;
}

static struct query_inflight *
query_start(struct query_engine *qe, const struct cache_key *key, const uint8_t *kbytes,
	    size_t klen, uint64_t hash, enum query_origin origin)
{
	struct query_inflight *f = calloc(1, sizeof(*f));
	char text[WIRE_NAME_TEXT_MAX];

	if (!f)
		return NULL;
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
	f->started_us = clock_us();
	if (!wire_name_to_text(f->name, key->name_len, text, sizeof(text)) ||
	    !(f->req = upstream_resolve(qe->up, text, key->qtype, key->qclass, query_upstream_done,
					f))) {
		free(f);
		return NULL;
	}
	qe->stats->upstream_queries++;
	ev_init(&f->deadline, query_deadline);
	f->deadline.data = f;
	f->hnext = qe->buckets[hash % QUERY_BUCKETS];
	qe->buckets[hash % QUERY_BUCKETS] = f;
	qe->ninflight++;
	if (origin != QUERY_CLIENT)
		qe->nbackground++;
	return f;
}

static void
query_unlink(struct query_engine *qe, struct query_inflight *f)
{
	struct query_inflight **pp = &qe->buckets[f->hash % QUERY_BUCKETS];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	qe->ninflight--;
	if (f->origin != QUERY_CLIENT)
		qe->nbackground--;
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
	size_t len = 0;

	f->req = NULL;
	stats_hist_add(&qe->stats->latency_upstream, clock_us() - f->started_us);
	bool secure = res->ok && res->secure && !res->bogus;
	if (res->ok && res->bogus && !(f->key.flags & CACHE_KEY_CD)) {
		qe->stats->upstream_bogus++;
	} else if (!res->ok || (len = query_prepare(qe, f, res)) == 0) {
		qe->stats->upstream_failures++;
		if ((len = query_stale(qe, &f->key)) > 0) {
			qe->stats->stale_served += f->nwaiters;
			query_answer_waiters(f, qe->scratch, len, false);
			query_unlink(qe, f);
			free(f);
			return;
		}
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
		return len; /* passed on, never cached */
	uint32_t ttl = query_ttl(qe, p, len);
	unsigned aflags = (res->secure && !res->bogus) ? CACHE_ANSWER_SECURE : 0;
	if (f->origin != QUERY_CLIENT && f->key.qtype != WIRE_T_MX)
		aflags |= CACHE_ANSWER_PREFETCHED;
	if (ttl > 0)
		cache_insert(qe->cache, &f->key, p, len, ttl, aflags, query_now_ms());
	return len;
}

/* How long an answer may be cached: RFC 2308 for negative answers, the
 * smallest record TTL otherwise, within the operator's clamps. */
static uint32_t
query_ttl(const struct query_engine *qe, const uint8_t *wire, size_t len)
{
	unsigned rcode = WIRE_RCODE(wire_get16(wire + 2));
	uint32_t ttl = 0;

	if (rcode == WIRE_NXDOMAIN || (rcode == WIRE_NOERROR && wire_get16(wire + 6) == 0)) {
		if (!wire_negative_ttl(wire, len, &ttl))
			return 0; /* no SOA: RFC 2308 §5 says do not cache */
		return ttl < qe->opts.max_negative_ttl ? ttl : qe->opts.max_negative_ttl;
	}
	if (rcode != WIRE_NOERROR || !wire_min_ttl(wire, len, &ttl))
		return 0;
	if (ttl < qe->opts.min_ttl)
		ttl = qe->opts.min_ttl;
	return ttl > qe->opts.max_ttl ? qe->opts.max_ttl : ttl;
}

/* The timer follows the oldest waiter; with none left, the lookup runs on
 * for a while to fill the cache, then is given up. */
static void
query_arm(struct query_inflight *f, uint64_t now_ms)
{
	uint64_t when = f->waiters ? f->waiters->deadline_ms
				   : f->started_us / 1000u +
					 (uint64_t)QUERY_ORPHAN_TIMEOUTS * f->qe->opts.timeout_ms;
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
	size_t stale = f->waiters && f->waiters->deadline_ms <= now ? query_stale(qe, &f->key) : 0;
	while (f->waiters && f->waiters->deadline_ms <= now) {
		struct query_waiter *w = f->waiters;
		f->waiters = w->next;
		f->nwaiters--;
		qe->nwaiting--;
		qe->stats->upstream_timeouts++;
		if (stale) {
			qe->stats->stale_served++;
			query_reply_answer(qe, w->client, &w->q, qe->scratch, stale, 0, false);
			query_account(qe, w->client, w->start_us, &qe->stats->latency_miss);
		} else {
			query_reply_error(qe, w->client, &w->q, WIRE_SERVFAIL, w->start_us);
		}
		w->client->ops->release(w->client);
		free(w);
	}
	if (!f->waiters)
		f->tail = &f->waiters;
	query_arm(f, now);
}
