/*
 * pause: see pause.h.
 */
#include "pause.h"

#include "dnsc.h"

void
pause_push(struct pause_queue *q, struct pause_item *it, int pause_ms)
{
	it->resume_ns = dnsc_now_ns() + (int64_t)pause_ms * 1000000;
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
}

struct pause_item *
pause_pop_due(struct pause_queue *q, int64_t now_ns)
{
	struct pause_item *it = q->head;

	if (!it || it->resume_ns > now_ns)
		return NULL;
	if (!(q->head = it->next))
		q->tail = NULL;
	return it;
}

int64_t
pause_until(const struct pause_queue *q, int64_t until_ns)
{
	return q->head && q->head->resume_ns < until_ns ? q->head->resume_ns : until_ns;
}
