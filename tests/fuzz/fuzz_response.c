/*
 * libFuzzer harness: the input is a response message, as upstream or the
 * cache would hand it to the daemon. Exercises everything wire does to a
 * response: walking (wire_iter_*), TTLs (wire_min_ttl, wire_negative_ttl,
 * wire_age_ttls, wire_set_ttls), the
 * stored form (wire_copy with every drop mask), cutting to size
 * (wire_truncate), and the MX-chaser's readers (wire_answer_owner,
 * wire_mx_list).
 *
 * The work of the copy (struct wire_work) must stay linear in the input:
 * a few suffix-table probes per input byte and per name.
 *
 * Every buffer a function writes into is a heap block of exactly the size
 * passed as its capacity, so ASan reports any write past it. Invariants
 * that must hold abort (a crash for libFuzzer); see the CHECKs below.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"
#include "wire_write.h"

/* What a walk found. */
struct walk {
	int status; /* 0: clean to the end, -1: malformed record, -2: bad header/question */
	size_t question_end; /* where the records start (status > -2) */
	size_t end;	     /* where the last good record ends */
	unsigned count[3];   /* records per section */
	unsigned nopt;	     /* OPT records */
	unsigned ndnssec[3]; /* RRSIG/NSEC/NSEC3/DS per section */
};

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	CHECK(p != NULL);
	return p;
}

static uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = xmalloc(n);

	if (n)
		memcpy(d, p, n);
	return d;
}

static bool
is_dnssec(uint16_t type)
{
	return type == WIRE_T_RRSIG || type == WIRE_T_NSEC || type == WIRE_T_NSEC3 ||
	       type == WIRE_T_DS;
}

static struct walk
walk(const uint8_t *pkt, size_t len)
{
	struct walk w = {.status = -2};
	struct wire_iter it;
	struct wire_rr rr;
	int r;
	unsigned last = WIRE_ANSWER;

	if (!wire_iter_init(&it, pkt, len))
		return w;
	CHECK(it.off >= WIRE_HEADER_LEN && it.off <= len);
	w.question_end = w.end = it.off;
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		CHECK(rr.section >= last && rr.section <= WIRE_ADDITIONAL);
		last = rr.section;
		CHECK(rr.name_off == w.end);
		CHECK(rr.name_off < rr.ttl_off && rr.ttl_off + 6 == rr.rdata_off);
		CHECK(rr.rdata_off + rr.rdlen == rr.end && rr.end <= len);
		CHECK(rr.ttl == wire_get32(pkt + rr.ttl_off));
		w.end = rr.end;
		w.count[rr.section]++;
		w.nopt += rr.type == WIRE_T_OPT;
		w.ndnssec[rr.section] += is_dnssec(rr.type);
	}
	CHECK(r == 0 || r == -1);
	w.status = r;
	if (r == 0) {
		CHECK(w.count[0] == wire_get16(pkt + 6) && w.count[1] == wire_get16(pkt + 8) &&
		      w.count[2] == wire_get16(pkt + 10));
		/* A further call keeps saying "no more". */
		CHECK(wire_iter_next(&it, &rr) == 0);
	}
	return w;
}

static unsigned
nrecords(const struct walk *w)
{
	return w->count[0] + w->count[1] + w->count[2];
}

/* Aging and setting change each TTL as the rules say (a TTL of 2^31 or
 * more counts as 0, RFC 2181 §8), OPT's never, and nothing else. */
static void
check_aging(const uint8_t *pkt, size_t len, const struct walk *w)
{
	static const uint32_t ages[] = {0, 1, 299, 86400, 0x7fffffffu, 0xffffffffu};
	struct wire_iter it;
	struct wire_rr rr;

	CHECK(w->status == 0);
	for (size_t a = 0; a < sizeof(ages) / sizeof(ages[0]); a++) {
		uint8_t *aged = dup_exact(pkt, len), *set = dup_exact(pkt, len);
		uint8_t *expect_aged = dup_exact(pkt, len), *expect_set = dup_exact(pkt, len);
		CHECK(wire_age_ttls(aged, len, ages[a]));
		CHECK(wire_set_ttls(set, len, ages[a]));
		CHECK(wire_iter_init(&it, pkt, len));
		while (wire_iter_next(&it, &rr) == 1) {
			if (rr.type == WIRE_T_OPT)
				continue;
			uint32_t ttl = rr.ttl > 0x7fffffffu ? 0 : rr.ttl;
			wire_put32(expect_aged + rr.ttl_off, ttl > ages[a] ? ttl - ages[a] : 0);
			wire_put32(expect_set + rr.ttl_off, ages[a]);
		}
		CHECK(memcmp(aged, expect_aged, len) == 0);
		CHECK(memcmp(set, expect_set, len) == 0);
		free(aged);
		free(set);
		free(expect_aged);
		free(expect_set);
	}
}

static void
check_truncate(const uint8_t *pkt, size_t len, const struct walk *w)
{
	size_t limits[] = {w->question_end,
			   w->question_end + 1,
			   WIRE_MIN_UDP - WIRE_OPT_LEN,
			   WIRE_MIN_UDP,
			   WIRE_MAX_UDP - WIRE_OPT_LEN,
			   WIRE_MAX_UDP,
			   len > 0 ? len - 1 : 0,
			   len / 2,
			   len,
			   WIRE_MAX_MSG};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		size_t limit = limits[i];
		if (w->status == -2 ? limit < WIRE_HEADER_LEN : limit < w->question_end)
			continue; /* the caller guarantees header + question */
		uint8_t *buf = dup_exact(pkt, len);
		size_t t = wire_truncate(buf, len, limit);
		CHECK(t <= len);
		if (len <= limit || w->status == -2) {
			CHECK(t == len);
			CHECK(memcmp(buf, pkt, len) == 0);
			free(buf);
			continue;
		}
		/* It had to cut: the result fits and walks cleanly. */
		CHECK(t <= limit);
		CHECK(t >= w->question_end);
		struct walk tw = walk(buf, t);
		CHECK(tw.status == 0);
		CHECK(tw.count[WIRE_ADDITIONAL] == 0);
		CHECK(tw.end == t);
		uint16_t flags = wire_get16(buf + 2);
		if ((flags & WIRE_TC) && !(wire_get16(pkt + 2) & WIRE_TC))
			CHECK(t == w->question_end && nrecords(&tw) == 0);
		/* Nothing of the kept part changed but the counts and TC. */
		CHECK(memcmp(buf + 12, pkt + 12, t - 12) == 0);
		CHECK((flags & ~WIRE_TC) == (wire_get16(pkt + 2) & ~WIRE_TC));
		free(buf);
	}
}

static void
check_owner_mx(const uint8_t *pkt, size_t len, uint8_t owner[WIRE_MAX_NAME], size_t *owner_len,
	       struct wire_mx *mx, size_t *nmx, size_t *total)
{
	/* 64 first: the others must give a prefix of its list. */
	static const size_t maxes[] = {64, 0, 1, 2, 10};

	*owner_len = wire_answer_owner(pkt, len, owner);
	*nmx = *total = 0;
	CHECK(*owner_len <= WIRE_MAX_NAME);
	if (!*owner_len)
		return;
	check_name(owner, *owner_len);
	for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
		size_t max = maxes[m];
		struct wire_mx *out = m == 0 ? mx : xmalloc(max * sizeof(*out));
		size_t t = wire_mx_list(pkt, len, owner, *owner_len, out, max);
		size_t filled = t < max ? t : max;
		if (m == 0) {
			*total = t;
			*nmx = filled;
		}
		CHECK(t == *total); /* the total does not depend on max */
		for (size_t i = 0; i < filled; i++) {
			CHECK(out[i].name_len <= WIRE_MAX_NAME);
			check_name(out[i].name, out[i].name_len);
			CHECK(out[i].name_off >= WIRE_HEADER_LEN && out[i].name_off < len);
			if (i > 0)
				CHECK(out[i - 1].preference <= out[i].preference);
			/* The most preferred max of them, in the same (stable) order. */
			CHECK(out[i].preference == mx[i].preference &&
			      out[i].name_off == mx[i].name_off &&
			      out[i].name_len == mx[i].name_len &&
			      memcmp(out[i].name, mx[i].name, out[i].name_len) == 0);
		}
		if (m > 0)
			free(out);
	}
}

static void
check_copy(const uint8_t *in, size_t len, const struct walk *w, unsigned drop)
{
	uint8_t *big = xmalloc(WIRE_MAX_MSG);
	struct wire_work work = {0};
	size_t n = wire_copy_work(in, len, drop, big, WIRE_MAX_MSG, &work);

	/* Compressing costs a few probes per input byte and per name, never
	 * labels times names: a hostile answer must not stall the loop. */
	CHECK(work.names <= len);
	CHECK(work.labels <= WIRE_MAX_LABELS * work.names);
	CHECK(work.probes <= 2 * WIRE_SUFFIX_PROBES * work.labels);
	CHECK(work.probes <= 2 * WIRE_SUFFIX_PROBES * (len + work.names));
	if (n == 0) {
		free(big);
		return;
	}
	/* Only a message that walks cleanly can be copied. */
	CHECK(w->status == 0);
	CHECK(n >= WIRE_HEADER_LEN && n <= WIRE_MAX_MSG);

	/* The same into exactly n bytes, and refused by n - 1. */
	uint8_t *exact = xmalloc(n), *shorter = xmalloc(n - 1);
	CHECK(wire_copy(in, len, drop, exact, n) == n);
	CHECK(memcmp(exact, big, n) == 0);
	CHECK(wire_copy(in, len, drop, shorter, n - 1) == 0);
	free(shorter);
	free(big);

	/* The copy walks to its end, with what was asked left out. */
	struct walk cw = walk(exact, n);
	CHECK(cw.status == 0 && cw.end == n);
	CHECK(cw.question_end <= n);
	CHECK(memcmp(exact, in, 6) == 0); /* ID, flags, question count */
	if (wire_get16(in + 4) > 0) {
		/* The first question name is written whole (the daemon copies
		 * the client's name over it), case kept, then type and class. */
		uint8_t qname[WIRE_MAX_NAME];
		size_t off = WIRE_HEADER_LEN, qlen = wire_name_read(in, len, &off, qname);
		CHECK(qlen > 0 && n >= WIRE_HEADER_LEN + qlen + 4);
		CHECK(memcmp(exact + WIRE_HEADER_LEN, qname, qlen) == 0);
		CHECK(memcmp(exact + WIRE_HEADER_LEN + qlen, in + off, 4) == 0);
	}
	for (int s = 0; s < 3; s++)
		CHECK(cw.count[s] <= w->count[s]);
	if (drop & WIRE_DROP_OPT)
		CHECK(cw.nopt == 0);
	else
		CHECK(cw.nopt == w->nopt);
	if (drop & WIRE_DROP_DNSSEC)
		CHECK(cw.ndnssec[WIRE_AUTHORITY] == 0 && cw.ndnssec[WIRE_ADDITIONAL] == 0);
	if (!drop)
		CHECK(nrecords(&cw) == nrecords(w));

	/* Copying the copy changes nothing. */
	uint8_t *again = xmalloc(n);
	CHECK(wire_copy(exact, n, drop, again, n) == n);
	CHECK(memcmp(again, exact, n) == 0);
	free(again);

	/* The readers see the same names in the copy (case aside: names are
	 * compressed case-insensitively). */
	uint8_t o1[WIRE_MAX_NAME], o2[WIRE_MAX_NAME];
	struct wire_mx *m1 = xmalloc(64 * sizeof(*m1)), *m2 = xmalloc(64 * sizeof(*m2));
	size_t l1, l2, n1, n2, t1, t2;
	check_owner_mx(in, len, o1, &l1, m1, &n1, &t1);
	check_owner_mx(exact, n, o2, &l2, m2, &n2, &t2);
	if (l1) {
		CHECK(wire_name_equal(o1, l1, o2, l2));
		CHECK(t1 == t2 && n1 == n2);
		for (size_t i = 0; i < n1; i++)
			CHECK(m1[i].preference == m2[i].preference &&
			      wire_name_equal(m1[i].name, m1[i].name_len, m2[i].name,
					      m2[i].name_len));
	}
	free(m1);
	free(m2);

	check_aging(exact, n, &cw);
	check_truncate(exact, n, &cw);
	free(exact);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in;
	uint32_t ttl = 0;

	if (size > WIRE_MAX_MSG)
		return 0; /* no DNS message is longer */
	in = dup_exact(data, size);

	struct walk w = walk(in, size);

	if (wire_min_ttl(in, size, &ttl)) {
		CHECK(w.status > -2);
		CHECK(ttl <= 0x7fffffffu);
	}
	if (wire_negative_ttl(in, size, &ttl)) {
		CHECK(w.status > -2);
		CHECK(ttl <= 0x7fffffffu);
	}
	if (w.status == 0)
		check_aging(in, size, &w);

	uint8_t owner[WIRE_MAX_NAME];
	struct wire_mx *mx = xmalloc(64 * sizeof(*mx));
	size_t olen, nmx, total;
	check_owner_mx(in, size, owner, &olen, mx, &nmx, &total);
	free(mx);

	check_truncate(in, size, &w);
	for (unsigned drop = 0; drop < 4; drop++)
		check_copy(in, size, &w, drop);

	CHECK(memcmp(in, data, size) == 0); /* the readers never write */
	free(in);
	return 0;
}
