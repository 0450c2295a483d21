/*
 * pause: jobs waiting out --pause before their next lookup. Every pause
 * of a run is as long, so the queue is a FIFO: the head is due first.
 */
#ifndef MXBENCH_PAUSE_H
#define MXBENCH_PAUSE_H

#include <stddef.h>
#include <stdint.h>

struct pause_item {
	int64_t resume_ns;
	struct pause_item *next;
};

struct pause_queue {
	struct pause_item *head, *tail;
};

/* it waits pause_ms from now. */
void pause_push(struct pause_queue *q, struct pause_item *it, int pause_ms);

/* The head if it is due at now_ns (taken off the queue), else NULL. */
struct pause_item *pause_pop_due(struct pause_queue *q, int64_t now_ns);

/* The earlier of until_ns and the head's end. */
int64_t pause_until(const struct pause_queue *q, int64_t until_ns);

/* The job that embeds item it as member off. */
#define PAUSE_OWNER(it, type, member) ((type *)(void *)((char *)(it)-offsetof(type, member)))

#endif
