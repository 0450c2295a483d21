/*
 * servfail: explains SERVFAILs in the log, as Unbound's log-servfail
 * does. Mail gets deferred when a lookup fails and the postmaster asks
 * why: each line names the question, how many clients got SERVFAIL and
 * the reason mxcached knows (no usable answer from the servers, DNSSEC
 * validation with libunbound's reason, the deadline, a full table, the
 * zone's share, ...). At most SERVFAIL_LOG_PER_SEC lines a second; what is
 * left out is counted and said with the next line.
 */
#ifndef MXCACHE_SERVFAIL_H
#define MXCACHE_SERVFAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#define SERVFAIL_LOG_PER_SEC 10

struct cache_key;

struct servfail_log {
	bool enabled;
	uint64_t second; /* the second the lines are counted in */
	unsigned lines;	 /* logged in that second */
	uint64_t skipped;
};

/* Formats one line ("yada123.com. MX: bogus (...), 2 clients") into buf. */
void servfail_format(const struct cache_key *key, enum stats_servfail why, const char *detail,
		     size_t clients, char *buf, size_t len);

/* query_hooks.servfail: arg is a struct servfail_log. */
void servfail_note(void *arg, const struct cache_key *key, enum stats_servfail why,
		   const char *detail, size_t clients);

#endif
