/*
 * A small DNS message builder for the unit tests of the query pipeline
 * (test_query.c, test_chaser.c, test_inflight.c): answers as a resolver
 * would hand them over, built record by record.
 */
#ifndef MXCACHE_T_DNS_H
#define MXCACHE_T_DNS_H

#include <stdint.h>
#include <string.h>

/* assert_true: include <cmocka.h> first. */

#include "wire.h"

struct t_dns_msg {
	uint8_t b[4096];
	size_t len;
};

/* "www.example.com" (or "." for the root) in wire form; returns the length. */
static inline size_t
t_dns_name(const char *dotted, uint8_t *out)
{
	size_t n = wire_name_from_text(dotted, out);

	assert_true(n > 0);
	return n;
}

static inline void
t_dns_put(struct t_dns_msg *m, const void *d, size_t n)
{
	memcpy(m->b + m->len, d, n);
	m->len += n;
}

static inline void
t_dns_u16(struct t_dns_msg *m, unsigned v)
{
	wire_put16(m->b + m->len, (uint16_t)v);
	m->len += 2;
}

static inline void
t_dns_u32(struct t_dns_msg *m, uint32_t v)
{
	t_dns_u16(m, v >> 16);
	t_dns_u16(m, v & 0xffffu);
}

static inline void
t_dns_dname(struct t_dns_msg *m, const char *dotted)
{
	uint8_t w[WIRE_MAX_NAME];

	t_dns_put(m, w, t_dns_name(dotted, w));
}

/* Header (QR RD RA NOERROR) and the question. */
static inline void
t_dns_start(struct t_dns_msg *m, const char *qname, unsigned qtype, unsigned an, unsigned ns)
{
	m->len = 0;
	t_dns_u16(m, 0);
	t_dns_u16(m, WIRE_QR | WIRE_RD | WIRE_RA);
	t_dns_u16(m, 1);
	t_dns_u16(m, an);
	t_dns_u16(m, ns);
	t_dns_u16(m, 0);
	t_dns_dname(m, qname);
	t_dns_u16(m, qtype);
	t_dns_u16(m, WIRE_CLASS_IN);
}

/* Owner, type, class IN, TTL and rdlength. */
static inline void
t_dns_rr(struct t_dns_msg *m, const char *owner, unsigned type, uint32_t ttl, unsigned rdlen)
{
	t_dns_dname(m, owner);
	t_dns_u16(m, type);
	t_dns_u16(m, WIRE_CLASS_IN);
	t_dns_u32(m, ttl);
	t_dns_u16(m, rdlen);
}

static inline void
t_dns_a(struct t_dns_msg *m, const char *name, uint32_t ttl, uint32_t addr)
{
	t_dns_start(m, name, WIRE_T_A, 1, 0);
	t_dns_rr(m, name, WIRE_T_A, ttl, 4);
	t_dns_u32(m, addr);
}

/* MX records for name, preference 10, 20, ... (0 for "."); mx ends with NULL. */
static inline void
t_dns_mx(struct t_dns_msg *m, const char *name, uint32_t ttl, const char *const *mx)
{
	unsigned n = 0;
	uint8_t w[WIRE_MAX_NAME];

	while (mx[n])
		n++;
	t_dns_start(m, name, WIRE_T_MX, n, 0);
	for (unsigned i = 0; i < n; i++) {
		size_t wl = t_dns_name(mx[i], w);
		t_dns_rr(m, name, WIRE_T_MX, ttl, (unsigned)(2 + wl));
		t_dns_u16(m, strcmp(mx[i], ".") == 0 ? 0 : 10 * (i + 1));
		t_dns_put(m, w, wl);
	}
}

/* TXT records for name, one character-string each; txt ends with NULL. */
static inline void
t_dns_txt(struct t_dns_msg *m, const char *name, uint32_t ttl, const char *const *txt)
{
	unsigned n = 0;

	while (txt[n])
		n++;
	t_dns_start(m, name, WIRE_T_TXT, n, 0);
	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(txt[i]);
		t_dns_rr(m, name, WIRE_T_TXT, ttl, (unsigned)(1 + l));
		m->b[m->len++] = (uint8_t)l;
		t_dns_put(m, txt[i], l);
	}
}

/* PTR records for qname, behind a CNAME to alias first unless alias is
 * NULL (RFC 2317); ptr ends with NULL. */
static inline void
t_dns_ptr(struct t_dns_msg *m, const char *qname, const char *alias, uint32_t ttl,
	  const char *const *ptr)
{
	unsigned n = 0;
	uint8_t w[WIRE_MAX_NAME];

	while (ptr[n])
		n++;
	t_dns_start(m, qname, WIRE_T_PTR, n + (alias != NULL), 0);
	if (alias) {
		size_t wl = t_dns_name(alias, w);
		t_dns_rr(m, qname, WIRE_T_CNAME, ttl, (unsigned)wl);
		t_dns_put(m, w, wl);
	}
	for (unsigned i = 0; i < n; i++) {
		size_t wl = t_dns_name(ptr[i], w);
		t_dns_rr(m, alias ? alias : qname, WIRE_T_PTR, ttl, (unsigned)wl);
		t_dns_put(m, w, wl);
	}
}

/* NOERROR, no record of qtype, the zone's SOA (MINIMUM ttl) in authority. */
static inline void
t_dns_nodata(struct t_dns_msg *m, const char *name, unsigned qtype, uint32_t ttl)
{
	uint8_t w[WIRE_MAX_NAME];
	size_t wl = t_dns_name(name, w);

	t_dns_start(m, name, qtype, 0, 1);
	t_dns_rr(m, name, WIRE_T_SOA, ttl, (unsigned)(2 * wl + 20));
	t_dns_put(m, w, wl);
	t_dns_put(m, w, wl);
	for (int i = 0; i < 4; i++)
		t_dns_u32(m, 3600);
	t_dns_u32(m, ttl);
}

/* NXDOMAIN with the zone's SOA in authority. */
static inline void
t_dns_nxdomain(struct t_dns_msg *m, const char *name, unsigned qtype, uint32_t ttl)
{
	t_dns_nodata(m, name, qtype, ttl);
	wire_put16(m->b + 2, (uint16_t)(wire_get16(m->b + 2) | WIRE_NXDOMAIN));
}

/* The TTL of the first record of a message (0 if none). */
static inline uint32_t
t_dns_first_ttl(const uint8_t *pkt, size_t len)
{
	struct wire_iter it;
	struct wire_rr rr;

	if (!wire_iter_init(&it, pkt, len) || wire_iter_next(&it, &rr) != 1)
		return 0;
	return rr.ttl;
}

#endif
