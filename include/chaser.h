/*
 * chaser: the MX-chaser. When an MX answer comes back from upstream, the
 * mail server's next questions are the A and AAAA records of the
 * exchangers; the chaser asks them at once, in parallel, through the
 * normal pipeline, so those questions are cache hits. It also puts cached
 * exchanger addresses in the additional section of MX replies.
 */
#ifndef MXCACHE_CHASER_H
#define MXCACHE_CHASER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHASER_MAX_EXCHANGERS 64 /* hard ceiling for max_exchangers */

struct cache;
struct cache_key;
struct query_engine;
struct stats;
struct wire_query;
struct chaser;

struct chaser_options {
	bool enabled;
	unsigned max_exchangers; /* chased per answer, most preferred first */
	bool tlsa;		 /* also _25._tcp.<exchanger> TLSA for secure MX sets */
	bool additional;	 /* exchanger addresses in MX replies */
};

struct chaser *chaser_new(const struct chaser_options *opts, struct query_engine *qe,
			  const struct cache *cache, struct stats *stats);
void chaser_free(struct chaser *ch);

/* query_hooks.answered: look at an upstream answer, chase what it names. */
void chaser_answered(void *arg, const struct cache_key *key, const uint8_t *wire, size_t len,
		     bool secure);

/* query_hooks.additional: append cached A/AAAA of the exchangers of an MX
 * reply while they fit in limit; never drops or truncates anything. */
size_t chaser_additional(void *arg, const struct wire_query *q, uint8_t *pkt, size_t len,
			 size_t limit);

#endif
