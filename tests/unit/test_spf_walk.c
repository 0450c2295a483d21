/*
 * Unit tests for spf_walk (include/spf.h): spf_walk over the in-memory
 * zone of spf_fakezone.h (RFC 7208 Appendix A, the 10-lookup and 2-void
 * limits, loops, depth, duplicate records, failures).
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
#include "spf_fakezone.h"
#include "wire.h"

static struct spf_walk t_w;
static struct fz_zone t_zone;

static const struct spf_walk *
t_walk(const char *zone, const char *domain, unsigned max_depth)
{
	if (!fz_load(&t_zone, zone))
		fail_msg("bad zone");
	spf_walk(domain, max_depth, fz_lookup, &t_zone, &t_w);
	assert_int_equal(t_zone.calls, t_w.n_lookups);
	assert_false(t_w.truncated);
	return &t_w;
}

/* The first node whose text is text. */
static const struct spf_node *
t_node(const struct spf_walk *w, const char *text)
{
	for (unsigned i = 0; i < w->n_nodes; i++)
		if (strcmp(w->nodes[i].text, text) == 0)
			return &w->nodes[i];
	fail_msg("no node '%s'", text);
	return NULL;
}

static bool
t_asked(const struct spf_walk *w, const char *name, uint16_t qtype)
{
	for (unsigned i = 0; i < w->n_lookups; i++)
		if (strcmp(w->lookups[i].name, name) == 0 && w->lookups[i].qtype == qtype)
			return true;
	return false;
}

/* RFC 7208 Appendix A's zone (A.1, A.2), with example.net's record. */
static const char appendix_a[] =
    "example.com TXT v=spf1 +mx a:colo.example.com/28 -all\n"
    "example.com A 192.0.2.10\n"
    "example.com A 192.0.2.11\n"
    "example.com MX mail-a.example.com\n"
    "example.com MX mail-b.example.com\n"
    "example.org MX mail-c.example.org\n"
    "example.org TXT v=spf1 include:example.com include:example.net -all\n"
    "la.example.org TXT v=spf1 redirect=example.org\n"
    "example.net TXT v=spf1 ?all\n"
    "mail-a.example.com A 192.0.2.129\n"
    "mail-b.example.com A 192.0.2.130\n"
    "mail-c.example.org A 192.0.2.140\n"
    "amy.example.com A 192.0.2.65\n";

static void
walk_appendix_a(void **state)
{
	const struct spf_walk *w = t_walk(appendix_a, "example.com", 0);

	(void)state;
	assert_int_equal(w->result, SPF_R_FAIL);
	assert_null(w->reason);
	assert_int_equal(w->dns_terms, 2);
	assert_int_equal(w->voids, 1); /* colo.example.com does not exist */
	/* root, mx, a, -all */
	assert_int_equal(w->n_nodes, 4);
	assert_int_equal(w->nodes[0].kind, SPF_K_ROOT);
	assert_int_equal(w->nodes[1].kind, SPF_K_MX);
	assert_int_equal(w->nodes[1].n_lookups, 5); /* MX, A+AAAA per exchanger */
	assert_int_equal(w->nodes[3].status, SPF_N_MATCH);
	assert_true(t_asked(w, "mail-b.example.com", WIRE_T_AAAA));
	assert_true(t_asked(w, "colo.example.com", WIRE_T_A));

	w = t_walk(appendix_a, "la.example.org", 0);
	assert_int_equal(w->result, SPF_R_FAIL);
	assert_int_equal(w->dns_terms, 5); /* redirect, include, mx, a, include */
	assert_int_equal(w->voids, 1);
	assert_int_equal(t_node(w, "redirect=example.org")->depth, 0);
	assert_int_equal(t_node(w, "include:example.com")->depth, 1);
	assert_int_equal(t_node(w, "+mx")->depth, 2);
	assert_int_equal(t_node(w, "?all")->status, SPF_N_MATCH);
	assert_int_equal(t_node(w, "include:example.net")->status, SPF_N_OK);
	assert_int_equal(w->nodes[w->n_nodes - 1].depth, 1); /* example.org's -all */
	assert_int_equal(w->nodes[w->n_nodes - 1].dns_terms, 5);
}

static void
walk_none(void **state)
{
	(void)state;
	assert_int_equal(t_walk("", "example.com", 0)->result, SPF_R_NONE);
	assert_int_equal(t_w.nodes[0].status, SPF_N_NXDOMAIN);
	assert_int_equal(
	    t_walk("example.com TXT google-site-verification=x\n", "example.com", 0)->result,
	    SPF_R_NONE);
	assert_int_equal(t_w.nodes[0].status, SPF_N_NO_RECORD);
	assert_int_equal(t_walk("example.com A 192.0.2.1\n", "example.com", 0)->result, SPF_R_NONE);
	assert_int_equal(t_walk("", "bad..name", 0)->result, SPF_R_NONE);
	assert_int_equal(t_w.n_lookups, 0);
	assert_int_equal(t_walk("example.com TXT v=spf1\n", "example.com", 0)->result,
			 SPF_R_NEUTRAL);
}

static void
walk_multistring_and_qualifiers(void **state)
{
	(void)state;
	t_walk("example.com TXT v=spf1 ip4:192.0.2.0/24| ip6:2001:db8::/32 ~all\n", "example.com",
	       0);
	assert_int_equal(t_w.result, SPF_R_SOFTFAIL);
	assert_int_equal(t_w.n_nodes, 4);
	assert_int_equal(t_w.nodes[1].n_lookups, 0);
	assert_int_equal(t_w.dns_terms, 0);
	assert_int_equal(t_walk("example.com TXT v=spf1 +all\n", "example.com", 0)->result,
			 SPF_R_PASS);
	assert_int_equal(t_walk("example.com TXT v=spf1 ?all\n", "example.com", 0)->result,
			 SPF_R_NEUTRAL);
	assert_int_equal(t_walk("example.com TXT v=spf1 all\n", "example.com", 0)->result,
			 SPF_R_PASS);
}

static void
walk_after_all_and_redirect_ignored(void **state)
{
	(void)state;
	t_walk("example.com TXT v=spf1 -all a:x.example.com redirect=r.example.com\n"
	       "r.example.com TXT v=spf1 +all\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_FAIL);
	assert_int_equal(t_w.n_lookups, 1);
	assert_int_equal(t_w.n_nodes, 2);
	/* Without "all" the redirect decides, after every mechanism. */
	t_walk("example.com TXT v=spf1 redirect=r.example.com a:x.example.com\n"
	       "x.example.com A 192.0.2.1\n"
	       "r.example.com TXT v=spf1 +all\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PASS);
	assert_int_equal(t_w.nodes[1].kind, SPF_K_A);
	assert_int_equal(t_w.nodes[2].kind, SPF_K_REDIRECT);
}

static void
walk_include_semantics(void **state)
{
	(void)state;
	/* An include whose target passes matches (§5.2): its qualifier wins. */
	t_walk("example.com TXT v=spf1 -include:p.example.com +all\n"
	       "p.example.com TXT v=spf1 +all\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_FAIL);
	assert_int_equal(t_node(&t_w, "-include:p.example.com")->status, SPF_N_MATCH);
	/* fail, softfail, neutral: no match, go on. */
	t_walk("example.com TXT v=spf1 include:f.example.com include:s.example.com "
	       "include:n.example.com +all\n"
	       "f.example.com TXT v=spf1 -all\n"
	       "s.example.com TXT v=spf1 ~all\n"
	       "n.example.com TXT v=spf1\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PASS);
	assert_int_equal(t_w.dns_terms, 3);
	/* exists matches when its name has an A record. */
	t_walk("example.com TXT v=spf1 ~exists:e.example.com a:never.example.com -all\n"
	       "e.example.com A 127.0.0.2\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_SOFTFAIL);
	assert_false(t_asked(&t_w, "never.example.com", WIRE_T_A));
}

static void
walk_include_broken_targets(void **state)
{
	static const struct {
		const char *zone;
		enum spf_node_status st;
	} cases[] = {
	    {"example.com TXT v=spf1 include:gone.example.com -all\n", SPF_N_NXDOMAIN},
	    {"example.com TXT v=spf1 include:t.example.com -all\nt.example.com TXT hello\n",
	     SPF_N_NO_RECORD},
	    {"example.com TXT v=spf1 include:t.example.com -all\nt.example.com A 192.0.2.1\n",
	     SPF_N_NO_RECORD},
	    {"example.com TXT v=spf1 include:t.example.com -all\n"
	     "t.example.com TXT v=spf1 -all\nt.example.com TXT v=spf1 +all\n",
	     SPF_N_MULTIPLE},
	    {"example.com TXT v=spf1 include:t.example.com -all\n"
	     "t.example.com TXT v=spf1 foo -all\n",
	     SPF_N_BAD_RECORD},
	    {"example.com TXT v=spf1 redirect=gone.example.com\n", SPF_N_NXDOMAIN},
	    {"example.com TXT v=spf1 redirect=t.example.com\nt.example.com TXT hi\n",
	     SPF_N_NO_RECORD},
	    {"example.com TXT v=spf1 include:a..example.com -all\n", SPF_N_BAD_NAME},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_walk(cases[i].zone, "example.com", 0);
		assert_int_equal(t_w.result, SPF_R_PERMERROR);
		assert_non_null(t_w.reason);
		/* The walk ends at the broken include: -all is never reached. */
		assert_int_equal(t_w.nodes[t_w.n_nodes - 1].status, cases[i].st);
	}
	t_walk(cases[4].zone, "example.com", 0);
	assert_string_equal(t_w.reason, "unknown mechanism");
}

static void
walk_two_records_at_top(void **state)
{
	(void)state;
	t_walk("example.com TXT v=spf1 -all\nexample.com TXT v=spf1 +all\n"
	       "example.com TXT v=spf10 other\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_int_equal(t_w.nodes[0].status, SPF_N_MULTIPLE);
	/* Non-SPF TXT beside one record is fine. */
	t_walk("example.com TXT v=spf1 -all\nexample.com TXT v=spf10 other\n", "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_FAIL);
}

/* Ten names with an address each, a0..a9 and a10. */
static const char ten_names[] = "a0.example.com A 192.0.2.1\na1.example.com A 192.0.2.1\n"
				"a2.example.com A 192.0.2.1\na3.example.com A 192.0.2.1\n"
				"a4.example.com A 192.0.2.1\na5.example.com A 192.0.2.1\n"
				"a6.example.com A 192.0.2.1\na7.example.com A 192.0.2.1\n"
				"a8.example.com A 192.0.2.1\na9.example.com A 192.0.2.1\n"
				"a10.example.com A 192.0.2.1\n";

static void
walk_lookup_limit(void **state)
{
	char zone[2048];

	(void)state;
	snprintf(zone, sizeof(zone),
		 "%sexample.com TXT v=spf1 a:a0.example.com a:a1.example.com a:a2.example.com "
		 "include:i.example.com a:a9.example.com -all\n"
		 "i.example.com TXT v=spf1 a:a3.example.com a:a4.example.com a:a5.example.com "
		 "a:a6.example.com a:a7.example.com ~all\n",
		 ten_names);
	t_walk(zone, "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_FAIL);
	assert_int_equal(t_w.dns_terms, 10);
	/* The tenth is fine, the eleventh a permerror, asked nothing. */
	snprintf(zone, sizeof(zone),
		 "%sexample.com TXT v=spf1 a:a0.example.com a:a1.example.com a:a2.example.com "
		 "include:i.example.com a:a9.example.com a:a10.example.com a:a8.example.com "
		 "-all\n"
		 "i.example.com TXT v=spf1 a:a3.example.com a:a4.example.com a:a5.example.com "
		 "a:a6.example.com ~all\n",
		 ten_names);
	t_walk(zone, "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_string_equal(t_w.reason, "more than 10 DNS-querying terms");
	assert_int_equal(t_w.dns_terms, 10);
	assert_int_equal(t_node(&t_w, "a:a10.example.com")->dns_terms, 10);
	assert_int_equal(t_node(&t_w, "a:a8.example.com")->status, SPF_N_LIMIT_LOOKUPS);
	assert_false(t_asked(&t_w, "a8.example.com", WIRE_T_A));
	assert_int_equal(t_w.nodes[t_w.n_nodes - 1].kind, SPF_K_A); /* -all not reached */
	/* ptr and macro terms count too. */
	t_walk("example.com TXT v=spf1 ptr ptr a:%{i}.x.example.com a a a a a a a mx -all\n"
	       "example.com A 192.0.2.1\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_int_equal(t_node(&t_w, "ptr")->status, SPF_N_SKIP_PTR);
	assert_int_equal(t_node(&t_w, "a:%{i}.x.example.com")->status, SPF_N_SKIP_MACRO);
	assert_int_equal(t_node(&t_w, "mx")->status, SPF_N_LIMIT_LOOKUPS);
}

static void
walk_void_limit(void **state)
{
	(void)state;
	t_walk("example.com TXT v=spf1 a:n1.example.com mx:n2.example.com -all\n", "example.com",
	       0);
	assert_int_equal(t_w.result, SPF_R_FAIL);
	assert_int_equal(t_w.voids, 2);
	t_walk("example.com TXT v=spf1 a:n1.example.com a:n2.example.com "
	       "exists:n3.example.com a:n4.example.com -all\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_string_equal(t_w.reason, "more than 2 void lookups");
	assert_int_equal(t_w.voids, 3);
	assert_int_equal(t_node(&t_w, "exists:n3.example.com")->status, SPF_N_LIMIT_VOID);
	assert_false(t_asked(&t_w, "n4.example.com", WIRE_T_A));
	/* An address of either family is no void; an MX without one is. */
	t_walk("example.com TXT v=spf1 a:v6.example.com mx:m.example.com -all\n"
	       "v6.example.com AAAA 2001:db8::1\n"
	       "m.example.com MX x1.example.com\nm.example.com MX x2.example.com\n"
	       "m.example.com MX x3.example.com\nx3.example.com A 192.0.2.1\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_FAIL);
	assert_int_equal(t_w.voids, 2);
	/* An empty MX answer is a void too; a null MX asks nothing more. */
	t_walk("example.com TXT v=spf1 mx:e.example.com mx:null.example.com -all\n"
	       "e.example.com A 192.0.2.1\nnull.example.com MX .\n",
	       "example.com", 0);
	assert_int_equal(t_w.voids, 1);
	assert_int_equal(t_node(&t_w, "mx:null.example.com")->n_lookups, 1);
}

static void
walk_mx_limit(void **state)
{
	char zone[2048] = "example.com TXT v=spf1 mx -all\n";

	(void)state;
	for (int i = 0; i < 11; i++) {
		char line[64];
		snprintf(line, sizeof(line), "example.com MX mx%d.example.com\n", i);
		strcat(zone, line);
	}
	t_walk(zone, "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_int_equal(t_node(&t_w, "mx")->status, SPF_N_LIMIT_MX);
	assert_int_equal(t_w.n_lookups, 2);
	/* Ten is allowed: every exchanger asked, both families. */
	*strstr(zone, "example.com MX mx10") = '\0';
	t_walk(zone, "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR); /* ten voids, no addresses */
	assert_string_equal(t_w.reason, "more than 2 void lookups");
}

static void
walk_loops(void **state)
{
	(void)state;
	t_walk("example.com TXT v=spf1 include:example.com -all\n", "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_int_equal(t_w.nodes[1].status, SPF_N_LOOP);
	assert_int_equal(t_w.n_lookups, 1);
	t_walk("a.example.com TXT v=spf1 include:b.example.com -all\n"
	       "b.example.com TXT v=spf1 include:c.example.com -all\n"
	       "c.example.com TXT v=spf1 include:A.Example.com. -all\n",
	       "a.example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_string_equal(t_w.reason, "loop");
	assert_int_equal(t_node(&t_w, "include:A.Example.com.")->status, SPF_N_LOOP);
	assert_int_equal(t_node(&t_w, "include:A.Example.com.")->depth, 2);
	t_walk("a.example.com TXT v=spf1 redirect=b.example.com\n"
	       "b.example.com TXT v=spf1 redirect=a.example.com\n",
	       "a.example.com", 0);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_string_equal(t_w.reason, "loop");
	/* The same target twice side by side is no loop. */
	t_walk("a.example.com TXT v=spf1 include:b.example.com include:b.example.com -all\n"
	       "b.example.com TXT v=spf1 ~all\n",
	       "a.example.com", 0);
	assert_int_equal(t_w.result, SPF_R_FAIL);
	assert_int_equal(t_w.dns_terms, 2);
}

static const char chain[] = "d0.example.com TXT v=spf1 include:d1.example.com -all\n"
			    "d1.example.com TXT v=spf1 include:d2.example.com -all\n"
			    "d2.example.com TXT v=spf1 include:d3.example.com -all\n"
			    "d3.example.com TXT v=spf1 -all\n";

static void
walk_depth(void **state)
{
	(void)state;
	t_walk(chain, "d0.example.com", 3);
	assert_int_equal(t_w.result, SPF_R_FAIL);
	assert_int_equal(t_w.nodes[t_w.n_nodes - 1].depth, 0);
	assert_int_equal(t_node(&t_w, "-all")->depth, 3);
	t_walk(chain, "d0.example.com", 2);
	assert_int_equal(t_w.result, SPF_R_PERMERROR);
	assert_int_equal(t_node(&t_w, "include:d3.example.com")->status, SPF_N_LIMIT_DEPTH);
	assert_false(t_asked(&t_w, "d3.example.com", WIRE_T_TXT));
	/* Depth is clamped to SPF_MAX_DEPTH. */
	t_walk(chain, "d0.example.com", 1000);
	assert_int_equal(t_w.result, SPF_R_FAIL);
}

static void
walk_temperror(void **state)
{
	(void)state;
	/* The failed branch ends; the rest is still walked (and asked). */
	t_walk("example.com TXT v=spf1 include:down.example.com a:up.example.com -all\n"
	       "down.example.com FAIL\nup.example.com A 192.0.2.1\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_TEMPERROR);
	assert_int_equal(t_node(&t_w, "include:down.example.com")->status, SPF_N_TEMPERROR);
	assert_true(t_asked(&t_w, "up.example.com", WIRE_T_A));
	assert_int_equal(t_w.nodes[t_w.n_nodes - 1].status, SPF_N_MATCH);
	t_walk(
	    "example.com TXT v=spf1 mx a:down.example.com -all\nexample.com MX down.example.com\n"
	    "down.example.com FAIL\n",
	    "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_TEMPERROR);
	assert_int_equal(t_node(&t_w, "mx")->status, SPF_N_TEMPERROR);
	assert_int_equal(t_w.voids, 0);
	assert_int_equal(t_walk("example.com FAIL\n", "example.com", 0)->result, SPF_R_TEMPERROR);
	/* A permerror after a temperror: the first error is the result, the
	 * walk still stops. */
	t_walk("example.com TXT v=spf1 a:down.example.com include:gone.example.com a -all\n"
	       "down.example.com FAIL\n",
	       "example.com", 0);
	assert_int_equal(t_w.result, SPF_R_TEMPERROR);
	assert_int_equal(t_w.nodes[t_w.n_nodes - 1].status, SPF_N_NXDOMAIN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(walk_appendix_a),
	    cmocka_unit_test(walk_none),
	    cmocka_unit_test(walk_multistring_and_qualifiers),
	    cmocka_unit_test(walk_after_all_and_redirect_ignored),
	    cmocka_unit_test(walk_include_semantics),
	    cmocka_unit_test(walk_include_broken_targets),
	    cmocka_unit_test(walk_two_records_at_top),
	    cmocka_unit_test(walk_lookup_limit),
	    cmocka_unit_test(walk_void_limit),
	    cmocka_unit_test(walk_mx_limit),
	    cmocka_unit_test(walk_loops),
	    cmocka_unit_test(walk_depth),
	    cmocka_unit_test(walk_temperror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
