/*
 * Loopback sockets for the listener tests (test_listen_udp.c,
 * test_listen_tcp.c). When the test may (root), it first moves into a
 * network namespace of its own with only lo, up: nothing it binds is
 * seen from the host. Otherwise it binds 127.0.0.1 on ports the kernel
 * picks, and the tests that need more (a wildcard bind) are skipped.
 */
#ifndef MXCACHE_T_NET_H
#define MXCACHE_T_NET_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

/* assert_true: include <cmocka.h> first. */

static bool t_net_private;

/* Call first in main: true when the test has a namespace of its own. */
static inline bool
t_net_enter(void)
{
	struct ifreq ifr;
	int fd;

	if (unshare(CLONE_NEWNET) != 0)
		return false;
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	bool up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
		  (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
	close(fd);
	return t_net_private = up;
}

/* host@port with a port the kernel says is free there now; false (and
 * nothing bound) when host cannot be bound, as ::1 without IPv6. */
static inline bool
t_net_try_addr(const char *host, int type, struct sock_addr *a)
{
	int fd;
	bool ok;

	assert_true(sock_parse_addr(host, 0, a)); /* port 0: the kernel's pick */
	if ((fd = socket(a->ss.ss_family, type, 0)) < 0)
		return false;
	ok = bind(fd, (struct sockaddr *)&a->ss, a->len) == 0 &&
	     getsockname(fd, (struct sockaddr *)&a->ss, &a->len) == 0;
	close(fd);
	return ok;
}

static inline struct sock_addr
t_net_addr(const char *host, int type)
{
	struct sock_addr a;

	assert_true(t_net_try_addr(host, type, &a));
	return a;
}

/* A client socket of type connected to host at addr's port. */
static inline int
t_net_connect(const char *host, const struct sock_addr *addr, int type)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addr->ss;
	struct sock_addr to;
	char text[64];
	int fd;

	snprintf(text, sizeof(text), "%s@%u", host,
		 (unsigned)ntohs(addr->ss.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port));
	assert_true(sock_parse_addr(text, 53, &to));
	assert_true((fd = socket(to.ss.ss_family, type | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to.ss, to.len), 0);
	return fd;
}

#endif
