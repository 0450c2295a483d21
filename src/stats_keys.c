/*
 * stats_keys: see include/stats_keys.h.
 *
 * The order of the rows is the order of the JSON object, of the
 * Prometheus exposition and of each summary line.
 */
#include "stats_keys.h"

#include <string.h>

#define C(field) offsetof(struct stats_view, counters.field)
#define K(field) offsetof(struct stats_view, cache.field)
#define L(field) offsetof(struct stats_view, l2.field)
#define G(field) offsetof(struct stats_view, gauges.field)

#define COUNTER(name, at, line, label, help) {name, STATS_COUNTER, at, line, label, help},
#define GAUGE(name, at, line, label, help) {name, STATS_GAUGE, at, line, label, help},
#define HIST(name, at, label, help) {name, STATS_HISTOGRAM, at, "latency", label, help},
/* Each chaser rule's five counters: "chaser.<rule>.answers", ... The
 * entries a rule fetched that left unused are the cache's count of its tag. */
#define R(rule, field) offsetof(struct stats_view, chaser[CHASER_##rule].field)
#define CHASER_ROWS(rule, name, line, what)                                                        \
	COUNTER("chaser." name ".answers", R(rule, answers), NULL, NULL,                           \
		"Answers the " name " rule acted on (" what ").")                                  \
	COUNTER("chaser." name ".prefetches", R(rule, prefetches), line, name " prefetches",       \
		"Lookups the " name " rule started.")                                              \
	COUNTER("chaser." name ".prefetch_hits", R(rule, prefetch_hits), line, name " hits",       \
		"Client queries answered from an entry the " name " rule fetched.")                \
	COUNTER("chaser." name ".prefetch_unused", K(unused_by_tag[CHASER_TAG(CHASER_##rule)]),    \
		NULL, NULL,                                                                        \
		"Entries the " name " rule fetched that left the cache without a hit.")            \
	COUNTER("chaser." name ".skipped", R(rule, skipped), NULL, NULL,                           \
		"Lookups or terms the " name " rule left out: cached, running, over a bound.")
#define SERVFAIL_ROW(id, name, reason)                                                             \
	COUNTER("servfail." #name, C(servfail[STATS_SF_##id]), NULL, NULL,                         \
		"SERVFAIL replies: " reason ".")

const struct stats_key stats_keys[] =
    {
	/* clang-format off */
    COUNTER("queries.total", C(queries_total), "queries", "total", "Queries received, over every transport.")
    COUNTER("queries.udp", C(queries_udp), "queries", "udp", "Queries received over UDP.")
    COUNTER("queries.tcp", C(queries_tcp), "queries", "tcp", "Queries received over TCP.")
    COUNTER("queries.dropped", C(dropped), "queries", "dropped", "Queries left unanswered: unparseable, truncated, or a response.")
    COUNTER("queries.refused", C(refused), "queries", "refused", "Queries answered REFUSED: outside the allow list, or RD=0 on a cache miss.")
    COUNTER("queries.ratelimited", C(ratelimited), "queries", "ratelimited", "UDP queries dropped over --ratelimit.")
    COUNTER("queries.by_type.other", C(type_other), NULL, NULL, "Queries of a type above 255.")
    COUNTER("cache.hits", K(hits), "cache", "hits", "Lookups answered from the cache.")
    COUNTER("cache.misses", K(misses), "cache", "misses", "Lookups the cache could not answer.")
    GAUGE("cache.entries", K(entries), "cache", "entries", "Answers held in the cache.")
    GAUGE("cache.bytes", K(bytes), "cache", "bytes", "Bytes the cache holds, entries and their overhead.")
    GAUGE("cache.max_bytes", K(max_bytes), "cache", "max bytes", "The cache's bound in bytes (--cache-size).")
    COUNTER("cache.inserts", K(inserts), NULL, NULL, "Answers stored in the cache.")
    COUNTER("cache.evictions", K(evictions), "lifetimes", "evictions", "Entries evicted to keep the cache within its bound.")
    COUNTER("cache.expired", K(expired), "lifetimes", "expired", "Entries removed past their lifetime (and stale window).")
    COUNTER("cache.refreshes", C(refreshes), "lifetimes", "refreshes", "Background lookups of entries in use near expiry.")
    COUNTER("cache.stale_served", C(stale_served), "lifetimes", "stale", "Answers served from expired entries (RFC 8767).")
    COUNTER("upstream.queries", G(upstream_queries), "upstream", "queries", "Lookups started in recursion.")
    COUNTER("upstream.failures", C(upstream_failures), "upstream", "failures", "Lookups recursion answered without a usable answer.")
    COUNTER("upstream.timeouts", C(upstream_timeouts), "upstream", "timeouts", "Lookups that passed --query-timeout.")
    COUNTER("upstream.bogus", C(upstream_bogus), "upstream", "bogus", "Answers that failed DNSSEC validation.")
    COUNTER("upstream.coalesced", C(inflight_joined), "upstream", "coalesced", "Questions that joined a lookup already running.")
    COUNTER("upstream.overflow", C(inflight_overflow), NULL, NULL, "Lookups refused: the in-flight table was full.")
    COUNTER("upstream.zone_capped", C(inflight_zone_capped), NULL, NULL, "Lookups refused: their zone held its share of the in-flight table.")
    COUNTER("upstream.jostled", C(inflight_jostled), NULL, NULL, "Old lookups that gave way to new ones in a full table.")
    GAUGE("upstream.in_flight", G(upstream_in_flight), "upstream", "in flight", "Lookups recursion is working on.")
    GAUGE("upstream.distinct_in_flight", G(distinct_in_flight), NULL, NULL, "Distinct questions in the in-flight table.")
    COUNTER("tcp.accepted", C(tcp_accepted), "tcp", "accepted", "TCP connections accepted.")
    COUNTER("tcp.rejected", C(tcp_rejected), "tcp", "rejected", "TCP connections closed at once: over --tcp-max-conns or the per-client limit.")
    COUNTER("tcp.timeouts", C(tcp_timeouts), "tcp", "timeouts", "TCP connections closed after sitting idle.")
    COUNTER("tcp.write_timeouts", C(tcp_write_timeouts), "tcp", "write timeouts", "TCP connections reset: their output was not taken in time.")
    COUNTER("tcp.refused", C(tcp_refused), "tcp", "refused", "TCP connections closed on accept: outside the allow list.")
    COUNTER("udp.send_errors", C(udp_send_errors), NULL, NULL, "UDP replies the kernel did not take.")
    COUNTER("mx_chaser.mx_answers", C(mx_answers), "mx chaser", "mx answers", "MX answers from recursion the chaser looked at.")
    COUNTER("mx_chaser.implicit_mx", C(mx_implicit), NULL, NULL, "MX questions answered NODATA: the domain is its own exchanger (RFC 5321).")
    COUNTER("mx_chaser.null_mx", C(mx_null), NULL, NULL, "Null MX answers (RFC 7505): nothing to chase.")
    COUNTER("mx_chaser.exchangers", C(mx_exchangers), NULL, NULL, "Exchangers whose addresses the chaser looked for.")
    COUNTER("mx_chaser.prefetches", C(mx_prefetches), "mx chaser", "prefetches", "Address lookups the MX chaser started.")
    COUNTER("mx_chaser.skipped_cached", C(mx_skipped_cached), NULL, NULL, "Address lookups not needed: already cached.")
    COUNTER("mx_chaser.skipped_running", C(mx_skipped_running), NULL, NULL, "Address lookups not needed: already running.")
    COUNTER("mx_chaser.capped", C(mx_capped), NULL, NULL, "Exchangers or lookups left out by any of the chaser's caps.")
    COUNTER("mx_chaser.over_limit", C(mx_over_limit), NULL, NULL, "Exchangers beyond --mx-chase-max.")
    COUNTER("mx_chaser.background_full", C(mx_background_full), NULL, NULL, "Lookups left out: background work was full.")
    COUNTER("mx_chaser.zone_budget", C(mx_zone_budget), NULL, NULL, "Lookups left out: the zone's background budget was spent.")
    COUNTER("mx_chaser.additional_records", C(mx_additional), NULL, NULL, "Address records added to MX replies.")
    COUNTER("mx_chaser.prefetch_hits", C(prefetch_hits), "mx chaser", "prefetch hits", "Client queries answered from a prefetched entry.")
    COUNTER("mx_chaser.prefetch_unused", K(prefetched_unused), "mx chaser", "unused", "Prefetched entries that left the cache without a hit.")
    CHASER_ROWS(MX, "mx", NULL, "MX answers")
    CHASER_ROWS(TLSA, "tlsa", NULL, "secure MX answers")
    CHASER_ROWS(PTR, "ptr", "chasers", "PTR answers")
    CHASER_ROWS(SPF, "spf", "chasers", "SPF records")
    CHASER_ROWS(DMARC, "dmarc", "chasers", "SPF records of a domain")
    GAUGE("l2.up", G(l2_up), "shared (l2)", "up", "1 while the connection to Redis (--redis) is up.")
    GAUGE("l2.read_up", G(l2_read_up), NULL, NULL, "1 while the connection to the --redis-read replica is up.")
    COUNTER("l2.hits", L(hits), "shared (l2)", "hits", "Lookups answered from Redis, verified.")
    COUNTER("l2.misses", L(misses), "shared (l2)", "misses", "Lookups Redis did not answer: absent, expired, or not asked (requests at their bound).")
    COUNTER("l2.stores", L(stores), "shared (l2)", "stores", "Answers written to Redis.")
    COUNTER("l2.errors", L(errors), "shared (l2)", "errors", "Redis error replies and lost connections.")
    COUNTER("l2.timeouts", L(timeouts), "shared (l2)", "timeouts", "Lookups that went on to recursion after --redis-timeout.")
    COUNTER("l2.rejected", L(rejected), "shared (l2)", "rejected", "Values from Redis that failed verification (deleted).")
    COUNTER("l2.dropped", L(dropped), "shared (l2)", "dropped", "Writes not sent: Redis down or slow, or the value too large.")
    STATS_SERVFAILS(SERVFAIL_ROW)
    GAUGE("uptime_s", G(uptime_s), NULL, NULL, "Seconds since mxcached started.")
    HIST("latency_us", C(latency), "all", "Client-facing DNS latency, every answered query.")
    HIST("latency_hit_us", C(latency_hit), "cache hit", "Client-facing DNS latency of answers from the cache.")
    HIST("latency_miss_us", C(latency_miss), "cache miss", "Client-facing DNS latency of answers after a lookup.")
    HIST("latency_upstream_us", C(latency_upstream), "upstream", "Duration of one lookup in recursion.")
    HIST("latency_l2_us", L(latency), "redis (l2)", "Duration of one GET to Redis, sent to reply.")
	/* clang-format on */
};
const size_t stats_nkeys = sizeof(stats_keys) / sizeof(stats_keys[0]);

const struct stats_family stats_families[] = {
    {"queries.by_type.", "mxcache_queries_by_type_total", "type", "Queries counted by type."},
    {"queries.by_rcode.", "mxcache_answers_by_rcode_total", "rcode", "Answers counted by rcode."},
};
const size_t stats_nfamilies = sizeof(stats_families) / sizeof(stats_families[0]);

const struct stats_key *
stats_key_find(const char *name)
{
	for (size_t i = 0; i < stats_nkeys; i++)
		if (strcmp(stats_keys[i].name, name) == 0)
			return &stats_keys[i];
	return NULL;
}
