/*
 * prom: the daemon's stats (the control socket's "stats" answer, with
 * histograms) in the Prometheus text exposition format 0.0.4. One
 * rendering, shared by mxcache-ctl --prometheus and the scrape endpoint,
 * so both always expose the same names.
 */
#ifndef MXCACHE_PROM_H
#define MXCACHE_PROM_H

#include <stddef.h>

struct json_t;

/* A malloc'd, NUL-terminated exposition (length in *len); NULL when
 * memory runs out. */
char *prom_render(const struct json_t *stats, size_t *len);

#endif
