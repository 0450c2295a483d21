/*
 * stats: the daemon's counters and latency histograms. Plain integers
 * bumped on the loop thread: no locks, no allocation on the query path.
 */
#ifndef MXCACHE_STATS_H
#define MXCACHE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATS_RCODES 24 /* up to BADVERS (16) and a little beyond */

/*
 * Log-scale buckets, four per power of two (Unbound uses one): values
 * 0..3 get their own bucket, then each octave [2^e, 2^(e+1)) is split in
 * four equal parts. Relative error under 25%; 112 buckets, the regular
 * ones up to 2^29 us (about 9 minutes), the last one open-ended.
 */
#define STATS_HIST_SUB 4
#define STATS_HIST_OCTAVES 27
#define STATS_HIST_BUCKETS (STATS_HIST_SUB * (STATS_HIST_OCTAVES + 1))

struct stats_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t max;
	uint64_t buckets[STATS_HIST_BUCKETS];
};

/*
 * Why a client got SERVFAIL: the enum, the stats key suffix
 * ("servfail.<name>"), the word and the reason --log-servfail writes.
 */
#define STATS_SERVFAILS(X)                                                                         \
	X(UPSTREAM, upstream, "recursion found no usable answer")                                  \
	X(BOGUS, bogus, "DNSSEC validation failed")                                                \
	X(DEADLINE, deadline, "no answer within --query-timeout")                                  \
	X(TABLE_FULL, table_full, "--max-inflight lookups running")                                \
	X(ZONE_SHARE, zone_share,                                                                  \
	  "the zone holds its share of lookups in flight (--zone-max-inflight)")                   \
	X(JOSTLED, jostled, "the lookup gave way to a newer one (table full)")                     \
	X(WAITERS, waiters, "too many clients waiting on one lookup")                              \
	X(RESOURCES, resources, "out of memory, or libunbound refused the lookup")

enum stats_servfail {
#define STATS_SF_ENUM(id, name, reason) STATS_SF_##id,
	STATS_SERVFAILS(STATS_SF_ENUM)
#undef STATS_SF_ENUM
	    STATS_SF_COUNT
};

/* "upstream", "bogus", ...: the stats key suffix and the log's word. */
const char *stats_servfail_name(enum stats_servfail why);
/* The sentence the log gives for it. */
const char *stats_servfail_reason(enum stats_servfail why);

/*
 * One worker's counters, each bumped only by the module named beside it
 * and described by a row of the key table (stats_keys.h). Scalars first,
 * then the arrays, then the histograms: stats_sum and the table's tests
 * rely on that order.
 */
struct stats {
	/* query: front checks and answers */
	uint64_t queries_total;
	uint64_t queries_udp;
	uint64_t queries_tcp;
	uint64_t type_other;	/* qtypes above 255 */
	uint64_t dropped;	/* no answer sent: unparseable, or a response */
	uint64_t refused;	/* outside the allow list, or RD=0 on a miss */
	uint64_t ratelimited;	/* UDP queries dropped over --ratelimit */
	uint64_t stale_served;	/* answers from expired entries (RFC 8767) */
	uint64_t refreshes;	/* background lookups for entries near expiry */
	uint64_t prefetch_hits; /* client queries answered from a prefetched entry */
	/* query and inflight: the lookups behind the answers */
	uint64_t upstream_failures;
	uint64_t upstream_timeouts;
	uint64_t upstream_bogus;
	uint64_t inflight_joined;      /* questions that shared a lookup already running */
	uint64_t inflight_overflow;    /* refused: the in-flight table is full */
	uint64_t inflight_zone_capped; /* refused: the zone holds its share of it */
	uint64_t inflight_jostled;     /* old lookups that gave way to new ones */
	/* listen_tcp */
	uint64_t tcp_accepted;
	uint64_t tcp_rejected;
	uint64_t tcp_timeouts;
	uint64_t tcp_write_timeouts; /* reset: pending output not taken in time */
	uint64_t tcp_refused;	     /* closed on accept: outside the allow list */
	/* listen_udp */
	uint64_t udp_send_errors;
	/* chaser */
	uint64_t mx_answers;	/* MX answers from upstream the chaser looked at */
	uint64_t mx_implicit;	/* NODATA for MX: the domain is its own exchanger */
	uint64_t mx_null;	/* RFC 7505 null MX: nothing to chase */
	uint64_t mx_exchangers; /* exchangers chased */
	uint64_t mx_prefetches; /* lookups the chaser started */
	uint64_t mx_skipped_cached;
	uint64_t mx_skipped_running;
	uint64_t mx_capped;	     /* exchangers or lookups left out by the caps */
	uint64_t mx_over_limit;	     /* exchangers beyond --mx-chase-max */
	uint64_t mx_background_full; /* lookups left out: background work full */
	uint64_t mx_zone_budget;     /* lookups left out: the zone's budget */
	uint64_t mx_additional;	     /* address records put in MX replies */
	/* query: SERVFAIL replies by reason */
	uint64_t servfail[STATS_SF_COUNT];
	/* query: the families of "queries.by_type.*" and "queries.by_rcode.*" */
	uint64_t by_type[256];
	uint64_t by_rcode[STATS_RCODES];
	/* query and inflight */
	struct stats_hist latency;	    /* every answered query, microseconds */
	struct stats_hist latency_hit;	    /* answered from the cache */
	struct stats_hist latency_miss;	    /* answered after an upstream lookup */
	struct stats_hist latency_upstream; /* one libunbound lookup */
};

size_t stats_hist_index(uint64_t v);
/* Smallest value of bucket i; bucket i holds [lower(i), lower(i + 1)),
 * except the last, which also takes everything larger. */
uint64_t stats_hist_lower(size_t i);
void stats_hist_add(struct stats_hist *h, uint64_t v);
/* The upper edge of the bucket holding the q-quantile (0 < q <= 1),
 * capped at the largest value seen; 0 when empty. */
uint64_t stats_hist_quantile(const struct stats_hist *h, double q);

/* Adds one worker's counters and histograms to a sum. */
void stats_sum(struct stats *sum, const struct stats *w);
void stats_hist_merge(struct stats_hist *sum, const struct stats_hist *h);

/* Adds every key of the table as a flat JSON number ("queries.total",
 * "latency_us.p99") and the families; with histograms, also a
 * "histograms" object of bucket upper bounds and counts. */
struct json_t;
struct stats_view;
void stats_to_json(const struct stats_view *v, struct json_t *obj, bool histograms);

/* One line for a service manager's status: queries, hit ratio, lookups. */
void stats_summary(const struct stats_view *v, char *buf, size_t len);

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
