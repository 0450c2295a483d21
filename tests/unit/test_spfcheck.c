/*
 * Unit tests for spfcheck (include/spfcheck.h): the "spf" command's walk,
 * through the real engine with the fake resolver and clock of t_engine.h.
 * Each round asks what the walk met for the first time; the result says
 * each term, its lookups and the counts against the limits.
 */
#include "t_engine.h"

#include "spfcheck.h"

static void
t_done(void *arg, json_t *result)
{
	json_t **out = arg;

	*out = result;
}

/* The index of the live request for name/qtype, failing if none. */
static size_t
t_req_for(struct t_env *t, const char *name, uint16_t qtype)
{
	uint8_t w[WIRE_MAX_NAME];
	size_t n = t_dns_name(name, w);

	for (size_t i = 0; i < t->fake.n; i++)
		if (t->fake.reqs[i].live && t->fake.reqs[i].qtype == qtype &&
		    t->fake.reqs[i].name_len == n && memcmp(t->fake.reqs[i].name, w, n) == 0)
			return i;
	fail_msg("no lookup of %s", name);
	return 0;
}

static void
t_txt(struct t_env *t, const char *name, const char *record)
{
	struct t_dns_msg m;

	t_dns_txt(&m, name, 300, (const char *const[]){record, NULL});
	t_resolve(t, t_req_for(t, name, WIRE_T_TXT), &m, false, false);
	ev_run(t->loop, EVRUN_NOWAIT);
}

/* Two levels: the domain, then its include, one round each. */
static void
test_include_tree(void **state)
{
	struct t_env *t = t_env_new(NULL);
	json_t *res = NULL;
	char err[128];
	(void)state;

	assert_non_null(
	    spfcheck_start(t->loop, t->qe, "Sender.Example", t_done, &res, err, sizeof(err)));
	assert_int_equal(t->fake.n, 1);
	t_txt(t, "sender.example", "v=spf1 include:_spf.provider.example -all");
	assert_null(res);
	assert_int_equal(t->fake.n, 2);
	t_txt(t, "_spf.provider.example", "v=spf1 ip4:192.0.2.0/24 ~all");
	assert_non_null(res);
	assert_string_equal(json_string_value(json_object_get(res, "domain")), "sender.example");
	assert_int_equal(json_integer_value(json_object_get(res, "dns_terms")), 1);
	assert_int_equal(json_integer_value(json_object_get(res, "dns_terms_limit")), 10);
	assert_int_equal(json_integer_value(json_object_get(res, "rounds")), 3);
	assert_int_equal(json_integer_value(json_object_get(res, "lookups")), 2);
	assert_true(json_is_null(json_object_get(res, "breaks")));
	assert_true(json_array_size(json_object_get(res, "terms")) >= 2);
	json_decref(res);
	t_env_free(t);
}

/* An include that does not exist is where the tree breaks. */
static void
test_broken_include(void **state)
{
	struct t_env *t = t_env_new(NULL);
	json_t *res = NULL;
	struct t_dns_msg m;
	char err[128];
	(void)state;

	assert_non_null(
	    spfcheck_start(t->loop, t->qe, "broken.example", t_done, &res, err, sizeof(err)));
	t_txt(t, "broken.example", "v=spf1 include:gone.example -all");
	t_dns_nxdomain(&m, "gone.example", WIRE_T_TXT, 300);
	t_resolve(t, t_req_for(t, "gone.example", WIRE_T_TXT), &m, false, false);
	ev_run(t->loop, EVRUN_NOWAIT);
	assert_non_null(res);
	const json_t *breaks = json_object_get(res, "breaks");
	assert_true(json_is_object(breaks));
	assert_non_null(strstr(json_string_value(json_object_get(breaks, "term")), "gone.example"));
	json_decref(res);
	t_env_free(t);
}

/* Not a name: refused at once, nothing asked. */
static void
test_bad_name(void **state)
{
	struct t_env *t = t_env_new(NULL);
	json_t *res = NULL;
	char err[128] = "";
	(void)state;

	assert_null(spfcheck_start(t->loop, t->qe, "bad..name", t_done, &res, err, sizeof(err)));
	assert_non_null(strstr(err, "not a domain name"));
	assert_int_equal(t->fake.n, 0);
	t_env_free(t);
}

/* Cancelled: the walk finishes its lookups quietly, no callback. */
static void
test_cancel(void **state)
{
	struct t_env *t = t_env_new(NULL);
	json_t *res = NULL;
	char err[128];
	(void)state;

	struct spfcheck *c =
	    spfcheck_start(t->loop, t->qe, "quiet.example", t_done, &res, err, sizeof(err));
	assert_non_null(c);
	spfcheck_cancel(c);
	t_txt(t, "quiet.example", "v=spf1 -all");
	assert_null(res);
	t_env_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_include_tree),
	    cmocka_unit_test(test_broken_include),
	    cmocka_unit_test(test_bad_name),
	    cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
