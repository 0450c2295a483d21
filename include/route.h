/*
 * route: what an MTA would do to deliver to a domain (RFC 5321 §5.1),
 * resolved through the cache: the MX set (or the implicit MX, or a null
 * MX), then the addresses of each exchanger, as one JSON object.
 */
#ifndef MXCACHE_ROUTE_H
#define MXCACHE_ROUTE_H

#include <jansson.h>
#include <stddef.h>

struct ev_loop;
struct query_engine;
struct route;

/* Called once with the result object (the callee owns it). */
typedef void (*route_done_cb)(void *arg, json_t *result);

/* Starts resolving domain (presentation form); NULL with err set if the
 * name is not valid. */
struct route *route_start(struct ev_loop *loop, struct query_engine *qe, const char *domain,
			  route_done_cb done, void *arg, char *err, size_t errlen);

/* The caller is gone: the job finishes its lookups quietly, then frees itself. */
void route_cancel(struct route *r);

#endif
