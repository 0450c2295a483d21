/*
 * Unit tests for route (include/route.h): a delivery route worked out
 * through the real query engine against the fake resolver (t_engine.h).
 * The job moves on from zero-delay timers: ev_run(EVRUN_NOWAIT) runs them.
 */
#include "route.h"

#include "t_engine.h"

struct t_done {
	json_t *result;
	unsigned calls;
};

static void
t_route_done(void *arg, json_t *result)
{
	struct t_done *d = arg;

	json_decref(d->result);
	d->result = result;
	d->calls++;
}

static struct route *
t_route(struct t_env *t, const char *domain, struct t_done *d)
{
	char err[128];
	struct route *r = route_start(t->loop, t->qe, domain, t_route_done, d, err, sizeof(err));

	assert_non_null(r);
	return r;
}

static void
t_step(struct t_env *t)
{
	ev_run(t->loop, EVRUN_NOWAIT);
}

static void
test_route_exchanger_addresses(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_done d = {0};
	struct t_dns_msg m;
	(void)state;

	t_route(t, "example.com", &d);
	assert_int_equal(t->fake.n, 1);
	assert_int_equal(t->fake.reqs[0].qtype, WIRE_T_MX);
	t_dns_mx(&m, "example.com", 300, (const char *[]){"mx1.example.com", NULL});
	t_resolve(t, 0, &m, false, false);
	t_step(t);
	assert_int_equal(t->fake.n, 3); /* A and AAAA of the exchanger */
	assert_int_equal(d.calls, 0);
	t_dns_a(&m, "mx1.example.com", 300, 0xc0000201);
	t_resolve(t, 1, &m, false, false);
	t_dns_nodata(&m, "mx1.example.com", WIRE_T_AAAA, 300);
	t_resolve(t, 2, &m, false, false);
	t_step(t);
	assert_int_equal(d.calls, 1);
	assert_string_equal(json_string_value(json_object_get(d.result, "rcode")), "NOERROR");
	json_t *ex = json_array_get(json_object_get(d.result, "exchangers"), 0);
	assert_non_null(ex);
	assert_non_null(strstr(json_string_value(json_object_get(ex, "name")), "mx1.example.com"));
	json_t *addr = json_array_get(json_object_get(ex, "addresses"), 0);
	assert_string_equal(json_string_value(json_object_get(addr, "address")), "192.0.2.1");
	assert_null(json_object_get(ex, "problem"));
	json_decref(d.result);
	t_env_free(t);
}

static void
test_route_null_mx(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_done d = {0};
	struct t_dns_msg m;
	(void)state;

	t_route(t, "nomail.example.com", &d);
	t_dns_mx(&m, "nomail.example.com", 300, (const char *[]){".", NULL});
	t_resolve(t, 0, &m, false, false);
	t_step(t);
	assert_int_equal(t->fake.n, 1); /* nothing more to ask */
	assert_int_equal(d.calls, 1);
	assert_true(json_is_true(json_object_get(d.result, "null_mx")));
	assert_int_equal(json_array_size(json_object_get(d.result, "exchangers")), 0);
	assert_non_null(json_object_get(d.result, "problem"));
	json_decref(d.result);
	t_env_free(t);
}

static void
test_route_implicit_mx(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_done d = {0};
	struct t_dns_msg m;
	uint8_t self[WIRE_MAX_NAME];
	size_t slen = t_dns_name("host.example.com", self);
	(void)state;

	t_route(t, "host.example.com", &d);
	t_dns_nodata(&m, "host.example.com", WIRE_T_MX, 300);
	t_resolve(t, 0, &m, false, false);
	t_step(t);
	assert_int_equal(t->fake.n, 3);
	assert_memory_equal(t->fake.reqs[1].name, self, slen);
	t_resolve(t, 1, NULL, false, false);
	t_resolve(t, 2, NULL, false, false);
	t_step(t);
	assert_int_equal(d.calls, 1);
	assert_true(json_is_true(json_object_get(d.result, "implicit_mx")));
	json_t *ex = json_array_get(json_object_get(d.result, "exchangers"), 0);
	assert_string_equal(json_string_value(json_object_get(ex, "problem")),
			    "address lookup failed");
	json_decref(d.result);
	t_env_free(t);
}

static void
test_route_nxdomain(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_done d = {0};
	struct t_dns_msg m;
	(void)state;

	t_route(t, "gone.example.com", &d);
	t_dns_nodata(&m, "gone.example.com", WIRE_T_MX, 300);
	wire_put16(m.b + 2, (uint16_t)(wire_get16(m.b + 2) | WIRE_NXDOMAIN));
	t_resolve(t, 0, &m, false, false);
	t_step(t);
	assert_int_equal(t->fake.n, 1);
	assert_int_equal(d.calls, 1);
	assert_string_equal(json_string_value(json_object_get(d.result, "rcode")), "NXDOMAIN");
	assert_string_equal(json_string_value(json_object_get(d.result, "problem")),
			    "domain does not exist (NXDOMAIN)");
	json_decref(d.result);
	t_env_free(t);
}

static void
test_route_bad_name(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_done d = {0};
	char err[128] = "";
	(void)state;

	assert_null(route_start(t->loop, t->qe, "a..b", t_route_done, &d, err, sizeof(err)));
	assert_non_null(strstr(err, "not a domain name"));
	assert_int_equal(t->fake.n, 0);
	t_env_free(t);
}

static void
test_route_cancel(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct t_done d = {0};
	struct t_dns_msg m;
	(void)state;

	route_cancel(t_route(t, "example.com", &d));
	t_dns_mx(&m, "example.com", 300, (const char *[]){".", NULL});
	t_resolve(t, 0, &m, false, false);
	t_step(t);
	assert_int_equal(d.calls, 0); /* the job finished quietly */
	t_env_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_exchanger_addresses),
	    cmocka_unit_test(test_route_null_mx),
	    cmocka_unit_test(test_route_implicit_mx),
	    cmocka_unit_test(test_route_nxdomain),
	    cmocka_unit_test(test_route_bad_name),
	    cmocka_unit_test(test_route_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
