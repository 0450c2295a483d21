/*
 * Unit tests for acl (include/acl.h). Clients are written as text and
 * turned into the sockaddr a listener would see by t_addr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "acl.h"

/* A new ACL with the given entries (NULL-terminated), all well-formed;
 * freed by t_teardown even when the test fails. */
static struct acl *
t_new(void **state, const char *cidr, ...)
{
	struct acl *acl = acl_new();
	va_list ap;

	assert_non_null(acl);
	*state = acl;
	va_start(ap, cidr);
	for (const char *c = cidr; c; c = va_arg(ap, const char *))
		if (!acl_add(acl, c))
			fail_msg("acl_add(\"%s\") refused", c);
	va_end(ap);
	return acl;
}

static int
t_teardown(void **state)
{
	acl_free(*state);
	*state = NULL;
	return 0;
}

/* "192.0.2.1" as a sockaddr_in, "2001:db8::1" as a sockaddr_in6. */
static const struct sockaddr *
t_addr(struct sockaddr_storage *ss, const char *text)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(12345);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(12345);
	} else {
		fail_msg("bad test address %s", text);
	}
	return (const struct sockaddr *)ss;
}

static bool
t_allows(const struct acl *acl, const char *client)
{
	struct sockaddr_storage ss;

	return acl_allows(acl, t_addr(&ss, client));
}

/* Asserts every client in the NULL-terminated list gets the verdict want. */
static void
t_expect(const struct acl *acl, bool want, const char *client, ...)
{
	va_list ap;

	va_start(ap, client);
	for (const char *c = client; c; c = va_arg(ap, const char *))
		if (t_allows(acl, c) != want)
			fail_msg("%s: expected %s", c, want ? "allowed" : "refused");
	va_end(ap);
}

/* ---- IPv4 ---------------------------------------------------------- */

static void
empty_allows_nothing(void **state)
{
	struct acl *acl = t_new(state, NULL);

	t_expect(acl, false, "127.0.0.1", "0.0.0.0", "255.255.255.255", "::1",
		 "::", "::ffff:127.0.0.1", NULL);
}

static void
v4_slash0(void **state)
{
	struct acl *acl = t_new(state, "0.0.0.0/0", NULL);

	t_expect(acl, true, "0.0.0.0", "1.2.3.4", "255.255.255.255", "::ffff:8.8.8.8", NULL);
	t_expect(acl, false, "::1", "2001:db8::1", "::", NULL);
}

static void
v4_slash8(void **state)
{
	struct acl *acl = t_new(state, "10.0.0.0/8", NULL);

	t_expect(acl, true, "10.0.0.0", "10.0.0.1", "10.255.255.255", "10.128.7.9", NULL);
	t_expect(acl, false, "11.0.0.0", "9.255.255.255", "138.0.0.1", "0.0.0.10", NULL);
}

static void
v4_slash32_and_bare(void **state)
{
	struct acl *acl = t_new(state, "192.0.2.7/32", "198.51.100.9", NULL);

	t_expect(acl, true, "192.0.2.7", "198.51.100.9", NULL);
	t_expect(acl, false, "192.0.2.6", "192.0.2.8", "198.51.100.8", "198.51.100.10",
		 "198.51.100.137", NULL);
}

static void
v4_odd_prefixes(void **state)
{
	struct acl *acl = t_new(state, "192.0.2.0/23", "203.0.113.64/27", "100.64.0.0/10", NULL);

	t_expect(acl, true, "192.0.2.0", "192.0.2.255", "192.0.3.0", "192.0.3.255", NULL);
	t_expect(acl, false, "192.0.1.255", "192.0.4.0", "192.0.0.1", NULL);
	t_expect(acl, true, "203.0.113.64", "203.0.113.95", NULL);
	t_expect(acl, false, "203.0.113.63", "203.0.113.96", "203.0.113.192", NULL);
	t_expect(acl, true, "100.64.0.0", "100.127.255.255", NULL);
	t_expect(acl, false, "100.63.255.255", "100.128.0.0", NULL);
}

static void
v4_host_bits_ignored(void **state)
{
	/* 192.0.3.77/23 is the network 192.0.2.0/23. */
	struct acl *acl = t_new(state, "192.0.3.77/23", NULL);

	t_expect(acl, true, "192.0.2.0", "192.0.3.255", NULL);
	t_expect(acl, false, "192.0.4.0", NULL);
}

/* ---- IPv6 ---------------------------------------------------------- */

static void
v6_slash0(void **state)
{
	struct acl *acl = t_new(state, "::/0", NULL);

	t_expect(acl, true, "::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		 NULL);
	t_expect(acl, false, "127.0.0.1", "0.0.0.0", NULL);
	/* A v4-mapped client is an IPv4 client, which ::/0 does not cover. */
	t_expect(acl, false, "::ffff:127.0.0.1", NULL);
}

static void
v6_prefixes(void **state)
{
	struct acl *acl = t_new(state, "2001:db8::/32", "fd00::/8", NULL);

	t_expect(acl, true, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::5",
		 "fd12:3456::1", "fdff::", NULL);
	t_expect(acl, false, "2001:db9::", "2001:db7:ffff::", "fc00::1", "fe00::", "::1", NULL);
}

static void
v6_slash128_and_bare(void **state)
{
	struct acl *acl = t_new(state, "2001:db8::1/128", "::1", NULL);

	t_expect(acl, true, "2001:db8::1", "::1", "0:0:0:0:0:0:0:1", NULL);
	t_expect(acl, false, "2001:db8::", "2001:db8::2", "::", "::2", "127.0.0.1", NULL);
}

static void
v6_odd_prefixes(void **state)
{
	/* /121: the last byte's top bit; /63 and /65 straddle a byte. */
	struct acl *acl =
	    t_new(state, "2001:db8::80/121", "2001:db8:0:2::/63", "2001:db8:0:8:8000::/65", NULL);

	t_expect(acl, true, "2001:db8::80", "2001:db8::ff", "2001:db8::c3", NULL);
	t_expect(acl, false, "2001:db8::7f", "2001:db8::100", "2001:db8::", NULL);
	t_expect(acl, true, "2001:db8:0:2::", "2001:db8:0:3:ffff:ffff:ffff:ffff", NULL);
	t_expect(acl, false, "2001:db8:0:1:ffff::", "2001:db8:0:4::", NULL);
	t_expect(acl, true, "2001:db8:0:8:8000::", "2001:db8:0:8:ffff:ffff:ffff:ffff", NULL);
	t_expect(acl, false, "2001:db8:0:8:7fff:ffff:ffff:ffff", "2001:db8:0:9::", NULL);
}

static void
v4_mapped_as_v4(void **state)
{
	struct acl *acl = t_new(state, "10.0.0.0/8", "192.0.2.1", NULL);

	t_expect(acl, true, "::ffff:10.1.2.3", "::ffff:192.0.2.1", "10.1.2.3", NULL);
	t_expect(acl, false, "::ffff:11.1.2.3", "::ffff:192.0.2.2", NULL);
	/* Not mapped: the IPv4-compatible form and NAT64 are IPv6. */
	t_expect(acl, false, "::10.1.2.3", "64:ff9b::10.1.2.3", "::fffe:10.1.2.3", NULL);
}

static void
mixed_families(void **state)
{
	struct acl *acl = t_new(state, "127.0.0.0/8", "::1", "192.0.2.0/24", "2001:db8::/48", NULL);

	t_expect(acl, true, "127.0.0.1", "127.9.9.9", "::1", "192.0.2.200", "2001:db8:0:ffff::1",
		 NULL);
	t_expect(acl, false, "128.0.0.1", "::2", "192.0.3.1", "2001:db8:1::1", NULL);
}

/* ---- malformed ----------------------------------------------------- */

static void
add_rejects_malformed(void **state)
{
	struct acl *acl = t_new(state, NULL);
	const char *bad[] = {
	    "",
	    "1.2.3.4/33",
	    "::/129",
	    "1.2.3.4/",
	    "abc",
	    "1.2.3.4/x",
	    "/24",
	    "/",
	    "1.2.3.4/-1",
	    "1.2.3.4/8/8",
	    "1.2.3.4/8x",
	    "1.2.3",
	    "1.2.3.256",
	    "1.2.3.4.5",
	    "::1/",
	    "2001:db8::/x",
	    "2001:db8:::1",
	    "[::1]",
	    "example.com",
	    "1.2.3.4 ",
	    " 1.2.3.4",
	    "1.2.3.4/99999999999999999999999",
	    "0000:0000:0000:0000:0000:0000:0000:0000:0000/64",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (acl_add(acl, bad[i]))
			fail_msg("acl_add(\"%s\") accepted", bad[i]);
	/* Nothing was added by the failures. */
	t_expect(acl, false, "1.2.3.4", "0.0.0.0", "::", "::1", NULL);
	/* Still usable. */
	assert_true(acl_add(acl, "1.2.3.4/32"));
	t_expect(acl, true, "1.2.3.4", NULL);
	t_expect(acl, false, "1.2.3.5", NULL);
}

/* A prefix is decimal digits only: a sign or a blank in front of it is
 * as malformed as a letter, and "-0" must not open the ACL to everyone. */
static void
add_rejects_signed_prefix(void **state)
{
	struct acl *acl = t_new(state, NULL);
	const char *bad[] = {"10.0.0.1/-0", "10.0.0.1/+8", "10.0.0.1/ 8", "2001:db8::1/-0"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (acl_add(acl, bad[i]))
			fail_msg("acl_add(\"%s\") accepted", bad[i]);
	t_expect(acl, false, "192.0.2.1", "2001:db8:ffff::1", NULL);
}

static void
edge_prefix_lengths_accepted(void **state)
{
	struct acl *acl = t_new(state, NULL);
	const char *good[] = {"1.2.3.4/0",  "1.2.3.4/32",     "::/128",	 "::1/0",
			      "1.2.3.4/08", "::ffff:1.2.3.4", "0.0.0.0", "::"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!acl_add(acl, good[i]))
			fail_msg("acl_add(\"%s\") refused", good[i]);
}

/* ---- other families ------------------------------------------------ */

static void
unix_refused(void **state)
{
	struct acl *acl = t_new(state, "0.0.0.0/0", "::/0", NULL);
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, "/tmp/x.sock");
	assert_false(acl_allows(acl, (const struct sockaddr *)&sun));
	sun.sun_family = AF_UNSPEC;
	assert_false(acl_allows(acl, (const struct sockaddr *)&sun));
}

static void
free_null(void **state)
{
	(void)state;
	acl_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(empty_allows_nothing, t_teardown),
	    cmocka_unit_test_teardown(v4_slash0, t_teardown),
	    cmocka_unit_test_teardown(v4_slash8, t_teardown),
	    cmocka_unit_test_teardown(v4_slash32_and_bare, t_teardown),
	    cmocka_unit_test_teardown(v4_odd_prefixes, t_teardown),
	    cmocka_unit_test_teardown(v4_host_bits_ignored, t_teardown),
	    cmocka_unit_test_teardown(v6_slash0, t_teardown),
	    cmocka_unit_test_teardown(v6_prefixes, t_teardown),
	    cmocka_unit_test_teardown(v6_slash128_and_bare, t_teardown),
	    cmocka_unit_test_teardown(v6_odd_prefixes, t_teardown),
	    cmocka_unit_test_teardown(v4_mapped_as_v4, t_teardown),
	    cmocka_unit_test_teardown(mixed_families, t_teardown),
	    cmocka_unit_test_teardown(add_rejects_malformed, t_teardown),
	    cmocka_unit_test_teardown(add_rejects_signed_prefix, t_teardown),
	    cmocka_unit_test_teardown(edge_prefix_lengths_accepted, t_teardown),
	    cmocka_unit_test_teardown(unix_refused, t_teardown),
	    cmocka_unit_test(free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
