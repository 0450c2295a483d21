/*
 * spfcheck: a domain's SPF tree as the daemon resolves it (control command
 * "spf"): spf_walk (include/spf.h) over answers asked through the query
 * engine, so it reads and fills the cache like any client. Asynchronous:
 * a walk that meets a question not answered yet asks it and goes on
 * (whatever needs that answer waits); once every question of a round is
 * answered the walk runs again, until one needs nothing new. Each round
 * asks at least one new question, and there are at most
 * SPF_WALK_MAX_LOOKUPS of them, so it ends.
 */
#ifndef MXCACHE_SPFCHECK_H
#define MXCACHE_SPFCHECK_H

#include <jansson.h>
#include <stddef.h>

struct ev_loop;
struct query_engine;
struct spfcheck;

/* Called once with the result object (the callee owns it). */
typedef void (*spfcheck_done_cb)(void *arg, json_t *result);

/* Starts walking domain's tree; NULL with err set if the name is not valid. */
struct spfcheck *spfcheck_start(struct ev_loop *loop, struct query_engine *qe, const char *domain,
				spfcheck_done_cb done, void *arg, char *err, size_t errlen);

/* The caller is gone: the job finishes its lookups quietly, then frees itself. */
void spfcheck_cancel(struct spfcheck *c);

#endif
