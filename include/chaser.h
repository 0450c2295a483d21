/*
 * chaser: fetches a mail server's next questions as soon as the answer
 * that raises them arrives from upstream, in parallel, through the normal
 * pipeline, so those questions are cache hits. One core (which answer
 * runs which rule, the lookups' accounting, counters per rule) and one
 * small function per rule:
 *
 *   mx     MX answer     -> A/AAAA of the exchangers
 *   tlsa   (mx)          -> _25._tcp.<exchanger> TLSA of a secure MX set
 *   ptr    PTR answer    -> A/AAAA of the names (forward-confirmed rDNS)
 *   spf    SPF TXT       -> what the record's terms look up, tree-wide
 *   dmarc  SPF TXT       -> _dmarc.<domain> TXT
 *
 * Every lookup is a background lookup of the engine: it is charged to the
 * zone's budget, tagged with its rule (hits and unused entries are counted
 * per rule) and refreshed near expiry like other prefetched entries. It
 * also puts cached exchanger addresses in the additional section of MX
 * replies.
 */
#ifndef MXCACHE_CHASER_H
#define MXCACHE_CHASER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHASER_MAX_EXCHANGERS 64 /* hard ceiling for max_exchangers */
#define CHASER_PTR_MAX 4	 /* PTR names whose addresses are chased */

enum chaser_rule { CHASER_MX, CHASER_TLSA, CHASER_PTR, CHASER_SPF, CHASER_DMARC, CHASER_RULES };

/* A rule's lookups are tagged rule + 1 in the cache (0 is "no rule"). */
#define CHASER_TAG(rule) ((unsigned)(rule) + 1u)

struct chaser_counters {
	uint64_t answers;	/* answers the rule acted on */
	uint64_t prefetches;	/* lookups it started */
	uint64_t prefetch_hits; /* client queries answered from them */
	uint64_t skipped;	/* lookups or terms left out (see README) */
};

struct cache;
struct cache_key;
struct query_engine;
struct stats;
struct wire_query;
struct chaser;

struct chaser_options {
	bool enabled;		 /* the mx rule (--mx-chase) */
	unsigned max_exchangers; /* chased per answer, most preferred first */
	bool tlsa;		 /* also _25._tcp.<exchanger> TLSA for secure MX sets */
	bool additional;	 /* exchanger addresses in MX replies */
	bool ptr;		 /* --chase-ptr */
	bool spf;		 /* --chase-spf */
	bool dmarc;		 /* --chase-dmarc */
};

struct chaser *chaser_new(const struct chaser_options *opts, struct query_engine *qe,
			  const struct cache *cache, struct stats *stats);
void chaser_free(struct chaser *ch);

/* query_hooks.answered: look at an upstream answer, chase what it names. */
void chaser_answered(void *arg, const struct cache_key *key, const uint8_t *wire, size_t len,
		     bool secure, unsigned tag);

/* query_hooks.tagged_hit: a client used an entry a rule fetched. */
void chaser_tagged_hit(void *arg, unsigned tag);

/* query_hooks.additional: append cached A/AAAA of the exchangers of an MX
 * reply while they fit in limit; never drops or truncates anything. */
size_t chaser_additional(void *arg, const struct wire_query *q, uint8_t *pkt, size_t len,
			 size_t limit);

/* The rules' counters ("chaser.<rule>.*" in the stats), indexed by enum chaser_rule. */
void chaser_get_stats(const struct chaser *ch, struct chaser_counters out[CHASER_RULES]);
void chaser_reset_stats(struct chaser *ch);

#endif
