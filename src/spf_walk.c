/*
 * spf_walk: evaluates an SPF tree through a lookup callback
 * (include/spf.h), as check_host (RFC 7208 §4) does for a client that
 * no address mechanism matches: "all" matches, "exists" matches when
 * its name has an A record, "include" matches when its target passes.
 *
 * The parsed records of the include/redirect chain live on the C stack,
 * one per level (at most SPF_MAX_DEPTH + 1, about 5 KiB each).
 */
#include <stdio.h>
#include <string.h>

#include "spf.h"
#include "wire.h"

struct spf_ctx {
	spf_lookup_fn fn;
	void *arg;
	struct spf_walk *w;
	unsigned max_depth;
	bool stop;    /* a permerror ended the walk */
	bool errored; /* w->result holds the first error */
	unsigned chain_len;
	char chain[SPF_MAX_DEPTH + 1][SPF_NAME_MAX]; /* records being evaluated */
};

static int spf_node_new(struct spf_ctx *c, unsigned depth, enum spf_kind kind, const char *text,
			size_t len);
static void spf_error(struct spf_ctx *c, int node, enum spf_node_status st, enum spf_result r,
		      const char *why);
static bool spf_ask(struct spf_ctx *c, int node, const char *name, uint16_t qtype,
		    struct spf_answer *ans);
static bool spf_void(struct spf_ctx *c, int node);
static bool spf_count(struct spf_ctx *c, int node);
static long spf_addresses(struct spf_ctx *c, int node, const char *name);
static void spf_mx(struct spf_ctx *c, int node, const char *name);
static int spf_fetch(struct spf_ctx *c, int node, const char *name, struct spf_record *rec);
static enum spf_result spf_descend(struct spf_ctx *c, int node, const char *name, unsigned depth);
static enum spf_result spf_check_host(struct spf_ctx *c, const char *domain, unsigned depth,
				      int node);
static enum spf_result spf_follow(struct spf_ctx *c, int node, const char *name, unsigned depth,
				  const char *why);
static enum spf_result spf_evaluate(struct spf_ctx *c, const struct spf_record *rec,
				    const char *domain, unsigned depth);

static const enum spf_result spf_qualifier_result[] = {SPF_R_PASS, SPF_R_FAIL, SPF_R_SOFTFAIL,
						       SPF_R_NEUTRAL};

static int
spf_node_new(struct spf_ctx *c, unsigned depth, enum spf_kind kind, const char *text, size_t len)
{
	struct spf_walk *w = c->w;
	struct spf_node *n;

	if (w->n_nodes >= SPF_WALK_MAX_NODES) {
		w->truncated = true;
		spf_error(c, -1, SPF_N_OK, SPF_R_PERMERROR, "walk bound reached");
		return -1;
	}
	n = &w->nodes[w->n_nodes];
	n->depth = (uint8_t)depth;
	n->kind = (uint8_t)kind;
	n->status = SPF_N_OK;
	n->dns_terms = (uint8_t)w->dns_terms;
	n->voids = (uint8_t)w->voids;
	n->first_lookup = (uint16_t)w->n_lookups;
	n->n_lookups = 0;
	if (len >= sizeof(n->text))
		len = sizeof(n->text) - 1;
	memcpy(n->text, text, len);
	n->text[len] = '\0';
	return (int)w->n_nodes++;
}

/* Marks the node; the first error is the walk's result; a permerror
 * ends the walk. */
static void
spf_error(struct spf_ctx *c, int node, enum spf_node_status st, enum spf_result r, const char *why)
{
	if (node >= 0)
		c->w->nodes[node].status = (uint8_t)st;
	if (!c->errored) {
		c->errored = true;
		c->w->result = r;
		c->w->reason = why;
	}
	if (r == SPF_R_PERMERROR)
		c->stop = true;
}

/* Asks the callback and records the lookup. False if it failed (the
 * node is then a temperror). */
static bool
spf_ask(struct spf_ctx *c, int node, const char *name, uint16_t qtype, struct spf_answer *ans)
{
	struct spf_walk *w = c->w;
	struct spf_lookup *l;

	memset(ans, 0, sizeof(*ans));
	if (w->n_lookups >= SPF_WALK_MAX_LOOKUPS) {
		w->truncated = true;
		spf_error(c, node, SPF_N_OK, SPF_R_PERMERROR, "walk bound reached");
		return false;
	}
	c->fn(c->arg, name, qtype, ans);
	if (ans->rr == NULL && (qtype == WIRE_T_TXT || qtype == WIRE_T_MX))
		ans->count = 0;
	l = &w->lookups[w->n_lookups++];
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->qtype = qtype;
	l->rcode = (uint8_t)ans->rcode;
	l->count = ans->count > UINT32_MAX ? UINT32_MAX : (uint32_t)ans->count;
	l->is_void = ans->rcode == WIRE_NXDOMAIN || (ans->rcode == WIRE_NOERROR && ans->count == 0);
	w->nodes[node].n_lookups++;
	if (ans->rcode != WIRE_NOERROR && ans->rcode != WIRE_NXDOMAIN) {
		spf_error(c, node, SPF_N_TEMPERROR, SPF_R_TEMPERROR, "a lookup failed");
		return false;
	}
	if (ans->rcode == WIRE_NXDOMAIN)
		ans->count = 0;
	return true;
}

/* One more void lookup; false once the limit is passed (§4.6.4). */
static bool
spf_void(struct spf_ctx *c, int node)
{
	c->w->nodes[node].voids = (uint8_t)++c->w->voids;
	if (c->w->voids <= SPF_MAX_VOID)
		return true;
	spf_error(c, node, SPF_N_LIMIT_VOID, SPF_R_PERMERROR, "more than 2 void lookups");
	return false;
}

/* One more DNS-querying term; false past the tenth (§4.6.4). */
static bool
spf_count(struct spf_ctx *c, int node)
{
	if (c->w->dns_terms >= SPF_MAX_DNS_TERMS) {
		spf_error(c, node, SPF_N_LIMIT_LOOKUPS, SPF_R_PERMERROR,
			  "more than 10 DNS-querying terms");
		return false;
	}
	c->w->nodes[node].dns_terms = (uint8_t)++c->w->dns_terms;
	return true;
}

/* A then AAAA: how many addresses, -1 if either lookup failed. */
static long
spf_addresses(struct spf_ctx *c, int node, const char *name)
{
	static const uint16_t types[] = {WIRE_T_A, WIRE_T_AAAA};
	struct spf_answer ans;
	long n = 0;
	bool failed = false;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (spf_ask(c, node, name, types[i], &ans))
			n += (long)(ans.count > 65535 ? 65535 : ans.count);
		else
			failed = true;
		if (c->stop)
			return -1;
	}
	return failed ? -1 : n;
}

/* MX, then the addresses of each exchanger (at most 10, §4.6.4). A null
 * MX ("." , RFC 7505) or a malformed name has no addresses to ask for. */
static void
spf_mx(struct spf_ctx *c, int node, const char *name)
{
	char mx[SPF_MAX_MX][SPF_NAME_MAX];
	struct spf_answer ans;
	size_t n = 0;

	if (!spf_ask(c, node, name, WIRE_T_MX, &ans))
		return;
	if (ans.count > SPF_MAX_MX) {
		spf_error(c, node, SPF_N_LIMIT_MX, SPF_R_PERMERROR, "more than 10 MX records");
		return;
	}
	if (ans.count == 0 && !spf_void(c, node))
		return;
	for (size_t i = 0; i < ans.count; i++) {
		const struct spf_rr *rr = &ans.rr[i];
		if (rr->data &&
		    spf_name_normalise((const char *)rr->data, rr->len, mx[n], sizeof(mx[n])))
			n++;
	}
	for (size_t i = 0; i < n && !c->stop; i++)
		if (spf_addresses(c, node, mx[i]) == 0)
			spf_void(c, node);
}

/* The one SPF record at name: 1 parsed into rec, 0 none (node marked),
 * -1 an error (marked and recorded). */
static int
spf_fetch(struct spf_ctx *c, int node, const char *name, struct spf_record *rec)
{
	struct spf_answer ans;
	const struct spf_rr *found = NULL;
	size_t n = 0;

	if (!spf_ask(c, node, name, WIRE_T_TXT, &ans))
		return -1;
	if (ans.count == 0) {
		c->w->nodes[node].status =
		    (uint8_t)(ans.rcode == WIRE_NXDOMAIN ? SPF_N_NXDOMAIN : SPF_N_NO_RECORD);
		return spf_void(c, node) ? 0 : -1;
	}
	for (size_t i = 0; i < ans.count; i++)
		if (ans.rr[i].data && spf_is_record_rdata(ans.rr[i].data, ans.rr[i].len)) {
			found = &ans.rr[i];
			n++;
		}
	if (n == 0) {
		c->w->nodes[node].status = SPF_N_NO_RECORD;
		return 0;
	}
	if (n > 1) {
		spf_error(c, node, SPF_N_MULTIPLE, SPF_R_PERMERROR, "more than one SPF record");
		return -1;
	}
	if (spf_parse_rdata(found->data, found->len, rec) != SPF_PARSE_OK) {
		spf_error(c, node, SPF_N_BAD_RECORD, SPF_R_PERMERROR,
			  rec->error ? rec->error : "malformed TXT RDATA");
		return -1;
	}
	return 1;
}

static enum spf_result
spf_descend(struct spf_ctx *c, int node, const char *name, unsigned depth)
{
	for (unsigned i = 0; i < c->chain_len; i++)
		if (strcmp(c->chain[i], name) == 0) {
			spf_error(c, node, SPF_N_LOOP, SPF_R_PERMERROR, "loop");
			return SPF_R_PERMERROR;
		}
	if (depth + 1 > c->max_depth) {
		spf_error(c, node, SPF_N_LIMIT_DEPTH, SPF_R_PERMERROR, "too deep");
		return SPF_R_PERMERROR;
	}
	return spf_check_host(c, name, depth + 1, node);
}

/* check_host(): the record at domain, its terms at depth; node holds
 * the TXT lookup (the root, or the include/redirect that led here). */
static enum spf_result
spf_check_host(struct spf_ctx *c, const char *domain, unsigned depth, int node)
{
	struct spf_record rec;
	enum spf_result r;
	int got = spf_fetch(c, node, domain, &rec);

	if (got <= 0)
		return got == 0 ? SPF_R_NONE : c->stop ? SPF_R_PERMERROR : SPF_R_TEMPERROR;
	snprintf(c->chain[c->chain_len], SPF_NAME_MAX, "%s", domain);
	c->chain_len++;
	r = spf_evaluate(c, &rec, domain, depth);
	c->chain_len--;
	return c->stop ? SPF_R_PERMERROR : r;
}

/* A target that has no SPF record ends the evaluation (§5.2, §6.1). */
static enum spf_result
spf_follow(struct spf_ctx *c, int node, const char *name, unsigned depth, const char *why)
{
	enum spf_result r = spf_descend(c, node, name, depth);

	if (r == SPF_R_NONE) {
		spf_error(c, node, c->w->nodes[node].status, SPF_R_PERMERROR, why);
		return SPF_R_PERMERROR;
	}
	return r;
}

static enum spf_result
spf_evaluate(struct spf_ctx *c, const struct spf_record *rec, const char *domain, unsigned depth)
{
	char name[SPF_NAME_MAX];

	for (unsigned i = 0; i <= rec->n_terms && !c->stop; i++) {
		/* "all" matches every client: a redirect beside it is never
		 * reached, as §6.1 wants. */
		bool redirect = i == rec->n_terms;
		if (redirect && rec->redirect < 0)
			break;
		const struct spf_term *t = &rec->terms[redirect ? (unsigned)rec->redirect : i];
		if (!redirect && (t->kind == SPF_K_REDIRECT || t->kind == SPF_K_EXP ||
				  t->kind == SPF_K_MODIFIER))
			continue;
		int node = spf_node_new(c, depth, t->kind, rec->text + t->off, t->len);
		if (node < 0)
			break;
		enum spf_result qual = spf_qualifier_result[t->qualifier];
		if (t->kind == SPF_K_ALL) {
			c->w->nodes[node].status = SPF_N_MATCH;
			return qual;
		}
		if (t->kind == SPF_K_IP4 || t->kind == SPF_K_IP6 || !spf_count(c, node))
			continue;
		if (t->has_macro || t->kind == SPF_K_PTR) {
			c->w->nodes[node].status =
			    (uint8_t)(t->has_macro ? SPF_N_SKIP_MACRO : SPF_N_SKIP_PTR);
			continue;
		}
		if (!spf_term_target(rec, redirect ? (unsigned)rec->redirect : i, domain, name,
				     sizeof(name))) {
			c->w->nodes[node].status = SPF_N_BAD_NAME;
			if (t->kind == SPF_K_INCLUDE || t->kind == SPF_K_REDIRECT)
				spf_error(c, node, SPF_N_BAD_NAME, SPF_R_PERMERROR,
					  "malformed target name");
			continue;
		}
		struct spf_answer ans;
		enum spf_result r;
		switch (t->kind) {
		case SPF_K_A:
			if (spf_addresses(c, node, name) == 0)
				spf_void(c, node);
			break;
		case SPF_K_MX:
			spf_mx(c, node, name);
			break;
		case SPF_K_EXISTS:
			if (!spf_ask(c, node, name, WIRE_T_A, &ans))
				break;
			if (ans.count == 0) {
				spf_void(c, node);
				break;
			}
			c->w->nodes[node].status = SPF_N_MATCH;
			return qual;
		case SPF_K_INCLUDE:
			r = spf_follow(c, node, name, depth, "include target has no SPF record");
			if (r == SPF_R_PASS) {
				c->w->nodes[node].status = SPF_N_MATCH;
				return qual;
			}
			break;
		default: /* redirect: the target's result is the record's */
			return spf_follow(c, node, name, depth,
					  "redirect target has no SPF record");
		}
	}
	return c->stop ? SPF_R_PERMERROR : SPF_R_NEUTRAL;
}

void
spf_walk(const char *domain, unsigned max_depth, spf_lookup_fn fn, void *arg, struct spf_walk *w)
{
	struct spf_ctx c = {.fn = fn, .arg = arg, .w = w};
	char name[SPF_NAME_MAX];
	enum spf_result r;
	int root;

	c.max_depth = max_depth == 0 || max_depth > SPF_MAX_DEPTH ? SPF_MAX_DEPTH : max_depth;
	w->result = SPF_R_NONE;
	w->dns_terms = w->voids = 0;
	w->reason = NULL;
	w->n_nodes = w->n_lookups = 0;
	w->truncated = false;
	root = spf_node_new(&c, 0, SPF_K_ROOT, domain ? domain : "", domain ? strlen(domain) : 0);
	/* §4.3: a malformed domain has no SPF record. */
	if (!domain || !spf_name_normalise(domain, strlen(domain), name, sizeof(name))) {
		w->nodes[root].status = SPF_N_BAD_NAME;
		return;
	}
	r = spf_check_host(&c, name, 0, root);
	if (!c.errored)
		w->result = r;
}
