/*
 * chaser_spf: the spf rule (include/chaser_rules.h). An SPF record's
 * answer starts what its terms look up: include/redirect -> TXT (whose
 * records are chased in turn as their answers arrive), a -> A and AAAA,
 * mx -> MX (the mx rule then fetches the exchangers), exists -> A.
 *
 * A tree is bounded as an evaluator bounds it (RFC 7208 §4.6.4): its
 * terms share one count of 10 DNS-querying terms; it stops at an
 * include/redirect target without exactly one SPF record (NXDOMAIN, no
 * record, several: the evaluator's permerror), at the third void lookup
 * of its a, exists and mx terms (their A or MX answer is watched: NXDOMAIN
 * or no record), at SPF_MAX_DEPTH, and at a name it holds already (a loop). The tree's state lives
 * in a small table, one slot per root, the oldest reused: a branch's answer finds its tree there by
 * name. Branches are chased as they arrive, not in evaluation order, so when a tree runs out of its
 * 10 terms the ones left out may differ from the evaluator's; the number fetched is the same bound.
 */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "chaser_rules.h"
#include "clock.h"
#include "spf.h"
#include "wire.h"

#define CHASER_SPF_TREES 64
/* The root, what it can include, and the terms whose voids are watched. */
#define CHASER_SPF_BRANCHES (2 * SPF_MAX_DNS_TERMS + 1)

struct chaser_spf_branch {
	uint8_t name[WIRE_MAX_NAME]; /* lower-cased */
	uint8_t len;
	uint8_t depth;
	bool answered;
	uint16_t qtype; /* TXT: an include/redirect target; A, MX: a void watch */
	uint32_t hash;
};

struct chaser_spf_tree {
	struct chaser_spf_branch b[CHASER_SPF_BRANCHES]; /* b[0]: the root */
	unsigned n;
	unsigned dns_terms, voids;
};

struct chaser_spf_trees {
	struct chaser_spf_tree tree[CHASER_SPF_TREES];
	unsigned next; /* the slot a new root takes */
	struct spf_record rec;
};

struct chaser_spf_trees *
chaser_spf_trees_new(void)
{
	return calloc(1, sizeof(struct chaser_spf_trees));
}

void
chaser_spf_trees_free(struct chaser_spf_trees *t)
{
	free(t);
}

static bool
chaser_spf_branch_is(const struct chaser_spf_branch *b, const uint8_t *name, size_t len,
		     uint32_t hash)
{
	return b->hash == hash && wire_name_equal(b->name, b->len, name, len);
}

/* The branch waiting for name's qtype answer, and its tree; NULL if none. */
static struct chaser_spf_branch *
chaser_spf_waiting(struct chaser_spf_trees *t, const uint8_t *name, size_t len, uint16_t qtype,
		   struct chaser_spf_tree **tree)
{
	uint32_t hash = wire_name_hash(name, len);

	for (size_t i = 0; i < CHASER_SPF_TREES; i++)
		for (unsigned j = 1; j < t->tree[i].n; j++)
			if (!t->tree[i].b[j].answered && t->tree[i].b[j].qtype == qtype &&
			    chaser_spf_branch_is(&t->tree[i].b[j], name, len, hash)) {
				*tree = &t->tree[i];
				return &t->tree[i].b[j];
			}
	return NULL;
}

bool
chaser_spf_is_branch(const struct chaser_spf_trees *t, const uint8_t *name, size_t len)
{
	uint32_t hash = wire_name_hash(name, len);

	for (size_t i = 0; i < CHASER_SPF_TREES; i++)
		for (unsigned j = 1; j < t->tree[i].n; j++)
			if (t->tree[i].b[j].qtype == WIRE_T_TXT &&
			    chaser_spf_branch_is(&t->tree[i].b[j], name, len, hash))
				return true;
	return false;
}

/* Adds name/qtype to tree; false if it is there already (for TXT: a loop)
 * or the tree is full. */
static bool
chaser_spf_grow(struct chaser_spf_tree *tree, const uint8_t *name, size_t len, uint16_t qtype,
		unsigned depth)
{
	uint32_t hash = wire_name_hash(name, len);
	struct chaser_spf_branch *b;

	for (unsigned j = 0; j < tree->n; j++)
		if (tree->b[j].qtype == qtype && chaser_spf_branch_is(&tree->b[j], name, len, hash))
			return false;
	if (tree->n == CHASER_SPF_BRANCHES)
		return false;
	b = &tree->b[tree->n++];
	memcpy(b->name, name, len);
	wire_name_lower(b->name, len);
	b->len = (uint8_t)len;
	b->depth = (uint8_t)depth;
	b->answered = depth == 0;
	b->qtype = qtype;
	b->hash = hash;
	return true;
}

static struct chaser_spf_tree *
chaser_spf_plant(struct chaser_spf_trees *t, const uint8_t *name, size_t len)
{
	struct chaser_spf_tree *tree = &t->tree[t->next];

	t->next = (t->next + 1) % CHASER_SPF_TREES;
	memset(tree, 0, sizeof(*tree));
	chaser_spf_grow(tree, name, len, WIRE_T_TXT, 0);
	return tree;
}

/* The branches' answers that were cached already: chased from the cache
 * at once, or their subtrees would wait for their next expiry. */
struct chaser_spf_next {
	unsigned n;
	struct {
		uint8_t name[WIRE_MAX_NAME];
		size_t len;
	} b[SPF_MAX_DNS_TERMS];
};

/* Starts the lookups of one record of tree at depth; returns the cached
 * branches in next. */
static void
chaser_spf_terms(struct chaser *ch, struct chaser_spf_tree *tree, unsigned depth,
		 const struct spf_record *rec, const char *domain, uint8_t flags,
		 struct chaser_spf_next *next)
{
	struct chaser_counters *c = &ch->rules[CHASER_SPF];
	struct spf_plan plan;
	unsigned room = SPF_MAX_DNS_TERMS - tree->dns_terms;
	uint8_t name[WIRE_MAX_NAME];
	size_t len;

	spf_plan(rec, domain, &plan);
	for (unsigned i = 0; i < rec->n_terms; i++)
		if (rec->terms[i].has_macro || rec->terms[i].kind == SPF_K_PTR)
			c->skipped++; /* counted toward the limit, nothing to fetch */
	for (unsigned i = 0; i < plan.n; i++) {
		const struct spf_question *q = &plan.q[i];
		if (q->nth > room || strchr(q->name, '\\') ||
		    !(len = wire_name_from_text(q->name, name))) {
			c->skipped++;
			continue;
		}
		if (q->qtype == WIRE_T_TXT &&
		    !chaser_spf_grow(tree, name, len, WIRE_T_TXT, depth + 1)) {
			c->skipped++; /* a loop, or the tree is full */
			continue;
		}
		/* An evaluator's void count watches one lookup per a/exists/mx
		 * term (an IPv4 client's A; the MX). */
		if (q->qtype == WIRE_T_A || q->qtype == WIRE_T_MX)
			chaser_spf_grow(tree, name, len, q->qtype, depth + 1);
		if (chaser_fetch(ch, CHASER_SPF, name, len, q->qtype, flags) ==
			QUERY_PREFETCH_CACHED &&
		    q->qtype == WIRE_T_TXT && next->n < SPF_MAX_DNS_TERMS) {
			memcpy(next->b[next->n].name, name, len);
			next->b[next->n++].len = len;
		}
	}
	if (plan.over_limit || plan.dns_terms > room)
		c->skipped++;
	tree->dns_terms += plan.dns_terms < room ? plan.dns_terms : room;
}

void
chaser_rule_spf(struct chaser *ch, const struct chaser_answer *a)
{
	struct chaser_spf_trees *t = ch->trees;
	struct chaser_counters *c = &ch->rules[CHASER_SPF];
	const struct cache_key *k = a->key;
	struct chaser_spf_tree *tree = NULL;
	struct chaser_spf_branch *b;
	struct chaser_spf_find f;
	struct chaser_spf_next next = {0};
	char text[4 * WIRE_MAX_NAME + 1], domain[SPF_NAME_MAX]; /* \ddd escapes at worst */
	unsigned depth = 0;

	if (a->rcode != WIRE_NOERROR && a->rcode != WIRE_NXDOMAIN)
		return;
	chaser_spf_find(a, &f);
	if ((b = chaser_spf_waiting(t, k->name, k->name_len, WIRE_T_TXT, &tree))) {
		b->answered = true;
		depth = b->depth;
	} else if (f.spf == 1 && a->tag == 0) {
		tree = chaser_spf_plant(t, k->name, k->name_len);
	} else {
		/* Not an SPF answer, or one no client asked for: a branch whose
		 * tree left the table (a busy table), a _dmarc record written as
		 * an SPF record. As a root it would start ten lookups more, and
		 * a branch's own branches more again, without end. */
		return;
	}
	if (f.spf != 1 || depth >= SPF_MAX_DEPTH) {
		/* The evaluator's permerror: it asks nothing after this. */
		tree->dns_terms = SPF_MAX_DNS_TERMS;
		c->skipped++;
		return;
	}
	c->answers++;
	if (!wire_name_to_text(k->name, k->name_len, text, sizeof(text)) ||
	    !spf_name_normalise(text, strlen(text), domain, sizeof(domain)) ||
	    spf_parse_rdata(f.rdata, f.rdlen, &t->rec) != SPF_PARSE_OK) {
		c->skipped++;
		return;
	}
	chaser_spf_terms(ch, tree, depth, &t->rec, domain, k->flags, &next);
	for (unsigned i = 0; i < next.n; i++) {
		struct cache_key ck = {.name = next.b[i].name,
				       .name_len = next.b[i].len,
				       .qtype = WIRE_T_TXT,
				       .qclass = WIRE_CLASS_IN,
				       .flags = k->flags};
		const struct cache_answer *ca = cache_peek(ch->cache, &ck, clock_us() / 1000u);
		struct chaser_answer sub;
		if (ca && chaser_answer_init(&sub, &ck, ca->wire, ca->len, ca->secure)) {
			sub.tag = CHASER_TAG(CHASER_SPF);
			chaser_rule_spf(ch, &sub);
		}
	}
}

static bool
chaser_spf_any(const struct chaser_answer *a, size_t rdata_off, uint16_t rdlen, void *arg)
{
	(void)a;
	(void)rdata_off;
	(void)rdlen;
	*(bool *)arg = true;
	return false;
}

void
chaser_rule_spf_void(struct chaser *ch, const struct chaser_answer *a)
{
	struct chaser_spf_tree *tree;
	struct chaser_spf_branch *b;
	bool found = false;

	if ((a->rcode != WIRE_NOERROR && a->rcode != WIRE_NXDOMAIN) ||
	    !(b = chaser_spf_waiting(ch->trees, a->key->name, a->key->name_len, a->key->qtype,
				     &tree)))
		return;
	b->answered = true;
	if (a->rcode == WIRE_NOERROR)
		chaser_answer_rdata(a, a->key->qtype, chaser_spf_any, &found);
	if (!found && ++tree->voids > SPF_MAX_VOID) {
		tree->dns_terms = SPF_MAX_DNS_TERMS; /* the evaluator's permerror */
		ch->rules[CHASER_SPF].skipped++;
	}
}
