/*
 * ratelimit: see include/ratelimit.h. One-second windows per slot.
 */
#include "ratelimit.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

#define RATELIMIT_SLOTS 65536u

struct ratelimit_slot {
	uint64_t client; /* hash of the address: who the slot counts for */
	uint64_t second;
	uint32_t count;
};

struct ratelimit {
	unsigned qps;
	uint8_t seed[16];
	struct ratelimit_slot slots[RATELIMIT_SLOTS];
};

struct ratelimit *
ratelimit_new(unsigned qps, const uint8_t seed[16])
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	rl->qps = qps;
	memcpy(rl->seed, seed, sizeof(rl->seed));
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

void
ratelimit_set_qps(struct ratelimit *rl, unsigned qps)
{
	rl->qps = qps;
}

bool
ratelimit_allow(struct ratelimit *rl, const struct sockaddr *sa, uint64_t now_ms)
{
	uint8_t key[9];
	size_t klen;

	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		klen = 5;
	} else if (sa->sa_family == AF_INET6) {
		key[0] = 6; /* a /64: one host's share of a network, as RRL counts it */
		memcpy(key + 1, ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr,
		       8);
		klen = 9;
	} else {
		return true;
	}
	uint64_t client = siphash24(rl->seed, key, klen), second = now_ms / 1000u;
	struct ratelimit_slot *s = &rl->slots[client % RATELIMIT_SLOTS];
	if (s->client != client || s->second != second) {
		s->client = client;
		s->second = second;
		s->count = 0;
	}
	return ++s->count <= rl->qps;
}
