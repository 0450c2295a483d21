/*
 * spf: the RFC 7208 record parser and the questions a record asks
 * (include/spf.h). The walker is in spf_walk.c.
 *
 * Strict on purpose: anything the §12 ABNF does not produce is a
 * permerror with a reason and a position, the way check_host treats it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "wire.h"

enum spf_arg { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };
enum spf_cidr { CIDR_NONE, CIDR_DUAL, CIDR_V4, CIDR_V6 };

static const struct spf_mechanism {
	const char *name;
	enum spf_kind kind;
	enum spf_arg arg;
	enum spf_cidr cidr;
	bool dns; /* counts toward the 10-lookup limit */
} spf_mechanisms[] = {
    {"all", SPF_K_ALL, ARG_NONE, CIDR_NONE, false},
    {"include", SPF_K_INCLUDE, ARG_REQUIRED, CIDR_NONE, true},
    {"a", SPF_K_A, ARG_OPTIONAL, CIDR_DUAL, true},
    {"mx", SPF_K_MX, ARG_OPTIONAL, CIDR_DUAL, true},
    {"ptr", SPF_K_PTR, ARG_OPTIONAL, CIDR_NONE, true},
    {"ip4", SPF_K_IP4, ARG_REQUIRED, CIDR_V4, false},
    {"ip6", SPF_K_IP6, ARG_REQUIRED, CIDR_V6, false},
    {"exists", SPF_K_EXISTS, ARG_REQUIRED, CIDR_NONE, true},
};

static const char spf_qualifiers[] = "+-~?"; /* in enum spf_qualifier order */

static bool spf_fail(struct spf_record *rec, const char *why, size_t pos);
static bool spf_is_alpha(char c);
static bool spf_is_digit(char c);
static bool spf_is_alnum(char c);
static bool spf_toplabel(const char *s, size_t n);
static bool spf_macro_string(struct spf_record *rec, size_t off, size_t n, bool domain,
			     bool *has_macro, bool *ends_in_macro);
static bool spf_domain_spec(struct spf_record *rec, size_t off, size_t n, bool *has_macro);
static bool spf_cidr_value(struct spf_record *rec, size_t off, size_t n, unsigned max,
			   uint8_t *out);
static bool spf_strip_cidr(struct spf_record *rec, struct spf_term *t, enum spf_cidr cidr,
			   size_t off, size_t *n);
static bool spf_ip4(const char *s, size_t n, uint8_t *out);
static bool spf_parse_modifier(struct spf_record *rec, struct spf_term *t, size_t name_len);
static bool spf_parse_directive(struct spf_record *rec, struct spf_term *t);
static bool spf_parse_term(struct spf_record *rec, size_t off, size_t n);
static bool spf_plan_add(struct spf_plan *plan, unsigned term, uint16_t qtype, const char *name);

static bool
spf_fail(struct spf_record *rec, const char *why, size_t pos)
{
	rec->error = why;
	rec->error_pos = pos;
	return false;
}

static bool
spf_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
spf_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
spf_is_alnum(char c)
{
	return spf_is_alpha(c) || spf_is_digit(c);
}

size_t
spf_join_rdata(const uint8_t *rdata, size_t len, char *out, size_t cap)
{
	size_t off = 0, total = 0;

	while (off < len) {
		size_t n = rdata[off++];
		if (n > len - off)
			return SIZE_MAX;
		for (size_t i = 0; i < n; i++, total++)
			if (cap > 0 && total < cap - 1)
				out[total] = (char)rdata[off + i];
		off += n;
	}
	if (cap > 0)
		out[total < cap - 1 ? total : cap - 1] = '\0';
	return total;
}

bool
spf_is_record(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

bool
spf_is_record_rdata(const uint8_t *rdata, size_t len)
{
	char head[8];
	size_t n = spf_join_rdata(rdata, len, head, sizeof(head));

	return n != SIZE_MAX && spf_is_record(head, n < sizeof(head) ? n : sizeof(head) - 1);
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
spf_toplabel(const char *s, size_t n)
{
	bool alpha = false, hyphen = false;

	if (n == 0 || !spf_is_alnum(s[0]) || !spf_is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			hyphen = true;
		else if (spf_is_alpha(s[i]))
			alpha = true;
		else if (!spf_is_digit(s[i]))
			return false;
	}
	return alpha || hyphen;
}

/*
 * macro-string = *( macro-expand / macro-literal ) (§7.1). In a
 * domain-spec the letters c, r and t are not allowed (they belong to
 * explanation text) and %{..} may not use a zero DIGIT transformer.
 */
static bool
spf_macro_string(struct spf_record *rec, size_t off, size_t n, bool domain, bool *has_macro,
		 bool *ends_in_macro)
{
	const char *s = rec->text + off;
	size_t i = 0;

	*ends_in_macro = false;
	while (i < n) {
		if (s[i] != '%') {
			i++;
			*ends_in_macro = false;
			continue;
		}
		*has_macro = *ends_in_macro = true;
		if (i + 1 < n && (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-')) {
			i += 2;
			continue;
		}
		if (i + 1 >= n || s[i + 1] != '{')
			return spf_fail(rec, "bad macro: '%' not followed by {, %, _ or -",
					off + i);
		size_t j = i + 2;
		int letter = j < n ? tolower((unsigned char)s[j]) : 0;
		if (!letter || !strchr(domain ? "slodiphv" : "slodiphcrtv", letter))
			return spf_fail(rec, "bad macro letter", off + j);
		j++;
		unsigned digits = 0, value = 0;
		while (j < n && spf_is_digit(s[j]) && digits < 4) {
			value = value * 10 + (unsigned)(s[j] - '0');
			digits++;
			j++;
		}
		if (digits > 0 && value == 0)
			return spf_fail(rec, "bad macro: zero DIGIT transformer", off + j - 1);
		if (j < n && (s[j] == 'r' || s[j] == 'R'))
			j++;
		while (j < n && strchr(".-+,/_=", s[j]))
			j++;
		if (j >= n || s[j] != '}')
			return spf_fail(rec, "bad macro: no closing }", off + j);
		i = j + 1;
	}
	return true;
}

/* domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static bool
spf_domain_spec(struct spf_record *rec, size_t off, size_t n, bool *has_macro)
{
	const char *s = rec->text + off;
	bool ends_in_macro;
	size_t end = n, dot;

	if (n == 0)
		return spf_fail(rec, "empty domain-spec", off);
	if (!spf_macro_string(rec, off, n, true, has_macro, &ends_in_macro))
		return false;
	if (ends_in_macro)
		return true;
	if (s[end - 1] == '.')
		end--;
	for (dot = end; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (dot == 0 || !spf_toplabel(s + dot, end - dot))
		return spf_fail(rec, "domain-spec does not end in a top label", off);
	return true;
}

/* ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT), at most max. */
static bool
spf_cidr_value(struct spf_record *rec, size_t off, size_t n, unsigned max, uint8_t *out)
{
	const char *s = rec->text + off;
	unsigned v = 0;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return spf_fail(rec, "bad CIDR length", off);
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > max)
		return spf_fail(rec, "CIDR length out of range", off);
	*out = (uint8_t)v;
	return true;
}

/* Takes "/N", "//N" or "/N//M" off the end of the n bytes at off. */
static bool
spf_strip_cidr(struct spf_record *rec, struct spf_term *t, enum spf_cidr cidr, size_t off,
	       size_t *n)
{
	const char *s = rec->text + off;

	for (int pass = 0; pass < 2; pass++) {
		size_t j = *n;
		while (j > 0 && spf_is_digit(s[j - 1]))
			j--;
		if (j == *n || j == 0 || s[j - 1] != '/')
			return true;
		bool dbl = j >= 2 && s[j - 2] == '/';
		if (dbl && cidr != CIDR_DUAL)
			return spf_fail(rec, "dual CIDR length not allowed here", off + j - 2);
		if (dbl && pass == 1)
			return spf_fail(rec, "two IPv6 CIDR lengths", off + j - 2);
		bool v6 = dbl || cidr == CIDR_V6;
		if (!spf_cidr_value(rec, off + j, *n - j, v6 ? 128 : 32,
				    v6 ? &t->cidr6 : &t->cidr4))
			return false;
		*n = j - (dbl ? 2 : 1);
		if (!dbl)
			return true;
	}
	return true;
}

/* ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros. */
static bool
spf_ip4(const char *s, size_t n, uint8_t *out)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;
		while (i < n && spf_is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return false;
		out[part] = (uint8_t)v;
		if (part < 3 && (i >= n || s[i++] != '.'))
			return false;
	}
	return i == n;
}

static bool
spf_parse_modifier(struct spf_record *rec, struct spf_term *t, size_t name_len)
{
	const char *name = rec->text + t->off;
	bool ends_in_macro;

	t->dom_off = (uint16_t)(t->off + name_len + 1);
	t->dom_len = (uint16_t)(t->len - name_len - 1);
	if (name_len == 8 && strncasecmp(name, "redirect", 8) == 0)
		t->kind = SPF_K_REDIRECT;
	else if (name_len == 3 && strncasecmp(name, "exp", 3) == 0)
		t->kind = SPF_K_EXP;
	else
		return spf_macro_string(rec, t->dom_off, t->dom_len, false, &t->has_macro,
					&ends_in_macro);
	int *seen = t->kind == SPF_K_REDIRECT ? &rec->redirect : &rec->exp;
	if (*seen >= 0)
		return spf_fail(rec, "modifier appears twice", t->off);
	*seen = (int)rec->n_terms;
	return spf_domain_spec(rec, t->dom_off, t->dom_len, &t->has_macro);
}

static bool
spf_parse_directive(struct spf_record *rec, struct spf_term *t)
{
	const char *s = rec->text;
	size_t off = t->off, end = t->off + t->len, name_end;
	const char *q = strchr(spf_qualifiers, s[off]);
	const struct spf_mechanism *m = NULL;

	if (q) {
		t->qualifier = (uint8_t)(q - spf_qualifiers);
		off++;
	}
	for (name_end = off; name_end < end && spf_is_alnum(s[name_end]); name_end++)
		;
	for (size_t i = 0; i < sizeof(spf_mechanisms) / sizeof(spf_mechanisms[0]); i++)
		if (strlen(spf_mechanisms[i].name) == name_end - off &&
		    strncasecmp(spf_mechanisms[i].name, s + off, name_end - off) == 0)
			m = &spf_mechanisms[i];
	if (!m)
		return spf_fail(rec, "unknown mechanism", t->off);
	t->kind = (uint8_t)m->kind;
	size_t n = end - name_end;
	if (m->cidr != CIDR_NONE && !spf_strip_cidr(rec, t, m->cidr, name_end, &n))
		return false;
	if (n == 0) {
		if (m->arg == ARG_REQUIRED)
			return spf_fail(rec, "mechanism needs ':' and an argument", name_end);
		return true;
	}
	if (s[name_end] != ':' || m->arg == ARG_NONE)
		return spf_fail(rec, "unexpected text after the mechanism", name_end);
	t->dom_off = (uint16_t)(name_end + 1);
	t->dom_len = (uint16_t)(n - 1);
	if (m->kind == SPF_K_IP4) {
		if (!spf_ip4(s + t->dom_off, t->dom_len, t->addr))
			return spf_fail(rec, "bad IPv4 network", t->dom_off);
		return true;
	}
	if (m->kind == SPF_K_IP6) {
		char buf[64];
		if (t->dom_len >= sizeof(buf))
			return spf_fail(rec, "bad IPv6 network", t->dom_off);
		memcpy(buf, s + t->dom_off, t->dom_len);
		buf[t->dom_len] = '\0';
		if (inet_pton(AF_INET6, buf, t->addr) != 1)
			return spf_fail(rec, "bad IPv6 network", t->dom_off);
		return true;
	}
	return spf_domain_spec(rec, t->dom_off, t->dom_len, &t->has_macro);
}

/* A term is a modifier when it starts with name "=" (§4.6.1). */
static bool
spf_parse_term(struct spf_record *rec, size_t off, size_t n)
{
	const char *s = rec->text + off;
	struct spf_term *t;
	size_t name_len = 0;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return spf_fail(rec, "not printable ASCII", off + i);
	if (rec->n_terms >= SPF_MAX_TERMS)
		return spf_fail(rec, "more than 64 terms", off);
	t = &rec->terms[rec->n_terms];
	memset(t, 0, sizeof(*t));
	t->off = (uint16_t)off;
	t->len = (uint16_t)n;
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (spf_is_alpha(s[0])) {
		name_len = 1;
		while (name_len < n &&
		       (spf_is_alnum(s[name_len]) || strchr("-_.", s[name_len]) != NULL))
			name_len++;
	}
	t->kind = SPF_K_MODIFIER;
	bool ok = name_len > 0 && name_len < n && s[name_len] == '='
		      ? spf_parse_modifier(rec, t, name_len)
		      : spf_parse_directive(rec, t);
	if (!ok)
		return false;
	if (t->kind == SPF_K_ALL)
		rec->has_all = true;
	rec->n_terms++;
	return true;
}

enum spf_parse_status
spf_parse(const char *text, size_t len, struct spf_record *rec)
{
	size_t pos = 6;

	rec->len = 0;
	rec->text[0] = '\0';
	rec->n_terms = 0;
	rec->redirect = rec->exp = -1;
	rec->has_all = false;
	rec->error = NULL;
	rec->error_pos = 0;
	if (!spf_is_record(text, len))
		return SPF_PARSE_NOT_SPF;
	if (len > SPF_MAX_TEXT) {
		spf_fail(rec, "record too long", SPF_MAX_TEXT);
		return SPF_PARSE_PERMERROR;
	}
	memcpy(rec->text, text, len);
	rec->text[len] = '\0';
	rec->len = len;
	while (pos < len) {
		if (rec->text[pos] == ' ') {
			pos++;
			continue;
		}
		size_t start = pos;
		while (pos < len && rec->text[pos] != ' ')
			pos++;
		if (!spf_parse_term(rec, start, pos - start))
			return SPF_PARSE_PERMERROR;
	}
	return SPF_PARSE_OK;
}

enum spf_parse_status
spf_parse_rdata(const uint8_t *rdata, size_t len, struct spf_record *rec)
{
	char buf[SPF_MAX_TEXT + 2];
	size_t n = spf_join_rdata(rdata, len, buf, sizeof(buf));

	if (n == SIZE_MAX) {
		spf_parse("", 0, rec);
		return SPF_PARSE_NOT_SPF;
	}
	/* Past SPF_MAX_TEXT + 1 the text is cut: spf_parse says "too long". */
	return spf_parse(buf, n < sizeof(buf) - 1 ? n : sizeof(buf) - 1, rec);
}

bool
spf_name_normalise(const char *s, size_t n, char *out, size_t cap)
{
	size_t label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > WIRE_MAX_LABEL || (unsigned char)c < 0x21 ||
			   (unsigned char)c > 0x7e) {
			return false;
		}
		out[i] = (char)tolower((unsigned char)c);
	}
	out[n] = '\0';
	return label > 0; /* "x.." is no name */
}

bool
spf_term_target(const struct spf_record *rec, unsigned i, const char *domain, char *out, size_t cap)
{
	const struct spf_term *t;

	if (i >= rec->n_terms)
		return false;
	t = &rec->terms[i];
	switch (t->kind) {
	case SPF_K_INCLUDE:
	case SPF_K_A:
	case SPF_K_MX:
	case SPF_K_PTR:
	case SPF_K_EXISTS:
	case SPF_K_REDIRECT:
	case SPF_K_EXP:
		break;
	default:
		return false;
	}
	if (t->has_macro)
		return false;
	if (t->dom_len > 0)
		return spf_name_normalise(rec->text + t->dom_off, t->dom_len, out, cap);
	return domain && spf_name_normalise(domain, strlen(domain), out, cap);
}

static bool
spf_plan_add(struct spf_plan *plan, unsigned term, uint16_t qtype, const char *name)
{
	struct spf_question *q;

	if (plan->n >= sizeof(plan->q) / sizeof(plan->q[0]))
		return false;
	q = &plan->q[plan->n++];
	q->term = (uint16_t)term;
	q->nth = (uint8_t)plan->dns_terms;
	q->qtype = qtype;
	snprintf(q->name, sizeof(q->name), "%s", name);
	return true;
}

void
spf_plan(const struct spf_record *rec, const char *domain, struct spf_plan *plan)
{
	char name[SPF_NAME_MAX];

	plan->n = 0;
	plan->dns_terms = 0;
	plan->over_limit = false;
	for (unsigned i = 0; i <= rec->n_terms; i++) {
		/* The redirect, if any, comes after every mechanism; "all"
		 * ends the record first when there is one (§6.1). */
		unsigned ti = i < rec->n_terms ? i : (unsigned)rec->redirect;
		if (i == rec->n_terms && rec->redirect < 0)
			return;
		const struct spf_term *t = &rec->terms[ti];
		if (t->kind == SPF_K_ALL)
			return;
		bool counted = t->kind == SPF_K_INCLUDE || t->kind == SPF_K_A ||
			       t->kind == SPF_K_MX || t->kind == SPF_K_PTR ||
			       t->kind == SPF_K_EXISTS || i == rec->n_terms;
		if (!counted)
			continue;
		if (plan->dns_terms == SPF_MAX_DNS_TERMS) {
			plan->over_limit = true;
			return;
		}
		plan->dns_terms++;
		if (t->kind == SPF_K_PTR || !spf_term_target(rec, ti, domain, name, sizeof(name)))
			continue;
		switch (t->kind) {
		case SPF_K_A:
			spf_plan_add(plan, ti, WIRE_T_A, name);
			spf_plan_add(plan, ti, WIRE_T_AAAA, name);
			break;
		case SPF_K_MX:
			spf_plan_add(plan, ti, WIRE_T_MX, name);
			break;
		case SPF_K_EXISTS:
			spf_plan_add(plan, ti, WIRE_T_A, name);
			break;
		default:
			spf_plan_add(plan, ti, WIRE_T_TXT, name);
			break;
		}
	}
}

void
spf_answer_from_reply(const uint8_t *pkt, size_t len, uint16_t qtype, struct spf_reply_scratch *s,
		      struct spf_answer *out)
{
	uint8_t owner[WIRE_MAX_NAME], name[WIRE_MAX_NAME];
	char text[WIRE_NAME_TEXT_MAX];
	struct wire_iter it;
	struct wire_rr rr;
	size_t olen, off, nlen;

	out->rr = s->rr;
	out->count = 0;
	out->rcode =
	    pkt && len >= WIRE_HEADER_LEN ? (int)WIRE_RCODE(wire_get16(pkt + 2)) : WIRE_SERVFAIL;
	if (out->rcode != WIRE_NOERROR || !(olen = wire_answer_owner(pkt, len, owner)) ||
	    !wire_iter_init(&it, pkt, len))
		return;
	while (wire_iter_next(&it, &rr) == 1 && rr.section == WIRE_ANSWER) {
		if (rr.type != qtype || !wire_name_at(pkt, len, rr.name_off, owner, olen))
			continue;
		if (qtype == WIRE_T_A || qtype == WIRE_T_AAAA) {
			out->count++;
			continue;
		}
		if (out->count == SPF_REPLY_MAX_RR)
			break;
		struct spf_rr *r = &s->rr[out->count];
		if (qtype == WIRE_T_MX) {
			off = rr.rdata_off + 2;
			/* A name the walker cannot take as text is left out. */
			if (rr.rdlen < 3 || !(nlen = wire_name_read(pkt, len, &off, name)) ||
			    !wire_name_to_text(name, nlen, text, sizeof(text)) ||
			    strlen(text) >= SPF_NAME_MAX)
				continue;
			memcpy(s->mx[out->count], text, strlen(text) + 1);
			r->data = (const uint8_t *)s->mx[out->count];
			r->len = strlen(s->mx[out->count]);
		} else {
			r->data = pkt + rr.rdata_off;
			r->len = rr.rdlen;
		}
		out->count++;
	}
}

const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = {"none",	"neutral",   "pass",	 "fail",
					    "softfail", "temperror", "permerror"};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

const char *
spf_kind_name(enum spf_kind k)
{
	static const char *const names[] = {"all",	"include", "a",	       "mx",
					    "ptr",	"ip4",	   "ip6",      "exists",
					    "redirect", "exp",	   "modifier", "root"};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

const char *
spf_node_status_name(enum spf_node_status s)
{
	static const char *const names[] = {
	    "ok",	"match",       "skip-macro", "skip-ptr", "nxdomain",	  "no-record",
	    "multiple", "bad-record",  "bad-name",   "loop",	 "limit-lookups", "limit-void",
	    "limit-mx", "limit-depth", "temperror"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
