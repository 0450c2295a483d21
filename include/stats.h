/*
 * stats: the daemon's counters. Plain integers bumped on the loop thread:
 * no locks, no allocation on the query path.
 */
#ifndef MXCACHE_STATS_H
#define MXCACHE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define STATS_RCODES 24 /* up to BADVERS (16) and a little beyond */

struct stats {
	uint64_t queries_total;
	uint64_t queries_udp;
	uint64_t queries_tcp;
	uint64_t by_type[256]; /* qtypes above 255 are counted in type_other */
	uint64_t type_other;
	uint64_t by_rcode[STATS_RCODES];
	uint64_t dropped;   /* no answer sent: unparseable, or a response */
	uint64_t refused;   /* outside the allow list */
	uint64_t upstream_queries;
	uint64_t upstream_failures;
	uint64_t upstream_timeouts;
	uint64_t upstream_bogus;
	uint64_t inflight_joined; /* questions that shared a lookup already running */
	uint64_t inflight_overflow;
	uint64_t tcp_accepted;
	uint64_t tcp_rejected;
	uint64_t tcp_timeouts;
	uint64_t udp_send_errors;
};

static inline void
stats_count_query(struct stats *st, uint16_t qtype, bool tcp)
{
	st->queries_total++;
	if (tcp)
		st->queries_tcp++;
	else
		st->queries_udp++;
	if (qtype < 256)
		st->by_type[qtype]++;
	else
		st->type_other++;
}

static inline void
stats_count_rcode(struct stats *st, unsigned rcode)
{
	st->by_rcode[rcode < STATS_RCODES ? rcode : STATS_RCODES - 1]++;
}

#endif
