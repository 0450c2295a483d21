/*
 * libFuzzer harness for spf (include/spf.h). Each input is used three
 * ways:
 *
 *  1. as a TXT RDATA and as record text: spf_parse_rdata, spf_parse,
 *     spf_plan;
 *  2. as a script of DNS answers: spf_walk of "example.com" whose
 *     callback answers each question with the next line of the input
 *     (its first byte picks rcode and address count; the rest, split at
 *     '|', are the TXT RDATAs or the MX exchangers), whatever the name;
 *  3. as a zone in spf_fakezone.h's format, walked from its first name;
 *  4. as a DNS reply: spf_answer_from_reply for TXT, MX, A and AAAA.
 *
 * Invariants: parsing is NOT_SPF exactly when spf_is_record says no; a
 * parsed record's terms lie inside its text, with valid kinds, CIDR
 * lengths, and redirect/exp indices; a permerror has a reason and a
 * position inside the text; the RDATA and its joined text parse alike.
 * A plan asks at most 20 questions for at most 10 terms, with names as
 * spf_name_normalise makes them. A walk stays inside its bounds (never
 * truncated), counts at most 10 DNS-querying terms and 3 voids (the 3rd
 * ends it), its running counts never go down, its nodes' lookups are
 * contiguous and add up to the callback's calls, every name asked is
 * normalised, and an error result comes with a reason. A reply read as
 * an answer has at most SPF_REPLY_MAX_RR records (A/AAAA aside), each
 * inside the reply (TXT) or a name as text (MX).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "spf.h"
#include "../unit/spf_fakezone.h"

#define MAX_INPUT 16384

static struct spf_record rec, rec2;
static struct spf_walk walk;
static struct fz_zone zone;
static struct spf_reply_scratch scratch;

static void
check_reply(const uint8_t *pkt, size_t len)
{
	static const uint16_t types[] = {16, 15, 1, 28}; /* TXT, MX, A, AAAA */
	struct spf_answer ans;

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		spf_answer_from_reply(pkt, len, types[t], &scratch, &ans);
		if (ans.rcode != 0 || types[t] == 1 || types[t] == 28)
			continue;
		CHECK(ans.count <= SPF_REPLY_MAX_RR);
		for (size_t i = 0; i < ans.count; i++) {
			const struct spf_rr *r = &ans.rr[i];
			if (types[t] == 16)
				CHECK(r->data >= pkt && r->data + r->len <= pkt + len);
			else
				CHECK(r->len < SPF_NAME_MAX && r->data[r->len] == '\0');
		}
	}
}

static void
check_normalised(const char *name)
{
	char again[SPF_NAME_MAX];

	CHECK(spf_name_normalise(name, strlen(name), again, sizeof(again)));
	CHECK(strcmp(again, name) == 0);
}

static void
check_record(const char *text, size_t len, enum spf_parse_status st, const struct spf_record *r)
{
	CHECK((st == SPF_PARSE_NOT_SPF) == !spf_is_record(text, len));
	if (st == SPF_PARSE_PERMERROR) {
		CHECK(r->error != NULL);
		CHECK(r->error_pos <= (len < SPF_MAX_TEXT ? len : SPF_MAX_TEXT));
		return;
	}
	if (st != SPF_PARSE_OK)
		return;
	CHECK(r->len == len && len <= SPF_MAX_TEXT);
	CHECK(r->n_terms <= SPF_MAX_TERMS);
	for (unsigned i = 0; i < r->n_terms; i++) {
		const struct spf_term *t = &r->terms[i];
		CHECK(t->kind <= SPF_K_MODIFIER && t->qualifier <= SPF_Q_NEUTRAL);
		CHECK(t->len > 0 && t->off >= 7 && (size_t)t->off + t->len <= r->len);
		if (t->dom_len)
			CHECK(t->dom_off > t->off && t->dom_off + t->dom_len <= t->off + t->len);
		CHECK(t->cidr4 <= 32 && t->cidr6 <= 128);
		CHECK(memchr(r->text + t->off, ' ', t->len) == NULL);
		if (t->kind == SPF_K_ALL)
			CHECK(r->has_all);
	}
	CHECK(r->redirect < 0 || r->terms[r->redirect].kind == SPF_K_REDIRECT);
	CHECK(r->exp < 0 || r->terms[r->exp].kind == SPF_K_EXP);

	struct spf_plan plan;
	spf_plan(r, "Example.COM.", &plan);
	CHECK(plan.n <= 2 * SPF_MAX_DNS_TERMS && plan.dns_terms <= SPF_MAX_DNS_TERMS);
	CHECK(plan.n <= 2 * plan.dns_terms);
	CHECK(!plan.over_limit || plan.dns_terms == SPF_MAX_DNS_TERMS);
	for (unsigned i = 0; i < plan.n; i++) {
		CHECK(plan.q[i].term < r->n_terms);
		CHECK(!r->terms[plan.q[i].term].has_macro);
		check_normalised(plan.q[i].name);
	}
}

static void
parse(const uint8_t *data, size_t size)
{
	char joined[SPF_MAX_TEXT + 2];
	enum spf_parse_status st = spf_parse_rdata(data, size, &rec);
	size_t n = spf_join_rdata(data, size, joined, sizeof(joined));

	if (n == SIZE_MAX) {
		CHECK(st == SPF_PARSE_NOT_SPF);
		CHECK(!spf_is_record_rdata(data, size));
	} else {
		CHECK(spf_is_record_rdata(data, size) == (st != SPF_PARSE_NOT_SPF));
		if (n <= SPF_MAX_TEXT) {
			check_record(joined, n, st, &rec);
			enum spf_parse_status st2 = spf_parse(joined, n, &rec2);
			CHECK(st2 == st && rec2.n_terms == rec.n_terms);
		}
	}
	st = spf_parse((const char *)data, size, &rec);
	check_record((const char *)data, size, st, &rec);
}

/* The input as a script of answers, one line per question. */
struct script {
	const uint8_t *data;
	size_t size, off;
	unsigned calls;
	uint8_t rdata[FZ_MAX][FZ_DATA];
	struct spf_rr rr[FZ_MAX];
};

static struct script script;

static void
script_lookup(void *arg, const char *name, uint16_t qtype, struct spf_answer *ans)
{
	struct script *s = arg;
	const uint8_t *line = s->data + s->off, *end;
	size_t len;

	s->calls++;
	check_normalised(name);
	ans->rr = s->rr;
	ans->count = 0;
	if (s->off >= s->size) {
		ans->rcode = WIRE_NXDOMAIN;
		return;
	}
	end = memchr(line, '\n', s->size - s->off);
	len = end ? (size_t)(end - line) : s->size - s->off;
	s->off += len + (end ? 1 : 0);
	if (len == 0) {
		ans->rcode = WIRE_NOERROR;
		return;
	}
	uint8_t c = line[0];
	ans->rcode = (c & 7) == 7 ? WIRE_SERVFAIL : (c & 7) == 6 ? WIRE_NXDOMAIN : WIRE_NOERROR;
	if (qtype == WIRE_T_A || qtype == WIRE_T_AAAA) {
		ans->count = (c >> 3) & 3;
		return;
	}
	/* The rest, split at '|': TXT RDATAs (cut in 255-byte strings) or
	 * MX exchanger names. */
	for (size_t i = 1, start = 1; i <= len && ans->count < FZ_MAX; i++) {
		if (i < len && line[i] != '|')
			continue;
		size_t part = i - start, out = 0;
		uint8_t *rd = s->rdata[ans->count];
		if (qtype == WIRE_T_TXT) {
			for (size_t p = 0; p < part && out + 256 <= FZ_DATA; p += 255) {
				size_t chunk = part - p < 255 ? part - p : 255;
				rd[out++] = (uint8_t)chunk;
				memcpy(rd + out, line + start + p, chunk);
				out += chunk;
			}
		} else {
			out = part < FZ_DATA ? part : FZ_DATA;
			memcpy(rd, line + start, out);
		}
		s->rr[ans->count].data = rd;
		s->rr[ans->count].len = out;
		ans->count++;
		start = i + 1;
	}
}

static void
check_walk(const struct spf_walk *w, unsigned calls)
{
	unsigned lookups = 0, dns = 0, voids = 0;

	CHECK(!w->truncated);
	CHECK(w->result <= SPF_R_PERMERROR);
	CHECK(w->dns_terms <= SPF_MAX_DNS_TERMS && w->voids <= SPF_MAX_VOID + 1);
	CHECK(w->voids <= SPF_MAX_VOID || w->result == SPF_R_PERMERROR ||
	      w->result == SPF_R_TEMPERROR);
	CHECK(w->n_nodes >= 1 && w->n_nodes <= SPF_WALK_MAX_NODES);
	CHECK(w->n_lookups == calls && w->n_lookups <= SPF_WALK_MAX_LOOKUPS);
	CHECK((w->result == SPF_R_PERMERROR || w->result == SPF_R_TEMPERROR) ==
	      (w->reason != NULL));
	CHECK(w->nodes[0].kind == SPF_K_ROOT);
	for (unsigned i = 0; i < w->n_nodes; i++) {
		const struct spf_node *n = &w->nodes[i];
		CHECK(n->depth <= SPF_MAX_DEPTH && n->kind <= SPF_K_ROOT);
		CHECK(n->status <= SPF_N_TEMPERROR);
		CHECK(n->first_lookup == lookups);
		lookups += n->n_lookups;
		CHECK(n->dns_terms >= dns && n->voids >= voids);
		dns = n->dns_terms;
		voids = n->voids;
		CHECK(memchr(n->text, '\0', sizeof(n->text)) != NULL);
	}
	CHECK(lookups == w->n_lookups);
	CHECK(dns == w->dns_terms && voids == w->voids);
	for (unsigned i = 0; i < w->n_lookups; i++)
		check_normalised(w->lookups[i].name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[MAX_INPUT + 1];
	char first[SPF_NAME_MAX];

	if (size > MAX_INPUT)
		return 0;
	parse(data, size);

	script.data = data;
	script.size = size;
	script.off = 0;
	script.calls = 0;
	spf_walk("example.com", size ? data[0] % 12 : 0, script_lookup, &script, &walk);
	check_walk(&walk, script.calls);

	memcpy(text, data, size);
	text[size] = '\0';
	if (fz_load(&zone, text) && zone.n > 0 &&
	    spf_name_normalise(zone.e[0].name, strlen(zone.e[0].name), first, sizeof(first))) {
		spf_walk(first, 0, fz_lookup, &zone, &walk);
		check_walk(&walk, zone.calls);
	}
	check_reply(data, size);
	return 0;
}
