/*
 * wire_write: DNS message writing and editing. See include/wire_write.h.
 */
#include "wire_write.h"

#include <string.h>

/* A power of two. Only offsets a pointer can reach are remembered, and a
 * label takes two bytes or more: the table is half full at worst. */
#define WIRE_SUFFIX_SLOTS (WIRE_MAX_PTR_TARGET + 1u)

struct wire_writer {
	uint8_t *out;
	size_t cap;
	size_t len;
	uint16_t *slots; /* the suffix table: offsets of labels written, 0 if free */
	uint16_t *memo;	 /* by input offset: where the suffix read there was written */
	struct wire_work *work;
};

static bool wire_rewrite_ttls(uint8_t *pkt, size_t len, uint32_t sub, uint32_t lo, uint32_t hi);
static bool wire_dropped(const struct wire_rr *rr, unsigned drop, uint16_t qtype);
static bool wire_copy_rdata(const uint8_t *in, const struct wire_rr *rr, struct wire_writer *w);
static bool writer_bytes(struct wire_writer *w, const void *p, size_t n);
static size_t writer_parent(const struct wire_writer *w, size_t off);
static uint32_t writer_hash(const uint8_t *label, size_t parent);
static size_t writer_find(struct wire_writer *w, const uint8_t *label, size_t parent,
			  size_t *found);
static void writer_memo(struct wire_writer *w, size_t in, size_t out);
static bool writer_name(struct wire_writer *w, const uint8_t *name, const uint16_t *at, size_t n);
static bool writer_copy_name(struct wire_writer *w, const uint8_t *in, size_t len, size_t *off);

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
static bool
writer_bytes(struct wire_writer *w, const void *p, size_t n)
{
	if (w->len + n > w->cap)
		return false;
	memcpy(w->out + w->len, p, n);
	w->len += n;
	return true;
}

/* The parent of the label written at off: the suffix after it, by the
 * offset it was remembered at (0 for the root). Labels only ever point at
 * remembered suffixes, and a label is remembered only after the labels to
 * its right, so a suffix has one offset. */
static size_t
writer_parent(const struct wire_writer *w, size_t off)
{
	size_t next = off + 1 + w->out[off];
	uint8_t c = w->out[next];

	if ((c & WIRE_PTR_MASK) == WIRE_PTR_MASK)
		return ((size_t)(c & 0x3fu) << 8) | w->out[next + 1];
	return c == 0 ? 0 : next;
}

static uint32_t
writer_hash(const uint8_t *label, size_t parent)
{
	return wire_name_hash(label, (size_t)label[0] + 1) ^ ((uint32_t)parent * 2654435761u);
}

/*
 * Looks (label, parent) up in the suffix table: *found is where that
 * suffix was written (0 if it was not). Returns the slot to remember it
 * in, or SIZE_MAX when WIRE_SUFFIX_PROBES slots are taken by others: then
 * it is neither found nor remembered, and the name is just written longer.
 * The cap keeps colliding labels (chosen by whoever wrote the zone) from
 * costing more than a constant each.
 */
static size_t
writer_find(struct wire_writer *w, const uint8_t *label, size_t parent, size_t *found)
{
	size_t slot = writer_hash(label, parent) & (WIRE_SUFFIX_SLOTS - 1);

	*found = 0;
	for (unsigned p = 0; p < WIRE_SUFFIX_PROBES; p++) {
		if (w->work)
			w->work->probes++;
		size_t off = w->slots[slot];
		if (off == 0)
			return slot;
		if (w->out[off] == label[0] && writer_parent(w, off) == parent) {
			size_t i = 1;
			while (i <= label[0] && wire_lower(w->out[off + i]) == wire_lower(label[i]))
				i++;
			if (i > label[0]) {
				*found = off;
				return slot;
			}
		}
		slot = (slot + 1) & (WIRE_SUFFIX_SLOTS - 1);
	}
	return SIZE_MAX;
}

/* Remembers that the suffix read at input offset in sits at output
 * offset out, when a pointer can reach in. */
static void
writer_memo(struct wire_writer *w, size_t in, size_t out)
{
	if (in <= WIRE_MAX_PTR_TARGET)
		w->memo[in] = (uint16_t)out;
}

/*
 * Writes the name read from the input (labels at input offsets at),
 * pointing at the longest suffix already written, and remembers its new
 * suffixes. The suffix table is searched from the root one label at a
 * time, and not at all for a suffix read at an input offset seen before:
 * a name costs a few probes per label the input spells out, however often
 * pointers make it read that label.
 */
static bool
writer_name(struct wire_writer *w, const uint8_t *name, const uint16_t *at, size_t n)
{
	size_t starts[WIRE_MAX_LABELS], end = 0, parent = 0, found, k = n;

	for (size_t j = 0; j < n; j++) {
		starts[j] = end;
		end += (size_t)name[end] + 1;
	}
	if (w->work) {
		w->work->names++;
		w->work->labels += n;
	}
	for (size_t j = 0; j < n; j++)
		if (at[j] <= WIRE_MAX_PTR_TARGET && w->memo[at[j]]) {
			parent = w->memo[at[j]];
			k = j;
			break;
		}
	/* Labels k.. are written, at parent. */
	while (k > 0) {
		(void)writer_find(w, name + starts[k - 1], parent, &found);
		if (!found)
			break;
		parent = found;
		writer_memo(w, at[--k], parent);
	}
	size_t start = w->len, prefix = k < n ? starts[k] : end + 1;
	uint8_t ptr[2] = {(uint8_t)(0xc0u | (parent >> 8)), (uint8_t)parent};
	if (!writer_bytes(w, name, prefix) || (k < n && !writer_bytes(w, ptr, 2)))
		return false;
	while (k > 0 && start + starts[k - 1] <= WIRE_MAX_PTR_TARGET) {
		size_t slot = writer_find(w, name + starts[k - 1], parent, &found);
		if (slot == SIZE_MAX)
			break;
		parent = start + starts[--k];
		w->slots[slot] = (uint16_t)parent;
		writer_memo(w, at[k], parent);
	}
	return true;
}

static bool
writer_copy_name(struct wire_writer *w, const uint8_t *in, size_t len, size_t *off)
{
	uint8_t name[WIRE_MAX_NAME];
	uint16_t at[WIRE_MAX_LABELS];
	size_t n;

	return wire_name_read_labels(in, len, off, name, at, &n) != 0 &&
	       writer_name(w, name, at, n);
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
	return wire_copy_work(in, len, drop, out, cap, NULL);
}

size_t
wire_copy_work(const uint8_t *in, size_t len, unsigned drop, uint8_t *out, size_t cap,
	       struct wire_work *work)
{
	uint16_t slots[WIRE_SUFFIX_SLOTS], memo[WIRE_MAX_PTR_TARGET + 1];
	struct wire_writer w = {
	    .out = out, .cap = cap, .len = 0, .slots = slots, .memo = memo, .work = work};
	struct wire_iter it;
	struct wire_rr rr;
	uint16_t counts[3] = {0, 0, 0}, qtype = 0;
	size_t off = WIRE_HEADER_LEN;
	int r;

	memset(slots, 0, sizeof(slots));
	memset(memo, 0,
	       (len < sizeof(memo) / sizeof(memo[0]) ? len : sizeof(memo) / sizeof(memo[0])) *
		   sizeof(memo[0]));
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
