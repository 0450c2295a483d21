/*
 * buf: a growable byte queue with a hard cap, for output that a slow peer
 * has not taken yet (each stream connection: TCP, control and metrics
 * clients).
 */
#ifndef MXCACHE_BUF_H
#define MXCACHE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* appends that would pass this fail */
};

/* false when the queue would pass b->max or memory runs out. */
bool buf_append(struct buf *b, const void *p, size_t n);

/* Writes as much as the non-blocking fd takes; -1 on a real error. */
int buf_flush(struct buf *b, int fd);

void buf_free(struct buf *b);

#endif
