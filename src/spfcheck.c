/*
 * spfcheck: see include/spfcheck.h.
 *
 * Questions are asked through an asker (the engine asked as the mail
 * server would ask it), by query ID: an index in the job's table of the
 * questions the walks met.
 */
#include "spfcheck.h"

#include <ev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asker.h"
#include "query.h"
#include "spf.h"
#include "wire.h"

struct spfcheck_answer {
	char name[SPF_NAME_MAX];
	uint16_t qtype;
};

struct spfcheck {
	struct asker ask; /* first: its callbacks hand it back */
	spfcheck_done_cb done;
	void *arg;
	char domain[SPF_NAME_MAX];
	unsigned rounds;
	bool full; /* the answer table ran out: the walk shows temperrors */
	size_t n;
	struct spfcheck_answer ans[SPF_WALK_MAX_LOOKUPS];
	struct spf_reply_scratch scratch;
	struct spf_walk walk;
};

static void spfcheck_round(struct asker *a);
static void spfcheck_gone(struct asker *a);

struct spfcheck *
spfcheck_start(struct ev_loop *loop, struct query_engine *qe, const char *domain,
	       spfcheck_done_cb done, void *arg, char *err, size_t errlen)
{
	struct spfcheck *c = calloc(1, sizeof(*c));
	uint8_t wire[WIRE_MAX_NAME];

	if (!c ||
	    !asker_init(&c->ask, loop, qe, SPF_WALK_MAX_LOOKUPS, spfcheck_round, spfcheck_gone)) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!wire_name_from_text(domain, wire) ||
	    !spf_name_normalise(domain, strlen(domain), c->domain, sizeof(c->domain))) {
		snprintf(err, errlen, "'%.300s' is not a domain name", domain);
		free(c->ask.replies);
		free(c);
		return NULL;
	}
	c->done = done;
	c->arg = arg;
	spfcheck_round(&c->ask);
	return c;
}

void
spfcheck_cancel(struct spfcheck *c)
{
	c->done = NULL;
}

static void
spfcheck_lookup(void *arg, const char *name, uint16_t qtype, struct spf_answer *out)
{
	struct spfcheck *c = arg;

	for (size_t i = 0; i < c->n; i++)
		if (c->ans[i].qtype == qtype && strcmp(c->ans[i].name, name) == 0) {
			spf_answer_from_reply(c->ask.replies[i].pkt, c->ask.replies[i].len, qtype,
					      &c->scratch, out);
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
	uint8_t name[WIRE_MAX_NAME];
	size_t nlen = wire_name_from_text(c->ans[id].name, name);

	asker_ask(&c->ask, id, name, nlen, c->ans[id].qtype);
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
spfcheck_round(struct asker *a)
{
	struct spfcheck *c = (struct spfcheck *)a;
	size_t before = c->n;

	c->rounds++;
	spf_walk(c->domain, 0, spfcheck_lookup, c, &c->walk);
	if (c->n == before) {
		if (c->done)
			c->done(c->arg, spfcheck_result(c));
		asker_finish(&c->ask);
		return;
	}
	for (size_t i = before; i < c->n; i++)
		spfcheck_ask(c, (uint16_t)i);
}

static void
spfcheck_gone(struct asker *a)
{
	free(a);
}
