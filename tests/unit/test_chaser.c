/*
 * Unit tests for chaser (include/chaser.h): what it chases for an MX
 * answer (through the engine on the bench of t_engine.h, so each chase
 * is a request the fake resolver records) and the additional records it
 * puts in MX replies from the cache; the ptr, spf and dmarc rules'
 * decisions, the SPF tree's bounds and the per-rule counters.
 */
#include <jansson.h>

#include "stats_keys.h"
#include "t_engine.h"

static struct chaser *
t_chaser_with(struct t_env *t, struct chaser_options co)
{
	assert_non_null(t->chaser = chaser_new(&co, t->qe, t->cache, &t->stats));
	return t->chaser;
}

static void
t_answered(struct t_env *t, const char *qname, const struct t_dns_msg *m, bool secure)
{
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key = {.name = name,
				.name_len = t_dns_name(qname, name),
				.qtype = WIRE_T_MX,
				.qclass = WIRE_CLASS_IN};

	chaser_answered(t->chaser, &key, m->b, m->len, secure, 0);
}

static void
test_chases_addresses(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	uint8_t mx2[WIRE_MAX_NAME];
	size_t mx2len = t_dns_name("mx2.example.com", mx2);
	(void)state;

	t_chaser_with(t, (struct chaser_options){.enabled = true, .max_exchangers = 8});
	t_dns_mx(&m, "example.com", 300,
		 (const char *[]){"mx1.example.com", "mx2.example.com", NULL});
	t_answered(t, "example.com", &m, false);
	assert_int_equal(t->fake.n, 4);
	assert_int_equal(t->fake.reqs[2].qtype, WIRE_T_A);
	assert_int_equal(t->fake.reqs[2].name_len, mx2len);
	assert_memory_equal(t->fake.reqs[2].name, mx2, mx2len);
	assert_int_equal(t->stats.mx_answers, 1);
	assert_int_equal(t->stats.mx_exchangers, 2);
	/* The same answer again: the lookups are running. */
	t_answered(t, "example.com", &m, false);
	assert_int_equal(t->fake.n, 4);
	assert_int_equal(t->stats.mx_skipped_running, 4);
	t_env_free(t);
}

static void
test_tlsa_only_for_secure(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	(void)state;

	t_chaser_with(t,
		      (struct chaser_options){.enabled = true, .max_exchangers = 8, .tlsa = true});
	t_dns_mx(&m, "example.com", 300, (const char *[]){"mx1.example.com", NULL});
	t_answered(t, "example.com", &m, false);
	assert_int_equal(t->fake.n, 2); /* no TLSA for an insecure MX set */
	t_dns_mx(&m, "example.org", 300, (const char *[]){"mx1.example.org", NULL});
	t_answered(t, "example.org", &m, true);
	assert_int_equal(t->fake.n, 5);
	assert_int_equal(t->fake.reqs[4].qtype, WIRE_T_TLSA);
	assert_memory_equal(t->fake.reqs[4].name, "\3_25\4_tcp\3mx1", 13);
	t_env_free(t);
}

static void
test_disabled_or_not_mx(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m;
	uint8_t name[WIRE_MAX_NAME];
	(void)state;

	t_chaser_with(t, (struct chaser_options){.enabled = false, .max_exchangers = 8});
	t_dns_mx(&m, "example.com", 300, (const char *[]){"mx1.example.com", NULL});
	t_answered(t, "example.com", &m, false);
	assert_int_equal(t->fake.n, 0);
	chaser_free(t->chaser);
	t_chaser_with(t, (struct chaser_options){.enabled = true, .max_exchangers = 8});
	struct cache_key a = {.name = name,
			      .name_len = t_dns_name("example.com", name),
			      .qtype = WIRE_T_A,
			      .qclass = WIRE_CLASS_IN};
	chaser_answered(t->chaser, &a, m.b, m.len, false, 0);
	assert_int_equal(t->fake.n, 0);
	t_env_free(t);
}

static void
test_additional_from_cache(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_dns_msg m, a;
	uint8_t name[WIRE_MAX_NAME];
	struct wire_query q = {.qtype = WIRE_T_MX, .qclass = WIRE_CLASS_IN};
	(void)state;

	t_chaser_with(
	    t, (struct chaser_options){.enabled = true, .max_exchangers = 8, .additional = true});
	t_dns_a(&a, "mx1.example.com", 300, 0xc0000201);
	struct cache_key key = {.name = name,
				.name_len = t_dns_name("mx1.example.com", name),
				.qtype = WIRE_T_A,
				.qclass = WIRE_CLASS_IN};
	assert_true(cache_insert(t->cache, &key, a.b, a.len, 300, 0, clock_us() / 1000u));
	t_dns_mx(&m, "example.com", 300,
		 (const char *[]){"mx1.example.com", "mx2.example.com", NULL});
	size_t len = chaser_additional(t->chaser, &q, m.b, m.len, sizeof(m.b));
	assert_int_equal(len, m.len + 12 + 4); /* one A record, owner as a pointer */
	assert_int_equal(wire_get16(m.b + 10), 1);
	assert_int_equal(t->stats.mx_additional, 1);
	/* Within the limit only. */
	t_dns_mx(&m, "example.com", 300, (const char *[]){"mx1.example.com", NULL});
	assert_int_equal(chaser_additional(t->chaser, &q, m.b, m.len, m.len + 10), m.len);
	t_env_free(t);
}

/* ---- the inbound rules ------------------------------------------- */

static void
t_more_background(struct query_options *o)
{
	o->max_background = 64;
}

/* Every rule on, hooked into the engine so branch answers reach it. */
static struct t_env *
t_inbound(bool ptr, bool spf, bool dmarc)
{
	struct t_env *t = t_env_new(t_more_background);
	struct chaser_options co = {
	    .enabled = true, .max_exchangers = 8, .ptr = ptr, .spf = spf, .dmarc = dmarc};

	assert_non_null(t->chaser = chaser_new(&co, t->qe, t->cache, &t->stats));
	query_set_hooks(t->qe, &(struct query_hooks){.answered = chaser_answered,
						     .tagged_hit = chaser_tagged_hit,
						     .arg = t->chaser});
	return t;
}

static void
t_arrives(struct t_env *t, const char *qname, uint16_t qtype, const struct t_dns_msg *m)
{
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key = {.name = name,
				.name_len = t_dns_name(qname, name),
				.qtype = qtype,
				.qclass = WIRE_CLASS_IN};

	chaser_answered(t->chaser, &key, m->b, m->len, false, 0);
}

/* The index of the live request for name/qtype, -1 if there is none. */
static int
t_req(const struct t_env *t, const char *name, uint16_t qtype)
{
	uint8_t w[WIRE_MAX_NAME];
	size_t len = wire_name_from_text(name, w);

	for (size_t i = 0; i < t->fake.n; i++)
		if (t->fake.reqs[i].live && t->fake.reqs[i].qtype == qtype &&
		    wire_name_equal(t->fake.reqs[i].name, t->fake.reqs[i].name_len, w, len))
			return (int)i;
	return -1;
}

/* Answers the running TXT lookup of name with records (NULL: NXDOMAIN). */
static void
t_txt_arrives(struct t_env *t, const char *name, const char *const *records)
{
	struct t_dns_msg m;
	int r = t_req(t, name, WIRE_T_TXT);

	assert_true(r >= 0);
	if (records)
		t_dns_txt(&m, name, 300, records);
	else
		t_dns_nxdomain(&m, name, WIRE_T_TXT, 300);
	t_resolve(t, (size_t)r, &m, false, false);
}

/* A chaser counter by its stats key, read as the control socket does. */
static uint64_t
t_counter(const struct t_env *t, const char *key)
{
	const struct stats_key *k = stats_key_find(key);
	struct stats_view *v = calloc(1, sizeof(*v));
	uint64_t n;

	assert_non_null(k);
	assert_non_null(v);
	cache_get_stats(t->cache, &v->cache);
	chaser_get_stats(t->chaser, v->chaser);
	n = stats_key_value(k, v);
	free(v);
	return n;
}

static void
test_ptr_targets(void **state)
{
	struct t_env *t = t_inbound(true, true, true);
	struct t_dns_msg m;
	(void)state;

	t_dns_ptr(&m, "5.2.0.192.in-addr.arpa", NULL, 300,
		  (const char *[]){"mail.example.com", "mx.example.net", NULL});
	t_arrives(t, "5.2.0.192.in-addr.arpa", WIRE_T_PTR, &m);
	assert_int_equal(t->fake.n, 4);
	assert_true(t_req(t, "mail.example.com", WIRE_T_A) >= 0);
	assert_true(t_req(t, "mail.example.com", WIRE_T_AAAA) >= 0);
	assert_true(t_req(t, "mx.example.net", WIRE_T_AAAA) >= 0);
	assert_int_equal(t_counter(t, "chaser.ptr.answers"), 1);
	assert_int_equal(t_counter(t, "chaser.ptr.prefetches"), 4);
	assert_int_equal(t->stats.mx_prefetches, 0); /* the mx_chaser.* keys stay the MX rule's */
	t_env_free(t);
}

static void
test_ptr_cap_and_classless(void **state)
{
	struct t_env *t = t_inbound(true, false, false);
	struct t_dns_msg m;
	(void)state;

	t_dns_ptr(&m, "9.2.0.192.in-addr.arpa", NULL, 300,
		  (const char *[]){"a.example", "b.example", "c.example", "d.example", "e.example",
				   "f.example", NULL});
	t_arrives(t, "9.2.0.192.in-addr.arpa", WIRE_T_PTR, &m);
	assert_int_equal(t->fake.n, 2 * CHASER_PTR_MAX);
	assert_int_equal(t_req(t, "e.example", WIRE_T_A), -1);
	assert_int_equal(t_counter(t, "chaser.ptr.skipped"), 2);
	/* RFC 2317: the PTR sits behind a CNAME into the delegated zone. */
	t_dns_ptr(&m, "130.2.0.192.in-addr.arpa", "130.128/25.2.0.192.in-addr.arpa", 300,
		  (const char *[]){"host.classless.example", NULL});
	t_arrives(t, "130.2.0.192.in-addr.arpa", WIRE_T_PTR, &m);
	assert_true(t_req(t, "host.classless.example", WIRE_T_A) >= 0);
	assert_true(t_req(t, "host.classless.example", WIRE_T_AAAA) >= 0);
	t_env_free(t);
}

static void
test_rules_off(void **state)
{
	struct t_env *t = t_inbound(false, false, false);
	struct t_dns_msg m;
	(void)state;

	t_dns_ptr(&m, "5.2.0.192.in-addr.arpa", NULL, 300, (const char *[]){"a.example", NULL});
	t_arrives(t, "5.2.0.192.in-addr.arpa", WIRE_T_PTR, &m);
	t_dns_txt(&m, "example.com", 300,
		  (const char *[]){"v=spf1 include:_spf.example.net -all", NULL});
	t_arrives(t, "example.com", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 0);
	t_env_free(t);
}

static void
test_spf_terms_and_dmarc(void **state)
{
	struct t_env *t = t_inbound(true, true, true);
	struct t_dns_msg m;
	(void)state;

	t_dns_txt(
	    &m, "example.com", 300,
	    (const char *[]){"v=spf1 ip4:192.0.2.0/24 include:_spf.provider.net a:out.example.com "
			     "mx exists:x.example.com ptr -all",
			     "google-site-verification=abc", NULL});
	t_arrives(t, "example.com", WIRE_T_TXT, &m);
	assert_true(t_req(t, "_spf.provider.net", WIRE_T_TXT) >= 0);
	assert_true(t_req(t, "out.example.com", WIRE_T_A) >= 0);
	assert_true(t_req(t, "out.example.com", WIRE_T_AAAA) >= 0);
	assert_true(t_req(t, "example.com", WIRE_T_MX) >= 0);
	assert_true(t_req(t, "x.example.com", WIRE_T_A) >= 0);
	assert_true(t_req(t, "_dmarc.example.com", WIRE_T_TXT) >= 0);
	assert_int_equal(t->fake.n, 6);
	assert_int_equal(t_counter(t, "chaser.spf.skipped"), 1); /* ptr */
	assert_int_equal(t_counter(t, "chaser.dmarc.prefetches"), 1);
	/* The include's record, chased in turn; no DMARC for a branch. */
	t_txt_arrives(t, "_spf.provider.net",
		      (const char *[]){"v=spf1 include:_netblocks.provider.net ~all", NULL});
	assert_true(t_req(t, "_netblocks.provider.net", WIRE_T_TXT) >= 0);
	assert_int_equal(t_req(t, "_dmarc._spf.provider.net", WIRE_T_TXT), -1);
	assert_int_equal(t->fake.n, 7);
	assert_int_equal(t_counter(t, "chaser.spf.answers"), 2);
	t_env_free(t);
}

static void
test_spf_not_one_record(void **state)
{
	struct t_env *t = t_inbound(true, true, true);
	struct t_dns_msg m;
	(void)state;

	t_dns_txt(&m, "two.example", 300,
		  (const char *[]){"v=spf1 a:x.example -all", "v=spf1 a:y.example -all", NULL});
	t_arrives(t, "two.example", WIRE_T_TXT, &m);
	t_dns_txt(&m, "none.example", 300, (const char *[]){"v=spf10 a:x.example", NULL});
	t_arrives(t, "none.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 0);
	/* Malformed: skipped, nothing asked but the DMARC policy. */
	t_dns_txt(&m, "bad.example", 300,
		  (const char *[]){"v=spf1 include: a:/99 ip4:1.2.3 -all", NULL});
	t_arrives(t, "bad.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 1);
	assert_true(t_req(t, "_dmarc.bad.example", WIRE_T_TXT) >= 0);
	assert_int_equal(t_counter(t, "chaser.spf.skipped"), 1);
	t_env_free(t);
}

static void
test_spf_macros_skipped(void **state)
{
	struct t_env *t = t_inbound(false, true, false);
	struct t_dns_msg m;
	(void)state;

	t_dns_txt(&m, "example.org", 300,
		  (const char *[]){"v=spf1 exists:%{i}._spf.example.org include:%{d2}.x.example "
				   "a:ok.example.org -all",
				   NULL});
	t_arrives(t, "example.org", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 2);
	assert_true(t_req(t, "ok.example.org", WIRE_T_A) >= 0);
	assert_int_equal(t_counter(t, "chaser.spf.skipped"), 2);
	t_env_free(t);
}

static void
test_spf_loop_stops(void **state)
{
	struct t_env *t = t_inbound(false, true, false);
	struct t_dns_msg m;
	(void)state;

	t_dns_txt(&m, "loop.example", 300,
		  (const char *[]){"v=spf1 include:b.loop.example -all", NULL});
	t_arrives(t, "loop.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 1);
	t_txt_arrives(
	    t, "b.loop.example",
	    (const char *[]){"v=spf1 include:loop.example include:b.loop.example -all", NULL});
	assert_int_equal(t->fake.n, 1); /* both are in the tree already */
	assert_int_equal(t_counter(t, "chaser.spf.skipped"), 2);
	t_env_free(t);
}

static void
test_spf_ten_terms_per_tree(void **state)
{
	struct t_env *t = t_inbound(false, true, false);
	struct t_dns_msg m;
	(void)state;

	/* 9 counted terms at the top, so the include's record has room for one. */
	t_dns_txt(&m, "big.example", 300,
		  (const char *[]){"v=spf1 include:i.big.example a:h1.big.example a:h2.big.example "
				   "a:h3.big.example a:h4.big.example exists:h5.big.example "
				   "exists:h6.big.example exists:h7.big.example "
				   "exists:h8.big.example -all",
				   NULL});
	t_arrives(t, "big.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 1 + 8 + 4);
	t_txt_arrives(t, "i.big.example",
		      (const char *[]){"v=spf1 a:j1.big.example a:j2.big.example -all", NULL});
	assert_int_equal(t->fake.n, 13 + 2);
	assert_true(t_req(t, "j1.big.example", WIRE_T_A) >= 0);
	assert_int_equal(t_req(t, "j2.big.example", WIRE_T_A), -1);
	/* An 11th term in one record is left out too. */
	t_dns_txt(&m, "eleven.example", 300,
		  (const char *[]){"v=spf1 a:1.e a:2.e a:3.e a:4.e a:5.e a:6.e a:7.e a:8.e a:9.e "
				   "a:10.e a:11.e -all",
				   NULL});
	t_arrives(t, "eleven.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 15 + 20);
	assert_int_equal(t_req(t, "11.e", WIRE_T_A), -1);
	t_env_free(t);
}

/* A tree's include answering after 64 other senders took every slot of
 * the tree table: no tree waits for it, and it is no sender either (a
 * fresh tree of its own would fetch ten more, and so on without end). */
static void
test_spf_orphaned_branch_plants_nothing(void **state)
{
	struct t_env *t = t_inbound(false, true, false);
	struct t_dns_msg m;
	char name[32];
	(void)state;

	t_dns_txt(&m, "root.example", 300,
		  (const char *[]){"v=spf1 include:inc.root.example -all", NULL});
	t_arrives(t, "root.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 1);
	for (int i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "flat%d.example", i);
		t_dns_txt(&m, name, 300, (const char *[]){"v=spf1 -all", NULL});
		t_arrives(t, name, WIRE_T_TXT, &m);
	}
	assert_int_equal(t->fake.n, 1);
	t_txt_arrives(t, "inc.root.example",
		      (const char *[]){"v=spf1 include:more.root.example -all", NULL});
	assert_int_equal(t->fake.n, 1);
	assert_int_equal(t_req(t, "more.root.example", WIRE_T_TXT), -1);
	t_env_free(t);
}

/* A domain's _dmarc record written as an SPF record: what the dmarc rule
 * fetched is no sender's SPF answer, so it starts no tree. */
static void
test_spf_dmarc_answer_plants_nothing(void **state)
{
	struct t_env *t = t_inbound(false, true, true);
	struct t_dns_msg m;
	(void)state;

	t_dns_txt(&m, "d.example", 300, (const char *[]){"v=spf1 -all", NULL});
	t_arrives(t, "d.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 1);
	t_txt_arrives(t, "_dmarc.d.example",
		      (const char *[]){"v=spf1 a:h1.d.example a:h2.d.example -all", NULL});
	assert_int_equal(t->fake.n, 1);
	t_env_free(t);
}

/* An include target without one SPF record is the evaluator's permerror:
 * the rest of the tree is never asked. */
static void
test_spf_broken_branch_ends_tree(void **state)
{
	struct t_env *t = t_inbound(false, true, false);
	struct t_dns_msg m;
	(void)state;

	t_dns_txt(
	    &m, "nx.example", 300,
	    (const char *[]){"v=spf1 include:gone.nx.example include:ok.nx.example -all", NULL});
	t_arrives(t, "nx.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 2);
	t_txt_arrives(t, "gone.nx.example", NULL);
	t_txt_arrives(t, "ok.nx.example", (const char *[]){"v=spf1 a:after.nx.example -all", NULL});
	assert_int_equal(t->fake.n, 2);
	/* Without the broken branch, the same shape is chased. */
	t_dns_txt(
	    &m, "fine.example", 300,
	    (const char *[]){"v=spf1 include:a.fine.example include:ok.fine.example -all", NULL});
	t_arrives(t, "fine.example", WIRE_T_TXT, &m);
	t_txt_arrives(t, "a.fine.example", (const char *[]){"v=spf1 ~all", NULL});
	t_txt_arrives(t, "ok.fine.example",
		      (const char *[]){"v=spf1 a:in.fine.example -all", NULL});
	assert_int_equal(t->fake.n, 2 + 2 + 2);
	assert_true(t_req(t, "in.fine.example", WIRE_T_A) >= 0);
	t_env_free(t);
}

/* Answers the running lookup of name/qtype with NXDOMAIN. */
static void
t_nx_arrives(struct t_env *t, const char *name, uint16_t qtype)
{
	struct t_dns_msg m;
	int r = t_req(t, name, qtype);

	assert_true(r >= 0);
	t_dns_nxdomain(&m, name, qtype, 300);
	t_resolve(t, (size_t)r, &m, false, false);
}

/* The third void lookup of a tree's a/exists/mx terms is the evaluator's
 * permerror: a branch arriving after it starts nothing; two are fine. */
static void
test_spf_void_lookups(void **state)
{
	struct t_env *t = t_inbound(false, true, false);
	struct t_dns_msg m;
	(void)state;

	t_dns_txt(&m, "v.example", 300,
		  (const char *[]){"v=spf1 a:n1.v.example mx:n2.v.example exists:n3.v.example "
				   "include:late.v.example -all",
				   NULL});
	t_arrives(t, "v.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 2 + 1 + 1 + 1);
	t_nx_arrives(t, "n1.v.example", WIRE_T_A);
	t_nx_arrives(t, "n2.v.example", WIRE_T_MX);
	t_nx_arrives(t, "n3.v.example", WIRE_T_A);
	t_txt_arrives(t, "late.v.example", (const char *[]){"v=spf1 a:x.v.example -all", NULL});
	assert_int_equal(t->fake.n, 5);
	/* Two voids: the late branch is chased. */
	t_dns_txt(
	    &m, "w.example", 300,
	    (const char *[]){"v=spf1 a:n1.w.example exists:n2.w.example include:late.w.example "
			     "-all",
			     NULL});
	t_arrives(t, "w.example", WIRE_T_TXT, &m);
	t_nx_arrives(t, "n1.w.example", WIRE_T_A);
	t_nx_arrives(t, "n2.w.example", WIRE_T_A);
	t_txt_arrives(t, "late.w.example", (const char *[]){"v=spf1 a:x.w.example -all", NULL});
	assert_true(t_req(t, "x.w.example", WIRE_T_A) >= 0);
	t_env_free(t);
}

static void
test_spf_cached_branch_chased_at_once(void **state)
{
	struct t_env *t = t_inbound(false, true, false);
	struct t_dns_msg m;
	uint8_t name[WIRE_MAX_NAME];
	(void)state;

	t_dns_txt(&m, "_spf.shared.example", 300,
		  (const char *[]){"v=spf1 include:_deep.shared.example -all", NULL});
	struct cache_key key = {.name = name,
				.name_len = t_dns_name("_spf.shared.example", name),
				.qtype = WIRE_T_TXT,
				.qclass = WIRE_CLASS_IN};
	assert_true(cache_insert(t->cache, &key, m.b, m.len, 300, 0, clock_us() / 1000u));
	t_dns_txt(&m, "sender.example", 300,
		  (const char *[]){"v=spf1 include:_spf.shared.example -all", NULL});
	t_arrives(t, "sender.example", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 1);
	assert_true(t_req(t, "_deep.shared.example", WIRE_T_TXT) >= 0);
	t_env_free(t);
}

static void
test_dmarc_alone(void **state)
{
	struct t_env *t = t_inbound(false, false, true);
	struct t_dns_msg m;
	(void)state;

	t_dns_txt(&m, "example.com", 300,
		  (const char *[]){"v=spf1 include:_spf.example.net -all", NULL});
	t_arrives(t, "example.com", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 1);
	assert_true(t_req(t, "_dmarc.example.com", WIRE_T_TXT) >= 0);
	t_dns_txt(&m, "_spf.example.net", 300, (const char *[]){"v=spf1 -all", NULL});
	t_arrives(t, "_spf.example.net", WIRE_T_TXT, &m);
	assert_int_equal(t->fake.n, 1);
	t_env_free(t);
}

/* A client answered from a PTR rule's entry counts as that rule's hit;
 * the entry it never used, as unused once it goes. */
static void
test_hits_per_rule(void **state)
{
	struct t_env *t = t_inbound(true, false, false);
	struct t_dns_msg m, a;
	(void)state;

	t_dns_ptr(&m, "5.2.0.192.in-addr.arpa", NULL, 300, (const char *[]){"h.example", NULL});
	t_arrives(t, "5.2.0.192.in-addr.arpa", WIRE_T_PTR, &m);
	t_dns_a(&a, "h.example", 300, 0xc0000205);
	t_resolve(t, (size_t)t_req(t, "h.example", WIRE_T_A), &a, false, false);
	t_dns_nodata(&a, "h.example", WIRE_T_AAAA, 300);
	t_resolve(t, (size_t)t_req(t, "h.example", WIRE_T_AAAA), &a, false, false);
	t_ask(t, 0, 7, "h.example", WIRE_T_A, WIRE_RD);
	assert_int_equal(t->c[0].replies, 1);
	assert_int_equal(t_counter(t, "chaser.ptr.prefetch_hits"), 1);
	assert_int_equal(t_counter(t, "chaser.mx.prefetch_hits"), 0);
	cache_flush(t->cache);
	assert_int_equal(t_counter(t, "chaser.ptr.prefetch_unused"), 1);
	chaser_reset_stats(t->chaser);
	assert_int_equal(t_counter(t, "chaser.ptr.prefetch_hits"), 0);
	t_env_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chases_addresses),
	    cmocka_unit_test(test_tlsa_only_for_secure),
	    cmocka_unit_test(test_disabled_or_not_mx),
	    cmocka_unit_test(test_additional_from_cache),
	    cmocka_unit_test(test_ptr_targets),
	    cmocka_unit_test(test_ptr_cap_and_classless),
	    cmocka_unit_test(test_rules_off),
	    cmocka_unit_test(test_spf_terms_and_dmarc),
	    cmocka_unit_test(test_spf_not_one_record),
	    cmocka_unit_test(test_spf_macros_skipped),
	    cmocka_unit_test(test_spf_loop_stops),
	    cmocka_unit_test(test_spf_ten_terms_per_tree),
	    cmocka_unit_test(test_spf_orphaned_branch_plants_nothing),
	    cmocka_unit_test(test_spf_dmarc_answer_plants_nothing),
	    cmocka_unit_test(test_spf_broken_branch_ends_tree),
	    cmocka_unit_test(test_spf_void_lookups),
	    cmocka_unit_test(test_spf_cached_branch_chased_at_once),
	    cmocka_unit_test(test_dmarc_alone),
	    cmocka_unit_test(test_hits_per_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
