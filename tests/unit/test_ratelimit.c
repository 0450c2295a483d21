/*
 * Unit tests for ratelimit (include/ratelimit.h): per-client windows of
 * one second, IPv6 counted per /64, time passed in by the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "ratelimit.h"

static const uint8_t t_seed[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

static struct sockaddr_in
t_v4(const char *addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};

	assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	return sa;
}

static struct sockaddr_in6
t_v6(const char *addr)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};

	assert_int_equal(inet_pton(AF_INET6, addr, &sa.sin6_addr), 1);
	return sa;
}

static unsigned
t_allowed(struct ratelimit *rl, const void *sa, unsigned n, uint64_t now_ms)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += ratelimit_allow(rl, sa, now_ms);
	return ok;
}

static void
test_limit_per_second(void **state)
{
	struct ratelimit *rl = ratelimit_new(5, t_seed);
	struct sockaddr_in a = t_v4("127.0.0.10");
	(void)state;

	assert_non_null(rl);
	assert_int_equal(t_allowed(rl, &a, 8, 10000), 5);
	assert_int_equal(t_allowed(rl, &a, 8, 10999), 0); /* same second */
	assert_int_equal(t_allowed(rl, &a, 8, 11000), 5); /* a new window */
	ratelimit_free(rl);
}

static void
test_clients_apart(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, t_seed);
	struct sockaddr_in a = t_v4("127.0.0.10"), b = t_v4("127.0.0.11");
	(void)state;

	assert_int_equal(t_allowed(rl, &a, 5, 1000), 3);
	assert_int_equal(t_allowed(rl, &b, 5, 1000), 3);
	ratelimit_free(rl);
}

static void
test_v6_per_64(void **state)
{
	struct ratelimit *rl = ratelimit_new(4, t_seed);
	struct sockaddr_in6 a = t_v6("2001:db8:1:2::1"), b = t_v6("2001:db8:1:2::ffff"),
			    c = t_v6("2001:db8:1:3::1");
	(void)state;

	assert_int_equal(t_allowed(rl, &a, 3, 5000), 3);
	assert_int_equal(t_allowed(rl, &b, 3, 5000), 1); /* the same /64 */
	assert_int_equal(t_allowed(rl, &c, 3, 5000), 3);
	ratelimit_free(rl);
}

static void
test_set_qps(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, t_seed);
	struct sockaddr_in a = t_v4("127.0.0.10");
	(void)state;

	assert_int_equal(t_allowed(rl, &a, 3, 1000), 1);
	ratelimit_set_qps(rl, 10);
	assert_int_equal(t_allowed(rl, &a, 20, 2000), 10);
	ratelimit_free(rl);
}

static void
test_other_family_passes(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, t_seed);
	struct sockaddr sa = {.sa_family = AF_UNIX};
	(void)state;

	assert_int_equal(t_allowed(rl, &sa, 5, 1000), 5);
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit_per_second),	cmocka_unit_test(test_clients_apart),
	    cmocka_unit_test(test_v6_per_64),		cmocka_unit_test(test_set_qps),
	    cmocka_unit_test(test_other_family_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
