/*
 * upstream: recursion (or forwarding) through libunbound, on the libev loop;
 * the daemon's implementation of the resolver seam (include/resolver.h).
 *
 * libunbound runs its resolver in a thread; results come back through a
 * pipe that this module watches, so callbacks run on the loop thread.
 *
 * Two libunbound contexts ("lanes"), each with caches of its own. There
 * is no per-query way past libunbound's message cache, which hands a
 * repeated question its ageing copy; a refresh asked on the lane that did
 * not fetch the entry finds no live copy there, so it reaches the
 * authority (delegations come from that lane's own RRset cache).
 */
#ifndef MXCACHE_UPSTREAM_H
#define MXCACHE_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver.h"

struct ev_loop;
struct upstream;

struct upstream_options {
	const char *root_hints;	  /* NULL: libunbound's built-in hints */
	const char *trust_anchor; /* NULL: the default rule; "none": no validation */
	char **stubs;		  /* "ZONE=ADDR[@PORT]" */
	size_t nstubs;
	char **forwards; /* "ADDR[@PORT]" */
	size_t nforwards;
	char **options; /* "NAME:VALUE", passed to ub_ctx_set_option */
	size_t noptions;
	size_t cache_bytes; /* libunbound's caches get shares of this */
	size_t max_lookups; /* lookups we may have in flight at once */
};

/* The system root key used when no anchor is given and the root is the real one. */
#define UPSTREAM_SYSTEM_ANCHOR "/usr/share/dns/root.key"

struct upstream *upstream_new(struct ev_loop *loop, const struct upstream_options *opts, char *err,
			      size_t errlen);
void upstream_free(struct upstream *up);

/* Starts libunbound's threads with a priming lookup for the root's name
 * servers on each lane. The thread reads the root hints when it starts: call this
 * before dropping privileges, and after daemonizing (fork keeps no
 * threads). */
bool upstream_start(struct upstream *up, char *err, size_t errlen);

/* Which trust anchor file is in force ("none" when not validating). */
const char *upstream_anchor(const struct upstream *up);

/* The engine's view of it: resolve and cancel (see include/resolver.h). */
struct resolver *upstream_resolver(struct upstream *up);

size_t upstream_in_flight(const struct upstream *up);
/* Lookups the engine has started in recursion (a tier in front answers
 * some itself: those are not counted); priming is not. */
uint64_t upstream_queries(const struct upstream *up);
void upstream_reset_stats(struct upstream *up);

#endif
