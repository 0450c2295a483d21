/*
 * ratelimit: see include/ratelimit.h. One-second windows per slot.
 */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "siphash.h"
#include "sock.h"

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
	uint8_t key[SOCK_CLIENT_KEY];
	size_t klen = sock_client_key(sa, key);

	if (klen == 0)
		return true;
	uint64_t client = siphash24(rl->seed, key, klen), second = now_ms / 1000u;
	struct ratelimit_slot *s = &rl->slots[client % RATELIMIT_SLOTS];
	if (s->client != client || s->second != second) {
		s->client = client;
		s->second = second;
		s->count = 0;
	}
	return ++s->count <= rl->qps;
}
