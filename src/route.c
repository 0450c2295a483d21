/*
 * route: see include/route.h.
 *
 * A job asks its questions through an asker (the engine asked as the mail
 * server would ask it): the MX question as ID 0, then an A and an AAAA
 * question for each exchanger as IDs 1 + 2i and 2 + 2i.
 */
#include "route.h"

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asker.h"
#include "query.h"
#include "wire.h"
#include "wire_write.h"

#define ROUTE_MAX_EXCHANGERS 32
#define ROUTE_QUERIES (1 + 2 * ROUTE_MAX_EXCHANGERS)

struct route {
	struct asker ask; /* first: its callbacks hand it back */
	route_done_cb done;
	void *arg;
	uint8_t domain[WIRE_MAX_NAME];
	size_t dlen;
	bool addresses_asked;
	bool implicit;
	bool null_mx;
	size_t nmx;
	struct wire_mx mx[ROUTE_MAX_EXCHANGERS];
};

static void route_answered(struct asker *a);
static void route_gone(struct asker *a);
static void route_ask_addresses(struct route *r);
static void route_finish(struct route *r);
static json_t *route_result(const struct route *r);
static json_t *route_exchanger(const struct route *r, size_t i);
static void route_addresses(const struct asker_reply *rep, uint16_t qtype, const uint8_t *name,
			    size_t nlen, json_t *addrs, bool *alias);
static json_t *route_lookup_json(const struct asker_reply *rep);
static const char *route_rcode(const struct asker_reply *rep);

struct route *
route_start(struct ev_loop *loop, struct query_engine *qe, const char *domain, route_done_cb done,
	    void *arg, char *err, size_t errlen)
{
	struct route *r = calloc(1, sizeof(*r));

	if (!r || !asker_init(&r->ask, loop, qe, ROUTE_QUERIES, route_answered, route_gone)) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!(r->dlen = wire_name_from_text(domain, r->domain))) {
		snprintf(err, errlen, "'%.300s' is not a domain name", domain);
		free(r->ask.replies);
		free(r);
		return NULL;
	}
	wire_name_lower(r->domain, r->dlen);
	r->done = done;
	r->arg = arg;
	asker_ask(&r->ask, 0, r->domain, r->dlen, WIRE_T_MX);
	return r;
}

void
route_cancel(struct route *r)
{
	r->done = NULL;
}

static void
route_answered(struct asker *a)
{
	struct route *r = (struct route *)a;

	if (!r->addresses_asked) {
		r->addresses_asked = true;
		route_ask_addresses(r);
		if (r->ask.pending > 0)
			return;
	}
	route_finish(r);
}

/* After the MX answer: the exchangers (or the domain itself, RFC 5321
 * §5.1) and an A and AAAA question for each, all asked at once. */
static void
route_ask_addresses(struct route *r)
{
	const struct asker_reply *mx = &r->ask.replies[0];
	uint8_t owner[WIRE_MAX_NAME];
	size_t olen, total;

	if (!mx->pkt || WIRE_RCODE(wire_get16(mx->pkt + 2)) != WIRE_NOERROR ||
	    !(olen = wire_answer_owner(mx->pkt, mx->len, owner)))
		return;
	total = wire_mx_list(mx->pkt, mx->len, owner, olen, r->mx, ROUTE_MAX_EXCHANGERS);
	r->nmx = total < ROUTE_MAX_EXCHANGERS ? total : ROUTE_MAX_EXCHANGERS;
	if (total == 0) {
		r->implicit = true;
		r->nmx = 1;
		r->mx[0] = (struct wire_mx){.preference = 0, .name_len = (uint16_t)olen};
		memcpy(r->mx[0].name, owner, olen);
	} else if (total == 1 && r->mx[0].name_len == 1) {
		r->null_mx = true;
		r->nmx = 0;
	}
	for (size_t i = 0; i < r->nmx; i++) {
		asker_ask(&r->ask, (uint16_t)(1 + 2 * i), r->mx[i].name, r->mx[i].name_len,
			  WIRE_T_A);
		asker_ask(&r->ask, (uint16_t)(2 + 2 * i), r->mx[i].name, r->mx[i].name_len,
			  WIRE_T_AAAA);
	}
}

static void
route_finish(struct route *r)
{
	if (r->done)
		r->done(r->arg, route_result(r));
	asker_finish(&r->ask);
}

static void
route_gone(struct asker *a)
{
	free(a);
}

static const char *
route_rcode(const struct asker_reply *rep)
{
	const char *name = rep->pkt ? wire_rcode_name(WIRE_RCODE(wire_get16(rep->pkt + 2))) : NULL;

	return name ? name : "SERVFAIL";
}

static json_t *
route_lookup_json(const struct asker_reply *rep)
{
	return json_pack("{s:s, s:b}", "rcode", route_rcode(rep), "secure",
			 rep->pkt && (wire_get16(rep->pkt + 2) & WIRE_AD));
}

/* The qtype records of the answer (after any CNAME), and whether the
 * exchanger name itself turned out to be an alias. */
static void
route_addresses(const struct asker_reply *rep, uint16_t qtype, const uint8_t *name, size_t nlen,
		json_t *addrs, bool *alias)
{
	struct wire_iter it;
	struct wire_rr rr;
	uint8_t owner[WIRE_MAX_NAME];
	char text[INET6_ADDRSTRLEN];
	size_t off, n;

	if (!rep->pkt || !wire_iter_init(&it, rep->pkt, rep->len))
		return;
	while (wire_iter_next(&it, &rr) == 1 && rr.section == WIRE_ANSWER) {
		off = rr.name_off;
		if (rr.type == WIRE_T_CNAME &&
		    (n = wire_name_read(rep->pkt, rep->len, &off, owner)) &&
		    wire_name_equal(owner, n, name, nlen))
			*alias = true;
		if (rr.type != qtype || rr.rdlen != (qtype == WIRE_T_A ? 4 : 16))
			continue;
		inet_ntop(qtype == WIRE_T_A ? AF_INET : AF_INET6, rep->pkt + rr.rdata_off, text,
			  sizeof(text));
		json_array_append_new(addrs,
				      json_pack("{s:s, s:s, s:I}", "address", text, "type",
						wire_type_name(qtype), "ttl", (json_int_t)rr.ttl));
	}
}

static json_t *
route_exchanger(const struct route *r, size_t i)
{
	const struct asker_reply *a = &r->ask.replies[1 + 2 * i],
				 *aaaa = &r->ask.replies[2 + 2 * i];
	char name[WIRE_NAME_TEXT_MAX];
	json_t *addrs = json_array();
	bool alias = false;
	const char *problem = NULL;

	wire_name_to_text(r->mx[i].name, r->mx[i].name_len, name, sizeof(name));
	route_addresses(a, WIRE_T_A, r->mx[i].name, r->mx[i].name_len, addrs, &alias);
	route_addresses(aaaa, WIRE_T_AAAA, r->mx[i].name, r->mx[i].name_len, addrs, &alias);
	if (alias)
		problem = "exchanger is an alias (CNAME), which RFC 5321 5.1 does not allow";
	else if (strcmp(route_rcode(a), "NXDOMAIN") == 0)
		problem = "exchanger does not exist (NXDOMAIN)";
	else if (strcmp(route_rcode(a), "NOERROR") != 0 ||
		 strcmp(route_rcode(aaaa), "NOERROR") != 0)
		problem = "address lookup failed";
	else if (json_array_size(addrs) == 0)
		problem = "exchanger has no addresses";
	json_t *ex = json_pack("{s:s, s:i, s:o, s:o, s:o}", "name", name, "preference",
			       r->mx[i].preference, "addresses", addrs, "a", route_lookup_json(a),
			       "aaaa", route_lookup_json(aaaa));
	if (problem)
		json_object_set_new(ex, "problem", json_string(problem));
	return ex;
}

static json_t *
route_result(const struct route *r)
{
	const struct asker_reply *mx = &r->ask.replies[0];
	char domain[WIRE_NAME_TEXT_MAX];
	const char *rcode = route_rcode(mx);
	json_t *res, *exchangers = json_array();
	uint32_t ttl = 0;

	wire_name_to_text(r->domain, r->dlen, domain, sizeof(domain));
	res = json_pack("{s:s, s:s, s:b, s:b, s:b}", "domain", domain, "rcode", rcode, "secure",
			mx->pkt && (wire_get16(mx->pkt + 2) & WIRE_AD), "implicit_mx", r->implicit,
			"null_mx", r->null_mx);
	if (strcmp(rcode, "NOERROR") != 0) {
		json_decref(exchangers);
		json_object_set_new(res, "problem",
				    json_string(strcmp(rcode, "NXDOMAIN") == 0
						    ? "domain does not exist (NXDOMAIN)"
						    : "MX lookup failed"));
		return res;
	}
	if (!r->implicit && !r->null_mx && wire_min_ttl(mx->pkt, mx->len, &ttl))
		json_object_set_new(res, "mx_ttl", json_integer(ttl));
	for (size_t i = 0; i < r->nmx; i++)
		json_array_append_new(exchangers, route_exchanger(r, i));
	json_object_set_new(res, "exchangers", exchangers);
	if (r->null_mx)
		json_object_set_new(res, "problem",
				    json_string("domain accepts no mail (null MX, RFC 7505)"));
	return res;
}
