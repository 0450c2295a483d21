/*
 * acl: see include/acl.h. A short list scanned linearly: operators allow a
 * handful of networks, and a hit costs a few byte compares.
 */
#include "acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct acl_net {
	int family;
	uint8_t addr[16];
	unsigned prefix;
};

struct acl {
	struct acl_net *nets;
	size_t n;
};

static const uint8_t acl_v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool acl_prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix);

struct acl *
acl_new(void)
{
	return calloc(1, sizeof(struct acl));
}

void
acl_free(struct acl *acl)
{
	if (!acl)
		return;
	free(acl->nets);
	free(acl);
}

bool
acl_add(struct acl *acl, const char *cidr)
{
	char host[INET6_ADDRSTRLEN];
	struct acl_net net = {0};
	const char *slash = strchr(cidr, '/');
	size_t hlen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned max;

	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, cidr, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, net.addr) == 1) {
		net.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, net.addr) == 1) {
		net.family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	net.prefix = max;
	if (slash) {
		char *end;
		unsigned long p = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || p > max)
			return false;
		net.prefix = (unsigned)p;
	}
	/* Clients with v4-mapped addresses are matched as IPv4: so are entries. */
	if (net.family == AF_INET6 && net.prefix >= 96 &&
	    memcmp(net.addr, acl_v4mapped, sizeof(acl_v4mapped)) == 0) {
		memmove(net.addr, net.addr + 12, 4);
		net.family = AF_INET;
		net.prefix -= 96;
	}
	struct acl_net *nets = realloc(acl->nets, (acl->n + 1) * sizeof(*nets));
	if (!nets)
		return false;
	acl->nets = nets;
	acl->nets[acl->n++] = net;
	return true;
}

static bool
acl_prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - bits));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool
acl_allows(const struct acl *acl, const struct sockaddr *sa)
{
	const uint8_t *addr;
	int family = sa->sa_family;

	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(addr, acl_v4mapped, sizeof(acl_v4mapped)) == 0) {
			family = AF_INET;
			addr += sizeof(acl_v4mapped);
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < acl->n; i++)
		if (acl->nets[i].family == family &&
		    acl_prefix_match(acl->nets[i].addr, addr, acl->nets[i].prefix))
			return true;
	return false;
}
