/*
 * chaser: see include/chaser.h. The core: the rule table, the lookups'
 * accounting, the counters; the rules are in chaser_rules.c and
 * chaser_spf.c. The additional records of MX replies are here too.
 */
#include "chaser.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "chaser_rules.h"
#include "clock.h"
#include "query.h"
#include "stats.h"
#include "wire.h"

/* Each rule's name (the stats key: chaser.<name>.*) and switch. */
static const struct chaser_rule_def {
	const char *name;
	size_t flag; /* offset of its bool in struct chaser_options */
} chaser_rules[CHASER_RULES] = {
    [CHASER_MX] = {"mx", offsetof(struct chaser_options, enabled)},
    [CHASER_TLSA] = {"tlsa", offsetof(struct chaser_options, tlsa)},
    [CHASER_PTR] = {"ptr", offsetof(struct chaser_options, ptr)},
    [CHASER_SPF] = {"spf", offsetof(struct chaser_options, spf)},
    [CHASER_DMARC] = {"dmarc", offsetof(struct chaser_options, dmarc)},
};

/* Which answer type runs which rule's function, in this order; tlsa is
 * run by mx. The spf rule also watches the A and MX answers of a tree's
 * a, exists and mx terms, to count its void lookups. */
static const struct chaser_trigger {
	uint16_t qtype;
	enum chaser_rule rule;
	void (*run)(struct chaser *ch, const struct chaser_answer *a);
} chaser_triggers[] = {
    {WIRE_T_MX, CHASER_MX, chaser_rule_mx},	  {WIRE_T_MX, CHASER_SPF, chaser_rule_spf_void},
    {WIRE_T_A, CHASER_SPF, chaser_rule_spf_void}, {WIRE_T_PTR, CHASER_PTR, chaser_rule_ptr},
    {WIRE_T_TXT, CHASER_SPF, chaser_rule_spf},	  {WIRE_T_TXT, CHASER_DMARC, chaser_rule_dmarc},
};

_Static_assert(CHASER_RULES < CACHE_TAGS, "every rule needs a cache tag");

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
	if (!(ch->trees = chaser_spf_trees_new())) {
		free(ch);
		return NULL;
	}
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
	if (!ch)
		return;
	chaser_spf_trees_free(ch->trees);
	free(ch);
}

bool
chaser_rule_on(const struct chaser *ch, enum chaser_rule rule)
{
	bool on;

	memcpy(&on, (const char *)&ch->opts + chaser_rules[rule].flag, sizeof(on));
	return on;
}

/* The mx and tlsa rules also keep the mx_chaser.* counters other tools read. */
static void
chaser_count_mx(struct stats *st, enum query_prefetch_result r)
{
	switch (r) {
	case QUERY_PREFETCH_STARTED:
		st->mx_prefetches++;
		break;
	case QUERY_PREFETCH_CACHED:
		st->mx_skipped_cached++;
		break;
	case QUERY_PREFETCH_RUNNING:
		st->mx_skipped_running++;
		break;
	case QUERY_PREFETCH_FULL:
		st->mx_capped++;
		st->mx_background_full++;
		break;
	case QUERY_PREFETCH_ZONE:
		st->mx_capped++;
		st->mx_zone_budget++;
		break;
	}
}

enum query_prefetch_result
chaser_fetch(struct chaser *ch, enum chaser_rule rule, const uint8_t *name, size_t len,
	     uint16_t qtype, uint8_t flags)
{
	struct cache_key key = {
	    .name = name, .name_len = len, .qtype = qtype, .qclass = WIRE_CLASS_IN, .flags = flags};
	enum query_prefetch_result r = query_prefetch(ch->qe, &key, QUERY_CHASER, CHASER_TAG(rule));

	if (rule == CHASER_MX || rule == CHASER_TLSA)
		chaser_count_mx(ch->stats, r);
	if (r == QUERY_PREFETCH_STARTED)
		ch->rules[rule].prefetches++;
	else
		ch->rules[rule].skipped++;
	return r;
}

bool
chaser_answer_init(struct chaser_answer *a, const struct cache_key *key, const uint8_t *wire,
		   size_t len, bool secure)
{
	a->key = key;
	a->wire = wire;
	a->len = len;
	a->secure = secure;
	a->tag = 0;
	a->rcode = len >= WIRE_HEADER_LEN ? WIRE_RCODE(wire_get16(wire + 2)) : WIRE_SERVFAIL;
	return len >= WIRE_HEADER_LEN && (a->olen = wire_answer_owner(wire, len, a->owner)) != 0;
}

void
chaser_answer_rdata(const struct chaser_answer *a, uint16_t type,
		    bool (*fn)(const struct chaser_answer *a, size_t rdata_off, uint16_t rdlen,
			       void *arg),
		    void *arg)
{
	struct wire_iter it;
	struct wire_rr rr;

	if (!wire_iter_init(&it, a->wire, a->len))
		return;
	while (wire_iter_next(&it, &rr) == 1 && rr.section == WIRE_ANSWER)
		if (rr.type == type && rr.rclass == WIRE_CLASS_IN &&
		    wire_name_at(a->wire, a->len, rr.name_off, a->owner, a->olen) &&
		    !fn(a, rr.rdata_off, rr.rdlen, arg))
			return;
}

void
chaser_answered(void *arg, const struct cache_key *key, const uint8_t *wire, size_t len,
		bool secure, unsigned tag)
{
	struct chaser *ch = arg;
	struct chaser_answer a;

	if (key->qclass != WIRE_CLASS_IN || !chaser_answer_init(&a, key, wire, len, secure))
		return;
	a.tag = tag;
	for (size_t i = 0; i < sizeof(chaser_triggers) / sizeof(chaser_triggers[0]); i++)
		if (chaser_triggers[i].qtype == key->qtype &&
		    chaser_rule_on(ch, chaser_triggers[i].rule))
			chaser_triggers[i].run(ch, &a);
}

void
chaser_tagged_hit(void *arg, unsigned tag)
{
	struct chaser *ch = arg;

	if (tag >= 1 && tag <= CHASER_RULES)
		ch->rules[tag - 1].prefetch_hits++;
}

void
chaser_get_stats(const struct chaser *ch, struct chaser_counters out[CHASER_RULES])
{
	memcpy(out, ch->rules, sizeof(ch->rules));
}

void
chaser_reset_stats(struct chaser *ch)
{
	memset(ch->rules, 0, sizeof(ch->rules));
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
