/*
 * sock: see include/sock.h.
 */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SOCK_BACKLOG 256

bool
sock_parse_addr(const char *text, uint16_t default_port, struct sock_addr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *at = strrchr(text, '@');
	size_t hlen = at ? (size_t)(at - text) : strlen(text);
	unsigned long port = default_port;

	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (at) {
		char *end;
		errno = 0;
		port = strtoul(at + 1, &end, 10);
		if (at[1] < '0' || at[1] > '9' || *end != '\0' || errno || port == 0 ||
		    port > 65535)
			return false;
	}
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*sin6);
		return true;
	}
	return false;
}

void
sock_addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(out, cap, "%s@%u", host, port);
}

bool
sock_is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

size_t
sock_client_key(const struct sockaddr *sa, uint8_t key[SOCK_CLIENT_KEY])
{
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 5;
	}
	if (sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr,
		       8);
		return 9;
	}
	return 0;
}

bool
sock_accept_exhausted(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

int
sock_bind(const struct sock_addr *addr, int type, char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&addr->ss;
	char text[SOCK_ADDR_TEXT];
	int one = 1, fd;

	sock_addr_text(sa, text, sizeof(text));
	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s: %s", text, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* An IPv6 wildcard should not also claim the IPv4 port. */
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, addr->len) != 0) {
		snprintf(err, errlen, "bind %s: %s", text, strerror(errno));
		goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, SOCK_BACKLOG) != 0) {
		snprintf(err, errlen, "listen %s: %s", text, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}
