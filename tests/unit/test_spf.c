/*
 * Unit tests for spf (include/spf.h): the RFC 7208 parser (every term
 * kind, qualifiers, macros, malformed records, multi-string joining),
 * the lookup plan and the names of results. The walker is
 * test_spf_walk.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spf.h"
#include "wire.h"

static struct spf_record t_rec;

static const struct spf_record *
t_ok(const char *text)
{
	enum spf_parse_status st = spf_parse(text, strlen(text), &t_rec);

	if (st != SPF_PARSE_OK)
		fail_msg("'%s': %s at %zu", text, t_rec.error ? t_rec.error : "not SPF",
			 t_rec.error_pos);
	return &t_rec;
}

static void
t_bad(const char *text)
{
	if (spf_parse(text, strlen(text), &t_rec) != SPF_PARSE_PERMERROR)
		fail_msg("'%s' parsed", text);
	assert_non_null(t_rec.error);
	assert_true(t_rec.error_pos <= strlen(text));
}

/* The domain-spec of term i, as written. */
static const char *
t_dom(const struct spf_record *r, unsigned i)
{
	static char buf[SPF_MAX_TEXT + 1];

	memcpy(buf, r->text + r->terms[i].dom_off, r->terms[i].dom_len);
	buf[r->terms[i].dom_len] = '\0';
	return buf;
}

/* ---- recognising a record ------------------------------------------ */

static void
is_record(void **state)
{
	(void)state;
	assert_true(spf_is_record("v=spf1", 6));
	assert_true(spf_is_record("v=spf1 -all", 11));
	assert_true(spf_is_record("V=SpF1 -all", 11));
	assert_false(spf_is_record("v=spf10", 7));
	assert_false(spf_is_record("v=spf1-all", 10));
	assert_false(spf_is_record("v=spf1\t-all", 11));
	assert_false(spf_is_record(" v=spf1", 7));
	assert_false(spf_is_record("v=spf", 5));
	assert_false(spf_is_record("", 0));
	assert_false(spf_is_record("v=DMARC1; p=none", 16));
	assert_int_equal(spf_parse("v=spf10 -all", 12, &t_rec), SPF_PARSE_NOT_SPF);
	assert_int_equal(spf_parse("", 0, &t_rec), SPF_PARSE_NOT_SPF);
}

static void
rdata_joined(void **state)
{
	/* §3.3: strings joined with nothing in between, even mid-term. */
	static const uint8_t split[] = "\x09v=spf1 in"
				       "\x19"
				       "clude:_spf.example.com -a"
				       "\x02ll";
	static const uint8_t one[] = "\x0bv=spf1 -all";
	static const uint8_t head_split[] = "\x03v=s\x08pf1 -all";
	static const uint8_t overrun[] = "\x20v=spf1 -all";
	char buf[64];
	const struct spf_record *r = &t_rec;

	(void)state;
	assert_int_equal(spf_parse_rdata(split, sizeof(split) - 1, &t_rec), SPF_PARSE_OK);
	assert_int_equal(r->n_terms, 2);
	assert_int_equal(r->terms[0].kind, SPF_K_INCLUDE);
	assert_string_equal(t_dom(r, 0), "_spf.example.com");
	assert_int_equal(r->terms[1].kind, SPF_K_ALL);
	assert_int_equal(r->terms[1].qualifier, SPF_Q_FAIL);
	assert_true(spf_is_record_rdata(one, sizeof(one) - 1));
	assert_true(spf_is_record_rdata(head_split, sizeof(head_split) - 1));
	assert_int_equal(spf_parse_rdata(head_split, sizeof(head_split) - 1, &t_rec), SPF_PARSE_OK);
	assert_false(spf_is_record_rdata(overrun, sizeof(overrun) - 1));
	assert_int_equal(spf_parse_rdata(overrun, sizeof(overrun) - 1, &t_rec), SPF_PARSE_NOT_SPF);
	assert_int_equal(spf_join_rdata(one, sizeof(one) - 1, buf, 4), 11);
	assert_string_equal(buf, "v=s");
	assert_int_equal(spf_join_rdata((const uint8_t *)"", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void
too_long(void **state)
{
	static uint8_t rdata[20 * 256];
	size_t len = 0;

	(void)state;
	/* 20 strings of 250: "v=spf1" then " a" repeated: 5000 bytes. */
	for (int s = 0; s < 20; s++) {
		rdata[len++] = 250;
		for (int i = 0; i < 250; i++)
			rdata[len++] = (uint8_t)(i % 2 ? 'a' : ' ');
		if (s == 0)
			memcpy(rdata + 1, "v=spf1", 6);
	}
	assert_true(spf_is_record_rdata(rdata, len));
	assert_int_equal(spf_parse_rdata(rdata, len, &t_rec), SPF_PARSE_PERMERROR);
	assert_string_equal(t_rec.error, "record too long");
}

/* ---- terms --------------------------------------------------------- */

static void
every_kind(void **state)
{
	const struct spf_record *r =
	    t_ok("v=spf1 +all -include:a.example.com ~a ?a:b.example.com/24//64 mx/16 "
		 "mx:c.example.com//100 ptr ptr:d.example.com ip4:192.0.2.0/24 "
		 "ip6:2001:db8::/32 exists:e.example.com redirect=f.example.com "
		 "exp=g.example.com foo=bar ip4:10.1.2.3 ip6:::1 a/0");
	static const struct {
		enum spf_kind kind;
		enum spf_qualifier q;
		const char *dom;
		unsigned c4, c6;
	} want[] = {
	    {SPF_K_ALL, SPF_Q_PASS, "", 32, 128},
	    {SPF_K_INCLUDE, SPF_Q_FAIL, "a.example.com", 32, 128},
	    {SPF_K_A, SPF_Q_SOFTFAIL, "", 32, 128},
	    {SPF_K_A, SPF_Q_NEUTRAL, "b.example.com", 24, 64},
	    {SPF_K_MX, SPF_Q_PASS, "", 16, 128},
	    {SPF_K_MX, SPF_Q_PASS, "c.example.com", 32, 100},
	    {SPF_K_PTR, SPF_Q_PASS, "", 32, 128},
	    {SPF_K_PTR, SPF_Q_PASS, "d.example.com", 32, 128},
	    {SPF_K_IP4, SPF_Q_PASS, "192.0.2.0", 24, 128},
	    {SPF_K_IP6, SPF_Q_PASS, "2001:db8::", 32, 32},
	    {SPF_K_EXISTS, SPF_Q_PASS, "e.example.com", 32, 128},
	    {SPF_K_REDIRECT, SPF_Q_PASS, "f.example.com", 32, 128},
	    {SPF_K_EXP, SPF_Q_PASS, "g.example.com", 32, 128},
	    {SPF_K_MODIFIER, SPF_Q_PASS, "bar", 32, 128},
	    {SPF_K_IP4, SPF_Q_PASS, "10.1.2.3", 32, 128},
	    {SPF_K_IP6, SPF_Q_PASS, "::1", 32, 128},
	    {SPF_K_A, SPF_Q_PASS, "", 0, 128},
	};

	(void)state;
	assert_int_equal(r->n_terms, sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < r->n_terms; i++) {
		assert_int_equal(r->terms[i].kind, want[i].kind);
		assert_int_equal(r->terms[i].qualifier, want[i].q);
		assert_string_equal(t_dom(r, i), want[i].dom);
		assert_false(r->terms[i].has_macro);
		if (want[i].kind != SPF_K_IP6)
			assert_int_equal(r->terms[i].cidr4, want[i].c4);
		if (want[i].kind != SPF_K_IP4)
			assert_int_equal(r->terms[i].cidr6, want[i].c6);
	}
	assert_int_equal(r->redirect, 11);
	assert_int_equal(r->exp, 12);
	assert_true(r->has_all);
	assert_memory_equal(r->terms[8].addr, "\xc0\x00\x02\x00", 4);
	assert_memory_equal(r->terms[9].addr, "\x20\x01\x0d\xb8", 4);
	assert_memory_equal(r->terms[15].addr + 12, "\0\0\0\1", 4);
}

static void
ip6_cidr(void **state)
{
	const struct spf_record *r = t_ok("v=spf1 ip6:2001:db8::/48 ip6:::ffff:192.0.2.1");

	(void)state;
	assert_int_equal(r->terms[0].cidr6, 48);
	assert_int_equal(r->terms[1].cidr6, 128);
	assert_memory_equal(r->terms[1].addr + 12, "\xc0\x00\x02\x01", 4);
}

static void
case_and_spaces(void **state)
{
	char name[SPF_NAME_MAX];
	const struct spf_record *r = t_ok("V=SpF1   INCLUDE:X.Example.COM.   -ALL   ");

	(void)state;
	assert_int_equal(r->n_terms, 2);
	assert_int_equal(r->terms[0].kind, SPF_K_INCLUDE);
	assert_int_equal(r->terms[1].kind, SPF_K_ALL);
	assert_true(spf_term_target(r, 0, "example.com", name, sizeof(name)));
	assert_string_equal(name, "x.example.com");
	assert_false(spf_term_target(r, 1, "example.com", name, sizeof(name)));
	assert_int_equal(t_ok("v=spf1")->n_terms, 0);
	assert_int_equal(t_ok("v=spf1 ")->n_terms, 0);
	/* The current domain when the term names none. */
	/* One trailing dot at most, no empty label, no space. */
	assert_false(spf_name_normalise("x.example.com..", 15, name, sizeof(name)));
	assert_false(spf_name_normalise(".example.com", 12, name, sizeof(name)));
	assert_false(spf_name_normalise("a b.example.com", 15, name, sizeof(name)));
	assert_false(spf_name_normalise(".", 1, name, sizeof(name)));
	r = t_ok("v=spf1 mx");
	assert_true(spf_term_target(r, 0, "Example.COM.", name, sizeof(name)));
	assert_string_equal(name, "example.com");
}

static void
macros_marked(void **state)
{
	const struct spf_record *r =
	    t_ok("v=spf1 exists:%{i}.%{l1r-}.x.example.com include:_spf.%{d} "
		 "a:%%.example.com a:%_x.example.com mx:%-x.example.com/24 "
		 "ptr:%{p}.example.com redirect=%{D2R+,/_=}.example.com foo=%{c}%{t} a");
	char name[SPF_NAME_MAX];

	(void)state;
	assert_int_equal(r->n_terms, 9);
	for (unsigned i = 0; i < 8; i++)
		assert_true(r->terms[i].has_macro);
	assert_false(r->terms[8].has_macro);
	assert_int_equal(r->terms[4].cidr4, 24);
	assert_false(spf_term_target(r, 1, "example.com", name, sizeof(name)));
	assert_true(spf_term_target(r, 8, "example.com", name, sizeof(name)));
}

static void
macros_malformed(void **state)
{
	static const char *const bad[] = {
	    "v=spf1 a:%{x}.example.com",
	    "v=spf1 a:%{d0}.example.com",
	    "v=spf1 a:%{d",
	    "v=spf1 a:%a.example.com",
	    "v=spf1 a:%",
	    "v=spf1 exists:%{c}.example.com",
	    "v=spf1 exists:x.%{d}y",
	    "v=spf1 a:%{d}.",
	    "v=spf1 foo=%x",
	    "v=spf1 exp=%{dd}.example.com",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t_bad(bad[i]);
}

static void
malformed(void **state)
{
	static const char *const bad[] = {
	    "v=spf1 -all\t", /* only spaces separate terms */
	    "v=spf1 a/33",   /* bad cidr */
	    "v=spf1 a//129",
	    "v=spf1 a/024",
	    "v=spf1 a/24/24",
	    "v=spf1 a//64//64",
	    "v=spf1 a//64/24",
	    "v=spf1 mx/",
	    "v=spf1 a:x.example.com/",
	    "v=spf1 ip4:192.0.2.1/33",
	    "v=spf1 ip4:192.0.2.1//64",
	    "v=spf1 ip6:::1/129",
	    "v=spf1 ip6:::1//64",
	    "v=spf1 ip4:192.0.2",
	    "v=spf1 ip4:01.2.3.4",
	    "v=spf1 ip4:256.1.1.1",
	    "v=spf1 ip4:1.2.3.4.5",
	    "v=spf1 ip4:1.2.3.4x",
	    "v=spf1 ip4",
	    "v=spf1 ip6:192.0.2.1",
	    "v=spf1 ip6:gggg::",
	    "v=spf1 foo",
	    "v=spf1 ipv4:192.0.2.1",
	    "v=spf1 -all:x",
	    "v=spf1 all/24",
	    "v=spf1 include",
	    "v=spf1 include:",
	    "v=spf1 exists",
	    "v=spf1 a:localhost",
	    "v=spf1 a:192.0.2.1",
	    "v=spf1 a:example.-com",
	    "v=spf1 +-all",
	    "v=spf1 a:\xc3\xa9.example.com",
	    "v=spf1 redirect=",
	    "v=spf1 redirect=a.example.com redirect=b.example.com",
	    "v=spf1 exp=a.example.com exp=b.example.com",
	    "v=spf1 =foo",
	    "v=spf1 ptr/24",
	    "v=spf1 include:x.example.com/24",
	    "v=spf1 mx:example.com:25",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t_bad(bad[i]);
	/* Where: the reason points at the offending term. */
	t_bad("v=spf1 a foo");
	assert_string_equal(t_rec.error, "unknown mechanism");
	assert_int_equal(t_rec.error_pos, 9);
	t_bad("v=spf1 a:x.example.com a/33");
	assert_int_equal(t_rec.error_pos, 25);
	/* A NUL inside is no ASCII text. */
	assert_int_equal(spf_parse("v=spf1 a\0b", 10, &t_rec), SPF_PARSE_PERMERROR);
}

static void
lenient_where_the_rfc_is(void **state)
{
	(void)state;
	/* Unknown modifiers are ignored (§6), even named like mechanisms. */
	assert_int_equal(t_ok("v=spf1 include=x foo= x-y_z.w=%{d} -all")->terms[0].kind,
			 SPF_K_MODIFIER);
	t_ok("v=spf1 a:123-456.example.123-456"); /* toplabel with a hyphen */
	t_ok("v=spf1 a:x.example.com.");	  /* trailing dot */
	t_ok("v=spf1 a:_spf.x.example.com/0//0"); /* zero lengths */
	t_ok("v=spf1 mx:a..b.example.com");	  /* the ABNF allows it; names do not */
}

static void
term_limit(void **state)
{
	char text[1024] = "v=spf1";

	(void)state;
	for (int i = 0; i < SPF_MAX_TERMS; i++)
		strcat(text, " ip4:192.0.2.1");
	assert_int_equal(t_ok(text)->n_terms, SPF_MAX_TERMS);
	strcat(text, " -all");
	t_bad(text);
	assert_string_equal(t_rec.error, "more than 64 terms");
}

/* ---- plan ---------------------------------------------------------- */

static void
plan_questions(void **state)
{
	struct spf_plan p;
	const struct spf_record *r =
	    t_ok("v=spf1 mx include:_spf.example.net ip4:192.0.2.1 a:mail.example.org "
		 "exists:%{i}.x.example.com ptr -all redirect=x.example.com");

	(void)state;
	spf_plan(r, "example.com", &p);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.dns_terms, 5); /* mx include a exists ptr; no redirect */
	assert_false(p.over_limit);
	assert_string_equal(p.q[0].name, "example.com");
	assert_int_equal(p.q[0].qtype, WIRE_T_MX);
	assert_string_equal(p.q[1].name, "_spf.example.net");
	assert_int_equal(p.q[1].qtype, WIRE_T_TXT);
	assert_int_equal(p.q[1].term, 1);
	assert_string_equal(p.q[2].name, "mail.example.org");
	assert_int_equal(p.q[2].qtype, WIRE_T_A);
	assert_int_equal(p.q[3].qtype, WIRE_T_AAAA);

	spf_plan(t_ok("v=spf1 a:x.example.com redirect=r.example.com"), "example.com", &p);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.q[2].name, "r.example.com");
	assert_int_equal(p.q[2].qtype, WIRE_T_TXT);
	assert_int_equal(p.dns_terms, 2);

	spf_plan(t_ok("v=spf1 -all a:x.example.com"), "example.com", &p);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.dns_terms, 0);
}

static void
plan_limit(void **state)
{
	struct spf_plan p;

	(void)state;
	spf_plan(t_ok("v=spf1 a a a a a a a a a a exists:x.example.com"), "example.com", &p);
	assert_int_equal(p.dns_terms, 10);
	assert_true(p.over_limit);
	assert_int_equal(p.n, 20);
	spf_plan(t_ok("v=spf1 a a a a a a a a a a"), "example.com", &p);
	assert_false(p.over_limit);
	spf_plan(t_ok("v=spf1 a a a a a a a a a a redirect=x.example.com"), "example.com", &p);
	assert_true(p.over_limit);
}

static void
names(void **state)
{
	(void)state;
	assert_string_equal(spf_result_name(SPF_R_PERMERROR), "permerror");
	assert_string_equal(spf_result_name((enum spf_result)99), "?");
	assert_string_equal(spf_kind_name(SPF_K_ROOT), "root");
	assert_string_equal(spf_node_status_name(SPF_N_TEMPERROR), "temperror");
	assert_string_equal(spf_node_status_name(SPF_N_LIMIT_VOID), "limit-void");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(is_record),     cmocka_unit_test(rdata_joined),
	    cmocka_unit_test(too_long),	     cmocka_unit_test(every_kind),
	    cmocka_unit_test(ip6_cidr),	     cmocka_unit_test(case_and_spaces),
	    cmocka_unit_test(macros_marked), cmocka_unit_test(macros_malformed),
	    cmocka_unit_test(malformed),     cmocka_unit_test(lenient_where_the_rfc_is),
	    cmocka_unit_test(term_limit),    cmocka_unit_test(plan_questions),
	    cmocka_unit_test(plan_limit),    cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
