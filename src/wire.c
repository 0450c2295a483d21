/*
 * wire: DNS message reading. See include/wire.h.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An MX record kept while walking: where it is, not its name yet. */
struct wire_mx_pick {
	size_t rdata_off;
	size_t end;
	uint16_t preference;
};

static bool wire_parse_question(const uint8_t *pkt, size_t len, size_t *off, struct wire_query *q);
static enum wire_verdict wire_parse_additional(const uint8_t *pkt, size_t len, size_t off,
					       unsigned count, struct wire_query *q);
static bool wire_options_valid(const uint8_t *rdata, size_t rdlen);
static bool wire_name_skip(const uint8_t *pkt, size_t len, size_t *off);
static size_t wire_name_start(const uint8_t *pkt, size_t len, size_t off, unsigned *hops);
static bool wire_name_same(const uint8_t *pkt, size_t len, size_t off, size_t known,
			   unsigned known_hops);
static bool wire_mx_before(const struct wire_mx_pick *a, const struct wire_mx_pick *b);
static void wire_mx_sift(struct wire_mx_pick *heap, size_t n, size_t i);

size_t
wire_name_read(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out)
{
	return wire_name_read_labels(pkt, len, off, out, NULL, NULL);
}

size_t
wire_name_read_labels(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out, uint16_t *at,
		      size_t *labels)
{
	size_t pos = *off, name_len = 0, after = 0, floor = *off;
	unsigned hops = 0;

	if (labels)
		*labels = 0;
	for (;;) {
		if (pos >= len)
			return 0;
		uint8_t c = pkt[pos];
		if ((c & WIRE_PTR_MASK) == WIRE_PTR_MASK) {
			if (pos + 1 >= len)
				return 0;
			size_t target = ((size_t)(c & 0x3fu) << 8) | pkt[pos + 1];
			/* Strictly backwards and never into the header. */
			if (target >= floor || target < WIRE_HEADER_LEN ||
			    ++hops > WIRE_MAX_POINTERS)
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
		if (at)
			at[(*labels)++] = (uint16_t)pos;
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

bool
wire_name_at(const uint8_t *pkt, size_t len, size_t off, const uint8_t *name, size_t name_len)
{
	size_t pos = off, floor = off, i = 0;
	unsigned hops = 0;

	while (pos < len) {
		uint8_t c = pkt[pos];
		if ((c & WIRE_PTR_MASK) == WIRE_PTR_MASK) {
			if (pos + 1 >= len)
				return false;
			size_t target = ((size_t)(c & 0x3fu) << 8) | pkt[pos + 1];
			if (target >= floor || target < WIRE_HEADER_LEN ||
			    ++hops > WIRE_MAX_POINTERS)
				return false;
			floor = pos = target;
			continue;
		}
		/* The label length first: past it, name[i..] is all in name. */
		if (i >= name_len || c != name[i] || pos + 1 + c > len || i + 1 + c > name_len)
			return false;
		if (c == 0)
			return i + 1 == name_len;
		for (size_t k = 1; k <= c; k++)
			if (wire_lower(pkt[pos + k]) != wire_lower(name[i + k]))
				return false;
		i += (size_t)c + 1;
		pos += (size_t)c + 1;
	}
	return false;
}

/* Where the name at off starts being spelled out: past its leading
 * pointers (checked as wire_name_read checks them). Two names that start
 * at the same offset are the same name; *hops gets the pointers followed.
 * SIZE_MAX if a pointer is bad. */
static size_t
wire_name_start(const uint8_t *pkt, size_t len, size_t off, unsigned *hops)
{
	size_t floor = off;

	*hops = 0;
	while (off + 1 < len && (pkt[off] & WIRE_PTR_MASK) == WIRE_PTR_MASK) {
		size_t target = ((size_t)(pkt[off] & 0x3fu) << 8) | pkt[off + 1];
		if (target >= floor || target < WIRE_HEADER_LEN || ++*hops > WIRE_MAX_POINTERS)
			return SIZE_MAX;
		floor = off = target;
	}
	return off < len ? off : SIZE_MAX;
}

/* Is the name at off the one known to start at known (whose pointers,
 * known_hops of them, were followed to get there)? Only the pointers are
 * followed: a name spelled out once is compared once, however many records
 * point at it. */
static bool
wire_name_same(const uint8_t *pkt, size_t len, size_t off, size_t known, unsigned known_hops)
{
	unsigned hops;

	return known != SIZE_MAX && wire_name_start(pkt, len, off, &hops) == known &&
	       hops + known_hops <= WIRE_MAX_POINTERS;
}

uint32_t
wire_name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= wire_lower(name[i]);
		h *= 16777619u;
	}
	return h ^ (h >> 15);
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
	if (question_ok && an == 0 && ns == 0 && q->qtype != WIRE_T_OPT)
		return wire_parse_additional(pkt, len, off, ar, q);
	/* FORMERR, with an OPT if the query had one (RFC 6891 §7): its OPT
	 * is found when nothing unreadable comes before it. No question is
	 * FORMERR too: RFC 7873 §5.4 lets a client ask for a server cookie
	 * that way, and a server without cookies answers it so. */
	if ((question_ok || qd == 0) && an == 0 && ns == 0)
		(void)wire_parse_additional(pkt, len, question_ok ? off : WIRE_HEADER_LEN, ar, q);
	return WIRE_BAD_FORMAT;
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
	size_t off = WIRE_HEADER_LEN, n, at, end = len, start;
	unsigned hops;
	bool read = true; /* out holds the name at `at` */
	int r;

	if (!wire_iter_init(&it, pkt, len) || wire_get16(pkt + 4) != 1 ||
	    !(n = wire_name_read(pkt, len, &off, out)))
		return 0;
	at = WIRE_HEADER_LEN;
	start = wire_name_start(pkt, len, at, &hops);
	/* Resolvers order the chain, so one pass in order follows it. Each
	 * owner is compared with the name the chain is at, by where it starts
	 * first: a chain whose owners point at the previous target costs a few
	 * steps per link, not its names' length. */
	while ((r = wire_iter_next(&it, &rr)) == 1 && rr.section == WIRE_ANSWER) {
		if (rr.type != WIRE_T_CNAME)
			continue;
		if (!wire_name_same(pkt, len, rr.name_off, start, hops)) {
			if (!read) {
				off = at;
				n = wire_name_read(pkt, end, &off, out);
				read = true;
			}
			if (!wire_name_at(pkt, len, rr.name_off, out, n))
				continue;
		}
		off = rr.rdata_off;
		if (!wire_name_read(pkt, rr.end, &off, NULL))
			return 0;
		at = rr.rdata_off;
		end = rr.end;
		start = wire_name_start(pkt, end, at, &hops);
		read = false;
	}
	if (r < 0)
		return 0;
	if (!read) {
		off = at;
		n = wire_name_read(pkt, end, &off, out);
	}
	return n;
}

/* Is a more preferred than b? Message order settles equal preferences. */
static bool
wire_mx_before(const struct wire_mx_pick *a, const struct wire_mx_pick *b)
{
	return a->preference < b->preference ||
	       (a->preference == b->preference && a->rdata_off < b->rdata_off);
}

/* Restores the heap (least preferred on top) below slot i. */
static void
wire_mx_sift(struct wire_mx_pick *heap, size_t n, size_t i)
{
	for (;;) {
		size_t worst = i, l = 2 * i + 1, r = l + 1;
		if (l < n && wire_mx_before(&heap[worst], &heap[l]))
			worst = l;
		if (r < n && wire_mx_before(&heap[worst], &heap[r]))
			worst = r;
		if (worst == i)
			return;
		struct wire_mx_pick t = heap[i];
		heap[i] = heap[worst];
		heap[worst] = t;
		i = worst;
	}
}

/* The max most preferred in a heap of small picks (a few probes per
 * record however many there are), names read only for those kept. */
size_t
wire_mx_list(const uint8_t *pkt, size_t len, const uint8_t *owner, size_t owner_len,
	     struct wire_mx *out, size_t max)
{
	struct wire_mx_pick heap[WIRE_MX_MAX];
	struct wire_iter it;
	struct wire_rr rr;
	size_t total = 0, filled = 0, off;

	if (max > WIRE_MX_MAX)
		max = WIRE_MX_MAX;
	if (!wire_iter_init(&it, pkt, len))
		return 0;
	/* Where the last owner found equal starts: records pointing there
	 * are not compared again. */
	size_t known = SIZE_MAX;
	unsigned known_hops = 0;
	while (wire_iter_next(&it, &rr) == 1 && rr.section == WIRE_ANSWER) {
		if (rr.type != WIRE_T_MX || rr.rdlen < 3)
			continue;
		if (!wire_name_same(pkt, len, rr.name_off, known, known_hops)) {
			if (!wire_name_at(pkt, len, rr.name_off, owner, owner_len))
				continue;
			known = wire_name_start(pkt, len, rr.name_off, &known_hops);
		}
		struct wire_mx_pick pick = {.preference = wire_get16(pkt + rr.rdata_off),
					    .rdata_off = rr.rdata_off,
					    .end = rr.end};
		off = rr.rdata_off + 2;
		if (!wire_name_read(pkt, rr.end, &off, NULL))
			continue;
		total++;
		if (filled < max) {
			heap[filled++] = pick;
			if (filled == max)
				for (size_t i = max / 2; i-- > 0;)
					wire_mx_sift(heap, max, i);
		} else if (max > 0 && wire_mx_before(&pick, &heap[0])) {
			heap[0] = pick;
			wire_mx_sift(heap, max, 0);
		}
	}
	/* At most WIRE_MX_MAX left: sorted by insertion. */
	for (size_t i = 1; i < filled; i++)
		for (size_t j = i; j > 0 && wire_mx_before(&heap[j], &heap[j - 1]); j--) {
			struct wire_mx_pick t = heap[j];
			heap[j] = heap[j - 1];
			heap[j - 1] = t;
		}
	for (size_t i = 0; i < filled; i++) {
		out[i].preference = heap[i].preference;
		out[i].name_off = heap[i].rdata_off + 2;
		off = out[i].name_off;
		out[i].name_len = (uint16_t)wire_name_read(pkt, heap[i].end, &off, out[i].name);
	}
	return total;
}

const char *
wire_check_stored(const uint8_t *msg, size_t len, const uint8_t *name, size_t name_len,
		  uint16_t qtype, uint16_t qclass, bool *negative)
{
	struct wire_iter it;
	struct wire_rr rr;
	uint8_t qname[WIRE_MAX_NAME];
	size_t off = WIRE_HEADER_LEN, qlen;
	uint16_t flags;
	unsigned rcode;
	int r;

	if (!wire_iter_init(&it, msg, len) || wire_get16(msg + 4) != 1)
		return "answer without exactly one well-formed question";
	flags = wire_get16(msg + 2);
	if (!(flags & WIRE_QR) || WIRE_OPCODE(flags) != 0)
		return "answer is not a standard response";
	qlen = wire_name_read(msg, len, &off, qname);
	if (!qlen || !wire_name_equal(qname, qlen, name, name_len) ||
	    wire_get16(msg + off) != qtype || wire_get16(msg + off + 2) != qclass)
		return "answer's question is not its key";
	rcode = WIRE_RCODE(flags);
	if (rcode != WIRE_NOERROR && rcode != WIRE_NXDOMAIN)
		return "answer has an rcode the cache never keeps";
	while ((r = wire_iter_next(&it, &rr)) == 1)
		if (rr.type == WIRE_T_OPT)
			return "answer holds an OPT record";
	if (r != 0 || it.off != len)
		return "answer's records are malformed";
	*negative = rcode == WIRE_NXDOMAIN || wire_get16(msg + 6) == 0;
	return NULL;
}
