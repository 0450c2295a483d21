/*
 * chaser: see include/chaser.h.
 */
#include "chaser.h"

#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "clock.h"
#include "query.h"
#include "stats.h"
#include "wire.h"

/* "_25._tcp." in wire form: where DANE puts an SMTP server's TLSA (RFC 7672). */
static const uint8_t chaser_tlsa_prefix[] = {3, '_', '2', '5', 4, '_', 't', 'c', 'p'};

struct chaser {
	struct chaser_options opts;
	struct query_engine *qe;
	const struct cache *cache;
	struct stats *stats;
};

static void chaser_fetch(struct chaser *ch, const uint8_t *name, size_t len, uint16_t qtype,
			 uint8_t flags);
static void chaser_exchanger(struct chaser *ch, const struct wire_mx *mx, uint8_t flags,
			     bool secure);
static void chaser_present(const uint8_t *pkt, size_t len, const struct wire_mx *mx, size_t n,
			   uint8_t *present);
static size_t chaser_append(const struct cache_answer *a, const struct wire_mx *mx, uint16_t qtype,
			    uint64_t now_ms, uint8_t *pkt, size_t len, size_t limit,
			    unsigned *added);

struct chaser *
chaser_new(const struct chaser_options *opts, struct query_engine *qe, const struct cache *cache,
	   struct stats *stats)
{
	struct chaser *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->opts = *opts;
	if (ch->opts.max_exchangers > CHASER_MAX_EXCHANGERS)
		ch->opts.max_exchangers = CHASER_MAX_EXCHANGERS;
	ch->qe = qe;
	ch->cache = cache;
	ch->stats = stats;
	return ch;
}

void
chaser_free(struct chaser *ch)
{
	free(ch);
}

static void
chaser_fetch(struct chaser *ch, const uint8_t *name, size_t len, uint16_t qtype, uint8_t flags)
{
	struct cache_key key = {
	    .name = name, .name_len = len, .qtype = qtype, .qclass = WIRE_CLASS_IN, .flags = flags};

	switch (query_prefetch(ch->qe, &key, QUERY_CHASER)) {
	case QUERY_PREFETCH_STARTED:
		ch->stats->mx_prefetches++;
		break;
	case QUERY_PREFETCH_CACHED:
		ch->stats->mx_skipped_cached++;
		break;
	case QUERY_PREFETCH_RUNNING:
		ch->stats->mx_skipped_running++;
		break;
	case QUERY_PREFETCH_FULL:
		ch->stats->mx_capped++;
		ch->stats->mx_background_full++;
		break;
	case QUERY_PREFETCH_ZONE:
		ch->stats->mx_capped++;
		ch->stats->mx_zone_budget++;
		break;
	}
}

static void
chaser_exchanger(struct chaser *ch, const struct wire_mx *mx, uint8_t flags, bool secure)
{
	uint8_t tlsa[WIRE_MAX_NAME];

	ch->stats->mx_exchangers++;
	chaser_fetch(ch, mx->name, mx->name_len, WIRE_T_A, flags);
	chaser_fetch(ch, mx->name, mx->name_len, WIRE_T_AAAA, flags);
	/* A DANE-enabled MTA asks for TLSA next, but only of a secure MX set
	 * (RFC 7672 §2.2.1): anything else would be wasted. */
	if (ch->opts.tlsa && secure && sizeof(chaser_tlsa_prefix) + mx->name_len <= WIRE_MAX_NAME) {
		memcpy(tlsa, chaser_tlsa_prefix, sizeof(chaser_tlsa_prefix));
		memcpy(tlsa + sizeof(chaser_tlsa_prefix), mx->name, mx->name_len);
		chaser_fetch(ch, tlsa, sizeof(chaser_tlsa_prefix) + mx->name_len, WIRE_T_TLSA,
			     flags);
	}
}

void
chaser_answered(void *arg, const struct cache_key *key, const uint8_t *wire, size_t len,
		bool secure)
{
	struct chaser *ch = arg;
	struct wire_mx mx[CHASER_MAX_EXCHANGERS];
	uint8_t owner[WIRE_MAX_NAME];
	size_t olen, total, n;

	if (!ch->opts.enabled || ch->opts.max_exchangers == 0 || key->qtype != WIRE_T_MX ||
	    key->qclass != WIRE_CLASS_IN || WIRE_RCODE(wire_get16(wire + 2)) != WIRE_NOERROR ||
	    !(olen = wire_answer_owner(wire, len, owner)))
		return;
	total = wire_mx_list(wire, len, owner, olen, mx, ch->opts.max_exchangers);
	if (total == 0) {
		/* RFC 5321 §5.1: no MX but the name exists: it is its own exchanger. */
		struct wire_mx self = {.name_len = (uint16_t)olen};
		memcpy(self.name, owner, olen);
		ch->stats->mx_implicit++;
		chaser_exchanger(ch, &self, key->flags, secure);
		return;
	}
	ch->stats->mx_answers++;
	if (total == 1 && mx[0].name_len == 1) {
		ch->stats->mx_null++; /* RFC 7505: this domain takes no mail */
		return;
	}
	n = total < ch->opts.max_exchangers ? total : ch->opts.max_exchangers;
	ch->stats->mx_capped += total - n;
	ch->stats->mx_over_limit += total - n;
	for (size_t i = 0; i < n; i++)
		if (mx[i].name_len > 1)
			chaser_exchanger(ch, &mx[i], key->flags, secure);
}

/* Appends the qtype records of mx's exchanger from a cached answer, owner
 * name as a pointer to the exchange name already in the reply. The answer
 * for a name holds its records, or a CNAME chain and the target's: the
 * walk stops at the first record that is not one to append, so it costs
 * what it appends and one record more. */
static size_t
chaser_append(const struct cache_answer *a, const struct wire_mx *mx, uint16_t qtype,
	      uint64_t now_ms, uint8_t *pkt, size_t len, size_t limit, unsigned *added)
{
	uint32_t age = (uint32_t)((now_ms - a->stored_ms) / 1000u);
	struct wire_iter it;
	struct wire_rr rr;

	if (mx->name_off > WIRE_MAX_PTR_TARGET || !wire_iter_init(&it, a->wire, a->len))
		return len;
	while (wire_iter_next(&it, &rr) == 1 && rr.section == WIRE_ANSWER && rr.type == qtype &&
	       wire_name_at(a->wire, a->len, rr.name_off, mx->name, mx->name_len)) {
		if (len + 12 + rr.rdlen > limit)
			return len;
		uint8_t *p = pkt + len;
		wire_put16(p, (uint16_t)(0xc000u | mx->name_off));
		wire_put16(p + 2, qtype);
		wire_put16(p + 4, WIRE_CLASS_IN);
		wire_put32(p + 6, rr.ttl > age ? rr.ttl - age : 0);
		wire_put16(p + 10, rr.rdlen);
		memcpy(p + 12, a->wire + rr.rdata_off, rr.rdlen);
		len += 12 + rr.rdlen;
		(*added)++;
	}
	return len;
}

/* Which exchangers' A (bit 0) and AAAA (bit 1) records upstream already
 * put in the additional section. One walk; an owner is compared in full
 * only with exchangers of the same name hash, so the walk costs a few
 * steps per record however many exchangers there are. */
static void
chaser_present(const uint8_t *pkt, size_t len, const struct wire_mx *mx, size_t n, uint8_t *present)
{
	uint32_t hash[CHASER_MAX_EXCHANGERS];
	uint8_t owner[WIRE_MAX_NAME];
	struct wire_iter it;
	struct wire_rr rr;
	size_t off, olen;

	for (size_t i = 0; i < n; i++) {
		present[i] = 0;
		hash[i] = wire_name_hash(mx[i].name, mx[i].name_len);
	}
	if (!wire_iter_init(&it, pkt, len)) {
		memset(present, 3, n); /* unreadable: add nothing */
		return;
	}
	while (wire_iter_next(&it, &rr) == 1) {
		off = rr.name_off;
		if (rr.section != WIRE_ADDITIONAL ||
		    (rr.type != WIRE_T_A && rr.type != WIRE_T_AAAA) ||
		    !(olen = wire_name_read(pkt, len, &off, owner)))
			continue;
		uint32_t h = wire_name_hash(owner, olen);
		for (size_t i = 0; i < n; i++)
			if (hash[i] == h &&
			    wire_name_equal(owner, olen, mx[i].name, mx[i].name_len))
				present[i] |= rr.type == WIRE_T_A ? 1 : 2;
	}
}

size_t
chaser_additional(void *arg, const struct wire_query *q, uint8_t *pkt, size_t len, size_t limit)
{
	static const uint16_t types[] = {WIRE_T_A, WIRE_T_AAAA};
	struct chaser *ch = arg;
	struct wire_mx mx[CHASER_MAX_EXCHANGERS];
	uint8_t owner[WIRE_MAX_NAME];
	uint8_t present[CHASER_MAX_EXCHANGERS];
	size_t olen, n;
	unsigned added = 0;
	uint64_t now = clock_us() / 1000u;

	if (!ch->opts.additional || q->qtype != WIRE_T_MX ||
	    WIRE_RCODE(wire_get16(pkt + 2)) != WIRE_NOERROR ||
	    !(olen = wire_answer_owner(pkt, len, owner)))
		return len;
	n = wire_mx_list(pkt, len, owner, olen, mx, ch->opts.max_exchangers);
	if (n > ch->opts.max_exchangers)
		n = ch->opts.max_exchangers;
	chaser_present(pkt, len, mx, n, present);
	for (size_t i = 0; i < n; i++) {
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			struct cache_key key = {.name = mx[i].name,
						.name_len = mx[i].name_len,
						.qtype = types[t],
						.qclass = WIRE_CLASS_IN,
						.flags = query_key_flags(q)};
			const struct cache_answer *a = cache_peek(ch->cache, &key, now);
			if (a && WIRE_RCODE(wire_get16(a->wire + 2)) == WIRE_NOERROR &&
			    !(present[i] & (1u << t)))
				len = chaser_append(a, &mx[i], types[t], now, pkt, len, limit,
						    &added);
		}
	}
	wire_put16(pkt + 10, (uint16_t)(wire_get16(pkt + 10) + added));
	ch->stats->mx_additional += added;
	return len;
}
