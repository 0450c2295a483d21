/*
 * chaser_rules: the mx, tlsa, ptr and dmarc rules (include/chaser_rules.h);
 * the spf rule is in chaser_spf.c.
 */
#include <stdbool.h>
#include <string.h>

#include "cache.h"
#include "chaser_rules.h"
#include "spf.h"
#include "stats.h"
#include "wire.h"

/* "_25._tcp." in wire form: where DANE puts an SMTP server's TLSA (RFC 7672). */
static const uint8_t chaser_tlsa_prefix[] = {3, '_', '2', '5', 4, '_', 't', 'c', 'p'};
/* "_dmarc." in wire form (RFC 7489 §6.1). */
static const uint8_t chaser_dmarc_prefix[] = {6, '_', 'd', 'm', 'a', 'r', 'c'};

/* Fetches prefix + name; false if the result would be too long. */
static bool
chaser_fetch_prefixed(struct chaser *ch, enum chaser_rule rule, const uint8_t *prefix, size_t plen,
		      const uint8_t *name, size_t len, uint16_t qtype, uint8_t flags)
{
	uint8_t buf[WIRE_MAX_NAME];

	if (plen + len > WIRE_MAX_NAME) {
		ch->rules[rule].skipped++;
		return false;
	}
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, name, len);
	chaser_fetch(ch, rule, buf, plen + len, qtype, flags);
	return true;
}

static void
chaser_addresses(struct chaser *ch, enum chaser_rule rule, const uint8_t *name, size_t len,
		 uint8_t flags)
{
	chaser_fetch(ch, rule, name, len, WIRE_T_A, flags);
	chaser_fetch(ch, rule, name, len, WIRE_T_AAAA, flags);
}

static void
chaser_exchanger(struct chaser *ch, const struct wire_mx *mx, uint8_t flags, bool secure)
{
	ch->stats->mx_exchangers++;
	chaser_addresses(ch, CHASER_MX, mx->name, mx->name_len, flags);
	/* A DANE-enabled MTA asks for TLSA next, but only of a secure MX set
	 * (RFC 7672 §2.2.1): anything else would be wasted. */
	if (chaser_rule_on(ch, CHASER_TLSA) && secure) {
		ch->rules[CHASER_TLSA].answers++;
		chaser_fetch_prefixed(ch, CHASER_TLSA, chaser_tlsa_prefix,
				      sizeof(chaser_tlsa_prefix), mx->name, mx->name_len,
				      WIRE_T_TLSA, flags);
	}
}

void
chaser_rule_mx(struct chaser *ch, const struct chaser_answer *a)
{
	struct wire_mx mx[CHASER_MAX_EXCHANGERS];
	size_t total, n;
	uint8_t flags = a->key->flags;

	if (ch->opts.max_exchangers == 0 || a->rcode != WIRE_NOERROR)
		return;
	ch->rules[CHASER_MX].answers++;
	total = wire_mx_list(a->wire, a->len, a->owner, a->olen, mx, ch->opts.max_exchangers);
	if (total == 0) {
		/* RFC 5321 §5.1: no MX but the name exists: it is its own exchanger. */
		struct wire_mx self = {.name_len = (uint16_t)a->olen};
		memcpy(self.name, a->owner, a->olen);
		ch->stats->mx_implicit++;
		chaser_exchanger(ch, &self, flags, a->secure);
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
	ch->rules[CHASER_MX].skipped += total - n;
	for (size_t i = 0; i < n; i++)
		if (mx[i].name_len > 1)
			chaser_exchanger(ch, &mx[i], flags, a->secure);
}

struct chaser_ptr_walk {
	struct chaser *ch;
	unsigned n;
};

static bool
chaser_ptr_target(const struct chaser_answer *a, size_t rdata_off, uint16_t rdlen, void *arg)
{
	struct chaser_ptr_walk *w = arg;
	uint8_t name[WIRE_MAX_NAME];
	size_t off = rdata_off, len = wire_name_read(a->wire, a->len, &off, name);

	if (!len || off != rdata_off + rdlen || len == 1 || w->n == CHASER_PTR_MAX) {
		w->ch->rules[CHASER_PTR].skipped++;
		return true;
	}
	w->n++;
	chaser_addresses(w->ch, CHASER_PTR, name, len, a->key->flags);
	return true;
}

/* The names of a PTR answer (at the end of a CNAME chain for an RFC 2317
 * classless delegation), so the forward confirmation finds them cached. */
void
chaser_rule_ptr(struct chaser *ch, const struct chaser_answer *a)
{
	struct chaser_ptr_walk w = {.ch = ch};

	if (a->rcode != WIRE_NOERROR)
		return;
	chaser_answer_rdata(a, WIRE_T_PTR, chaser_ptr_target, &w);
	if (w.n)
		ch->rules[CHASER_PTR].answers++;
}

static bool
chaser_spf_pick(const struct chaser_answer *a, size_t rdata_off, uint16_t rdlen, void *arg)
{
	struct chaser_spf_find *f = arg;

	f->txt++;
	if (spf_is_record_rdata(a->wire + rdata_off, rdlen)) {
		f->spf++;
		f->rdata = a->wire + rdata_off;
		f->rdlen = rdlen;
	}
	return true;
}

void
chaser_spf_find(const struct chaser_answer *a, struct chaser_spf_find *f)
{
	*f = (struct chaser_spf_find){0};
	if (a->rcode == WIRE_NOERROR)
		chaser_answer_rdata(a, WIRE_T_TXT, chaser_spf_pick, f);
}

/* The MAIL FROM domain's SPF answer: the receiver asks for its DMARC
 * policy next. Not for a tree's include targets ("_spf.example.com" has
 * no policy of its own) nor for names that are not host names. */
void
chaser_rule_dmarc(struct chaser *ch, const struct chaser_answer *a)
{
	const struct cache_key *k = a->key;
	struct chaser_spf_find f;

	if (a->rcode != WIRE_NOERROR || k->name_len < 2 || k->name[1] == '_' ||
	    a->tag == CHASER_TAG(CHASER_SPF))
		return;
	chaser_spf_find(a, &f);
	if (f.spf != 1 || chaser_spf_is_branch(ch->trees, k->name, k->name_len))
		return;
	ch->rules[CHASER_DMARC].answers++;
	chaser_fetch_prefixed(ch, CHASER_DMARC, chaser_dmarc_prefix, sizeof(chaser_dmarc_prefix),
			      k->name, k->name_len, WIRE_T_TXT, k->flags);
}
