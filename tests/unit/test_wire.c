/*
 * Unit tests for wire (include/wire.h). Packets are built with the small
 * t_* builder below, so each test shows the bytes it is about.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"
#include "wire_write.h"

/* ---- a tiny packet builder ---------------------------------------- */

struct t_pkt {
	uint8_t b[WIRE_MAX_MSG];
	size_t len;
};

static void
t_bytes(struct t_pkt *p, const void *d, size_t n)
{
	assert_true(p->len + n <= sizeof(p->b));
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void
t_u8(struct t_pkt *p, unsigned v)
{
	uint8_t c = (uint8_t)v;

	t_bytes(p, &c, 1);
}

static void
t_u16(struct t_pkt *p, unsigned v)
{
	t_u8(p, v >> 8);
	t_u8(p, v);
}

static void
t_u32(struct t_pkt *p, uint32_t v)
{
	t_u16(p, v >> 16);
	t_u16(p, v & 0xffffu);
}

static void
t_set16(struct t_pkt *p, size_t off, unsigned v)
{
	wire_put16(p->b + off, (uint16_t)v);
}

/* "www.example.com" (trailing dot optional, "" or "." is the root) in
 * wire form; no escapes. Returns the length. */
static size_t
t_enc(const char *dotted, uint8_t *out)
{
	size_t o = 0;
	const char *s = dotted;

	while (*s && strcmp(s, ".") != 0) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		assert_true(n >= 1 && n <= WIRE_MAX_LABEL);
		out[o++] = (uint8_t)n;
		memcpy(out + o, s, n);
		o += n;
		s += n + (dot ? 1 : 0);
	}
	out[o++] = 0;
	return o;
}

/* The labels of a name without its root byte, to be followed by t_ptr. */
static void
t_labels(struct t_pkt *p, const char *dotted)
{
	uint8_t w[512];

	t_bytes(p, w, t_enc(dotted, w) - 1);
}

static void
t_name(struct t_pkt *p, const char *dotted)
{
	t_labels(p, dotted);
	t_u8(p, 0);
}

static void
t_ptr(struct t_pkt *p, size_t target)
{
	t_u8(p, 0xc0u | (unsigned)(target >> 8));
	t_u8(p, target & 0xffu);
}

static void
t_hdr(struct t_pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
      unsigned ar)
{
	p->len = 0;
	t_u16(p, id);
	t_u16(p, flags);
	t_u16(p, qd);
	t_u16(p, an);
	t_u16(p, ns);
	t_u16(p, ar);
}

static void
t_question(struct t_pkt *p, const char *name, unsigned qtype)
{
	t_name(p, name);
	t_u16(p, qtype);
	t_u16(p, WIRE_CLASS_IN);
}

/* Type, class IN, TTL and an rdlength to fill in with t_rr_end, after the
 * owner name. Returns where the rdata starts. */
static size_t
t_rr(struct t_pkt *p, unsigned type, uint32_t ttl)
{
	t_u16(p, type);
	t_u16(p, WIRE_CLASS_IN);
	t_u32(p, ttl);
	t_u16(p, 0);
	return p->len;
}

static void
t_rr_end(struct t_pkt *p, size_t rdata)
{
	t_set16(p, rdata - 2, (unsigned)(p->len - rdata));
}

/* An A record owned by the name at owner (a pointer). */
static void
t_a(struct t_pkt *p, size_t owner, uint32_t ttl)
{
	t_ptr(p, owner);
	size_t r = t_rr(p, WIRE_T_A, ttl);
	t_u32(p, 0xc0000201u);
	t_rr_end(p, r);
}

/* OPT: root owner, class = UDP size, TTL = ext rcode/version/DO. */
static void
t_opt(struct t_pkt *p, unsigned udp, uint32_t ttl)
{
	t_u8(p, 0);
	t_u16(p, WIRE_T_OPT);
	t_u16(p, udp);
	t_u32(p, ttl);
	t_u16(p, 0);
}

static void
t_bump(struct t_pkt *p, size_t count_off)
{
	t_set16(p, count_off, wire_get16(p->b + count_off) + 1u);
}

static void
t_query(struct t_pkt *p, unsigned id, unsigned flags, const char *name, unsigned qtype)
{
	t_hdr(p, id, flags, 1, 0, 0, 0);
	t_question(p, name, qtype);
}

/* Parses a copy of exactly p->len bytes, so ASan sees any read past it. */
static enum wire_verdict
t_parse(const struct t_pkt *p, struct wire_query *q)
{
	uint8_t *exact = malloc(p->len ? p->len : 1);
	enum wire_verdict v;

	assert_non_null(exact);
	memcpy(exact, p->b, p->len);
	v = wire_parse_query(exact, p->len, q);
	free(exact);
	return v;
}

/* Asserts the name at *off decodes to dotted and moves *off past it. */
static void
t_expect_name(const uint8_t *m, size_t len, size_t *off, const char *dotted)
{
	uint8_t want[512], got[WIRE_MAX_NAME];
	size_t n = t_enc(dotted, want);

	assert_int_equal(wire_name_read(m, len, off, got), n);
	assert_memory_equal(got, want, n);
}

/* The idx-th record of a message (all sections in order). */
static void
t_nth(const uint8_t *m, size_t len, unsigned idx, struct wire_rr *rr)
{
	struct wire_iter it;

	assert_true(wire_iter_init(&it, m, len));
	for (unsigned i = 0; i <= idx; i++)
		assert_int_equal(wire_iter_next(&it, rr), 1);
}

/* A message is valid: every name (owner and RFC 1035 rdata) decodes, the
 * records fill it exactly, and the counts match. */
static void
t_check_msg(const uint8_t *m, size_t len, unsigned an, unsigned ns, unsigned ar)
{
	struct wire_iter it;
	struct wire_rr rr;
	unsigned n[3] = {0, 0, 0};
	int r;

	assert_true(wire_iter_init(&it, m, len));
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		size_t off = rr.name_off;
		assert_int_not_equal(wire_name_read(m, len, &off, NULL), 0);
		off = rr.rdata_off;
		switch (rr.type) {
		case WIRE_T_MX:
			off += 2;
			/* fall through */
		case WIRE_T_NS:
		case WIRE_T_CNAME:
		case WIRE_T_PTR:
			assert_int_not_equal(wire_name_read(m, rr.end, &off, NULL), 0);
			assert_int_equal(off, rr.end);
			break;
		case WIRE_T_SOA:
			assert_int_not_equal(wire_name_read(m, rr.end, &off, NULL), 0);
			assert_int_not_equal(wire_name_read(m, rr.end, &off, NULL), 0);
			assert_int_equal(off + 20, rr.end);
			break;
		default:
			break;
		}
		n[rr.section]++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(it.off, len);
	assert_int_equal(n[WIRE_ANSWER], an);
	assert_int_equal(n[WIRE_AUTHORITY], ns);
	assert_int_equal(n[WIRE_ADDITIONAL], ar);
	assert_int_equal(wire_get16(m + 6), an);
	assert_int_equal(wire_get16(m + 8), ns);
	assert_int_equal(wire_get16(m + 10), ar);
}

/* ---- wire_parse_query ---------------------------------------------- */

static void
parse_query_good(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	uint8_t want[64];
	size_t n = t_enc("MX1.Example.COM", want);

	(void)state;
	t_query(&p, 0xbeef, WIRE_RD | WIRE_CD, "MX1.Example.COM", WIRE_T_MX);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.flags, WIRE_RD | WIRE_CD);
	assert_int_equal(q.qtype, WIRE_T_MX);
	assert_int_equal(q.qclass, WIRE_CLASS_IN);
	assert_int_equal(q.qname_len, n);
	assert_memory_equal(q.qname, want, n);
	assert_false(q.edns);
	assert_false(q.dnssec_ok);
	assert_int_equal(q.udp_size, 0);
}

static void
parse_query_root(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, 0, ".", WIRE_T_NS);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_int_equal(q.qname_len, 1);
	assert_int_equal(q.qname[0], 0);
}

static void
parse_query_edns(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 7, WIRE_RD, "example.com", WIRE_T_A);
	t_opt(&p, 4096, 0x8000u); /* version 0, DO */
	t_bump(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_true(q.edns);
	assert_true(q.dnssec_ok);
	assert_int_equal(q.udp_size, 4096);

	/* Without DO, and with a well-formed option (a client cookie). */
	t_query(&p, 7, WIRE_RD, "example.com", WIRE_T_A);
	t_opt(&p, 1400, 0);
	t_bump(&p, 10);
	t_set16(&p, p.len - 2, 12);
	t_u16(&p, 10);
	t_u16(&p, 8);
	t_bytes(&p, "\1\2\3\4\5\6\7\10", 8);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_true(q.edns);
	assert_false(q.dnssec_ok);
	assert_int_equal(q.udp_size, 1400);
}

static void
parse_query_short_header(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	assert_int_equal(wire_parse_query(p.b, 11, &q), WIRE_DROP);
	assert_int_equal(wire_parse_query(p.b, 0, &q), WIRE_DROP);
}

static void
parse_query_response_dropped(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, WIRE_QR | WIRE_RD, "example.com", WIRE_T_A);
	assert_int_equal(t_parse(&p, &q), WIRE_DROP);
}

static void
parse_query_qdcount(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_hdr(&p, 1, 0, 0, 0, 0, 0);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	assert_int_equal(q.qname_len, 0);

	t_hdr(&p, 1, 0, 2, 0, 0, 0);
	t_question(&p, "a.example", WIRE_T_A);
	t_question(&p, "b.example", WIRE_T_A);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	assert_int_equal(q.qname_len, 0);
}

static void
parse_query_long_label(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	uint8_t lab[64];

	(void)state;
	memset(lab, 'a', sizeof(lab));
	/* 63 is the limit... */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_u8(&p, 63);
	t_bytes(&p, lab, 63);
	t_u8(&p, 0);
	t_u16(&p, WIRE_T_A);
	t_u16(&p, WIRE_CLASS_IN);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_int_equal(q.qname_len, 65);
	/* ...64 is not. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_u8(&p, 64);
	t_bytes(&p, lab, 64);
	t_u8(&p, 0);
	t_u16(&p, WIRE_T_A);
	t_u16(&p, WIRE_CLASS_IN);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

/* A query whose name is labels of the given lengths. */
static void
t_query_labels(struct t_pkt *p, const unsigned *lens, size_t n)
{
	uint8_t lab[63];

	memset(lab, 'x', sizeof(lab));
	t_hdr(p, 1, 0, 1, 0, 0, 0);
	for (size_t i = 0; i < n; i++) {
		t_u8(p, lens[i]);
		t_bytes(p, lab, lens[i]);
	}
	t_u8(p, 0);
	t_u16(p, WIRE_T_A);
	t_u16(p, WIRE_CLASS_IN);
}

static void
parse_query_long_name(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	const unsigned max[] = {63, 63, 63, 61};  /* 255 bytes */
	const unsigned over[] = {63, 63, 63, 62}; /* 256 bytes */
	const unsigned huge[] = {63, 63, 63, 63, 63};

	(void)state;
	t_query_labels(&p, max, 4);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_int_equal(q.qname_len, 255);
	t_query_labels(&p, over, 4);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	t_query_labels(&p, huge, 5);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_pointer_loops(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	/* The qname is a pointer to itself. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_ptr(&p, 12);
	t_u16(&p, WIRE_T_A);
	t_u16(&p, WIRE_CLASS_IN);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	/* Two pointers pointing at each other: 12 -> 14 -> 12. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_ptr(&p, 14);
	t_ptr(&p, 12);
	t_u16(&p, WIRE_T_A);
	t_u16(&p, WIRE_CLASS_IN);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	/* A label, then a pointer back to that label. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_labels(&p, "loop");
	t_ptr(&p, 12);
	t_u16(&p, WIRE_T_A);
	t_u16(&p, WIRE_CLASS_IN);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_bad_pointers(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	/* Past the end of the packet. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_labels(&p, "www");
	t_ptr(&p, 0x3ff0);
	t_u16(&p, WIRE_T_A);
	t_u16(&p, WIRE_CLASS_IN);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	/* Into the header. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_labels(&p, "www");
	t_ptr(&p, 4);
	t_u16(&p, WIRE_T_A);
	t_u16(&p, WIRE_CLASS_IN);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	/* Cut in the middle of the pointer. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_labels(&p, "www");
	t_u8(&p, 0xc0);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_truncated_name(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	/* The name runs past the end. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_labels(&p, "www.example");
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	/* A label longer than what is left. */
	t_hdr(&p, 1, 0, 1, 0, 0, 0);
	t_u8(&p, 20);
	t_bytes(&p, "short", 5);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	/* The name ends, qtype/qclass are cut. */
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	assert_int_equal(wire_parse_query(p.b, p.len - 1, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_other_sections(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_a(&p, 12, 60);
	t_bump(&p, 6);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_a(&p, 12, 60);
	t_bump(&p, 8);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	/* The counts alone are enough. */
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_bump(&p, 6);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_bump(&p, 8);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_two_opts(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_opt(&p, 1232, 0);
	t_opt(&p, 1232, 0);
	t_set16(&p, 10, 2);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_opt_owner(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_name(&p, "foo");
	t_u16(&p, WIRE_T_OPT);
	t_u16(&p, 1232);
	t_u32(&p, 0);
	t_u16(&p, 0);
	t_bump(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_opt_options_overrun(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	/* Option length 8 but only 4 bytes of rdata left. */
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_opt(&p, 1232, 0);
	t_bump(&p, 10);
	t_set16(&p, p.len - 2, 8);
	t_u16(&p, 10);
	t_u16(&p, 8);
	t_bytes(&p, "\1\2\3\4", 4);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	/* Half an option header. */
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_opt(&p, 1232, 0);
	t_bump(&p, 10);
	t_set16(&p, p.len - 2, 2);
	t_u16(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	/* rdlength past the end of the packet. */
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_opt(&p, 1232, 0);
	t_bump(&p, 10);
	t_set16(&p, p.len - 2, 4);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_trailing_garbage(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_u8(&p, 0);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_opt(&p, 1232, 0);
	t_bump(&p, 10);
	t_bytes(&p, "xyz", 3);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);

	/* ARCOUNT promises a record that is not there. */
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	t_bump(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

static void
parse_query_bad_version(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	uint8_t want[64];
	size_t n = t_enc("example.com", want);

	(void)state;
	t_query(&p, 9, WIRE_RD, "example.com", WIRE_T_A);
	t_opt(&p, 4096, 0x00018000u); /* version 1, DO */
	t_bump(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_VERSION);
	assert_true(q.edns);
	assert_true(q.dnssec_ok);
	assert_int_equal(q.id, 9);
	assert_int_equal(q.qname_len, n);
	assert_memory_equal(q.qname, want, n);
}

static void
parse_query_bad_opcode(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, (2u << 11) | WIRE_RD, "example.com", WIRE_T_A);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_OPCODE);
	assert_int_equal(WIRE_OPCODE(q.flags), 2);
}

static void
parse_query_qtype_opt(void **state)
{
	struct t_pkt p;
	struct wire_query q;

	(void)state;
	t_query(&p, 1, 0, "example.com", WIRE_T_OPT);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
}

/* ---- wire_reply_limit ---------------------------------------------- */

static void
reply_limit(void **state)
{
	struct wire_query q;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_int_equal(wire_reply_limit(&q, false), 512);
	assert_int_equal(wire_reply_limit(&q, true), 65535);
	q.edns = true;
	q.udp_size = 4096;
	assert_int_equal(wire_reply_limit(&q, false), 1232);
	assert_int_equal(wire_reply_limit(&q, true), 65535);
	q.udp_size = 100;
	assert_int_equal(wire_reply_limit(&q, false), 512);
	q.udp_size = 1000;
	assert_int_equal(wire_reply_limit(&q, false), 1000);
	q.udp_size = 1232;
	assert_int_equal(wire_reply_limit(&q, false), 1232);
	q.udp_size = 513;
	assert_int_equal(wire_reply_limit(&q, false), 513);
}

/* ---- names --------------------------------------------------------- */

static void
name_read_compressed(void **state)
{
	struct t_pkt p;
	size_t off, mail, chain, end;

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 3, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A); /* "example.com" at 16 */
	t_ptr(&p, 12);				     /* whole qname */
	off = p.len - 2;
	t_expect_name(p.b, p.len, &off, "www.example.com");
	assert_int_equal(off, p.len);

	mail = p.len;
	t_labels(&p, "mail");
	t_ptr(&p, 16);
	off = mail;
	t_expect_name(p.b, p.len, &off, "mail.example.com");
	assert_int_equal(off, mail + 5 + 2);

	/* Two pointers in a row: x -> mail -> example.com. */
	chain = p.len;
	t_labels(&p, "x");
	t_ptr(&p, mail);
	end = p.len;
	t_bytes(&p, "\0\1\0\1", 4); /* something after the name */
	off = chain;
	t_expect_name(p.b, p.len, &off, "x.mail.example.com");
	assert_int_equal(off, end);

	/* out may be NULL. */
	off = chain;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 20);
	assert_int_equal(off, end);
}

static void
name_read_bad_pointers(void **state)
{
	struct t_pkt p;
	size_t off, a, b;

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 0, 0, 0);
	t_question(&p, "example.com", WIRE_T_A);

	/* Forward pointer. */
	a = p.len;
	t_ptr(&p, a + 2);
	t_name(&p, "fwd");
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);

	/* Pointer to itself. */
	a = p.len;
	t_ptr(&p, a);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);

	/* a: "x" -> b, b: "y" -> a. Starting at either must fail. */
	a = p.len;
	b = a + 4;
	t_labels(&p, "x");
	t_ptr(&p, b);
	t_labels(&p, "y");
	t_ptr(&p, a);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);
	off = b;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);

	/* Into the header, and past the end. */
	a = p.len;
	t_ptr(&p, 2);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);
	a = p.len;
	t_ptr(&p, 0x3000);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);

	/* Half a pointer at the end. */
	a = p.len;
	t_u8(&p, 0xc0);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);

	/* Extended label types 0x40 and 0x80. */
	a = p.len;
	t_u8(&p, 0x41);
	t_bytes(&p, "x\0", 2);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);
	a = p.len;
	t_u8(&p, 0x81);
	t_bytes(&p, "x\0", 2);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);
}

static void
name_read_too_long_decompressed(void **state)
{
	struct t_pkt p;
	const unsigned lens[] = {63, 63, 63, 50}; /* 244 bytes */
	size_t off, a;

	(void)state;
	t_query_labels(&p, lens, 4);
	off = 12;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 244);
	/* 10 + 244 = 254 fits, 11 + 244 = 255 fits, 12 + 244 = 256 does not. */
	a = p.len;
	t_labels(&p, "abcdefghi");
	t_ptr(&p, 12);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 254);
	a = p.len;
	t_labels(&p, "abcdefghij");
	t_ptr(&p, 12);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 255);
	a = p.len;
	t_labels(&p, "abcdefghijk");
	t_ptr(&p, 12);
	off = a;
	assert_int_equal(wire_name_read(p.b, p.len, &off, NULL), 0);
}

/* from_text gives want (wire form, want_len bytes) and to_text gives back
 * text_back. */
static void
t_roundtrip(const char *text, const uint8_t *want, size_t want_len, const char *text_back)
{
	uint8_t w[WIRE_MAX_NAME];
	char t[WIRE_NAME_TEXT_MAX];

	assert_int_equal(wire_name_from_text(text, w), want_len);
	assert_memory_equal(w, want, want_len);
	assert_true(wire_name_to_text(w, want_len, t, sizeof(t)));
	assert_string_equal(t, text_back);
}

static void
name_text_roundtrip(void **state)
{
	(void)state;
	t_roundtrip(".", (const uint8_t *)"\0", 1, ".");
	t_roundtrip("mx1.example.com.", (const uint8_t *)"\3mx1\7example\3com", 17,
		    "mx1.example.com.");
	t_roundtrip("mx1.example.com", (const uint8_t *)"\3mx1\7example\3com", 17,
		    "mx1.example.com.");
	t_roundtrip("Mx1.EXAMPLE.", (const uint8_t *)"\3Mx1\7EXAMPLE", 13, "Mx1.EXAMPLE.");
	t_roundtrip("a\\.b.example.", (const uint8_t *)"\3a.b\7example", 13, "a\\.b.example.");
	t_roundtrip("\\000", (const uint8_t *)"\1\0", 3, "\\000.");
	t_roundtrip("a\\032b.\\255.", (const uint8_t *)"\3a b\1\377", 7, "a\\032b.\\255.");
	t_roundtrip("\\\\\\\"\\(.x", (const uint8_t *)"\3\\\"(\1x", 7, "\\\\\\\"\\(.x.");
	/* \DDD and a plain escaped character mean the same byte. */
	t_roundtrip("\\097\\b.", (const uint8_t *)"\2ab", 4, "ab.");
}

static void
name_text_rejects(void **state)
{
	uint8_t w[WIRE_MAX_NAME];
	char text[400];
	size_t o = 0;

	(void)state;
	assert_int_equal(wire_name_from_text("", w), 0);
	assert_int_equal(wire_name_from_text("..", w), 0);
	assert_int_equal(wire_name_from_text(".example.", w), 0);
	assert_int_equal(wire_name_from_text("a..example", w), 0);
	assert_int_equal(wire_name_from_text("a\\", w), 0);
	assert_int_equal(wire_name_from_text("\\256.a", w), 0);

	/* A 63-byte label is fine, 64 is not. */
	memset(text, 'l', 63);
	strcpy(text + 63, ".example.");
	assert_int_equal(wire_name_from_text(text, w), 1 + 63 + 9);
	memset(text, 'l', 64);
	strcpy(text + 64, ".example.");
	assert_int_equal(wire_name_from_text(text, w), 0);
	/* The same for the last label, with and without the trailing dot. */
	strcpy(text, "example.");
	memset(text + 8, 'l', 63);
	strcpy(text + 8 + 63, ".");
	assert_int_equal(wire_name_from_text(text, w), 8 + 1 + 63 + 1);
	text[8 + 63] = '\0';
	assert_int_equal(wire_name_from_text(text, w), 8 + 1 + 63 + 1);
	memset(text + 8, 'l', 64);
	strcpy(text + 8 + 64, ".");
	assert_int_equal(wire_name_from_text(text, w), 0);
	text[8 + 64] = '\0';
	assert_int_equal(wire_name_from_text(text, w), 0);

	/* 127 one-letter labels make 255 bytes, 128 make 257. */
	for (int i = 0; i < 128; i++)
		memcpy(text + 2 * i, "a.", 2);
	text[2 * 127] = '\0';
	assert_int_equal(wire_name_from_text(text, w), 255);
	text[2 * 127 - 1] = '\0';
	assert_int_equal(wire_name_from_text(text, w), 255);
	memcpy(text + 2 * 126, "a.a.", 4);
	text[2 * 128] = '\0';
	assert_int_equal(wire_name_from_text(text, w), 0);

	/* 63.63.63.61 is 255 bytes in wire form, 63.63.63.62 is 256. */
	for (int i = 0; i < 3; i++) {
		memset(text + o, 'n', 63);
		o += 63;
		text[o++] = '.';
	}
	memset(text + o, 'n', 61);
	strcpy(text + o + 61, ".");
	assert_int_equal(wire_name_from_text(text, w), 255);
	text[o + 61] = '\0';
	assert_int_equal(wire_name_from_text(text, w), 255);
	memset(text + o, 'n', 62);
	strcpy(text + o + 62, ".");
	assert_int_equal(wire_name_from_text(text, w), 0);
	text[o + 62] = '\0';
	assert_int_equal(wire_name_from_text(text, w), 0);
}

static void
name_to_text_small_cap(void **state)
{
	char t[8];

	(void)state;
	assert_false(wire_name_to_text((const uint8_t *)"\7example\3com", 13, t, sizeof(t)));
	assert_false(wire_name_to_text((const uint8_t *)"\0", 1, t, 1));
	assert_true(wire_name_to_text((const uint8_t *)"\0", 1, t, 2));
	assert_string_equal(t, ".");
}

static void
name_lower_equal(void **state)
{
	uint8_t n[32];
	size_t len = t_enc("MX1.Example.COM", n);
	uint8_t want[32];

	(void)state;
	t_enc("mx1.example.com", want);
	assert_true(wire_name_equal(n, len, want, len));
	assert_false(wire_name_equal(n, len, want, len - 1));
	want[1] = 'n';
	assert_false(wire_name_equal(n, len, want, len));
	wire_name_lower(n, len);
	t_enc("mx1.example.com", want);
	assert_memory_equal(n, want, len);
}

/* ---- the iterator -------------------------------------------------- */

/* www.example.com A: CNAME + A, NS in authority, glue A + OPT. */
static void
t_response(struct t_pkt *p)
{
	size_t r, target;

	t_hdr(p, 0x4242, WIRE_QR | WIRE_RD | WIRE_RA, 1, 2, 1, 2);
	t_question(p, "www.example.com", WIRE_T_A);
	t_ptr(p, 12);
	r = t_rr(p, WIRE_T_CNAME, 300);
	target = p->len;
	t_labels(p, "web");
	t_ptr(p, 16);
	t_rr_end(p, r);
	t_a(p, target, 60);
	t_ptr(p, 16);
	r = t_rr(p, WIRE_T_NS, 3600);
	t_labels(p, "ns1");
	t_ptr(p, 16);
	t_rr_end(p, r);
	t_a(p, r, 7200);
	t_opt(p, 1232, 0x8000u);
}

static void
iter_sections(void **state)
{
	struct t_pkt p;
	struct wire_iter it;
	struct wire_rr rr;
	const unsigned types[] = {WIRE_T_CNAME, WIRE_T_A, WIRE_T_NS, WIRE_T_A, WIRE_T_OPT};
	const enum wire_section secs[] = {WIRE_ANSWER, WIRE_ANSWER, WIRE_AUTHORITY, WIRE_ADDITIONAL,
					  WIRE_ADDITIONAL};
	const uint32_t ttls[] = {300, 60, 3600, 7200, 0x8000u};
	size_t off;

	(void)state;
	t_response(&p);
	assert_true(wire_iter_init(&it, p.b, p.len));
	assert_int_equal(it.off, 12 + 17 + 4);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(wire_iter_next(&it, &rr), 1);
		assert_int_equal(rr.section, secs[i]);
		assert_int_equal(rr.type, types[i]);
		assert_int_equal(rr.ttl, ttls[i]);
		assert_int_equal(wire_get32(p.b + rr.ttl_off), ttls[i]);
		assert_int_equal(rr.rdata_off + rr.rdlen, rr.end);
		assert_int_equal(wire_get16(p.b + rr.rdata_off - 2), rr.rdlen);
	}
	assert_int_equal(rr.rclass, 1232);
	assert_int_equal(rr.end, p.len);
	assert_int_equal(wire_iter_next(&it, &rr), 0);
	assert_int_equal(wire_iter_next(&it, &rr), 0);

	/* Names and rdata through the offsets. */
	t_nth(p.b, p.len, 0, &rr);
	off = rr.name_off;
	t_expect_name(p.b, p.len, &off, "www.example.com");
	off = rr.rdata_off;
	t_expect_name(p.b, p.len, &off, "web.example.com");
	t_nth(p.b, p.len, 1, &rr);
	off = rr.name_off;
	t_expect_name(p.b, p.len, &off, "web.example.com");
	assert_int_equal(rr.rdlen, 4);
	assert_int_equal(wire_get32(p.b + rr.rdata_off), 0xc0000201u);
	t_check_msg(p.b, p.len, 2, 1, 2);
}

static void
iter_malformed(void **state)
{
	struct t_pkt p;
	struct wire_iter it;
	struct wire_rr rr;

	(void)state;
	/* The last record's rdlength runs one byte past the end. */
	t_response(&p);
	t_set16(&p, p.len - 2, 1);
	assert_true(wire_iter_init(&it, p.b, p.len));
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(wire_iter_next(&it, &rr), 1);
	assert_int_equal(wire_iter_next(&it, &rr), -1);

	/* More records promised than present. */
	t_response(&p);
	t_set16(&p, 10, 3);
	assert_true(wire_iter_init(&it, p.b, p.len));
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(wire_iter_next(&it, &rr), 1);
	assert_int_equal(wire_iter_next(&it, &rr), -1);

	/* A record cut inside its fixed fields. */
	t_response(&p);
	assert_true(wire_iter_init(&it, p.b, 12 + 17 + 4 + 2 + 5));
	assert_int_equal(wire_iter_next(&it, &rr), -1);

	/* No header, or a cut question. */
	assert_false(wire_iter_init(&it, p.b, 11));
	assert_false(wire_iter_init(&it, p.b, 12 + 17 + 3));
}

/* ---- TTLs ---------------------------------------------------------- */

static void
age_ttls(void **state)
{
	struct t_pkt p;
	struct wire_rr rr;
	const uint32_t want[] = {200, 0, 3500, 7100, 0x8000u};

	(void)state;
	t_response(&p); /* TTLs 300, 60, 3600, 7200, OPT 0x8000 */
	assert_true(wire_age_ttls(p.b, p.len, 100));
	for (unsigned i = 0; i < 5; i++) {
		t_nth(p.b, p.len, i, &rr);
		assert_int_equal(rr.ttl, want[i]);
	}
	/* Aging past every TTL floors them at 0; OPT still untouched. */
	assert_true(wire_age_ttls(p.b, p.len, 100000));
	for (unsigned i = 0; i < 4; i++) {
		t_nth(p.b, p.len, i, &rr);
		assert_int_equal(rr.ttl, 0);
	}
	t_nth(p.b, p.len, 4, &rr);
	assert_int_equal(rr.ttl, 0x8000u);
	/* Malformed. */
	t_set16(&p, p.len - 2, 1);
	assert_false(wire_age_ttls(p.b, p.len, 1));
}

static void
min_ttl(void **state)
{
	struct t_pkt p;
	uint32_t ttl = 12345;

	(void)state;
	/* Answer 300, authority 600, additional 5 and OPT: 300. */
	t_hdr(&p, 1, WIRE_QR, 1, 1, 1, 2);
	t_question(&p, "example.com", WIRE_T_A);
	t_a(&p, 12, 300);
	t_a(&p, 12, 600);
	t_a(&p, 12, 5);
	t_opt(&p, 1232, 0);
	assert_true(wire_min_ttl(p.b, p.len, &ttl));
	assert_int_equal(ttl, 300);

	/* The authority section counts too. */
	t_hdr(&p, 1, WIRE_QR, 1, 1, 1, 0);
	t_question(&p, "example.com", WIRE_T_A);
	t_a(&p, 12, 300);
	t_a(&p, 12, 30);
	assert_true(wire_min_ttl(p.b, p.len, &ttl));
	assert_int_equal(ttl, 30);

	/* A TTL with the top bit set is 0. */
	t_hdr(&p, 1, WIRE_QR, 1, 2, 0, 0);
	t_question(&p, "example.com", WIRE_T_A);
	t_a(&p, 12, 300);
	t_a(&p, 12, 0x80000001u);
	assert_true(wire_min_ttl(p.b, p.len, &ttl));
	assert_int_equal(ttl, 0);

	/* Nothing in answer or authority. */
	t_hdr(&p, 1, WIRE_QR, 1, 0, 0, 1);
	t_question(&p, "example.com", WIRE_T_A);
	t_a(&p, 12, 5);
	assert_false(wire_min_ttl(p.b, p.len, &ttl));
}

/* NXDOMAIN for nope.example.com with an SOA for example.com, its names
 * compressed. */
static void
t_nxdomain(struct t_pkt *p, uint32_t ttl, uint32_t minimum)
{
	size_t r, mname;

	t_hdr(p, 1, WIRE_QR | WIRE_RA | WIRE_NXDOMAIN, 1, 0, 1, 0);
	t_question(p, "nope.example.com", WIRE_T_A); /* example.com at 17 */
	t_ptr(p, 17);
	r = t_rr(p, WIRE_T_SOA, ttl);
	mname = p->len;
	t_labels(p, "ns1");
	t_ptr(p, 17);
	t_labels(p, "hostmaster");
	t_ptr(p, mname + 4); /* example.com via the mname */
	t_u32(p, 2024010101u);
	t_u32(p, 7200);
	t_u32(p, 3600);
	t_u32(p, 1209600);
	t_u32(p, minimum);
	t_rr_end(p, r);
}

static void
negative_ttl(void **state)
{
	struct t_pkt p;
	uint32_t ttl = 0;

	(void)state;
	t_nxdomain(&p, 3600, 300);
	assert_true(wire_negative_ttl(p.b, p.len, &ttl));
	assert_int_equal(ttl, 300);
	t_check_msg(p.b, p.len, 0, 1, 0);

	t_nxdomain(&p, 60, 300);
	assert_true(wire_negative_ttl(p.b, p.len, &ttl));
	assert_int_equal(ttl, 60);

	/* No SOA: an NS in the authority section. */
	t_hdr(&p, 1, WIRE_QR, 1, 0, 1, 0);
	t_question(&p, "nope.example.com", WIRE_T_A);
	t_ptr(&p, 17);
	size_t r = t_rr(&p, WIRE_T_NS, 3600);
	t_labels(&p, "ns1");
	t_ptr(&p, 17);
	t_rr_end(&p, r);
	assert_false(wire_negative_ttl(p.b, p.len, &ttl));

	/* An SOA in the answer section is not a negative answer's. */
	t_nxdomain(&p, 3600, 300);
	t_set16(&p, 6, 1);
	t_set16(&p, 8, 0);
	assert_false(wire_negative_ttl(p.b, p.len, &ttl));
}

/* ---- wire_copy ----------------------------------------------------- */

/* An opaque record owned by the name at owner (a pointer). */
static void
t_opaque(struct t_pkt *p, size_t owner, unsigned type, const char *rdata)
{
	t_ptr(p, owner);
	size_t r = t_rr(p, type, 300);
	t_bytes(p, rdata, strlen(rdata));
	t_rr_end(p, r);
}

static const char *
t_type_name(unsigned type)
{
	switch (type) {
	case WIRE_T_A:
		return "A";
	case WIRE_T_NS:
		return "NS";
	case WIRE_T_CNAME:
		return "CNAME";
	case WIRE_T_SOA:
		return "SOA";
	case WIRE_T_MX:
		return "MX";
	case WIRE_T_TXT:
		return "TXT";
	case WIRE_T_DS:
		return "DS";
	case WIRE_T_RRSIG:
		return "RRSIG";
	case WIRE_T_NSEC:
		return "NSEC";
	case WIRE_T_NSEC3:
		return "NSEC3";
	case WIRE_T_OPT:
		return "OPT";
	default:
		return "?";
	}
}

/* Asserts a message's record types, sections split by '|': "A RRSIG|NS|OPT". */
static void
t_types(const uint8_t *m, size_t len, const char *want)
{
	struct wire_iter it;
	struct wire_rr rr;
	char got[256] = "";
	unsigned sec = 0;
	int r;

	assert_true(wire_iter_init(&it, m, len));
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		assert_true(strlen(got) + 10 < sizeof(got));
		if (sec == rr.section && got[0])
			strcat(got, " ");
		for (; sec < rr.section; sec++)
			strcat(got, "|");
		strcat(got, t_type_name(rr.type));
	}
	assert_int_equal(r, 0);
	assert_string_equal(got, want);
}

/* An RRSIG's fixed fields (RFC 4034 §3.1) up to the signer name. */
static void
t_rrsig_fixed(struct t_pkt *p, unsigned covered)
{
	t_u16(p, covered);
	t_u8(p, 13);
	t_u8(p, 3);
	t_u32(p, 300);
	t_u32(p, 1700000000u);
	t_u32(p, 1690000000u);
	t_u16(p, 4242);
}

/* www.example.com A, signed, with a signed referral-like authority. */
static void
t_signed_response(struct t_pkt *p)
{
	size_t r, ns;

	t_hdr(p, 0x5151, WIRE_QR | WIRE_RD | WIRE_RA, 1, 2, 5, 2);
	t_question(p, "www.example.com", WIRE_T_A);
	t_a(p, 12, 300);
	t_opaque(p, 12, WIRE_T_RRSIG, "sig-of-A");
	t_ptr(p, 16);
	r = t_rr(p, WIRE_T_NS, 3600);
	ns = p->len;
	t_labels(p, "ns1");
	t_ptr(p, 16);
	t_rr_end(p, r);
	t_opaque(p, 16, WIRE_T_DS, "ds-digest");
	t_opaque(p, 16, WIRE_T_RRSIG, "sig-of-DS");
	t_opaque(p, 16, WIRE_T_NSEC, "nsec-bits");
	t_opaque(p, 16, WIRE_T_NSEC3, "nsec3-bits");
	t_a(p, ns, 3600);
	t_opt(p, 1232, 0x8000u);
}

static void
copy_drop_dnssec(void **state)
{
	struct t_pkt p;
	uint8_t out[1024];
	size_t n;

	(void)state;
	t_signed_response(&p);
	t_types(p.b, p.len, "A RRSIG|NS DS RRSIG NSEC NSEC3|A OPT");

	n = wire_copy(p.b, p.len, 0, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "A RRSIG|NS DS RRSIG NSEC NSEC3|A OPT");
	t_check_msg(out, n, 2, 5, 2);

	n = wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "A|NS|A OPT");
	t_check_msg(out, n, 1, 1, 2);
	/* Header (but counts) and question are kept. */
	assert_memory_equal(out, p.b, 6);
	assert_memory_equal(out + 12, p.b + 12, 17 + 4);

	n = wire_copy(p.b, p.len, WIRE_DROP_OPT, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "A RRSIG|NS DS RRSIG NSEC NSEC3|A");
	t_check_msg(out, n, 2, 5, 1);

	n = wire_copy(p.b, p.len, WIRE_DROP_OPT | WIRE_DROP_DNSSEC, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "A|NS|A");
	t_check_msg(out, n, 1, 1, 1);
}

static void
copy_keeps_asked_dnssec(void **state)
{
	struct t_pkt p;
	uint8_t out[1024];
	size_t n;

	(void)state;
	/* example.com DS: the DS answer stays, its RRSIG goes. */
	t_hdr(&p, 1, WIRE_QR, 1, 2, 0, 0);
	t_question(&p, "example.com", WIRE_T_DS);
	t_opaque(&p, 12, WIRE_T_DS, "ds-digest");
	t_opaque(&p, 12, WIRE_T_RRSIG, "sig-of-DS");
	n = wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "DS");
	t_check_msg(out, n, 1, 0, 0);

	/* example.com RRSIG: the RRSIG answers stay. */
	t_hdr(&p, 1, WIRE_QR, 1, 2, 0, 0);
	t_question(&p, "example.com", WIRE_T_RRSIG);
	t_opaque(&p, 12, WIRE_T_RRSIG, "sig-of-SOA");
	t_opaque(&p, 12, WIRE_T_RRSIG, "sig-of-NS");
	n = wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "RRSIG RRSIG");
	t_check_msg(out, n, 2, 0, 0);

	/* example.com NSEC: the NSEC answer stays, the RRSIG and the NSEC in
	 * the authority section go. */
	t_hdr(&p, 1, WIRE_QR, 1, 2, 1, 0);
	t_question(&p, "example.com", WIRE_T_NSEC);
	t_opaque(&p, 12, WIRE_T_NSEC, "nsec-bits");
	t_opaque(&p, 12, WIRE_T_RRSIG, "sig-of-NSEC");
	t_opaque(&p, 12, WIRE_T_NSEC, "other-nsec");
	n = wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "NSEC");
	t_check_msg(out, n, 1, 0, 0);

	/* example.com DS: a DS in the authority section still goes. */
	t_hdr(&p, 1, WIRE_QR, 1, 1, 1, 0);
	t_question(&p, "example.com", WIRE_T_DS);
	t_opaque(&p, 12, WIRE_T_DS, "ds-digest");
	t_opaque(&p, 12, WIRE_T_DS, "other-ds");
	n = wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "DS");
	t_check_msg(out, n, 1, 0, 0);
}

/* Later names point into an RRSIG (its owner, and the signer name in its
 * rdata) that the copy leaves out. */
static void
copy_pointers_into_dropped(void **state)
{
	struct t_pkt p;
	uint8_t out[1024];
	struct wire_rr rr;
	size_t n, r, alias, signer, off;

	(void)state;
	t_hdr(&p, 1, WIRE_QR | WIRE_RD | WIRE_RA, 1, 3, 0, 0);
	t_question(&p, "www.example.org", WIRE_T_A);
	alias = p.len;
	t_name(&p, "alias.example.net");
	r = t_rr(&p, WIRE_T_RRSIG, 300);
	t_rrsig_fixed(&p, WIRE_T_A);
	signer = p.len;
	t_name(&p, "signer.example.net");
	t_bytes(&p, "SIGNATURE", 9);
	t_rr_end(&p, r);
	t_a(&p, alias, 300);
	t_labels(&p, "t");
	t_ptr(&p, alias + 6); /* example.net */
	r = t_rr(&p, WIRE_T_CNAME, 300);
	t_labels(&p, "target");
	t_ptr(&p, signer);
	t_rr_end(&p, r);
	t_types(p.b, p.len, "RRSIG A CNAME");
	t_check_msg(p.b, p.len, 3, 0, 0);

	n = wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_types(out, n, "A CNAME");
	t_check_msg(out, n, 2, 0, 0);
	off = 12;
	t_expect_name(out, n, &off, "www.example.org");
	t_nth(out, n, 0, &rr);
	off = rr.name_off;
	t_expect_name(out, n, &off, "alias.example.net");
	assert_int_equal(wire_get32(out + rr.rdata_off), 0xc0000201u);
	t_nth(out, n, 1, &rr);
	off = rr.name_off;
	t_expect_name(out, n, &off, "t.example.net");
	off = rr.rdata_off;
	t_expect_name(out, n, &off, "target.signer.example.net");
	assert_int_equal(off, rr.end);

	/* Kept, the RRSIG's rdata (signer name included) is copied as is. */
	n = wire_copy(p.b, p.len, 0, out, sizeof(out));
	assert_int_not_equal(n, 0);
	t_check_msg(out, n, 3, 0, 0);
	t_nth(out, n, 0, &rr);
	off = rr.name_off;
	t_expect_name(out, n, &off, "alias.example.net");
	assert_int_equal(rr.rdlen, 18 + 20 + 9);
	assert_memory_equal(out + rr.rdata_off, p.b + alias + 19 + 10, rr.rdlen);
	t_nth(out, n, 2, &rr);
	off = rr.rdata_off;
	t_expect_name(out, n, &off, "target.signer.example.net");
}

/* example.com MX with every name written out in full. */
static void
t_uncompressed_mx(struct t_pkt *p)
{
	size_t r;

	t_hdr(p, 1, WIRE_QR | WIRE_AA, 1, 3, 1, 0);
	t_question(p, "example.com", WIRE_T_MX);
	t_name(p, "example.com");
	r = t_rr(p, WIRE_T_MX, 300);
	t_u16(p, 10);
	t_name(p, "mx1.example.com");
	t_rr_end(p, r);
	t_name(p, "example.com");
	r = t_rr(p, WIRE_T_MX, 300);
	t_u16(p, 20);
	t_name(p, "mx2.example.com");
	t_rr_end(p, r);
	t_name(p, "alias.example.com");
	r = t_rr(p, WIRE_T_CNAME, 300);
	t_name(p, "mx1.example.com");
	t_rr_end(p, r);
	t_name(p, "example.com");
	r = t_rr(p, WIRE_T_SOA, 300);
	t_name(p, "ns1.example.com");
	t_name(p, "hostmaster.example.com");
	t_u32(p, 1);
	t_u32(p, 2);
	t_u32(p, 3);
	t_u32(p, 4);
	t_u32(p, 5);
	t_rr_end(p, r);
}

static void
copy_rdata_names(void **state)
{
	struct t_pkt p;
	uint8_t out[1024];
	struct wire_rr rr, in_rr;
	size_t n, off;

	(void)state;
	t_uncompressed_mx(&p);
	t_check_msg(p.b, p.len, 3, 1, 0);
	n = wire_copy(p.b, p.len, 0, out, sizeof(out));
	assert_int_not_equal(n, 0);
	assert_true(n < p.len); /* names were compressed */
	t_types(out, n, "MX MX CNAME|SOA");
	t_check_msg(out, n, 3, 1, 0);

	t_nth(out, n, 0, &rr);
	off = rr.name_off;
	t_expect_name(out, n, &off, "example.com");
	assert_int_equal(off, rr.name_off + 2); /* a pointer to the question */
	assert_int_equal(wire_get16(out + rr.rdata_off), 10);
	off = rr.rdata_off + 2;
	t_expect_name(out, n, &off, "mx1.example.com");
	assert_int_equal(off, rr.end);
	assert_int_equal(rr.rdlen, 2 + 4 + 2); /* "mx1" + pointer */

	t_nth(out, n, 1, &rr);
	assert_int_equal(wire_get16(out + rr.rdata_off), 20);
	off = rr.rdata_off + 2;
	t_expect_name(out, n, &off, "mx2.example.com");
	assert_int_equal(off, rr.end);

	t_nth(out, n, 2, &rr);
	off = rr.name_off;
	t_expect_name(out, n, &off, "alias.example.com");
	off = rr.rdata_off;
	t_expect_name(out, n, &off, "mx1.example.com");
	assert_int_equal(rr.rdlen, 2); /* all of it points at the MX's name */

	t_nth(out, n, 3, &rr);
	assert_int_equal(rr.section, WIRE_AUTHORITY);
	off = rr.rdata_off;
	t_expect_name(out, n, &off, "ns1.example.com");
	t_expect_name(out, n, &off, "hostmaster.example.com");
	t_nth(p.b, p.len, 3, &in_rr);
	assert_memory_equal(out + off, p.b + in_rr.end - 20, 20);
	assert_int_equal(off + 20, rr.end);
}

/* Past 16 KiB a name cannot be a compression target any more, and the
 * writer remembers a bounded number of targets: the copy must still be
 * valid, with every name as it was. */
static void
copy_large_message(void **state)
{
	enum { N = 400 };
	static struct t_pkt p;
	static uint8_t out[WIRE_MAX_MSG];
	uint8_t txt[60];
	char name[32];
	struct wire_iter it;
	struct wire_rr rr;
	size_t n, r, off;

	(void)state;
	memset(txt, 'x', sizeof(txt));
	t_hdr(&p, 1, WIRE_QR, 1, N, 0, 0);
	t_question(&p, "example.com", WIRE_T_TXT);
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		t_labels(&p, name);
		t_ptr(&p, 12);
		r = t_rr(&p, WIRE_T_TXT, 300);
		t_u8(&p, sizeof(txt));
		t_bytes(&p, txt, sizeof(txt));
		t_rr_end(&p, r);
	}
	assert_true(p.len > 0x4000 + 1000);
	n = wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, out, sizeof(out));
	assert_int_not_equal(n, 0);
	assert_true(n <= p.len);
	t_check_msg(out, n, N, 0, 0);
	assert_true(wire_iter_init(&it, out, n));
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(wire_iter_next(&it, &rr), 1);
		snprintf(name, sizeof(name), "r%u.example.com", i);
		off = rr.name_off;
		t_expect_name(out, n, &off, name);
		assert_int_equal(rr.rdlen, 1 + sizeof(txt));
	}
}

static void
copy_small_buffer(void **state)
{
	struct t_pkt p;
	uint8_t big[1024];
	size_t n;
	uint8_t *exact;

	(void)state;
	t_signed_response(&p);
	n = wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, big, sizeof(big));
	assert_true(n > 12);
	/* Exactly sized heap buffers so ASan sees any write past cap. */
	exact = test_malloc(n);
	assert_int_equal(wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, exact, n), n);
	assert_memory_equal(exact, big, n);
	test_free(exact);
	exact = test_malloc(n - 1);
	assert_int_equal(wire_copy(p.b, p.len, WIRE_DROP_DNSSEC, exact, n - 1), 0);
	test_free(exact);
	assert_int_equal(wire_copy(p.b, p.len, 0, big, 12), 0);
	assert_int_equal(wire_copy(p.b, p.len, 0, big, 0), 0);
}

static void
copy_malformed(void **state)
{
	struct t_pkt p;
	uint8_t out[1024];

	(void)state;
	/* rdlength past the end. */
	t_signed_response(&p);
	t_set16(&p, p.len - 2, 3);
	assert_int_equal(wire_copy(p.b, p.len, 0, out, sizeof(out)), 0);
	/* An SOA with a byte too many after its 20 fixed bytes. */
	t_uncompressed_mx(&p);
	t_u8(&p, 0);
	t_set16(&p, p.len - 2 - 21 - 24 - 17, 24 + 17 + 21); /* rdlength, one more */
	assert_int_equal(wire_copy(p.b, p.len, 0, out, sizeof(out)), 0);
	/* A cut question. */
	t_signed_response(&p);
	assert_int_equal(wire_copy(p.b, 20, 0, out, sizeof(out)), 0);
}

/* ---- wire_truncate ------------------------------------------------- */

/* example.com TXT: nans answers of txtlen bytes, an NS, nadd glue A.
 * Returns where the additional section starts. */
static size_t
t_big(struct t_pkt *p, unsigned nans, size_t txtlen, unsigned nadd)
{
	uint8_t txt[256];
	size_t r, ns, auth_end;

	memset(txt, 't', sizeof(txt));
	t_hdr(p, 0x7777, WIRE_QR | WIRE_RD | WIRE_RA, 1, nans, 1, nadd);
	t_question(p, "example.com", WIRE_T_TXT);
	for (unsigned i = 0; i < nans; i++) {
		t_ptr(p, 12);
		r = t_rr(p, WIRE_T_TXT, 300);
		t_u8(p, txtlen);
		t_bytes(p, txt, txtlen);
		t_rr_end(p, r);
	}
	t_ptr(p, 12);
	r = t_rr(p, WIRE_T_NS, 300);
	ns = p->len;
	t_labels(p, "ns1");
	t_ptr(p, 12);
	t_rr_end(p, r);
	auth_end = p->len;
	for (unsigned i = 0; i < nadd; i++)
		t_a(p, ns, 300);
	return auth_end;
}

static void
truncate_drops_additional(void **state)
{
	struct t_pkt p, orig;
	size_t auth_end, n;

	(void)state;
	auth_end = t_big(&p, 2, 50, 40);
	assert_true(p.len > 512 && auth_end < 512);
	orig = p;
	n = wire_truncate(p.b, p.len, 512);
	assert_int_equal(n, auth_end);
	assert_int_equal(wire_get16(p.b + 2) & WIRE_TC, 0);
	t_check_msg(p.b, n, 2, 1, 0);
	assert_memory_equal(p.b, orig.b, 10);
	assert_memory_equal(p.b + 12, orig.b + 12, n - 12);

	/* The limit exactly at the end of the authority section. */
	p = orig;
	assert_int_equal(wire_truncate(p.b, p.len, auth_end), auth_end);
	assert_int_equal(wire_get16(p.b + 2) & WIRE_TC, 0);
	t_check_msg(p.b, auth_end, 2, 1, 0);
}

static void
truncate_sets_tc(void **state)
{
	struct t_pkt p, orig;
	size_t n, qend = 12 + 13 + 4;

	(void)state;
	t_big(&p, 5, 200, 3);
	orig = p;
	n = wire_truncate(p.b, p.len, 512);
	assert_int_equal(n, qend);
	assert_int_equal(wire_get16(p.b + 2), WIRE_QR | WIRE_RD | WIRE_RA | WIRE_TC);
	assert_int_equal(wire_get16(p.b), 0x7777);
	assert_int_equal(wire_get16(p.b + 4), 1);
	t_check_msg(p.b, n, 0, 0, 0);
	assert_memory_equal(p.b + 12, orig.b + 12, qend - 12);

	/* One byte short of the authority section's end: TC too. */
	size_t auth_end = t_big(&p, 2, 50, 40);
	assert_int_equal(wire_truncate(p.b, p.len, auth_end - 1), qend);
	assert_int_not_equal(wire_get16(p.b + 2) & WIRE_TC, 0);
	t_check_msg(p.b, qend, 0, 0, 0);
}

static void
truncate_small_unchanged(void **state)
{
	struct t_pkt p, orig;

	(void)state;
	t_response(&p);
	orig = p;
	assert_int_equal(wire_truncate(p.b, p.len, 512), p.len);
	assert_memory_equal(p.b, orig.b, p.len);
	assert_int_equal(wire_truncate(p.b, p.len, p.len), p.len);
	assert_memory_equal(p.b, orig.b, p.len);
}

/* ---- OPT and error replies ----------------------------------------- */

static void
add_opt(void **state)
{
	struct t_pkt p;
	uint8_t *buf;
	size_t n;
	const uint8_t want[] = {0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 0};

	(void)state;
	t_hdr(&p, 5, WIRE_QR, 0, 0, 0, 0);
	n = wire_add_opt(p.b, p.len, sizeof(p.b), 1232, true, 1);
	assert_int_equal(n, 12 + WIRE_OPT_LEN);
	assert_memory_equal(p.b + 12, want, sizeof(want));
	t_check_msg(p.b, n, 0, 0, 1);

	/* Appended after existing additional records. */
	t_response(&p);
	n = wire_add_opt(p.b, p.len, sizeof(p.b), 512, false, 0);
	assert_int_equal(n, p.len + WIRE_OPT_LEN);
	assert_int_equal(wire_get16(p.b + 10), 3);
	assert_int_equal(wire_get32(p.b + n - 6), 0);
	assert_int_equal(wire_get16(p.b + n - 8), 512);

	/* No room: nothing changes. */
	buf = test_malloc(12 + WIRE_OPT_LEN - 1);
	memset(buf, 0, 12);
	assert_int_equal(wire_add_opt(buf, 12, 12 + WIRE_OPT_LEN - 1, 1232, false, 0), 0);
	assert_int_equal(wire_get16(buf + 10), 0);
	assert_int_equal(wire_add_opt(buf, 11, 12 + WIRE_OPT_LEN - 1, 1232, false, 0), 0);
	test_free(buf);
}

static void
error_reply_echo(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	uint8_t out[512];
	size_t n;

	(void)state;
	t_query(&p, 0xabcd, WIRE_RD | WIRE_CD, "MX1.Example.COM", WIRE_T_MX);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	n = wire_error_reply(&q, WIRE_SERVFAIL, out, sizeof(out));
	assert_int_equal(n, p.len);
	assert_int_equal(wire_get16(out), 0xabcd);
	assert_int_equal(wire_get16(out + 2),
			 WIRE_QR | WIRE_RD | WIRE_CD | WIRE_RA | WIRE_SERVFAIL);
	assert_int_equal(wire_get16(out + 4), 1);
	t_check_msg(out, n, 0, 0, 0);
	assert_memory_equal(out + 12, p.b + 12, p.len - 12);

	/* Neither RD nor CD asked: neither echoed. */
	t_query(&p, 1, 0, "example.com", WIRE_T_A);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	n = wire_error_reply(&q, WIRE_REFUSED, out, sizeof(out));
	assert_int_equal(wire_get16(out + 2), WIRE_QR | WIRE_RA | WIRE_REFUSED);

	/* The opcode is echoed with NOTIMP. */
	t_query(&p, 2, (2u << 11) | WIRE_RD, "example.com", WIRE_T_A);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_OPCODE);
	n = wire_error_reply(&q, WIRE_NOTIMP, out, sizeof(out));
	assert_int_equal(n, p.len);
	assert_int_equal(WIRE_OPCODE(wire_get16(out + 2)), 2);
	assert_int_equal(WIRE_RCODE(wire_get16(out + 2)), WIRE_NOTIMP);
	assert_memory_equal(out + 12, p.b + 12, p.len - 12);
}

static void
error_reply_edns(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	struct wire_rr rr;
	uint8_t out[512];
	size_t n, qlen;

	(void)state;
	t_query(&p, 3, WIRE_RD, "example.com", WIRE_T_A);
	qlen = p.len;
	t_opt(&p, 4096, 0x8000u);
	t_bump(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	n = wire_error_reply(&q, WIRE_SERVFAIL, out, sizeof(out));
	assert_int_equal(n, qlen + WIRE_OPT_LEN);
	assert_int_equal(WIRE_RCODE(wire_get16(out + 2)), WIRE_SERVFAIL);
	t_check_msg(out, n, 0, 0, 1);
	t_nth(out, n, 0, &rr);
	assert_int_equal(rr.type, WIRE_T_OPT);
	assert_true(rr.rclass >= 512);
	assert_int_equal(rr.ttl, 0x8000u); /* ext rcode 0, version 0, DO echoed */

	/* BADVERS: 16 = ext rcode 1 in the OPT, 0 in the header. */
	t_query(&p, 4, WIRE_RD, "example.com", WIRE_T_A);
	t_opt(&p, 4096, 0x00010000u);
	t_bump(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_VERSION);
	n = wire_error_reply(&q, WIRE_BADVERS, out, sizeof(out));
	assert_int_equal(n, qlen + WIRE_OPT_LEN);
	assert_int_equal(wire_get16(out + 2), WIRE_QR | WIRE_RD | WIRE_RA); /* rcode 0 */
	t_check_msg(out, n, 0, 0, 1);
	t_nth(out, n, 0, &rr);
	assert_int_equal(rr.type, WIRE_T_OPT);
	assert_int_equal(rr.ttl >> 24, 1);
	assert_int_equal((rr.ttl >> 16) & 0xffu, 0);
}

static void
error_reply_no_question(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	uint8_t out[512];
	size_t n;

	(void)state;
	t_hdr(&p, 0x0102, WIRE_RD, 0, 0, 0, 0);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	n = wire_error_reply(&q, WIRE_FORMERR, out, sizeof(out));
	assert_int_equal(n, 12);
	assert_int_equal(wire_get16(out), 0x0102);
	assert_int_equal(wire_get16(out + 2), WIRE_QR | WIRE_RD | WIRE_RA | WIRE_FORMERR);
	t_check_msg(out, n, 0, 0, 0);
	assert_int_equal(wire_get16(out + 4), 0);

	memset(&q, 0, sizeof(q));
	q.id = 9;
	q.edns = true;
	n = wire_error_reply(&q, WIRE_FORMERR, out, sizeof(out));
	assert_int_equal(n, 12 + WIRE_OPT_LEN);
	assert_int_equal(wire_get16(out + 4), 0);
	t_check_msg(out, n, 0, 0, 1);
}

/* RFC 7873 §5.4: no question, an OPT with a client cookie (asking for a
 * server cookie). mxcached has no cookies: FORMERR, as Unbound answers,
 * with an OPT since the query had one; the DO bit is echoed. */
static void
parse_query_cookie_only(void **state)
{
	static const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	struct t_pkt p;
	struct wire_query q;
	uint8_t out[512];

	(void)state;
	t_hdr(&p, 0x0203, WIRE_RD, 0, 0, 0, 1);
	t_u8(&p, 0);
	t_u16(&p, WIRE_T_OPT);
	t_u16(&p, 4096);
	t_u32(&p, WIRE_EDNS_DO);
	t_u16(&p, sizeof(cookie));
	t_bytes(&p, cookie, sizeof(cookie));
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	assert_true(q.edns && q.dnssec_ok);
	assert_int_equal(q.udp_size, 4096);
	size_t n = wire_error_reply(&q, WIRE_FORMERR, out, sizeof(out));
	assert_int_equal(n, 12 + WIRE_OPT_LEN);
	assert_int_equal(wire_get16(out + 4), 0);
	assert_int_equal(WIRE_RCODE(wire_get16(out + 2)), WIRE_FORMERR);
	t_check_msg(out, n, 0, 0, 1);
	assert_int_equal(wire_get32(out + 12 + 5), WIRE_EDNS_DO);

	/* A question of type OPT: FORMERR, with the query's OPT found. */
	t_query(&p, 5, WIRE_RD, "example.com", WIRE_T_OPT);
	t_opt(&p, 1232, 0);
	t_bump(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	assert_true(q.edns);
	assert_int_equal(q.qname_len, 13);
	/* A broken OPT: FORMERR, and no OPT to echo. */
	t_hdr(&p, 6, WIRE_RD, 0, 0, 0, 1);
	t_u8(&p, 0);
	t_u16(&p, WIRE_T_OPT);
	t_u16(&p, 1232);
	t_u32(&p, 0);
	t_u16(&p, 3);
	t_bytes(&p, "\0\12\0", 3);
	assert_int_equal(t_parse(&p, &q), WIRE_BAD_FORMAT);
	assert_false(q.edns);
}

static void
error_reply_small_cap(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	uint8_t *buf;
	size_t len;

	(void)state;
	t_query(&p, 3, WIRE_RD, "example.com", WIRE_T_A);
	len = p.len;
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	buf = test_malloc(len);
	assert_int_equal(wire_error_reply(&q, WIRE_SERVFAIL, buf, len - 1), 0);
	assert_int_equal(wire_error_reply(&q, WIRE_SERVFAIL, buf, len), len);
	test_free(buf);

	t_opt(&p, 1232, 0);
	t_bump(&p, 10);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	buf = test_malloc(len + WIRE_OPT_LEN);
	assert_int_equal(wire_error_reply(&q, WIRE_SERVFAIL, buf, len + WIRE_OPT_LEN - 1), 0);
	assert_int_equal(wire_error_reply(&q, WIRE_SERVFAIL, buf, len + WIRE_OPT_LEN),
			 len + WIRE_OPT_LEN);
	test_free(buf);
}

/* ---- wire_answer_owner --------------------------------------------- */

/* Runs f on an exactly sized heap copy of p, so ASan sees any read past
 * the end. */
static size_t
t_owner_of(const struct t_pkt *p, uint8_t out[WIRE_MAX_NAME])
{
	uint8_t *exact = malloc(p->len ? p->len : 1);
	size_t n;

	assert_non_null(exact);
	memcpy(exact, p->b, p->len);
	n = wire_answer_owner(exact, p->len, out);
	free(exact);
	return n;
}

/* Asserts the message's final owner is dotted. */
static void
t_expect_owner(const struct t_pkt *p, const char *dotted)
{
	uint8_t got[WIRE_MAX_NAME], want[512];
	size_t n = t_enc(dotted, want);

	assert_int_equal(t_owner_of(p, got), n);
	assert_memory_equal(got, want, n);
}

/* A CNAME owned by the name at owner (a pointer) to target, written out.
 * Returns where the target name starts. */
static size_t
t_cname(struct t_pkt *p, size_t owner, const char *target)
{
	size_t r, at;

	t_ptr(p, owner);
	r = t_rr(p, WIRE_T_CNAME, 300);
	at = p->len;
	t_name(p, target);
	t_rr_end(p, r);
	return at;
}

static void
answer_owner_no_cname(void **state)
{
	struct t_pkt p;

	(void)state;
	/* The question name, as the question spells it. */
	t_hdr(&p, 1, WIRE_QR, 1, 1, 0, 0);
	t_question(&p, "Www.Example.COM", WIRE_T_A);
	t_a(&p, 12, 60);
	t_expect_owner(&p, "Www.Example.COM");
	/* No answer at all (NODATA). */
	t_hdr(&p, 1, WIRE_QR, 1, 0, 0, 0);
	t_question(&p, "example.com", WIRE_T_MX);
	t_expect_owner(&p, "example.com");
	/* The root. */
	t_hdr(&p, 1, WIRE_QR, 1, 0, 0, 0);
	t_question(&p, ".", WIRE_T_NS);
	t_expect_owner(&p, ".");
}

static void
answer_owner_one_cname(void **state)
{
	struct t_pkt p;
	size_t target;

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 2, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	target = t_cname(&p, 12, "web.example.com");
	t_a(&p, target, 60);
	t_expect_owner(&p, "web.example.com");
	/* The same without the address: where the chain ends, answered or not. */
	t_hdr(&p, 1, WIRE_QR, 1, 1, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	t_cname(&p, 12, "web.example.com");
	t_expect_owner(&p, "web.example.com");
	/* The target compressed: a label and a pointer into the question. */
	t_hdr(&p, 1, WIRE_QR, 1, 1, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A); /* example.com at 16 */
	t_ptr(&p, 12);
	size_t r = t_rr(&p, WIRE_T_CNAME, 300);
	t_labels(&p, "alias");
	t_ptr(&p, 16);
	t_rr_end(&p, r);
	t_expect_owner(&p, "alias.example.com");
}

static void
answer_owner_chain(void **state)
{
	struct t_pkt p;
	size_t a, b, r;

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 3, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	a = t_cname(&p, 12, "a.example.net");
	b = t_cname(&p, a, "b.example.org");
	t_a(&p, b, 60);
	t_expect_owner(&p, "b.example.org");

	/* Owners matched without regard to case, and written out in full. */
	t_hdr(&p, 1, WIRE_QR, 1, 2, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	t_cname(&p, 12, "a.example.net");
	t_name(&p, "A.EXAMPLE.NET");
	r = t_rr(&p, WIRE_T_CNAME, 300);
	t_name(&p, "c.example.org");
	t_rr_end(&p, r);
	t_expect_owner(&p, "c.example.org");
}

static void
answer_owner_other_cname_ignored(void **state)
{
	struct t_pkt p;
	size_t r;

	(void)state;
	/* A CNAME for another name, then the qname's own A. */
	t_hdr(&p, 1, WIRE_QR, 1, 2, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A); /* example.com at 16 */
	t_labels(&p, "other");
	t_ptr(&p, 16);
	r = t_rr(&p, WIRE_T_CNAME, 300);
	t_name(&p, "x.example.com");
	t_rr_end(&p, r);
	t_a(&p, 12, 60);
	t_expect_owner(&p, "www.example.com");

	/* A CNAME for the qname in the authority section is not followed. */
	t_hdr(&p, 1, WIRE_QR, 1, 0, 1, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	t_cname(&p, 12, "web.example.com");
	t_expect_owner(&p, "www.example.com");

	/* Nor one for a parent or a child of the qname. */
	t_hdr(&p, 1, WIRE_QR, 1, 2, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	t_cname(&p, 16, "parent.example.net");
	t_labels(&p, "sub");
	t_ptr(&p, 12);
	r = t_rr(&p, WIRE_T_CNAME, 300);
	t_name(&p, "child.example.net");
	t_rr_end(&p, r);
	t_expect_owner(&p, "www.example.com");
}

static void
answer_owner_malformed(void **state)
{
	struct t_pkt p;
	uint8_t out[WIRE_MAX_NAME];

	(void)state;
	/* No question, or two. */
	t_hdr(&p, 1, WIRE_QR, 0, 0, 0, 0);
	assert_int_equal(t_owner_of(&p, out), 0);
	t_hdr(&p, 1, WIRE_QR, 2, 0, 0, 0);
	t_question(&p, "a.example", WIRE_T_A);
	t_question(&p, "b.example", WIRE_T_A);
	assert_int_equal(t_owner_of(&p, out), 0);
	/* The question cut. */
	t_hdr(&p, 1, WIRE_QR, 1, 0, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	p.len -= 3;
	assert_int_equal(t_owner_of(&p, out), 0);
	/* Only a header. */
	t_hdr(&p, 1, WIRE_QR, 1, 0, 0, 0);
	assert_int_equal(t_owner_of(&p, out), 0);
	/* A CNAME for the qname whose target runs out of its rdata. */
	t_hdr(&p, 1, WIRE_QR, 1, 1, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	t_cname(&p, 12, "web.example.com");
	t_set16(&p, p.len - 17 - 2, 5); /* rdlength 5 of 17 */
	assert_int_equal(t_owner_of(&p, out), 0);
}

/* The header promises an answer the message does not have: malformed. */
static void
answer_owner_cut_answer(void **state)
{
	struct t_pkt p;
	uint8_t out[WIRE_MAX_NAME];
	size_t target;

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 2, 0, 0);
	t_question(&p, "www.example.com", WIRE_T_A);
	target = t_cname(&p, 12, "web.example.com");
	t_a(&p, target, 60);
	p.len -= 2; /* the A's rdata cut */
	assert_int_equal(t_owner_of(&p, out), 0);
}

/* Messages shorter than a header must not be read past their end. */
static void
answer_owner_short(void **state)
{
	struct t_pkt p;
	uint8_t out[WIRE_MAX_NAME];

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 0, 0, 0);
	for (size_t len = 0; len < WIRE_HEADER_LEN; len++) {
		p.len = len;
		assert_int_equal(t_owner_of(&p, out), 0);
	}
}

/* ---- wire_mx_list -------------------------------------------------- */

/* An MX owned by the name at owner (a pointer), exchange written out.
 * Returns where the exchange name starts. */
static size_t
t_mx(struct t_pkt *p, size_t owner, unsigned pref, const char *exchange)
{
	size_t r, at;

	t_ptr(p, owner);
	r = t_rr(p, WIRE_T_MX, 300);
	t_u16(p, pref);
	at = p->len;
	t_name(p, exchange);
	t_rr_end(p, r);
	return at;
}

/* Asserts one wire_mx entry, and that name_off leads to the same name. */
static void
t_expect_mx(const struct t_pkt *p, const struct wire_mx *mx, unsigned pref, const char *dotted)
{
	uint8_t want[512], got[WIRE_MAX_NAME];
	size_t n = t_enc(dotted, want), off = mx->name_off;

	assert_int_equal(mx->preference, pref);
	assert_int_equal(mx->name_len, n);
	assert_memory_equal(mx->name, want, n);
	assert_int_equal(wire_name_read(p->b, p->len, &off, got), n);
	assert_memory_equal(got, want, n);
}

/* Runs wire_mx_list on an exact copy of p for owner. */
static size_t
t_mx_list(const struct t_pkt *p, const char *owner, struct wire_mx *out, size_t max)
{
	uint8_t name[512];
	size_t n = t_enc(owner, name), total;
	uint8_t *exact = malloc(p->len);

	assert_non_null(exact);
	memcpy(exact, p->b, p->len);
	total = wire_mx_list(exact, p->len, name, n, out, max);
	free(exact);
	return total;
}

/* example.com MX: 30 mx3, 10 mx1, 20 mx2 (compressed), 10 mx1b. */
static void
t_mx_set(struct t_pkt *p)
{
	size_t r;

	t_hdr(p, 1, WIRE_QR | WIRE_RA, 1, 4, 0, 0);
	t_question(p, "example.com", WIRE_T_MX);
	t_mx(p, 12, 30, "mx3.example.com");
	t_mx(p, 12, 10, "mx1.example.com");
	t_ptr(p, 12);
	r = t_rr(p, WIRE_T_MX, 300);
	t_u16(p, 20);
	t_labels(p, "mx2");
	t_ptr(p, 12);
	t_rr_end(p, r);
	t_mx(p, 12, 10, "mx1b.example.net");
}

static void
mx_list_sorted(void **state)
{
	struct t_pkt p;
	struct wire_mx mx[8];

	(void)state;
	t_mx_set(&p);
	t_check_msg(p.b, p.len, 4, 0, 0);
	assert_int_equal(t_mx_list(&p, "example.com", mx, 8), 4);
	t_expect_mx(&p, &mx[0], 10, "mx1.example.com");
	t_expect_mx(&p, &mx[1], 10, "mx1b.example.net"); /* equal: in message order */
	t_expect_mx(&p, &mx[2], 20, "mx2.example.com");
	t_expect_mx(&p, &mx[3], 30, "mx3.example.com");
	/* max exactly the count. */
	assert_int_equal(t_mx_list(&p, "example.com", mx, 4), 4);
	t_expect_mx(&p, &mx[3], 30, "mx3.example.com");
}

static void
mx_list_max(void **state)
{
	struct t_pkt p;
	struct wire_mx mx[8], guard;
	const unsigned down[] = {50, 40, 30, 20, 10};
	const char *names[] = {"a.example", "b.example", "c.example", "d.example", "e.example"};

	(void)state;
	t_mx_set(&p);
	memset(mx, 0xa5, sizeof(mx));
	memcpy(&guard, &mx[2], sizeof(guard));
	assert_int_equal(t_mx_list(&p, "example.com", mx, 2), 4);
	t_expect_mx(&p, &mx[0], 10, "mx1.example.com");
	t_expect_mx(&p, &mx[1], 10, "mx1b.example.net");
	assert_memory_equal(&mx[2], &guard, sizeof(guard)); /* nothing past max */
	assert_int_equal(t_mx_list(&p, "example.com", mx, 1), 4);
	t_expect_mx(&p, &mx[0], 10, "mx1.example.com");
	assert_int_equal(t_mx_list(&p, "example.com", NULL, 0), 4);

	/* The most preferred last in the message. */
	t_hdr(&p, 1, WIRE_QR, 1, 5, 0, 0);
	t_question(&p, "example.com", WIRE_T_MX);
	for (int i = 0; i < 5; i++)
		t_mx(&p, 12, down[i], names[i]);
	assert_int_equal(t_mx_list(&p, "example.com", mx, 2), 5);
	t_expect_mx(&p, &mx[0], 10, "e.example");
	t_expect_mx(&p, &mx[1], 20, "d.example");

	/* Ties at the cut keep the earlier records. */
	t_hdr(&p, 1, WIRE_QR, 1, 5, 0, 0);
	t_question(&p, "example.com", WIRE_T_MX);
	t_mx(&p, 12, 20, "a.example");
	t_mx(&p, 12, 10, "b.example");
	t_mx(&p, 12, 10, "c.example");
	t_mx(&p, 12, 10, "d.example");
	t_mx(&p, 12, 5, "e.example");
	assert_int_equal(t_mx_list(&p, "example.com", mx, 3), 5);
	t_expect_mx(&p, &mx[0], 5, "e.example");
	t_expect_mx(&p, &mx[1], 10, "b.example");
	t_expect_mx(&p, &mx[2], 10, "c.example");
}

static void
mx_list_owner_filter(void **state)
{
	struct t_pkt p;
	struct wire_mx mx[8];
	size_t r;

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 5, 1, 1);
	t_question(&p, "example.com", WIRE_T_MX); /* "com" at 20 */
	t_mx(&p, 12, 10, "mx1.example.com");
	t_labels(&p, "other");
	t_ptr(&p, 12);
	r = t_rr(&p, WIRE_T_MX, 300);
	t_u16(&p, 1);
	t_name(&p, "mx.other.example.com");
	t_rr_end(&p, r);
	t_name(&p, "EXAMPLE.COM");
	r = t_rr(&p, WIRE_T_MX, 300);
	t_u16(&p, 20);
	t_name(&p, "mx2.example.com");
	t_rr_end(&p, r);
	t_a(&p, 12, 60);		     /* not an MX */
	t_mx(&p, 20, 5, "mx.com");	     /* a parent's */
	t_mx(&p, 12, 1, "auth.example.com"); /* authority */
	t_mx(&p, 12, 1, "add.example.com");  /* additional */
	t_check_msg(p.b, p.len, 5, 1, 1);

	assert_int_equal(t_mx_list(&p, "Example.Com", mx, 8), 2);
	t_expect_mx(&p, &mx[0], 10, "mx1.example.com");
	t_expect_mx(&p, &mx[1], 20, "mx2.example.com");
	assert_int_equal(t_mx_list(&p, "other.example.com", mx, 8), 1);
	t_expect_mx(&p, &mx[0], 1, "mx.other.example.com");
	assert_int_equal(t_mx_list(&p, "com", mx, 8), 1);
	assert_int_equal(t_mx_list(&p, "nothing.example", mx, 8), 0);
}

static void
mx_list_null_mx(void **state)
{
	struct t_pkt p;
	struct wire_mx mx[2];

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 1, 0, 0);
	t_question(&p, "example.com", WIRE_T_MX);
	t_mx(&p, 12, 0, ".");
	assert_int_equal(t_mx_list(&p, "example.com", mx, 2), 1);
	assert_int_equal(mx[0].preference, 0);
	assert_int_equal(mx[0].name_len, 1);
	assert_int_equal(mx[0].name[0], 0);
	t_expect_mx(&p, &mx[0], 0, ".");
	assert_int_equal(mx[0].name_off, p.len - 1);
}

static void
mx_list_bad_rdata(void **state)
{
	struct t_pkt p;
	struct wire_mx mx[4];
	size_t r;

	(void)state;
	t_hdr(&p, 1, WIRE_QR, 1, 4, 0, 0);
	t_question(&p, "example.com", WIRE_T_MX);
	/* Only a preference. */
	t_ptr(&p, 12);
	r = t_rr(&p, WIRE_T_MX, 300);
	t_u16(&p, 1);
	t_rr_end(&p, r);
	/* An exchange running past the rdata. */
	t_ptr(&p, 12);
	r = t_rr(&p, WIRE_T_MX, 300);
	t_u16(&p, 2);
	t_u8(&p, 10);
	t_bytes(&p, "abc", 3);
	t_rr_end(&p, r);
	/* A forward pointer. */
	t_ptr(&p, 12);
	r = t_rr(&p, WIRE_T_MX, 300);
	t_u16(&p, 3);
	t_ptr(&p, p.len + 2);
	t_rr_end(&p, r);
	t_mx(&p, 12, 40, "good.example.com");
	assert_int_equal(t_mx_list(&p, "example.com", mx, 4), 1);
	t_expect_mx(&p, &mx[0], 40, "good.example.com");
}

/* ---- wire_build_query ---------------------------------------------- */

static size_t
t_build(uint8_t *out, size_t cap, const char *dotted, uint16_t id, uint16_t flags, uint16_t qtype,
	bool edns, uint16_t udp, bool dnssec_ok)
{
	uint8_t name[512];
	size_t n = t_enc(dotted, name);

	return wire_build_query(out, cap, id, flags, name, n, qtype, edns, udp, dnssec_ok);
}

static void
build_query_parses_back(void **state)
{
	struct t_pkt p;
	struct wire_query q;
	uint8_t want[64];
	size_t n = t_enc("Mx1.Example.COM", want);

	(void)state;
	p.len = t_build(p.b, sizeof(p.b), "Mx1.Example.COM", 0xbeef, WIRE_RD | WIRE_CD, WIRE_T_MX,
			true, 1232, true);
	assert_int_equal(p.len, 12 + n + 4 + WIRE_OPT_LEN);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.flags, WIRE_RD | WIRE_CD);
	assert_int_equal(q.qtype, WIRE_T_MX);
	assert_int_equal(q.qclass, WIRE_CLASS_IN);
	assert_int_equal(q.qname_len, n);
	assert_memory_equal(q.qname, want, n);
	assert_true(q.edns);
	assert_true(q.dnssec_ok);
	assert_int_equal(q.udp_size, 1232);
	t_check_msg(p.b, p.len, 0, 0, 1);

	/* EDNS without DO. */
	p.len = t_build(p.b, sizeof(p.b), "example.com", 0, 0, WIRE_T_AAAA, true, 4096, false);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_int_equal(q.id, 0);
	assert_int_equal(q.flags, 0);
	assert_int_equal(q.qtype, WIRE_T_AAAA);
	assert_true(q.edns);
	assert_false(q.dnssec_ok);
	assert_int_equal(q.udp_size, 4096);

	/* No EDNS: no OPT, and DO cannot be carried. */
	p.len = t_build(p.b, sizeof(p.b), "example.com", 0xffff, WIRE_RD, 65535, false, 1232, true);
	assert_int_equal(p.len, 12 + 13 + 4);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_int_equal(q.id, 0xffff);
	assert_int_equal(q.qtype, 65535);
	assert_false(q.edns);
	assert_false(q.dnssec_ok);
	assert_int_equal(q.udp_size, 0);
	t_check_msg(p.b, p.len, 0, 0, 0);

	/* The root. */
	p.len = t_build(p.b, sizeof(p.b), ".", 7, WIRE_RD, WIRE_T_NS, false, 0, false);
	assert_int_equal(p.len, 12 + 1 + 4);
	assert_int_equal(t_parse(&p, &q), WIRE_OK);
	assert_int_equal(q.qname_len, 1);
}

static void
build_query_cap(void **state)
{
	uint8_t *buf;
	size_t plain = 12 + 13 + 4, full = plain + WIRE_OPT_LEN;

	(void)state;
	/* Exactly sized heap buffers so ASan (and test_free) see any write
	 * past cap. */
	buf = test_malloc(full);
	assert_int_equal(t_build(buf, full, "example.com", 1, 0, WIRE_T_A, true, 1232, false),
			 full);
	assert_int_equal(t_build(buf, full - 1, "example.com", 1, 0, WIRE_T_A, true, 1232, false),
			 0);
	assert_int_equal(t_build(buf, plain, "example.com", 1, 0, WIRE_T_A, true, 1232, false), 0);
	assert_int_equal(t_build(buf, plain, "example.com", 1, 0, WIRE_T_A, false, 0, false),
			 plain);
	assert_int_equal(t_build(buf, plain - 1, "example.com", 1, 0, WIRE_T_A, false, 0, false),
			 0);
	assert_int_equal(t_build(buf, 0, "example.com", 1, 0, WIRE_T_A, false, 0, false), 0);
	test_free(buf);
}

/* ---- names of rcodes and types ------------------------------------- */

static void
rcode_names(void **state)
{
	const char *want[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};

	(void)state;
	for (unsigned r = 0; r < 6; r++)
		assert_string_equal(wire_rcode_name(r), want[r]);
	assert_string_equal(wire_rcode_name(WIRE_BADVERS), "BADVERS");
	for (unsigned r = 6; r < 16; r++)
		assert_null(wire_rcode_name(r));
	for (unsigned r = 17; r < 64; r++)
		assert_null(wire_rcode_name(r));
	assert_null(wire_rcode_name(4095));
	assert_null(wire_rcode_name(~0u));
}

static void
type_names(void **state)
{
	const struct {
		uint16_t type;
		const char *name;
	} known[] = {{WIRE_T_A, "A"},	    {WIRE_T_NS, "NS"},	       {WIRE_T_CNAME, "CNAME"},
		     {WIRE_T_SOA, "SOA"},   {WIRE_T_PTR, "PTR"},       {WIRE_T_MX, "MX"},
		     {WIRE_T_TXT, "TXT"},   {WIRE_T_AAAA, "AAAA"},     {WIRE_T_SRV, "SRV"},
		     {WIRE_T_OPT, "OPT"},   {WIRE_T_DS, "DS"},	       {WIRE_T_RRSIG, "RRSIG"},
		     {WIRE_T_NSEC, "NSEC"}, {WIRE_T_DNSKEY, "DNSKEY"}, {WIRE_T_NSEC3, "NSEC3"},
		     {WIRE_T_TLSA, "TLSA"}, {WIRE_T_ANY, "ANY"},       {257, "CAA"}};
	const uint16_t unnamed[] = {0, 200, 4000, 65280, 65535};

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_string_equal(wire_type_name(known[i].type), known[i].name);
	for (size_t i = 0; i < sizeof(unnamed) / sizeof(unnamed[0]); i++)
		assert_null(wire_type_name(unnamed[i]));
}

static void
type_from_name(void **state)
{
	const struct {
		const char *text;
		int want;
	} cases[] = {
	    {"MX", 15},		{"mx", 15},	  {"Mx", 15},
	    {"TYPE15", 15},	{"type15", 15},	  {"15", 15},
	    {"aaaa", 28},	{"TLSA", 52},	  {"0", 0},
	    {"TYPE0", 0},	{"65535", 65535}, {"TYPE65535", 65535},
	    {"065535", 65535},	{"65536", -1},	  {"TYPE65536", -1},
	    {"", -1},		{"TYPE", -1},	  {"x", -1},
	    {"MXX", -1},	{"15x", -1},	  {"TYPE15x", -1},
	    {"-1", -1},		{"TYPE-1", -1},	  {" 15", -1},
	    {"+15", -1},	{"TYPE 15", -1},  {"99999999999999999999999", -1},
	    {"4294967311", -1}, {"MX ", -1},	  {"TYPETYPE1", -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (wire_type_from_name(cases[i].text) != cases[i].want)
			fail_msg("wire_type_from_name(\"%s\") = %d, want %d", cases[i].text,
				 wire_type_from_name(cases[i].text), cases[i].want);
}

static void
type_name_roundtrip(void **state)
{
	char text[16];

	(void)state;
	for (unsigned t = 0; t <= 0xffff; t++) {
		const char *name = wire_type_name((uint16_t)t);
		if (name)
			assert_int_equal(wire_type_from_name(name), t);
		snprintf(text, sizeof(text), "TYPE%u", t);
		assert_int_equal(wire_type_from_name(text), t);
	}
}

/* ---- hostile answers: work bounded by the input, not its square ---- */

/* What a copy may cost: a few probes per input byte and per name
 * (fuzz_response checks the same bound). */
static void
t_assert_linear(const struct wire_work *w, size_t len)
{
	assert_true(w->probes <= 2 * WIRE_SUFFIX_PROBES * (len + w->names));
	assert_true(w->probes <= 2 * WIRE_SUFFIX_PROBES * w->labels);
}

/* 240 MX whose 119-label exchangers differ next to the zone: the old
 * writer compared every suffix with every remembered one (340 ms). */
static void
copy_work_mx240(void **state)
{
	static struct t_pkt p, c;
	static struct wire_mx a[WIRE_MX_MAX], b[WIRE_MX_MAX];
	struct wire_work work = {0};
	char name[WIRE_NAME_TEXT_MAX];
	uint8_t owner[WIRE_MAX_NAME];
	size_t qlen;

	(void)state;
	t_hdr(&p, 1, 0x8180, 1, 240, 0, 0);
	t_question(&p, "mx240.hostile.test", WIRE_T_MX);
	for (unsigned i = 0; i < 240; i++) {
		t_ptr(&p, WIRE_HEADER_LEN);
		size_t r = t_rr(&p, WIRE_T_MX, 300);
		t_u16(&p, i % 50);
		size_t o = 0;
		for (int l = 0; l < 116; l++)
			o += (size_t)snprintf(name + o, sizeof(name) - o, "a.");
		snprintf(name + o, sizeof(name) - o, "x%u", i);
		t_labels(&p, name);
		t_ptr(&p, WIRE_HEADER_LEN + 6); /* hostile.test in the question */
		t_rr_end(&p, r);
	}
	assert_true(p.len > 60000);
	size_t n = wire_copy_work(p.b, p.len, 0, c.b, sizeof(c.b), &work);
	assert_true(n > 0 && n <= p.len);
	assert_int_equal(work.names, 1 + 240 + 240);
	assert_int_equal(work.labels, 3 + 240 * 3 + 240 * 119);
	t_assert_linear(&work, p.len);
	/* The copy says the same. */
	qlen = wire_answer_owner(c.b, n, owner);
	assert_int_equal(qlen, 20);
	assert_int_equal(wire_mx_list(p.b, p.len, owner, qlen, a, WIRE_MX_MAX), 240);
	assert_int_equal(wire_mx_list(c.b, n, owner, qlen, b, WIRE_MX_MAX), 240);
	for (size_t i = 0; i < WIRE_MX_MAX; i++) {
		assert_int_equal(a[i].preference, b[i].preference);
		assert_true(wire_name_equal(a[i].name, a[i].name_len, b[i].name, b[i].name_len));
	}
}

/* As many A records as fit, each owner a new label before one long
 * shared suffix: the suffix is looked up once, not once per owner. */
static void
copy_work_many_owners(void **state)
{
	static struct t_pkt p, c;
	struct wire_work work = {0};
	char name[WIRE_NAME_TEXT_MAX];
	size_t o = 0, base;
	unsigned count = 0;

	(void)state;
	t_hdr(&p, 1, 0x8180, 1, 0, 0, 0);
	t_question(&p, "owners.t", WIRE_T_A);
	for (int l = 0; l < 124; l++)
		o += (size_t)snprintf(name + o, sizeof(name) - o, "b.");
	snprintf(name + o, sizeof(name) - o, "t");
	base = p.len;
	t_name(&p, name);
	t_rr_end(&p, t_rr(&p, WIRE_T_A, 300) + 0);
	count++;
	while (p.len + 24 < sizeof(p.b)) {
		t_u8(&p, 3);
		t_u8(&p, 'o');
		t_u16(&p, count);
		t_ptr(&p, base);
		size_t r = t_rr(&p, WIRE_T_A, 300);
		t_u32(&p, 0xc0000201u);
		t_rr_end(&p, r);
		count++;
	}
	t_set16(&p, 6, count);
	size_t n = wire_copy_work(p.b, p.len, 0, c.b, sizeof(c.b), &work);
	assert_true(n > 0 && n <= p.len);
	assert_int_equal(work.names, 1 + count);
	t_assert_linear(&work, p.len);
	/* Each owner costs a lookup or two, not its 126 labels. */
	assert_true(work.probes <= 2 * WIRE_SUFFIX_PROBES * (125 + 2 * (size_t)count));
}

/* A chain of pointers each naming the one before: the hops of one name
 * are bounded, so a chain cannot make each name read cost the chain. */
static void
name_read_pointer_hops(void **state)
{
	static struct t_pkt p;
	uint8_t out[WIRE_MAX_NAME];
	size_t off, prev = WIRE_HEADER_LEN;

	(void)state;
	t_hdr(&p, 1, 0x8180, 1, 0, 0, 0);
	t_question(&p, "x.test", WIRE_T_A);
	size_t ptrs[WIRE_MAX_POINTERS + 1];
	for (size_t i = 0; i <= WIRE_MAX_POINTERS; i++) {
		ptrs[i] = p.len;
		t_ptr(&p, prev);
		prev = ptrs[i];
	}
	/* The i-th pointer makes a name of i + 1 hops. */
	off = ptrs[WIRE_MAX_POINTERS - 1];
	assert_int_equal(wire_name_read(p.b, p.len, &off, out), 8);
	assert_true(wire_name_at(p.b, p.len, ptrs[WIRE_MAX_POINTERS - 1], out, 8));
	off = ptrs[WIRE_MAX_POINTERS];
	assert_int_equal(wire_name_read(p.b, p.len, &off, out), 0);
	assert_false(wire_name_at(p.b, p.len, ptrs[WIRE_MAX_POINTERS], out, 8));
}

static void
name_at_compare(void **state)
{
	static struct t_pkt p;
	uint8_t name[WIRE_MAX_NAME];
	size_t n = t_enc("MX1.Example.COM", name), n2;

	(void)state;
	t_hdr(&p, 1, 0x8180, 1, 0, 0, 0);
	t_question(&p, "example.com", WIRE_T_MX);
	size_t at = p.len;
	t_labels(&p, "mx1");
	t_ptr(&p, WIRE_HEADER_LEN);
	assert_true(wire_name_at(p.b, p.len, at, name, n));
	assert_false(wire_name_at(p.b, p.len, at, name, n - 1));
	n2 = t_enc("mx2.example.com", name);
	assert_false(wire_name_at(p.b, p.len, at, name, n2));
	n2 = t_enc("mx1.example", name);
	assert_false(wire_name_at(p.b, p.len, at, name, n2));
	assert_false(wire_name_at(p.b, p.len - 1, at, name, n)); /* cut pointer */
	assert_int_equal(wire_name_hash((const uint8_t *)"\3ABC\0", 5),
			 wire_name_hash((const uint8_t *)"\3abc\0", 5));
}

/* More MX than WIRE_MX_MAX, in falling preference (each new one the most
 * preferred yet): the most preferred are kept, ties in message order. */
static void
mx_list_many_falling(void **state)
{
	static struct t_pkt p;
	static struct wire_mx mx[WIRE_MX_MAX + 1];
	uint8_t owner[WIRE_MAX_NAME];
	size_t olen = t_enc("many.test", owner);
	unsigned count = 3000;

	(void)state;
	t_hdr(&p, 1, 0x8180, 1, count, 0, 0);
	t_question(&p, "many.test", WIRE_T_MX);
	for (unsigned i = 0; i < count; i++) {
		t_ptr(&p, WIRE_HEADER_LEN);
		size_t r = t_rr(&p, WIRE_T_MX, 300);
		t_u16(&p, (count - i) / 2); /* pairs of equal preference */
		t_u8(&p, 1);
		t_u8(&p, 'a' + i % 2);
		t_ptr(&p, WIRE_HEADER_LEN);
		t_rr_end(&p, r);
	}
	assert_int_equal(wire_mx_list(p.b, p.len, owner, olen, mx, WIRE_MX_MAX + 1), count);
	for (unsigned i = 0; i < WIRE_MX_MAX; i++) {
		/* preference 0 (the last record), then 1, 1, 2, 2, ... */
		unsigned want = (i + 1) / 2;
		assert_int_equal(mx[i].preference, want);
		if (i > 0 && mx[i].preference == mx[i - 1].preference)
			assert_true(mx[i].name_off > mx[i - 1].name_off);
	}
	assert_int_equal(mx[1].name[1], 'b'); /* record 2997, before 2998 */
	assert_int_equal(mx[2].name[1], 'a');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_query_good),
	    cmocka_unit_test(parse_query_root),
	    cmocka_unit_test(parse_query_edns),
	    cmocka_unit_test(parse_query_short_header),
	    cmocka_unit_test(parse_query_response_dropped),
	    cmocka_unit_test(parse_query_qdcount),
	    cmocka_unit_test(parse_query_long_label),
	    cmocka_unit_test(parse_query_long_name),
	    cmocka_unit_test(parse_query_pointer_loops),
	    cmocka_unit_test(parse_query_bad_pointers),
	    cmocka_unit_test(parse_query_truncated_name),
	    cmocka_unit_test(parse_query_other_sections),
	    cmocka_unit_test(parse_query_two_opts),
	    cmocka_unit_test(parse_query_opt_owner),
	    cmocka_unit_test(parse_query_opt_options_overrun),
	    cmocka_unit_test(parse_query_trailing_garbage),
	    cmocka_unit_test(parse_query_bad_version),
	    cmocka_unit_test(parse_query_bad_opcode),
	    cmocka_unit_test(parse_query_qtype_opt),
	    cmocka_unit_test(reply_limit),
	    cmocka_unit_test(name_read_compressed),
	    cmocka_unit_test(name_read_bad_pointers),
	    cmocka_unit_test(name_read_too_long_decompressed),
	    cmocka_unit_test(name_text_roundtrip),
	    cmocka_unit_test(name_text_rejects),
	    cmocka_unit_test(name_to_text_small_cap),
	    cmocka_unit_test(name_lower_equal),
	    cmocka_unit_test(iter_sections),
	    cmocka_unit_test(iter_malformed),
	    cmocka_unit_test(age_ttls),
	    cmocka_unit_test(min_ttl),
	    cmocka_unit_test(negative_ttl),
	    cmocka_unit_test(copy_drop_dnssec),
	    cmocka_unit_test(copy_keeps_asked_dnssec),
	    cmocka_unit_test(copy_pointers_into_dropped),
	    cmocka_unit_test(copy_rdata_names),
	    cmocka_unit_test(copy_large_message),
	    cmocka_unit_test(copy_small_buffer),
	    cmocka_unit_test(copy_malformed),
	    cmocka_unit_test(truncate_drops_additional),
	    cmocka_unit_test(truncate_sets_tc),
	    cmocka_unit_test(truncate_small_unchanged),
	    cmocka_unit_test(add_opt),
	    cmocka_unit_test(error_reply_echo),
	    cmocka_unit_test(error_reply_edns),
	    cmocka_unit_test(error_reply_no_question),
	    cmocka_unit_test(error_reply_small_cap),
	    cmocka_unit_test(answer_owner_no_cname),
	    cmocka_unit_test(answer_owner_one_cname),
	    cmocka_unit_test(answer_owner_chain),
	    cmocka_unit_test(answer_owner_other_cname_ignored),
	    cmocka_unit_test(answer_owner_malformed),
	    cmocka_unit_test(answer_owner_cut_answer),
	    cmocka_unit_test(mx_list_sorted),
	    cmocka_unit_test(mx_list_max),
	    cmocka_unit_test(mx_list_owner_filter),
	    cmocka_unit_test(mx_list_null_mx),
	    cmocka_unit_test(mx_list_bad_rdata),
	    cmocka_unit_test(build_query_parses_back),
	    cmocka_unit_test(build_query_cap),
	    cmocka_unit_test(rcode_names),
	    cmocka_unit_test(type_names),
	    cmocka_unit_test(type_from_name),
	    cmocka_unit_test(type_name_roundtrip),
	    /* Last: under ASan an over-read aborts the whole run. */
	    cmocka_unit_test(answer_owner_short),
	    cmocka_unit_test(parse_query_cookie_only),
	    cmocka_unit_test(copy_work_mx240),
	    cmocka_unit_test(copy_work_many_owners),
	    cmocka_unit_test(name_read_pointer_hops),
	    cmocka_unit_test(name_at_compare),
	    cmocka_unit_test(mx_list_many_falling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
