/*
 * Unit tests for wire_write (include/wire_write.h) that test_wire.c does
 * not make: what compression writes (each shared suffix spelled once,
 * every pointer backwards onto a label written before, case of the first
 * spelling kept, opaque rdata left alone), the copy read back with wire.c
 * record by record, TTL clamping and setting (OPT's flags untouched), and
 * trimming to every limit.
 */
#include "wire_write.h"

#include "t_engine.h"

/* An OPT record: 1232 bytes, DO set. */
static void
t_opt(struct t_dns_msg *m)
{
	t_dns_put(m, "", 1);
	t_dns_u16(m, WIRE_T_OPT);
	t_dns_u16(m, 1232);
	t_dns_u32(m, WIRE_EDNS_DO);
	t_dns_u16(m, 0);
}

/* Example.COM MX: two MX (exchanges under the zone, in another case),
 * an NS in another zone, an SOA, the exchanges' addresses and an OPT:
 * every name uncompressed. */
static void
t_zone_answer(struct t_dns_msg *m)
{
	uint8_t w1[WIRE_MAX_NAME], w2[WIRE_MAX_NAME];
	size_t l1, l2;

	t_dns_start(m, "Example.COM", WIRE_T_MX, 2, 2);
	l1 = t_dns_name("mx1.example.com", w1);
	t_dns_rr(m, "example.com", WIRE_T_MX, 300, (unsigned)(2 + l1));
	t_dns_u16(m, 10);
	t_dns_put(m, w1, l1);
	l2 = t_dns_name("MX2.EXAMPLE.com", w2);
	t_dns_rr(m, "example.com", WIRE_T_MX, 300, (unsigned)(2 + l2));
	t_dns_u16(m, 20);
	t_dns_put(m, w2, l2);
	l1 = t_dns_name("ns.example.net", w1);
	t_dns_rr(m, "example.com", WIRE_T_NS, 3600, (unsigned)l1);
	t_dns_put(m, w1, l1);
	l2 = t_dns_name("hostmaster.example.com", w2);
	t_dns_rr(m, "example.com", WIRE_T_SOA, 3600, (unsigned)(l1 + l2 + 20));
	t_dns_put(m, w1, l1);
	t_dns_put(m, w2, l2);
	for (int i = 0; i < 5; i++)
		t_dns_u32(m, 60 * (i + 1));
	t_dns_rr(m, "mx1.example.com", WIRE_T_A, 60, 4);
	t_dns_u32(m, 0xc0000201);
	t_dns_rr(m, "mx2.example.com", WIRE_T_A, 0x80000000u, 4); /* counts as 0 */
	t_dns_u32(m, 0xc0000202);
	t_opt(m);
	wire_put16(m->b + 10, 3);
}

/* The names in a record's rdata, for the types this file writes. */
static size_t
t_rdata_names(const uint8_t *pkt, const struct wire_rr *rr, size_t at[2], size_t *fixed_after)
{
	*fixed_after = 0;
	switch (rr->type) {
	case WIRE_T_NS:
	case WIRE_T_CNAME:
		at[0] = rr->rdata_off;
		return 1;
	case WIRE_T_MX:
		at[0] = rr->rdata_off + 2;
		return 1;
	case WIRE_T_SOA:
		at[0] = rr->rdata_off;
		at[1] = at[0];
		assert_true(wire_name_read(pkt, rr->end, &at[1], NULL) > 0);
		*fixed_after = 20;
		return 2;
	default:
		return 0;
	}
}

/* Label starts seen so far, in the order a reader meets them. */
struct t_starts {
	size_t off[512];
	size_t n;
};

/* Walks the name at off: every pointer goes strictly backwards onto the
 * start of a label written before; returns the offset after the name. */
static size_t
t_walk_name(const uint8_t *pkt, size_t len, size_t off, struct t_starts *s)
{
	while (off < len && pkt[off] != 0) {
		if ((pkt[off] & WIRE_PTR_MASK) == WIRE_PTR_MASK) {
			size_t target = ((size_t)(pkt[off] & 0x3fu) << 8) | pkt[off + 1];
			bool known = false;

			assert_true(target < off);
			for (size_t i = 0; i < s->n && !known; i++)
				known = s->off[i] == target;
			if (!known)
				fail_msg("pointer at %zu to %zu: not a label start", off, target);
			return off + 2;
		}
		assert_true(s->n < sizeof(s->off) / sizeof(s->off[0]));
		s->off[s->n++] = off;
		off += (size_t)pkt[off] + 1;
	}
	assert_true(off < len);
	return off + 1;
}

static void
t_assert_pointers_sound(const uint8_t *pkt, size_t len)
{
	struct t_starts s = {.n = 0};
	struct wire_iter it;
	struct wire_rr rr;
	size_t at[2], fixed_after;
	int r;

	t_walk_name(pkt, len, WIRE_HEADER_LEN, &s);
	assert_true(wire_iter_init(&it, pkt, len));
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		t_walk_name(pkt, len, rr.name_off, &s);
		size_t n = t_rdata_names(pkt, &rr, at, &fixed_after);
		for (size_t i = 0; i < n; i++)
			t_walk_name(pkt, rr.end, at[i], &s);
	}
	assert_int_equal(r, 0);
}

static void
t_assert_same_name(const uint8_t *a, size_t alen, size_t aoff, const uint8_t *b, size_t blen,
		   size_t boff)
{
	uint8_t na[WIRE_MAX_NAME], nb[WIRE_MAX_NAME];
	size_t la = wire_name_read(a, alen, &aoff, na), lb = wire_name_read(b, blen, &boff, nb);

	assert_true(la > 0 && lb > 0);
	assert_true(wire_name_equal(na, la, nb, lb));
}

/* The copy holds the same records as the input, in order: names equal
 * (case aside), the rest of each record byte for byte. */
static void
t_assert_same_records(const uint8_t *in, size_t inlen, const uint8_t *out, size_t outlen)
{
	struct wire_iter a, b;
	struct wire_rr ra, rb;
	size_t at_a[2], at_b[2], fa, fb;
	int r;

	assert_memory_equal(in, out, WIRE_HEADER_LEN);
	t_assert_same_name(in, inlen, WIRE_HEADER_LEN, out, outlen, WIRE_HEADER_LEN);
	assert_true(wire_iter_init(&a, in, inlen));
	assert_true(wire_iter_init(&b, out, outlen));
	assert_memory_equal(in + a.off - 4, out + b.off - 4, 4); /* qtype, qclass */
	while ((r = wire_iter_next(&a, &ra)) == 1) {
		assert_int_equal(wire_iter_next(&b, &rb), 1);
		assert_int_equal(ra.section, rb.section);
		assert_int_equal(ra.type, rb.type);
		assert_int_equal(ra.rclass, rb.rclass);
		assert_true(ra.ttl == rb.ttl);
		t_assert_same_name(in, inlen, ra.name_off, out, outlen, rb.name_off);
		size_t n = t_rdata_names(in, &ra, at_a, &fa);
		assert_int_equal(t_rdata_names(out, &rb, at_b, &fb), n);
		if (n == 0) {
			assert_int_equal(ra.rdlen, rb.rdlen);
			assert_memory_equal(in + ra.rdata_off, out + rb.rdata_off, ra.rdlen);
			continue;
		}
		assert_memory_equal(in + ra.rdata_off, out + rb.rdata_off, at_a[0] - ra.rdata_off);
		for (size_t i = 0; i < n; i++)
			t_assert_same_name(in, ra.end, at_a[i], out, rb.end, at_b[i]);
		assert_memory_equal(in + ra.end - fa, out + rb.end - fb, fa);
	}
	assert_int_equal(r, 0);
	assert_int_equal(wire_iter_next(&b, &rb), 0);
}

static size_t
t_occurrences(const uint8_t *p, size_t len, const void *needle, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i + n <= len; i++)
		count += memcmp(p + i, needle, n) == 0;
	return count;
}

static void
copy_compresses_and_reads_back(void **state)
{
	struct t_dns_msg m;
	uint8_t out[4096];
	size_t len;
	(void)state;

	t_zone_answer(&m);
	assert_true((len = wire_copy(m.b, m.len, 0, out, sizeof(out))) > 0);
	assert_true(len < m.len);
	t_assert_pointers_sound(out, len);
	t_assert_same_records(m.b, m.len, out, len);
	/* Each suffix is spelled once, whatever its case. */
	assert_int_equal(t_occurrences(out, len, "\7Example\3COM", 12), 1);
	assert_int_equal(t_occurrences(out, len, "\7example", 8) +
			     t_occurrences(out, len, "\7EXAMPLE", 8),
			 1); /* example.net */
	assert_int_equal(t_occurrences(out, len, "\3net", 4), 1);
	assert_int_equal(t_occurrences(out, len, "\3mx1", 4), 1);
	assert_int_equal(t_occurrences(out, len, "\3MX2", 4), 1);
	assert_int_equal(t_occurrences(out, len, "\2ns", 3), 1);
	/* A copy of the copy is the same bytes: nothing left to gain. */
	uint8_t again[4096];
	assert_int_equal(wire_copy(out, len, 0, again, sizeof(again)), len);
	assert_memory_equal(again, out, len);
}

/* Names are compared case aside, and the first spelling is the one
 * kept: the answer's owner becomes a pointer to the question. */
static void
compression_keeps_first_case(void **state)
{
	struct t_dns_msg m;
	uint8_t out[4096];
	size_t len;
	struct wire_iter it;
	struct wire_rr rr;
	(void)state;

	t_dns_start(&m, "Example.COM", WIRE_T_A, 2, 0);
	t_dns_rr(&m, "example.com", WIRE_T_A, 60, 4);
	t_dns_u32(&m, 1);
	t_dns_rr(&m, "WWW.example.com", WIRE_T_A, 60, 4);
	t_dns_u32(&m, 2);
	assert_true((len = wire_copy(m.b, m.len, 0, out, sizeof(out))) > 0);
	assert_memory_equal(out + WIRE_HEADER_LEN, "\7Example\3COM\0", 13);
	assert_true(wire_iter_init(&it, out, len));
	assert_int_equal(wire_iter_next(&it, &rr), 1);
	assert_int_equal(out[rr.name_off], 0xc0);
	assert_int_equal(out[rr.name_off + 1], WIRE_HEADER_LEN);
	assert_int_equal(wire_iter_next(&it, &rr), 1);
	assert_memory_equal(out + rr.name_off, "\3WWW\xc0\x0c", 6);
	t_assert_pointers_sound(out, len);
}

/* Rdata of a type unknown to RFC 1035 is opaque (RFC 3597 §4): a name
 * spelled inside it is neither compressed nor pointed at. */
static void
opaque_rdata_left_alone(void **state)
{
	struct t_dns_msg m;
	uint8_t out[4096], w[WIRE_MAX_NAME];
	size_t len, wl = t_dns_name("example.com", w);
	struct wire_iter it;
	struct wire_rr rr;
	(void)state;

	t_dns_start(&m, "example.com", 65280, 1, 0);
	t_dns_rr(&m, "example.com", 65280, 60, (unsigned)wl);
	t_dns_put(&m, w, wl);
	t_dns_rr(&m, "x.example.com", WIRE_T_A, 60, 4);
	t_dns_u32(&m, 1);
	wire_put16(m.b + 6, 2);
	assert_true((len = wire_copy(m.b, m.len, 0, out, sizeof(out))) > 0);
	assert_true(wire_iter_init(&it, out, len));
	assert_int_equal(wire_iter_next(&it, &rr), 1);
	assert_int_equal(rr.rdlen, wl);
	assert_memory_equal(out + rr.rdata_off, w, wl);
	assert_int_equal(wire_iter_next(&it, &rr), 1);
	/* x.example.com points at the question, not into the rdata. */
	assert_memory_equal(out + rr.name_off, "\1x\xc0\x0c", 4);
	t_assert_pointers_sound(out, len);
}

/* Many names under one zone: each owner is its first label and a
 * pointer, every pointer sound, the copy read back the same. */
static void
many_names_compressed(void **state)
{
	struct t_dns_msg m;
	uint8_t out[4096];
	size_t len;
	char name[64];
	(void)state;

	t_dns_start(&m, "zone.example", WIRE_T_A, 100, 0);
	for (unsigned i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "h%u.sub%u.zone.example", i, i % 7);
		t_dns_rr(&m, name, WIRE_T_A, 60, 4);
		t_dns_u32(&m, i);
	}
	assert_true((len = wire_copy(m.b, m.len, 0, out, sizeof(out))) > 0);
	t_assert_pointers_sound(out, len);
	t_assert_same_records(m.b, m.len, out, len);
	assert_int_equal(t_occurrences(out, len, "\4zone", 5), 1);
	for (unsigned i = 0; i < 7; i++) {
		char label[8];
		int n = snprintf(label + 1, sizeof(label) - 1, "sub%u", i);
		label[0] = (char)n;
		assert_int_equal(t_occurrences(out, len, label, (size_t)n + 1), 1);
	}
}

static void
t_ttls(const uint8_t *pkt, size_t len, uint32_t *ttls, size_t *n, uint32_t *opt_flags)
{
	struct wire_iter it;
	struct wire_rr rr;

	*n = 0;
	assert_true(wire_iter_init(&it, pkt, len));
	while (wire_iter_next(&it, &rr) == 1) {
		if (rr.type == WIRE_T_OPT)
			*opt_flags = rr.ttl;
		else
			ttls[(*n)++] = rr.ttl;
	}
}

static void
clamp_and_set_ttls(void **state)
{
	struct t_dns_msg m;
	uint32_t before[16], after[16], flags_before = 0, flags_after = 0;
	size_t n, n2;
	(void)state;

	t_zone_answer(&m);
	t_ttls(m.b, m.len, before, &n, &flags_before);
	assert_true(flags_before & WIRE_EDNS_DO);
	assert_true(wire_clamp_ttls(m.b, m.len, 100, 1000));
	t_ttls(m.b, m.len, after, &n2, &flags_after);
	assert_int_equal(n, n2);
	for (size_t i = 0; i < n; i++) {
		uint32_t t = before[i] > 0x7fffffffu ? 0 : before[i];
		uint32_t want = t < 100 ? 100 : t > 1000 ? 1000 : t;
		assert_true(after[i] == want);
	}
	assert_true(flags_after == flags_before);

	assert_true(wire_set_ttls(m.b, m.len, 30));
	t_ttls(m.b, m.len, after, &n2, &flags_after);
	for (size_t i = 0; i < n2; i++)
		assert_int_equal(after[i], 30);
	assert_true(flags_after == flags_before);

	/* A message cut short is refused. */
	assert_false(wire_clamp_ttls(m.b, m.len - 3, 1, 2));
	assert_false(wire_set_ttls(m.b, 5, 1));
}

/* For every limit from the question up: the result fits, reads back
 * cleanly, drops the additional section before anything else and sets
 * TC only when answer or authority had to go. */
static void
truncate_every_limit(void **state)
{
	struct t_dns_msg m;
	uint8_t pkt[4096];
	struct wire_iter it;
	struct wire_rr rr;
	size_t question_end, authority_end = 0, len;
	(void)state;

	t_zone_answer(&m);
	assert_true(wire_iter_init(&it, m.b, m.len));
	question_end = it.off;
	while (wire_iter_next(&it, &rr) == 1)
		if (rr.section != WIRE_ADDITIONAL)
			authority_end = rr.end;
	for (size_t limit = question_end; limit <= m.len + 1; limit++) {
		memcpy(pkt, m.b, m.len);
		len = wire_truncate(pkt, m.len, limit);
		assert_true(len <= limit || (limit >= m.len && len == m.len));
		assert_true(wire_iter_init(&it, pkt, len));
		while (wire_iter_next(&it, &rr) == 1)
			;
		assert_true(it.left[0] == 0 && it.left[1] == 0 && it.left[2] == 0);
		bool tc = wire_get16(pkt + 2) & WIRE_TC;
		if (limit >= m.len) {
			assert_memory_equal(pkt, m.b, m.len);
		} else if (limit >= authority_end) {
			assert_int_equal(len, authority_end);
			assert_false(tc);
			assert_int_equal(wire_get16(pkt + 6), 2);
			assert_int_equal(wire_get16(pkt + 10), 0);
		} else {
			assert_int_equal(len, question_end);
			assert_true(tc);
			assert_int_equal(wire_get16(pkt + 6) + wire_get16(pkt + 8), 0);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(copy_compresses_and_reads_back),
	    cmocka_unit_test(compression_keeps_first_case),
	    cmocka_unit_test(opaque_rdata_left_alone),
	    cmocka_unit_test(many_names_compressed),
	    cmocka_unit_test(clamp_and_set_ttls),
	    cmocka_unit_test(truncate_every_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
