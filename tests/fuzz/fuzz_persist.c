/*
 * libFuzzer harness: the input is a cache file (--cache-file), as a
 * forger or a damaged disk would leave it. Each input is loaded three
 * times through persist_read (the loader without the file-system checks):
 * as it is, then with its header and record checksums recomputed (the
 * checksum key is no secret, so a forger does exactly that: the content
 * checks must hold on their own), under a policy that validates with the
 * anchor the header names, and under one that does not validate.
 *
 * Invariants: a refused file leaves the cache empty with an error text; a
 * loaded one holds at most one entry per record, and every entry is what
 * the cache could have stored itself: its answer walks to its end, its
 * question is its key, its lifetime and every record TTL are within the
 * policy's clamps, and nothing is secure when the policy does not validate.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "fuzz.h"
#include "persist.h"
#include "siphash.h"
#include "wire.h"

#define T_NOW 1000000u
#define T_WALL 1800000000000ull /* the seeds are saved just before this */
#define T_HEADER 36

static const uint8_t zero_key[16];

struct check {
	const struct persist_policy *p;
	size_t n;
};

static void
put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

static bool
check_entry(const struct cache_entry_info *info, void *arg)
{
	struct check *c = arg;
	const struct cache_answer *a = info->ans;
	struct wire_iter it;
	struct wire_rr rr;
	uint8_t qname[WIRE_MAX_NAME];
	size_t off = WIRE_HEADER_LEN, qlen;
	int r;

	c->n++;
	check_name(info->name, info->name_len);
	CHECK(wire_iter_init(&it, a->wire, a->len));
	CHECK(wire_get16(a->wire + 4) == 1);
	qlen = wire_name_read(a->wire, a->len, &off, qname);
	CHECK(wire_name_equal(qname, qlen, info->name, info->name_len));
	CHECK(wire_get16(a->wire + off) == info->qtype);
	CHECK(wire_get16(a->wire + off + 2) == info->qclass);
	unsigned rcode = WIRE_RCODE(wire_get16(a->wire + 2));
	CHECK(rcode == WIRE_NOERROR || rcode == WIRE_NXDOMAIN);
	bool negative = rcode == WIRE_NXDOMAIN || wire_get16(a->wire + 6) == 0;
	uint32_t cap = negative ? c->p->max_negative_ttl : c->p->max_ttl;
	CHECK(a->expires_ms - T_NOW <= (uint64_t)cap * 1000u);
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		CHECK(rr.type != WIRE_T_OPT);
		CHECK(rr.ttl <= cap);
	}
	CHECK(r == 0 && it.off == a->len);
	if (!c->p->validating)
		CHECK(!a->secure);
	return true;
}

/* Loads data under policy and checks what came in. */
static void
load(const uint8_t *data, size_t size, const struct persist_policy *policy)
{
	struct cache *c = cache_new(4u << 20, zero_key);
	struct persist_report rep;
	struct cache_stats st;
	char err[256] = "";
	FILE *f;

	CHECK(c != NULL);
	f = fmemopen((void *)(uintptr_t)data, size ? size : 1, "rb");
	CHECK(f != NULL);
	if (size == 0)
		fgetc(f); /* fmemopen wants a size: an empty stream instead */
	bool ok = persist_read(c, f, policy, T_NOW, T_WALL, &rep, err, sizeof(err));
	fclose(f);
	cache_get_stats(c, &st);
	if (!ok) {
		CHECK(err[0] != '\0');
		CHECK(st.entries == 0);
		CHECK(rep.loaded == 0);
	} else {
		struct check chk = {.p = policy};
		cache_walk(c, T_NOW, check_entry, &chk);
		CHECK(chk.n == st.entries);
		CHECK(st.entries <= rep.loaded);
		CHECK(size >= T_HEADER);
		CHECK(rep.loaded + rep.expired <= wire_get32(data + 16));
	}
	cache_free(c);
}

/* What a forger does: every checksum made right again. */
static void
fix_sums(uint8_t *d, size_t size)
{
	size_t off = T_HEADER;

	if (size < T_HEADER)
		return;
	put64(d + 28, siphash24(zero_key, d, 28));
	while (off + 2 <= size) {
		size_t n = wire_get16(d + off);
		if (off + 2 + n + 8 > size)
			break;
		put64(d + off + 2 + n, siphash24(zero_key, d + off + 2, n));
		off += 2 + n + 8;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct persist_policy p = {.min_ttl = 10,
				   .max_ttl = 300,
				   .max_negative_ttl = 60,
				   .validating = true,
				   .owner = 0};
	uint8_t *d;

	if (size > (1u << 20))
		return 0;
	if (size >= 28)
		p.anchor_id = ((uint64_t)wire_get32(data + 20) << 32) | wire_get32(data + 24);
	load(data, size, &p);
	d = malloc(size ? size : 1);
	CHECK(d != NULL);
	memcpy(d, data, size);
	fix_sums(d, size);
	load(d, size, &p);
	p.validating = false;
	load(d, size, &p);
	free(d);
	return 0;
}
