/*
 * Unit tests for sock (include/sock.h): address parsing and printing, and
 * binding on loopback (port 0, so tests never collide with a real
 * service). Sockets a test opens are closed by t_teardown even on failure.
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
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

#define T_MAX_FDS 8

struct t_fds {
	int fd[T_MAX_FDS];
	size_t n;
};

static int
t_setup(void **state)
{
	struct t_fds *t = calloc(1, sizeof(*t));

	*state = t;
	return t ? 0 : -1;
}

static int
t_teardown(void **state)
{
	struct t_fds *t = *state;

	if (t) {
		for (size_t i = 0; i < t->n; i++)
			close(t->fd[i]);
		free(t);
	}
	*state = NULL;
	return 0;
}

/* Keeps fd (if valid) for the teardown to close. */
static int
t_keep(void **state, int fd)
{
	struct t_fds *t = *state;

	if (fd >= 0) {
		assert_true(t->n < T_MAX_FDS);
		t->fd[t->n++] = fd;
	}
	return fd;
}

static struct sock_addr
t_parse(const char *text, uint16_t default_port)
{
	struct sock_addr a;

	if (!sock_parse_addr(text, default_port, &a))
		fail_msg("sock_parse_addr(\"%s\") refused", text);
	return a;
}

/* Asserts a is family/host/port. */
static void
t_expect(const struct sock_addr *a, int family, const char *host, unsigned port)
{
	char text[INET6_ADDRSTRLEN];
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	assert_int_equal(sa->sa_family, family);
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		assert_int_equal(a->len, sizeof(*sin));
		assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		assert_int_equal(a->len, sizeof(*sin6));
		assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)));
		assert_int_equal(ntohs(sin6->sin6_port), port);
		assert_int_equal(sin6->sin6_scope_id, 0);
		assert_int_equal(sin6->sin6_flowinfo, 0);
	}
	assert_string_equal(text, host);
}

static unsigned
t_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ---- sock_parse_addr ----------------------------------------------- */

static void
parse_good(void **state)
{
	struct sock_addr a;

	(void)state;
	a = t_parse("1.2.3.4", 53);
	t_expect(&a, AF_INET, "1.2.3.4", 53);
	a = t_parse("1.2.3.4@53", 99);
	t_expect(&a, AF_INET, "1.2.3.4", 53);
	a = t_parse("1.2.3.4@65535", 53);
	t_expect(&a, AF_INET, "1.2.3.4", 65535);
	a = t_parse("1.2.3.4@1", 53);
	t_expect(&a, AF_INET, "1.2.3.4", 1);
	a = t_parse("0.0.0.0", 5353);
	t_expect(&a, AF_INET, "0.0.0.0", 5353);
	a = t_parse("::1@5353", 53);
	t_expect(&a, AF_INET6, "::1", 5353);
	a = t_parse("::", 53);
	t_expect(&a, AF_INET6, "::", 53);
	a = t_parse("::@853", 53);
	t_expect(&a, AF_INET6, "::", 853);
	a = t_parse("2001:DB8::53", 53);
	t_expect(&a, AF_INET6, "2001:db8::53", 53);
	a = t_parse("::ffff:192.0.2.1@99", 53);
	t_expect(&a, AF_INET6, "::ffff:192.0.2.1", 99);
	/* The longest IPv6 text form. */
	a = t_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255@65535", 53);
	t_expect(&a, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	/* The default port may be 0 (bind to any port). */
	a = t_parse("127.0.0.1", 0);
	t_expect(&a, AF_INET, "127.0.0.1", 0);
}

static void
parse_bad_ports(void **state)
{
	struct sock_addr a;
	const char *bad[] = {"1.2.3.4@0",   "1.2.3.4@65536", "1.2.3.4@",
			     "1.2.3.4@x",   "1.2.3.4@-1",    "1.2.3.4@53x",
			     "1.2.3.4@5 3", "::1@0",	     "::1@65536",
			     "::1@",	    "1.2.3.4@@53",   "1.2.3.4@99999999999999999999",
			     "1.2.3.4@0x35"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sock_parse_addr(bad[i], 53, &a))
			fail_msg("sock_parse_addr(\"%s\") accepted", bad[i]);
}

static void
parse_bad_hosts(void **state)
{
	struct sock_addr a;
	const char *bad[] = {"",
			     "@53",
			     "1.2.3",
			     "1.2.3.4.5",
			     "1.2.3.256",
			     "example.com",
			     "localhost@53",
			     "[::1]@53",
			     "[::1]",
			     "::1::2",
			     "1.2.3.4/24",
			     " 1.2.3.4",
			     "1.2.3.4 ",
			     "fe80::1%lo",
			     "0000:0000:0000:0000:0000:0000:0000:0000:0000@53",
			     "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255.1@53"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sock_parse_addr(bad[i], 53, &a))
			fail_msg("sock_parse_addr(\"%s\") accepted", bad[i]);
}

/* ---- sock_addr_text ------------------------------------------------ */

static void
addr_text_roundtrip(void **state)
{
	const char *texts[] = {
	    "1.2.3.4@53",	"0.0.0.0@1",  "255.255.255.255@65535", "::1@5353", "::@53",
	    "2001:db8::53@853", "fe80::1@53", "::ffff:192.0.2.1@99"};
	char out[SOCK_ADDR_TEXT];

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct sock_addr a = t_parse(texts[i], 1), b;
		sock_addr_text((const struct sockaddr *)&a.ss, out, sizeof(out));
		assert_string_equal(out, texts[i]);
		b = t_parse(out, 1);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(&a.ss, &b.ss, a.len);
	}
	/* The default port shows. */
	struct sock_addr a = t_parse("192.0.2.1", 53);
	sock_addr_text((const struct sockaddr *)&a.ss, out, sizeof(out));
	assert_string_equal(out, "192.0.2.1@53");
	/* The longest form fits in SOCK_ADDR_TEXT. */
	a = t_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff@65535", 1);
	sock_addr_text((const struct sockaddr *)&a.ss, out, sizeof(out));
	assert_string_equal(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff@65535");
}

static void
addr_text_small_and_other(void **state)
{
	struct sock_addr a = t_parse("192.0.2.1@53", 1);
	struct sockaddr_un sun;
	char out[8];

	(void)state;
	/* Cut, but terminated, within cap. */
	memset(out, 'x', sizeof(out));
	sock_addr_text((const struct sockaddr *)&a.ss, out, 5);
	assert_string_equal(out, "192.");
	assert_int_equal(out[5], 'x');
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	sock_addr_text((const struct sockaddr *)&sun, out, sizeof(out));
	assert_string_equal(out, "?@0");
}

/* ---- sock_is_wildcard ---------------------------------------------- */

static void
wildcard(void **state)
{
	const char *yes[] = {"0.0.0.0", "0.0.0.0@53", "::", "::@5353", "0:0:0:0:0:0:0:0"};
	const char *no[] = {"127.0.0.1", "0.0.0.1",	   "255.255.255.255",
			    "::1",	 "::ffff:0.0.0.0", "1::"};
	struct sockaddr_un sun;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		struct sock_addr a = t_parse(yes[i], 53);
		if (!sock_is_wildcard((const struct sockaddr *)&a.ss))
			fail_msg("%s is a wildcard", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct sock_addr a = t_parse(no[i], 53);
		if (sock_is_wildcard((const struct sockaddr *)&a.ss))
			fail_msg("%s is not a wildcard", no[i]);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_false(sock_is_wildcard((const struct sockaddr *)&sun));
}

/* ---- sock_client_key ----------------------------------------------- */

static size_t
t_key(const char *text, uint8_t key[SOCK_CLIENT_KEY])
{
	struct sock_addr a = t_parse(text, 53);

	return sock_client_key((const struct sockaddr *)&a.ss, key);
}

static void
client_key(void **state)
{
	uint8_t a[SOCK_CLIENT_KEY], b[SOCK_CLIENT_KEY];
	struct sockaddr_un sun;

	(void)state;
	/* The port is not part of the client. */
	assert_int_equal(t_key("192.0.2.1@53", a), 5);
	assert_int_equal(t_key("192.0.2.1@1053", b), 5);
	assert_memory_equal(a, b, 5);
	assert_int_equal(t_key("192.0.2.2", b), 5);
	assert_memory_not_equal(a, b, 5);
	/* IPv6: one /64 is one client. */
	assert_int_equal(t_key("2001:db8:1:2::1", a), 9);
	assert_int_equal(t_key("2001:db8:1:2:ffff::9", b), 9);
	assert_memory_equal(a, b, 9);
	assert_int_equal(t_key("2001:db8:1:3::1", b), 9);
	assert_memory_not_equal(a, b, 9);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(sock_client_key((const struct sockaddr *)&sun, a), 0);
}

/* ---- sock_bind ----------------------------------------------------- */

static void
t_check_flags(int fd)
{
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static void
bind_udp(void **state)
{
	struct sock_addr a = t_parse("127.0.0.1", 0);
	char err[256] = "";
	int fd, type;
	socklen_t len = sizeof(type);

	fd = t_keep(state, sock_bind(&a, SOCK_DGRAM, err, sizeof(err)));
	if (fd < 0)
		fail_msg("sock_bind: %s", err);
	t_check_flags(fd);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	assert_int_equal(type, SOCK_DGRAM);
	assert_int_not_equal(t_port(fd), 0);
}

static void
bind_tcp_twice(void **state)
{
	struct sock_addr a = t_parse("127.0.0.1", 0);
	char err[256] = "", want[SOCK_ADDR_TEXT];
	int fd, fd2, on = 0, type;
	socklen_t len = sizeof(on);
	unsigned port;

	fd = t_keep(state, sock_bind(&a, SOCK_STREAM, err, sizeof(err)));
	if (fd < 0)
		fail_msg("sock_bind: %s", err);
	t_check_flags(fd);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	assert_int_equal(type, SOCK_STREAM);
	len = sizeof(on);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len), 0);
	assert_int_equal(on, 1); /* listening */
	port = t_port(fd);
	assert_int_not_equal(port, 0);

	/* The same port again: refused, and the message names the address. */
	snprintf(want, sizeof(want), "127.0.0.1@%u", port);
	a = t_parse(want, 0);
	err[0] = '\0';
	fd2 = t_keep(state, sock_bind(&a, SOCK_STREAM, err, sizeof(err)));
	assert_int_equal(fd2, -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not name %s", err, want);
	assert_non_null(strstr(err, strerror(EADDRINUSE)));
}

static void
bind_v6_loopback(void **state)
{
	struct sock_addr a = t_parse("::1", 0);
	char err[256] = "";
	int fd, v6only = 0;
	socklen_t len = sizeof(v6only);

	fd = t_keep(state, sock_bind(&a, SOCK_STREAM, err, sizeof(err)));
	if (fd < 0 && (strstr(err, strerror(EAFNOSUPPORT)) || strstr(err, strerror(EADDRNOTAVAIL))))
		skip(); /* no IPv6 here */
	if (fd < 0)
		fail_msg("sock_bind: %s", err);
	assert_int_equal(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
	assert_int_equal(v6only, 1);
	assert_int_not_equal(t_port(fd), 0);
}

static void
bind_not_local(void **state)
{
	/* 192.0.2.1 (TEST-NET-1) is not an address of this host. */
	struct sock_addr a = t_parse("192.0.2.1@5353", 0);
	char err[256] = "";

	assert_int_equal(t_keep(state, sock_bind(&a, SOCK_DGRAM, err, sizeof(err))), -1);
	assert_non_null(strstr(err, "192.0.2.1@5353"));
	err[0] = '\0';
	assert_int_equal(t_keep(state, sock_bind(&a, SOCK_STREAM, err, sizeof(err))), -1);
	assert_non_null(strstr(err, "192.0.2.1@5353"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_good),
	    cmocka_unit_test(parse_bad_ports),
	    cmocka_unit_test(parse_bad_hosts),
	    cmocka_unit_test(addr_text_roundtrip),
	    cmocka_unit_test(addr_text_small_and_other),
	    cmocka_unit_test(client_key),
	    cmocka_unit_test(wildcard),
	    cmocka_unit_test_setup_teardown(bind_udp, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(bind_tcp_twice, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(bind_v6_loopback, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(bind_not_local, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
