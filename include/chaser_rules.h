/*
 * chaser_rules: what the chaser core (src/chaser.c) shares with its rules
 * (src/chaser_rules.c, src/chaser_spf.c). A rule reads one answer and asks
 * for lookups through chaser_fetch, which starts them and counts them.
 */
#ifndef MXCACHE_CHASER_RULES_H
#define MXCACHE_CHASER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaser.h"
#include "query.h"
#include "wire.h"

struct chaser_spf_trees;

struct chaser {
	struct chaser_options opts;
	struct query_engine *qe;
	const struct cache *cache;
	struct stats *stats;
	struct chaser_counters rules[CHASER_RULES];
	struct chaser_spf_trees *trees;
};

/* One upstream answer as the rules see it. */
struct chaser_answer {
	const struct cache_key *key;
	const uint8_t *wire;
	size_t len;
	bool secure;
	unsigned tag; /* the lookup's (CHASER_TAG of the rule that fetched it), 0 if none */
	unsigned rcode;
	uint8_t owner[WIRE_MAX_NAME]; /* the question name after the CNAME chain */
	size_t olen;
};

/* Whether rule is switched on (its flag in chaser_options). */
bool chaser_rule_on(const struct chaser *ch, enum chaser_rule rule);

/* Starts a background lookup for rule, counting the outcome. */
enum query_prefetch_result chaser_fetch(struct chaser *ch, enum chaser_rule rule,
					const uint8_t *name, size_t len, uint16_t qtype,
					uint8_t flags);

/* Fills a from a stored answer; false if it is unreadable. */
bool chaser_answer_init(struct chaser_answer *a, const struct cache_key *key, const uint8_t *wire,
			size_t len, bool secure);

/* Calls fn for the RDATA of each type record of a's final owner in the
 * answer section, until fn returns false. */
void chaser_answer_rdata(const struct chaser_answer *a, uint16_t type,
			 bool (*fn)(const struct chaser_answer *a, size_t rdata_off, uint16_t rdlen,
				    void *arg),
			 void *arg);

/* The TXT records of a's owner: how many, how many are SPF records (RFC
 * 7208 §4.5), and the last of those. */
struct chaser_spf_find {
	unsigned txt, spf;
	const uint8_t *rdata;
	uint16_t rdlen;
};

void chaser_spf_find(const struct chaser_answer *a, struct chaser_spf_find *f);

/* The rules (src/chaser_rules.c, src/chaser_spf.c). */
void chaser_rule_mx(struct chaser *ch, const struct chaser_answer *a);
void chaser_rule_ptr(struct chaser *ch, const struct chaser_answer *a);
void chaser_rule_spf(struct chaser *ch, const struct chaser_answer *a);
/* The A or MX answer of a tree's a, exists or mx term: counts a void. */
void chaser_rule_spf_void(struct chaser *ch, const struct chaser_answer *a);
void chaser_rule_dmarc(struct chaser *ch, const struct chaser_answer *a);

/* The SPF rule's per-tree state (src/chaser_spf.c). */
struct chaser_spf_trees *chaser_spf_trees_new(void);
void chaser_spf_trees_free(struct chaser_spf_trees *t);
/* Whether name is an include/redirect target of a tree being chased. */
bool chaser_spf_is_branch(const struct chaser_spf_trees *t, const uint8_t *name, size_t len);

#endif
