/*
 * asker: see include/asker.h.
 */
#include "asker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "wire_write.h"

static void asker_deliver(struct query_client *c, const uint8_t *pkt, size_t len);
static struct query_client *asker_hold(struct query_client *c);
static void asker_release(struct query_client *c);
static void asker_step(struct ev_loop *loop, ev_timer *w, int revents);
static void asker_answered_one(struct asker *a);
static void asker_free_if_done(struct asker *a);

static const struct query_client_ops asker_ops = {asker_deliver, asker_hold, asker_release};

bool
asker_init(struct asker *a, struct ev_loop *loop, struct query_engine *qe, size_t n,
	   void (*answered)(struct asker *a), void (*gone)(struct asker *a))
{
	*a = (struct asker){.client = {.ops = &asker_ops, .tcp = true, .internal = true},
			    .loop = loop,
			    .qe = qe,
			    .nreplies = n,
			    .answered = answered,
			    .gone = gone};
	if (!(a->replies = calloc(n, sizeof(*a->replies))))
		return false;
	ev_timer_init(&a->step, asker_step, 0.0, 0.0);
	a->step.data = a;
	return true;
}

void
asker_ask(struct asker *a, uint16_t id, const uint8_t *name, size_t len, uint16_t qtype)
{
	struct sockaddr_in self = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	uint8_t pkt[WIRE_HEADER_LEN + WIRE_MAX_NAME + 4 + WIRE_OPT_LEN];
	size_t n = id < a->nreplies ? wire_build_query(pkt, sizeof(pkt), id, WIRE_RD | WIRE_AD,
						       name, len, qtype, true, WIRE_MAX_UDP, false)
				    : 0;

	/* Counted before asking: an answer from the cache comes at once. */
	a->pending++;
	if (!n) {
		asker_answered_one(a);
		return;
	}
	query_handle(a->qe, &a->client, (const struct sockaddr *)&self, pkt, n);
}

static void
asker_answered_one(struct asker *a)
{
	if (--a->pending == 0)
		ev_timer_start(a->loop, &a->step);
}

static void
asker_deliver(struct query_client *c, const uint8_t *pkt, size_t len)
{
	struct asker *a = (struct asker *)c;
	uint16_t id = wire_get16(pkt);

	if (id >= a->nreplies || a->replies[id].pkt || a->pending == 0)
		return;
	/* Out of memory, the reply is lost: it reads as a failure. */
	if ((a->replies[id].pkt = malloc(len))) {
		memcpy(a->replies[id].pkt, pkt, len);
		a->replies[id].len = len;
	}
	asker_answered_one(a);
}

static struct query_client *
asker_hold(struct query_client *c)
{
	((struct asker *)c)->holds++;
	return c;
}

static void
asker_release(struct query_client *c)
{
	struct asker *a = (struct asker *)c;

	a->holds--;
	asker_free_if_done(a);
}

static void
asker_step(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct asker *a = w->data;

	(void)loop;
	(void)revents;
	if (a->pending == 0 && !a->finished)
		a->answered(a);
}

void
asker_finish(struct asker *a)
{
	a->finished = true;
	asker_free_if_done(a);
}

static void
asker_free_if_done(struct asker *a)
{
	if (!a->finished || a->holds > 0)
		return;
	ev_timer_stop(a->loop, &a->step);
	for (size_t i = 0; i < a->nreplies; i++)
		free(a->replies[i].pkt);
	free(a->replies);
	a->gone(a);
}
