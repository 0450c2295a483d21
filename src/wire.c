/*
 * wire: DNS message parsing and editing. See include/wire.h.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WIRE_PTR_MASK 0xc0u
#define WIRE_MAX_PTR_TARGET 0x3fffu
#define WIRE_COMPRESS_TARGETS 128
#define WIRE_EDNS_DO 0x8000u

struct wire_writer {
	uint8_t *out;
	size_t cap;
	size_t len;
	uint16_t targets[WIRE_COMPRESS_TARGETS];
	unsigned ntargets;
};

static bool wire_parse_question(const uint8_t *pkt, size_t len, size_t *off, struct wire_query *q);
static enum wire_verdict wire_parse_additional(const uint8_t *pkt, size_t len, size_t off,
					       unsigned count, struct wire_query *q);
static bool wire_options_valid(const uint8_t *rdata, size_t rdlen);
static bool wire_dropped(const struct wire_rr *rr, unsigned drop, uint16_t qtype);
static bool wire_copy_rdata(const uint8_t *in, const struct wire_rr *rr, struct wire_writer *w);
static bool writer_bytes(struct wire_writer *w, const void *p, size_t n);
static bool writer_name(struct wire_writer *w, const uint8_t *name);
static bool writer_copy_name(struct wire_writer *w, const uint8_t *in, size_t len, size_t *off);
static bool writer_suffix_at(const struct wire_writer *w, size_t pos, const uint8_t *suffix);
static uint8_t wire_lower(uint8_t c);
static bool wire_name_skip(const uint8_t *pkt, size_t len, size_t *off);
static bool wire_rewrite_ttls(uint8_t *pkt, size_t len, uint32_t sub, uint32_t lo, uint32_t hi);

static uint8_t
wire_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

size_t
wire_name_read(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out)
{
	size_t pos = *off, name_len = 0, after = 0, floor = *off;

	for (;;) {
		if (pos >= len)
			return 0;
		uint8_t c = pkt[pos];
		if ((c & WIRE_PTR_MASK) == WIRE_PTR_MASK) {
			if (pos + 1 >= len)
				return 0;
			size_t target = ((size_t)(c & 0x3fu) << 8) | pkt[pos + 1];
			/* Strictly backwards and never into the header. */
			if (target >= floor || target < WIRE_HEADER_LEN)
				return 0;
			if (after == 0)
				after = pos + 2;
			floor = pos = target;
			continue;
		}
		if (c & WIRE_PTR_MASK)
			return 0; /* extended label types (RFC 6891 §5) are obsolete */
		if (name_len + c + 1 > WIRE_MAX_NAME || pos + 1 + c > len)
			return 0;
		if (out)
			memcpy(out + name_len, pkt + pos, (size_t)c + 1);
		name_len += (size_t)c + 1;
		if (c == 0)
			break;
		pos += (size_t)c + 1;
	}
	*off = after ? after : pos + 1;
	return name_len;
}

/* Moves *off past a name without following its pointer: walking records
 * needs no more, and a name that is read is checked by wire_name_read. */
static bool
wire_name_skip(const uint8_t *pkt, size_t len, size_t *off)
{
	size_t pos = *off;

	while (pos < len) {
		uint8_t c = pkt[pos];
		if ((c & WIRE_PTR_MASK) == WIRE_PTR_MASK) {
			if (pos + 2 > len)
				return false;
			*off = pos + 2;
			return true;
		}
		if (c & WIRE_PTR_MASK)
			return false;
		if (c == 0) {
			*off = pos + 1;
			return true;
		}
		pos += (size_t)c + 1;
	}
	return false;
}

void
wire_name_lower(uint8_t *name, size_t len)
{
	/* Label lengths are at most 63, below 'A': lowering them is harmless. */
	for (size_t i = 0; i < len; i++)
		name[i] = wire_lower(name[i]);
}

bool
wire_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (wire_lower(a[i]) != wire_lower(b[i]))
			return false;
	return true;
}

bool
wire_name_to_text(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	if (len == 0 || cap < 2)
		return false;
	if (name[0] == 0) {
		memcpy(out, ".", 2);
		return true;
	}
	while (i < len && name[i] != 0) {
		size_t lab = name[i++];
		for (size_t k = 0; k < lab && i < len; k++, i++) {
			uint8_t c = name[i];
			if (o + 5 >= cap)
				return false;
			if (c <= 0x20 || c >= 0x7f)
				o += (size_t)snprintf(out + o, cap - o, "\\%03u", c);
			else if (strchr(".\\\"();@$", c))
				o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
			else
				out[o++] = (char)c;
		}
		if (o + 2 >= cap)
			return false;
		out[o++] = '.';
	}
	out[o] = '\0';
	return true;
}

size_t
wire_name_from_text(const char *text, uint8_t *out)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t o = 1, lab_start = 0, lab;

	if (strcmp(text, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	while (*p) {
		unsigned c = *p++;
		if (c == '.') {
			lab = o - lab_start - 1;
			if (lab == 0 || lab > WIRE_MAX_LABEL || o + 1 > WIRE_MAX_NAME)
				return 0;
			out[lab_start] = (uint8_t)lab;
			lab_start = o++;
			continue;
		}
		if (c == '\\') {
			if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
			    p[2] >= '0' && p[2] <= '9') {
				c = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
				    (unsigned)(p[2] - '0');
				p += 3;
				if (c > 255)
					return 0;
			} else if (*p == '\0') {
				return 0;
			} else {
				c = *p++;
			}
		}
		if (o + 1 >= WIRE_MAX_NAME)
			return 0;
		out[o++] = (uint8_t)c;
	}
	lab = o - lab_start - 1;
	if (lab == 0) {
		/* A trailing dot: the empty label is the root. */
		if (lab_start == 0)
			return 0;
		out[lab_start] = 0;
		return o;
	}
	if (lab > WIRE_MAX_LABEL)
		return 0;
	out[lab_start] = (uint8_t)lab;
	out[o++] = 0;
	return o;
}

static const struct {
	uint16_t type;
	const char *name;
} wire_types[] = {
    {WIRE_T_A, "A"},
    {WIRE_T_NS, "NS"},
    {WIRE_T_CNAME, "CNAME"},
    {WIRE_T_SOA, "SOA"},
    {WIRE_T_PTR, "PTR"},
    {WIRE_T_MX, "MX"},
    {WIRE_T_TXT, "TXT"},
    {WIRE_T_AAAA, "AAAA"},
    {WIRE_T_SRV, "SRV"},
    {35, "NAPTR"},
    {39, "DNAME"},
    {WIRE_T_OPT, "OPT"},
    {WIRE_T_DS, "DS"},
    {44, "SSHFP"},
    {WIRE_T_RRSIG, "RRSIG"},
    {WIRE_T_NSEC, "NSEC"},
    {WIRE_T_DNSKEY, "DNSKEY"},
    {WIRE_T_NSEC3, "NSEC3"},
    {51, "NSEC3PARAM"},
    {WIRE_T_TLSA, "TLSA"},
    {59, "CDS"},
    {60, "CDNSKEY"},
    {61, "OPENPGPKEY"},
    {64, "SVCB"},
    {65, "HTTPS"},
    {99, "SPF"},
    {WIRE_T_IXFR, "IXFR"},
    {WIRE_T_AXFR, "AXFR"},
    {WIRE_T_ANY, "ANY"},
    {256, "URI"},
    {257, "CAA"},
};

const char *
wire_rcode_name(unsigned rcode)
{
	static const char *const names[] = {
	    [WIRE_NOERROR] = "NOERROR",	  [WIRE_FORMERR] = "FORMERR", [WIRE_SERVFAIL] = "SERVFAIL",
	    [WIRE_NXDOMAIN] = "NXDOMAIN", [WIRE_NOTIMP] = "NOTIMP",   [WIRE_REFUSED] = "REFUSED",
	    [WIRE_BADVERS] = "BADVERS",
	};

	return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : NULL;
}

const char *
wire_type_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(wire_types) / sizeof(wire_types[0]); i++)
		if (wire_types[i].type == type)
			return wire_types[i].name;
	return NULL;
}

int
wire_type_from_name(const char *name)
{
	const char *digits = name;
	char *end;

	for (size_t i = 0; i < sizeof(wire_types) / sizeof(wire_types[0]); i++)
		if (strcasecmp(wire_types[i].name, name) == 0)
			return wire_types[i].type;
	if (strncasecmp(name, "TYPE", 4) == 0)
		digits = name + 4;
	if (*digits < '0' || *digits > '9')
		return -1;
	unsigned long v = strtoul(digits, &end, 10);
	return (*end == '\0' && v <= 0xffff) ? (int)v : -1;
}

static bool
wire_parse_question(const uint8_t *pkt, size_t len, size_t *off, struct wire_query *q)
{
	size_t n = wire_name_read(pkt, len, off, q->qname);

	if (n == 0 || *off + 4 > len)
		return false;
	q->qname_len = (uint16_t)n;
	q->qtype = wire_get16(pkt + *off);
	q->qclass = wire_get16(pkt + *off + 2);
	*off += 4;
	return true;
}

static bool
wire_options_valid(const uint8_t *rdata, size_t rdlen)
{
	size_t o = 0;

	while (o < rdlen) {
		if (o + 4 > rdlen)
			return false;
		size_t optlen = wire_get16(rdata + o + 2);
		o += 4 + optlen;
	}
	return o == rdlen;
}

static enum wire_verdict
wire_parse_additional(const uint8_t *pkt, size_t len, size_t off, unsigned count,
		      struct wire_query *q)
{
	unsigned version = 0;

	for (unsigned i = 0; i < count; i++) {
		size_t name_off = off;
		if (wire_name_read(pkt, len, &off, NULL) == 0 || off + 10 > len)
			return WIRE_BAD_FORMAT;
		uint16_t type = wire_get16(pkt + off);
		uint32_t ttl = wire_get32(pkt + off + 4);
		size_t rdlen = wire_get16(pkt + off + 8);
		if (off + 10 + rdlen > len)
			return WIRE_BAD_FORMAT;
		if (type == WIRE_T_OPT) {
			/* RFC 6891 §6.1.1: one OPT, owned by the root. */
			if (q->edns || pkt[name_off] != 0 ||
			    !wire_options_valid(pkt + off + 10, rdlen))
				return WIRE_BAD_FORMAT;
			q->edns = true;
			q->udp_size = wire_get16(pkt + off + 2);
			q->dnssec_ok = (ttl & WIRE_EDNS_DO) != 0;
			version = (ttl >> 16) & 0xffu;
		}
		off += 10 + rdlen;
	}
	if (off != len)
		return WIRE_BAD_FORMAT;
	return version == 0 ? WIRE_OK : WIRE_BAD_VERSION;
}

enum wire_verdict
wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q)
{
	size_t off = WIRE_HEADER_LEN;

	memset(q, 0, offsetof(struct wire_query, qname));
	q->edns = q->dnssec_ok = false;
	q->udp_size = 0;
	if (len < WIRE_HEADER_LEN)
		return WIRE_DROP;
	q->id = wire_get16(pkt);
	q->flags = wire_get16(pkt + 2);
	if (q->flags & WIRE_QR)
		return WIRE_DROP; /* never answer a response: no reflection loops */

	unsigned qd = wire_get16(pkt + 4), an = wire_get16(pkt + 6), ns = wire_get16(pkt + 8),
		 ar = wire_get16(pkt + 10);
	bool question_ok = qd == 1 && wire_parse_question(pkt, len, &off, q);
	if (!question_ok)
		q->qname_len = 0;
	if (WIRE_OPCODE(q->flags) != 0)
		return WIRE_BAD_OPCODE;
	if (!question_ok || an != 0 || ns != 0 || q->qtype == WIRE_T_OPT)
		return WIRE_BAD_FORMAT;
	return wire_parse_additional(pkt, len, off, ar, q);
}

size_t
wire_reply_limit(const struct wire_query *q, bool tcp)
{
	if (tcp)
		return WIRE_MAX_MSG;
	if (!q->edns || q->udp_size <= WIRE_MIN_UDP)
		return WIRE_MIN_UDP;
	return q->udp_size < WIRE_MAX_UDP ? q->udp_size : WIRE_MAX_UDP;
}

bool
wire_iter_init(struct wire_iter *it, const uint8_t *pkt, size_t len)
{
	if (len < WIRE_HEADER_LEN)
		return false;
	it->pkt = pkt;
	it->len = len;
	it->off = WIRE_HEADER_LEN;
	it->section = WIRE_ANSWER;
	it->left[WIRE_ANSWER] = wire_get16(pkt + 6);
	it->left[WIRE_AUTHORITY] = wire_get16(pkt + 8);
	it->left[WIRE_ADDITIONAL] = wire_get16(pkt + 10);
	for (unsigned qd = wire_get16(pkt + 4); qd > 0; qd--) {
		if (!wire_name_skip(pkt, len, &it->off) || it->off + 4 > len)
			return false;
		it->off += 4;
	}
	return true;
}

int
wire_iter_next(struct wire_iter *it, struct wire_rr *rr)
{
	while (it->section <= WIRE_ADDITIONAL && it->left[it->section] == 0)
		it->section++;
	if (it->section > WIRE_ADDITIONAL)
		return 0;

	size_t off = it->off;
	rr->section = it->section;
	rr->name_off = off;
	if (!wire_name_skip(it->pkt, it->len, &off) || off + 10 > it->len)
		return -1;
	rr->type = wire_get16(it->pkt + off);
	rr->rclass = wire_get16(it->pkt + off + 2);
	rr->ttl_off = off + 4;
	rr->ttl = wire_get32(it->pkt + off + 4);
	rr->rdlen = wire_get16(it->pkt + off + 8);
	rr->rdata_off = off + 10;
	rr->end = rr->rdata_off + rr->rdlen;
	if (rr->end > it->len)
		return -1;
	it->off = rr->end;
	it->left[it->section]--;
	return 1;
}

/* Every TTL but OPT's (whose TTL field holds EDNS flags) goes down by
 * sub (floored at 0), then into [lo, hi]. */
static bool
wire_rewrite_ttls(uint8_t *pkt, size_t len, uint32_t sub, uint32_t lo, uint32_t hi)
{
	struct wire_iter it;
	struct wire_rr rr;
	int r;

	if (!wire_iter_init(&it, pkt, len))
		return false;
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		if (rr.type == WIRE_T_OPT)
			continue;
		uint32_t t = rr.ttl > 0x7fffffffu ? 0 : rr.ttl; /* RFC 2181 §8 */
		t = t > sub ? t - sub : 0;
		wire_put32(pkt + rr.ttl_off, t < lo ? lo : t > hi ? hi : t);
	}
	return r == 0;
}

bool
wire_age_ttls(uint8_t *pkt, size_t len, uint32_t elapsed)
{
	return wire_rewrite_ttls(pkt, len, elapsed, 0, UINT32_MAX);
}

bool
wire_set_ttls(uint8_t *pkt, size_t len, uint32_t ttl)
{
	return wire_rewrite_ttls(pkt, len, 0, ttl, ttl);
}

bool
wire_clamp_ttls(uint8_t *pkt, size_t len, uint32_t lo, uint32_t hi)
{
	return wire_rewrite_ttls(pkt, len, 0, lo, hi);
}

size_t
wire_ttl_offsets(const uint8_t *pkt, size_t len, uint16_t *offs, size_t max)
{
	struct wire_iter it;
	struct wire_rr rr;
	size_t n = 0;
	int r;

	if (len > WIRE_MAX_MSG || !wire_iter_init(&it, pkt, len))
		return SIZE_MAX;
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		if (rr.type == WIRE_T_OPT)
			continue;
		if (n == max)
			return SIZE_MAX;
		offs[n++] = (uint16_t)rr.ttl_off;
	}
	return r == 0 ? n : SIZE_MAX;
}

void
wire_age_offsets(uint8_t *pkt, const uint16_t *offs, size_t n, uint32_t elapsed)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t ttl = wire_get32(pkt + offs[i]);
		wire_put32(pkt + offs[i], ttl > elapsed ? ttl - elapsed : 0);
	}
}

bool
wire_min_ttl(const uint8_t *pkt, size_t len, uint32_t *ttl)
{
	struct wire_iter it;
	struct wire_rr rr;
	bool found = false;

	if (!wire_iter_init(&it, pkt, len))
		return false;
	while (wire_iter_next(&it, &rr) == 1 && rr.section != WIRE_ADDITIONAL) {
		/* RFC 2181 §8: a TTL with the top bit set means zero. */
		uint32_t t = rr.ttl > 0x7fffffffu ? 0 : rr.ttl;
		if (!found || t < *ttl)
			*ttl = t;
		found = true;
	}
	return found;
}

bool
wire_negative_ttl(const uint8_t *pkt, size_t len, uint32_t *ttl)
{
	struct wire_iter it;
	struct wire_rr rr;

	if (!wire_iter_init(&it, pkt, len))
		return false;
	while (wire_iter_next(&it, &rr) == 1 && rr.section != WIRE_ADDITIONAL) {
		if (rr.section != WIRE_AUTHORITY || rr.type != WIRE_T_SOA)
			continue;
		/* MNAME and RNAME, then five 32-bit fields, MINIMUM last. */
		size_t off = rr.rdata_off;
		for (int names = 0; names < 2; names++)
			if (wire_name_read(pkt, len, &off, NULL) == 0)
				return false;
		if (off + 20 != rr.end)
			return false;
		uint32_t minimum = wire_get32(pkt + off + 16);
		uint32_t t = rr.ttl < minimum ? rr.ttl : minimum;
		*ttl = t > 0x7fffffffu ? 0 : t;
		return true;
	}
	return false;
}

size_t
wire_answer_owner(const uint8_t *pkt, size_t len, uint8_t out[WIRE_MAX_NAME])
{
	struct wire_iter it;
	struct wire_rr rr;
	uint8_t owner[WIRE_MAX_NAME];
	size_t off = WIRE_HEADER_LEN, olen, n;
	int r;

	if (!wire_iter_init(&it, pkt, len) || wire_get16(pkt + 4) != 1 ||
	    !(n = wire_name_read(pkt, len, &off, out)))
		return 0;
	/* Resolvers order the chain, so one pass in order follows it. */
	while ((r = wire_iter_next(&it, &rr)) == 1 && rr.section == WIRE_ANSWER) {
		off = rr.name_off;
		if (rr.type != WIRE_T_CNAME || !(olen = wire_name_read(pkt, len, &off, owner)) ||
		    !wire_name_equal(owner, olen, out, n))
			continue;
		off = rr.rdata_off;
		if (!(olen = wire_name_read(pkt, rr.end, &off, owner)))
			return 0;
		memcpy(out, owner, olen);
		n = olen;
	}
	return r < 0 ? 0 : n;
}

size_t
wire_mx_list(const uint8_t *pkt, size_t len, const uint8_t *owner, size_t owner_len,
	     struct wire_mx *out, size_t max)
{
	struct wire_iter it;
	struct wire_rr rr;
	uint8_t name[WIRE_MAX_NAME];
	size_t total = 0, filled = 0, off, n;

	if (!wire_iter_init(&it, pkt, len))
		return 0;
	while (wire_iter_next(&it, &rr) == 1 && rr.section == WIRE_ANSWER) {
		off = rr.name_off;
		if (rr.type != WIRE_T_MX || rr.rdlen < 3 ||
		    !(n = wire_name_read(pkt, len, &off, name)) ||
		    !wire_name_equal(name, n, owner, owner_len))
			continue;
		struct wire_mx mx = {.preference = wire_get16(pkt + rr.rdata_off),
				     .name_off = rr.rdata_off + 2};
		off = mx.name_off;
		if (!(n = wire_name_read(pkt, rr.end, &off, mx.name)))
			continue;
		mx.name_len = (uint16_t)n;
		total++;
		/* Keep the max most preferred, sorted (insertion: lists are short). */
		size_t i = filled < max ? filled++ : max;
		while (i > 0 && out[i - 1].preference > mx.preference) {
			if (i < max)
				out[i] = out[i - 1];
			i--;
		}
		if (i < max)
			out[i] = mx;
	}
	return total;
}

static bool
writer_bytes(struct wire_writer *w, const void *p, size_t n)
{
	if (w->len + n > w->cap)
		return false;
	memcpy(w->out + w->len, p, n);
	w->len += n;
	return true;
}

/* Does the (possibly compressed) name written at pos equal suffix? */
static bool
writer_suffix_at(const struct wire_writer *w, size_t pos, const uint8_t *suffix)
{
	for (;;) {
		uint8_t c = w->out[pos];
		if ((c & WIRE_PTR_MASK) == WIRE_PTR_MASK) {
			pos = ((size_t)(c & 0x3fu) << 8) | w->out[pos + 1];
			continue; /* our own output only points backwards */
		}
		if (c != *suffix)
			return false;
		if (c == 0)
			return true;
		for (size_t i = 1; i <= c; i++)
			if (wire_lower(w->out[pos + i]) != wire_lower(suffix[i]))
				return false;
		pos += (size_t)c + 1;
		suffix += (size_t)c + 1;
	}
}

/* Writes an uncompressed name, pointing at the longest suffix already
 * written, and remembers the new labels as future targets. */
static bool
writer_name(struct wire_writer *w, const uint8_t *name)
{
	size_t i = 0;

	for (; name[i] != 0; i += (size_t)name[i] + 1) {
		for (unsigned t = 0; t < w->ntargets; t++) {
			if (!writer_suffix_at(w, w->targets[t], name + i))
				continue;
			size_t start = w->len;
			uint8_t ptr[2] = {(uint8_t)(0xc0u | (w->targets[t] >> 8)),
					  (uint8_t)w->targets[t]};
			if (!writer_bytes(w, name, i) || !writer_bytes(w, ptr, 2))
				return false;
			for (size_t k = 0; k < i && w->ntargets < WIRE_COMPRESS_TARGETS;
			     k += (size_t)name[k] + 1)
				if (start + k <= WIRE_MAX_PTR_TARGET)
					w->targets[w->ntargets++] = (uint16_t)(start + k);
			return true;
		}
	}
	size_t start = w->len;
	if (!writer_bytes(w, name, i + 1))
		return false;
	for (size_t k = 0; k < i && w->ntargets < WIRE_COMPRESS_TARGETS; k += (size_t)name[k] + 1)
		if (start + k <= WIRE_MAX_PTR_TARGET)
			w->targets[w->ntargets++] = (uint16_t)(start + k);
	return true;
}

static bool
writer_copy_name(struct wire_writer *w, const uint8_t *in, size_t len, size_t *off)
{
	uint8_t name[WIRE_MAX_NAME];

	return wire_name_read(in, len, off, name) != 0 && writer_name(w, name);
}

/* Rdata names of the RFC 1035 types are compressed (RFC 3597 §4); any
 * other rdata is opaque and copied as it is. */
static bool
wire_copy_rdata(const uint8_t *in, const struct wire_rr *rr, struct wire_writer *w)
{
	size_t off = rr->rdata_off, names = 0, fixed_before = 0, fixed_after = 0;

	switch (rr->type) {
	case WIRE_T_NS:
	case WIRE_T_MD:
	case WIRE_T_MF:
	case WIRE_T_CNAME:
	case WIRE_T_MB:
	case WIRE_T_MG:
	case WIRE_T_MR:
	case WIRE_T_PTR:
		names = 1;
		break;
	case WIRE_T_MINFO:
		names = 2;
		break;
	case WIRE_T_SOA:
		names = 2;
		fixed_after = 20;
		break;
	case WIRE_T_MX:
		names = 1;
		fixed_before = 2;
		break;
	default:
		return writer_bytes(w, in + off, rr->rdlen);
	}
	if (off + fixed_before > rr->end || !writer_bytes(w, in + off, fixed_before))
		return false;
	off += fixed_before;
	for (size_t n = 0; n < names; n++)
		if (off >= rr->end || !writer_copy_name(w, in, rr->end, &off))
			return false;
	return off + fixed_after == rr->end && writer_bytes(w, in + off, fixed_after);
}

static bool
wire_dropped(const struct wire_rr *rr, unsigned drop, uint16_t qtype)
{
	if (rr->type == WIRE_T_OPT)
		return (drop & WIRE_DROP_OPT) != 0;
	if (!(drop & WIRE_DROP_DNSSEC))
		return false;
	switch (rr->type) {
	case WIRE_T_RRSIG:
	case WIRE_T_NSEC:
	case WIRE_T_NSEC3:
	case WIRE_T_DS:
		/* What the client asked for stays; proofs go. */
		return !(rr->section == WIRE_ANSWER && (qtype == rr->type || qtype == WIRE_T_ANY));
	default:
		return false;
	}
}

size_t
wire_copy(const uint8_t *in, size_t len, unsigned drop, uint8_t *out, size_t cap)
{
	struct wire_writer w = {.out = out, .cap = cap, .len = 0, .ntargets = 0};
	struct wire_iter it;
	struct wire_rr rr;
	uint16_t counts[3] = {0, 0, 0}, qtype = 0;
	size_t off = WIRE_HEADER_LEN;
	int r;

	if (!wire_iter_init(&it, in, len) || !writer_bytes(&w, in, WIRE_HEADER_LEN))
		return 0;
	for (unsigned qd = wire_get16(in + 4); qd > 0; qd--) {
		if (!writer_copy_name(&w, in, len, &off) || !writer_bytes(&w, in + off, 4))
			return 0;
		qtype = wire_get16(in + off);
		off += 4;
	}
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		if (wire_dropped(&rr, drop, qtype))
			continue;
		size_t fixed = rr.name_off;
		if (!writer_copy_name(&w, in, len, &fixed) || !writer_bytes(&w, in + fixed, 8))
			return 0;
		size_t rdlen_at = w.len;
		if (!writer_bytes(&w, "\0\0", 2) || !wire_copy_rdata(in, &rr, &w))
			return 0;
		if (w.len - rdlen_at - 2 > 0xffffu)
			return 0;
		wire_put16(out + rdlen_at, (uint16_t)(w.len - rdlen_at - 2));
		counts[rr.section]++;
	}
	if (r < 0)
		return 0;
	wire_put16(out + 6, counts[WIRE_ANSWER]);
	wire_put16(out + 8, counts[WIRE_AUTHORITY]);
	wire_put16(out + 10, counts[WIRE_ADDITIONAL]);
	return w.len;
}

size_t
wire_truncate(uint8_t *pkt, size_t len, size_t limit)
{
	struct wire_iter it;
	struct wire_rr rr;
	size_t question_end, authority_end;
	int r;

	if (len <= limit || !wire_iter_init(&it, pkt, len))
		return len;
	question_end = authority_end = it.off;
	while ((r = wire_iter_next(&it, &rr)) == 1 && rr.section != WIRE_ADDITIONAL)
		authority_end = rr.end;
	wire_put16(pkt + 10, 0);
	if (r >= 0 && authority_end <= limit)
		return authority_end;
	wire_put16(pkt + 2, (uint16_t)(wire_get16(pkt + 2) | WIRE_TC));
	wire_put16(pkt + 6, 0);
	wire_put16(pkt + 8, 0);
	return question_end;
}

size_t
wire_add_opt(uint8_t *pkt, size_t len, size_t cap, uint16_t udp_size, bool dnssec_ok,
	     uint8_t ext_rcode)
{
	uint8_t *p = pkt + len;

	if (len < WIRE_HEADER_LEN || len + WIRE_OPT_LEN > cap)
		return 0;
	p[0] = 0;
	wire_put16(p + 1, WIRE_T_OPT);
	wire_put16(p + 3, udp_size);
	wire_put32(p + 5, ((uint32_t)ext_rcode << 24) | (dnssec_ok ? WIRE_EDNS_DO : 0));
	wire_put16(p + 9, 0);
	wire_put16(pkt + 10, (uint16_t)(wire_get16(pkt + 10) + 1));
	return len + WIRE_OPT_LEN;
}

size_t
wire_build_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags, const uint8_t *name,
		 size_t name_len, uint16_t qtype, bool edns, uint16_t udp_size, bool dnssec_ok)
{
	size_t len = WIRE_HEADER_LEN + name_len + 4;

	if (len > cap)
		return 0;
	memset(out, 0, WIRE_HEADER_LEN);
	wire_put16(out, id);
	wire_put16(out + 2, flags);
	wire_put16(out + 4, 1);
	memcpy(out + WIRE_HEADER_LEN, name, name_len);
	wire_put16(out + WIRE_HEADER_LEN + name_len, qtype);
	wire_put16(out + WIRE_HEADER_LEN + name_len + 2, WIRE_CLASS_IN);
	return edns ? wire_add_opt(out, len, cap, udp_size, dnssec_ok, 0) : len;
}

size_t
wire_error_reply(const struct wire_query *q, unsigned rcode, uint8_t *out, size_t cap)
{
	size_t len = WIRE_HEADER_LEN + (q->qname_len ? q->qname_len + 4u : 0u);
	uint16_t flags = (uint16_t)(WIRE_QR | (q->flags & (0x7800u | WIRE_RD | WIRE_CD)) | WIRE_RA |
				    (rcode & 0xfu));

	if (len > cap)
		return 0;
	memset(out, 0, WIRE_HEADER_LEN);
	wire_put16(out, q->id);
	wire_put16(out + 2, flags);
	if (q->qname_len) {
		wire_put16(out + 4, 1);
		memcpy(out + WIRE_HEADER_LEN, q->qname, q->qname_len);
		wire_put16(out + WIRE_HEADER_LEN + q->qname_len, q->qtype);
		wire_put16(out + WIRE_HEADER_LEN + q->qname_len + 2, q->qclass);
	}
	if (q->edns || rcode > 0xfu)
		len =
		    wire_add_opt(out, len, cap, WIRE_MAX_UDP, q->dnssec_ok, (uint8_t)(rcode >> 4));
	return len;
}
