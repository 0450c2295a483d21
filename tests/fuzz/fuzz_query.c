/*
 * libFuzzer harness: client query parsing (wire_parse_query) and what the
 * daemon builds from a parsed query without asking upstream: the error
 * reply (wire_error_reply) and the reply size limit (wire_reply_limit).
 *
 * Invariants checked on every input (a failed check aborts, which libFuzzer
 * reports as a crash):
 *   - the verdict is one of the enum's values; qname_len <= 255, and the
 *     name it describes is a well-formed uncompressed name of that length;
 *   - WIRE_OK implies QR clear, opcode 0, one question, no answer or
 *     authority records, a question type other than OPT;
 *   - the reply limit is 512..1232 over UDP, 65535 over TCP;
 *   - an error reply fits the exact buffer it needs, is refused (0) by one
 *     byte less, never writes past its cap (heap buffers of exactly that
 *     size, so ASan sees any overflow), and walks cleanly as a response
 *     with the counts and question it should carry.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"
#include "wire_write.h"

/* Builds the error reply into a heap buffer of exactly cap bytes. */
static size_t
error_reply(const struct wire_query *q, unsigned rcode, size_t cap, uint8_t **out)
{
	*out = malloc(cap ? cap : 1);
	CHECK(*out != NULL);
	return wire_error_reply(q, rcode, *out, cap);
}

static void
check_error_reply(const struct wire_query *q, unsigned rcode)
{
	size_t need = WIRE_HEADER_LEN + (q->qname_len ? q->qname_len + 4u : 0u) +
		      ((q->edns || rcode > 0xfu) ? WIRE_OPT_LEN : 0u);
	uint8_t *buf;
	size_t len;
	struct wire_iter it;
	struct wire_rr rr;
	unsigned nrr = 0, nopt = 0;
	int r;

	/* One byte short: refused, and ASan checks nothing was written past. */
	len = error_reply(q, rcode, need - 1, &buf);
	CHECK(len == 0);
	free(buf);
	/* Far too small (smaller than the header). */
	len = error_reply(q, rcode, WIRE_HEADER_LEN - 1, &buf);
	CHECK(len == 0);
	free(buf);

	len = error_reply(q, rcode, need, &buf);
	CHECK(len == need);
	CHECK(wire_get16(buf) == q->id);
	uint16_t flags = wire_get16(buf + 2);
	CHECK(flags & WIRE_QR);
	CHECK(WIRE_RCODE(flags) == (rcode & 0xfu));
	CHECK(WIRE_OPCODE(flags) == WIRE_OPCODE(q->flags));
	CHECK(wire_get16(buf + 4) == (q->qname_len ? 1 : 0));
	CHECK(wire_get16(buf + 6) == 0 && wire_get16(buf + 8) == 0);

	/* It is a response: walk it, and read its question back. */
	CHECK(wire_iter_init(&it, buf, len));
	if (q->qname_len) {
		uint8_t name[WIRE_MAX_NAME];
		size_t off = WIRE_HEADER_LEN;
		CHECK(wire_name_read(buf, len, &off, name) == q->qname_len);
		CHECK(memcmp(name, q->qname, q->qname_len) == 0);
		CHECK(wire_get16(buf + off) == q->qtype);
		CHECK(wire_get16(buf + off + 2) == q->qclass);
	}
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		nrr++;
		CHECK(rr.section == WIRE_ADDITIONAL && rr.type == WIRE_T_OPT && rr.rdlen == 0);
		CHECK(buf[rr.name_off] == 0);
		CHECK(rr.rclass == WIRE_MAX_UDP);
		CHECK((rr.ttl >> 24) == ((rcode >> 4) & 0xffu));
		CHECK(((rr.ttl & 0x8000u) != 0) == q->dnssec_ok);
		nopt++;
	}
	CHECK(r == 0);
	CHECK(it.off == len);
	CHECK(nrr == nopt && nopt == ((q->edns || rcode > 0xfu) ? 1u : 0u));
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_query q;
	uint8_t *pkt;
	enum wire_verdict v;

	/* A copy of exactly the input's size: reads past it are caught. */
	pkt = malloc(size ? size : 1);
	CHECK(pkt != NULL);
	if (size)
		memcpy(pkt, data, size);
	memset(&q, 0xa5, sizeof(q)); /* parse must not rely on a zeroed struct */
	v = wire_parse_query(pkt, size, &q);
	CHECK(v == WIRE_OK || v == WIRE_DROP || v == WIRE_BAD_FORMAT || v == WIRE_BAD_OPCODE ||
	      v == WIRE_BAD_VERSION);
	CHECK(memcmp(pkt, data, size) == 0); /* the query is read, never written */

	if (v == WIRE_DROP) {
		free(pkt);
		return 0;
	}
	CHECK(size >= WIRE_HEADER_LEN);
	CHECK(q.id == wire_get16(pkt) && q.flags == wire_get16(pkt + 2));
	CHECK(!(q.flags & WIRE_QR));
	CHECK(q.qname_len <= WIRE_MAX_NAME);
	if (q.qname_len)
		check_name(q.qname, q.qname_len);
	CHECK(!q.dnssec_ok || q.edns);
	if (!q.edns)
		CHECK(q.udp_size == 0);

	if (v == WIRE_OK || v == WIRE_BAD_VERSION) {
		CHECK(WIRE_OPCODE(q.flags) == 0);
		CHECK(wire_get16(pkt + 4) == 1 && wire_get16(pkt + 6) == 0 &&
		      wire_get16(pkt + 8) == 0);
		CHECK(q.qname_len > 0 && q.qtype != WIRE_T_OPT);
		CHECK(size >= WIRE_HEADER_LEN + (size_t)q.qname_len + 4);
	}
	if (v == WIRE_BAD_VERSION)
		CHECK(q.edns);
	if (v == WIRE_BAD_OPCODE)
		CHECK(WIRE_OPCODE(q.flags) != 0);

	size_t udp = wire_reply_limit(&q, false), tcp = wire_reply_limit(&q, true);
	CHECK(udp >= WIRE_MIN_UDP && udp <= WIRE_MAX_UDP);
	CHECK(!q.edns ? udp == WIRE_MIN_UDP
		      : udp == (q.udp_size < WIRE_MIN_UDP   ? WIRE_MIN_UDP
				: q.udp_size > WIRE_MAX_UDP ? WIRE_MAX_UDP
							    : q.udp_size));
	CHECK(tcp == WIRE_MAX_MSG);

	/* The replies the daemon would send for this verdict, plus the others. */
	static const unsigned rcodes[] = {WIRE_NOERROR, WIRE_FORMERR, WIRE_SERVFAIL, WIRE_NXDOMAIN,
					  WIRE_NOTIMP,	WIRE_REFUSED, WIRE_BADVERS,  0xfff};
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		check_error_reply(&q, rcodes[i]);
	free(pkt);
	return 0;
}
