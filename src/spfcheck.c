/*
 * spfcheck: see include/spfcheck.h.
 *
 * Questions are asked as an internal client of the engine (as route.c
 * does) and collected by query ID, an index in the job's answer table;
 * the job moves on from a zero-delay timer, never from inside the
 * engine's delivery.
 */
#include "spfcheck.h"

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "spf.h"
#include "wire.h"
#include "wire_write.h"

struct spfcheck_answer {
	char name[SPF_NAME_MAX];
	uint16_t qtype;
	bool asked;
	uint8_t *pkt; /* NULL: not answered (yet), or no reply: a failure */
	size_t len;
};

struct spfcheck {
	struct query_client client; /* first: the engine hands it back */
	struct ev_loop *loop;
	struct query_engine *qe;
	ev_timer step;
	spfcheck_done_cb done;
	void *arg;
	char domain[SPF_NAME_MAX];
	unsigned holds;	  /* references the engine holds */
	unsigned pending; /* questions not answered yet */
	unsigned rounds;
	bool finished;
	bool full; /* the answer table ran out: the walk shows temperrors */
	size_t n;
	struct spfcheck_answer ans[SPF_WALK_MAX_LOOKUPS];
	struct spf_reply_scratch scratch;
	struct spf_walk walk;
};

static void spfcheck_deliver(struct query_client *c, const uint8_t *pkt, size_t len);
static struct query_client *spfcheck_hold(struct query_client *c);
static void spfcheck_release(struct query_client *c);
static void spfcheck_step(struct ev_loop *loop, ev_timer *w, int revents);
static void spfcheck_round(struct spfcheck *c);
static void spfcheck_free_if_done(struct spfcheck *c);

static const struct query_client_ops spfcheck_ops = {spfcheck_deliver, spfcheck_hold,
						     spfcheck_release};

struct spfcheck *
spfcheck_start(struct ev_loop *loop, struct query_engine *qe, const char *domain,
	       spfcheck_done_cb done, void *arg, char *err, size_t errlen)
{
	struct spfcheck *c = calloc(1, sizeof(*c));
	uint8_t wire[WIRE_MAX_NAME];

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!wire_name_from_text(domain, wire) ||
	    !spf_name_normalise(domain, strlen(domain), c->domain, sizeof(c->domain))) {
		snprintf(err, errlen, "'%.300s' is not a domain name", domain);
		free(c);
		return NULL;
	}
	c->client = (struct query_client){.ops = &spfcheck_ops, .tcp = true, .internal = true};
	c->loop = loop;
	c->qe = qe;
	c->done = done;
	c->arg = arg;
	ev_timer_init(&c->step, spfcheck_step, 0.0, 0.0);
	c->step.data = c;
	spfcheck_round(c);
	return c;
}

void
spfcheck_cancel(struct spfcheck *c)
{
	c->done = NULL;
}

static void
spfcheck_deliver(struct query_client *qc, const uint8_t *pkt, size_t len)
{
	struct spfcheck *c = (struct spfcheck *)qc;
	uint16_t id = wire_get16(pkt);

	if (id >= c->n || c->ans[id].pkt)
		return;
	if ((c->ans[id].pkt = malloc(len))) {
		memcpy(c->ans[id].pkt, pkt, len);
		c->ans[id].len = len;
	}
	if (--c->pending == 0)
		ev_timer_start(c->loop, &c->step);
}

static struct query_client *
spfcheck_hold(struct query_client *qc)
{
	((struct spfcheck *)qc)->holds++;
	return qc;
}

static void
spfcheck_release(struct query_client *qc)
{
	struct spfcheck *c = (struct spfcheck *)qc;

	c->holds--;
	spfcheck_free_if_done(c);
}

static void
spfcheck_lookup(void *arg, const char *name, uint16_t qtype, struct spf_answer *out)
{
	struct spfcheck *c = arg;

	for (size_t i = 0; i < c->n; i++)
		if (c->ans[i].qtype == qtype && strcmp(c->ans[i].name, name) == 0) {
			spf_answer_from_reply(c->ans[i].pkt, c->ans[i].len, qtype, &c->scratch,
					      out);
			return;
		}
	/* Not asked yet: asked after this walk; meanwhile a failure, so the
	 * walk goes on to the questions that do not depend on it. */
	*out = (struct spf_answer){.rcode = WIRE_SERVFAIL};
	if (c->n == SPF_WALK_MAX_LOOKUPS) {
		c->full = true;
		return;
	}
	snprintf(c->ans[c->n].name, sizeof(c->ans[c->n].name), "%s", name);
	c->ans[c->n++].qtype = qtype;
}

static void
spfcheck_ask(struct spfcheck *c, uint16_t id)
{
	struct sockaddr_in self = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	uint8_t pkt[WIRE_HEADER_LEN + WIRE_MAX_NAME + 4 + WIRE_OPT_LEN], name[WIRE_MAX_NAME];
	size_t nlen = wire_name_from_text(c->ans[id].name, name), n;

	c->ans[id].asked = true;
	if (!nlen || !(n = wire_build_query(pkt, sizeof(pkt), id, WIRE_RD | WIRE_AD, name, nlen,
					    c->ans[id].qtype, true, WIRE_MAX_UDP, false))) {
		if (--c->pending == 0)
			ev_timer_start(c->loop, &c->step);
		return;
	}
	query_handle(c->qe, &c->client, (const struct sockaddr *)&self, pkt, n);
}

static json_t *
spfcheck_node_json(const struct spf_walk *w, const struct spf_node *nd)
{
	json_t *lookups = json_array();

	for (unsigned i = nd->first_lookup; i < nd->first_lookup + nd->n_lookups; i++) {
		const struct spf_lookup *l = &w->lookups[i];
		const char *rcode = wire_rcode_name(l->rcode);
		const char *type = wire_type_name(l->qtype);
		json_array_append_new(
		    lookups, json_pack("{s:s, s:s, s:s, s:b, s:I}", "name", l->name, "type",
				       type ? type : "?", "rcode", rcode ? rcode : "?", "void",
				       l->is_void, "count", (json_int_t)l->count));
	}
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:o}", "depth", (json_int_t)nd->depth,
			 "kind", spf_kind_name(nd->kind), "term", nd->text, "status",
			 spf_node_status_name(nd->status), "dns_terms", (json_int_t)nd->dns_terms,
			 "voids", (json_int_t)nd->voids, "lookups", lookups);
}

static json_t *
spfcheck_result(const struct spfcheck *c)
{
	const struct spf_walk *w = &c->walk;
	json_t *terms = json_array(), *breaks = json_null();

	for (unsigned i = 0; i < w->n_nodes; i++) {
		const struct spf_node *nd = &w->nodes[i];
		json_array_append_new(terms, spfcheck_node_json(w, nd));
		if (json_is_null(breaks) && nd->status != SPF_N_OK && nd->status != SPF_N_MATCH &&
		    nd->status != SPF_N_SKIP_MACRO && nd->status != SPF_N_SKIP_PTR)
			breaks = json_pack("{s:s, s:s, s:I}", "term", nd->text, "status",
					   spf_node_status_name(nd->status), "depth",
					   (json_int_t)nd->depth);
	}
	return json_pack("{s:s, s:s, s:s?, s:I, s:i, s:I, s:i, s:o, s:o, s:I, s:I, s:b}", "domain",
			 c->domain, "result", spf_result_name(w->result), "reason", w->reason,
			 "dns_terms", (json_int_t)w->dns_terms, "dns_terms_limit",
			 SPF_MAX_DNS_TERMS, "voids", (json_int_t)w->voids, "voids_limit",
			 SPF_MAX_VOID, "breaks", breaks, "terms", terms, "lookups",
			 (json_int_t)c->n, "rounds", (json_int_t)c->rounds, "truncated",
			 c->full || w->truncated);
}

/* Walks with what is known; asks what the walk met for the first time,
 * or reports when it met nothing new. */
static void
spfcheck_round(struct spfcheck *c)
{
	size_t before = c->n;

	c->rounds++;
	spf_walk(c->domain, 0, spfcheck_lookup, c, &c->walk);
	if (c->n == before) {
		if (c->done)
			c->done(c->arg, spfcheck_result(c));
		c->finished = true;
		spfcheck_free_if_done(c);
		return;
	}
	/* Counted before asking: answers from the cache come at once. */
	c->pending = (unsigned)(c->n - before);
	for (size_t i = before; i < c->n; i++)
		spfcheck_ask(c, (uint16_t)i);
}

static void
spfcheck_step(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct spfcheck *c = w->data;

	(void)loop;
	(void)revents;
	if (c->pending == 0 && !c->finished)
		spfcheck_round(c);
}

static void
spfcheck_free_if_done(struct spfcheck *c)
{
	if (!c->finished || c->holds > 0)
		return;
	ev_timer_stop(c->loop, &c->step);
	for (size_t i = 0; i < c->n; i++)
		free(c->ans[i].pkt);
	free(c);
}
