/*
 * stats_keys: the one table of the daemon's stats keys.
 *
 * Each key names one number of a struct stats_view (by its offset), says
 * whether it is a counter, a gauge or a latency histogram, and carries
 * the help text Prometheus shows and the short label of mxcache-ctl's
 * summary. The JSON of the control socket's "stats" command, the
 * Prometheus exposition, the summary and the tests all walk this table:
 * a new counter is a field in the struct of the module that counts it and
 * one row here, nothing else.
 */
#ifndef MXCACHE_STATS_KEYS_H
#define MXCACHE_STATS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "chaser.h"
#include "l2.h"
#include "stats.h"

/* What the daemon reads from its modules at the moment it is asked. */
struct stats_gauges {
	uint64_t upstream_queries;   /* a counter upstream keeps */
	uint64_t upstream_in_flight; /* lookups libunbound holds */
	uint64_t distinct_in_flight; /* entries of the in-flight table */
	uint64_t uptime_s;
	uint64_t l2_up;	     /* 1 while the connection to Redis is up */
	uint64_t l2_read_up; /* the same for the --redis-read replica */
};

/* Everything the table points into: one worker's counters (summable,
 * see stats_sum), the counters the cache, the chaser and the shared tier
 * keep, and the gauges. */
struct stats_view {
	struct stats counters;
	struct cache_stats cache;
	struct chaser_counters chaser[CHASER_RULES];
	struct l2_stats l2;
	struct stats_gauges gauges;
};

enum stats_kind {
	STATS_COUNTER,	 /* only grows (until stats_reset) */
	STATS_GAUGE,	 /* a level, up or down */
	STATS_HISTOGRAM, /* a struct stats_hist of microseconds */
};

struct stats_key {
	const char *name; /* the JSON key: "cache.hits", or "latency_us" for a histogram */
	enum stats_kind kind;
	size_t offset;	   /* of its uint64_t or struct stats_hist in struct stats_view */
	const char *line;  /* mxcache-ctl's summary line it shows on; NULL: not shown */
	const char *label; /* its label there */
	const char *help;  /* one sentence: Prometheus HELP */
};

/* Keys whose last part is a DNS code: "queries.by_type.MX". */
struct stats_family {
	const char *prefix; /* "queries.by_type." */
	const char *metric; /* Prometheus name, the code as a label */
	const char *label;
	const char *help;
};

extern const struct stats_key stats_keys[];
extern const size_t stats_nkeys;
extern const struct stats_family stats_families[];
extern const size_t stats_nfamilies;

/* The key of that name, or NULL. */
const struct stats_key *stats_key_find(const char *name);

static inline uint64_t
stats_key_value(const struct stats_key *k, const struct stats_view *v)
{
	return *(const uint64_t *)(const void *)((const char *)v + k->offset);
}

static inline const struct stats_hist *
stats_key_hist(const struct stats_key *k, const struct stats_view *v)
{
	return (const struct stats_hist *)(const void *)((const char *)v + k->offset);
}

#endif
