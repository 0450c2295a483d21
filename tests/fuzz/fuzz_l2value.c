/*
 * libFuzzer harness: a value as Redis would hand it to the shared tier
 * (l2value_decode), and a message as a host holding the secret would
 * store it (l2value_encode, then decode).
 *
 * Checked: decoding never writes past its buffer (heap blocks of exactly
 * the capacity passed); a value passes only if it is exactly what encode
 * makes of its own parts; an encoded message comes back OK (or refused as
 * a message) with its bytes intact; a reader without the secret never
 * reports secure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "l2value.h"
#include "wire.h"
#include "wire_write.h"

#define NOW 1700000000000ull

static const uint8_t secret[] = "fuzzing secret";

/* The question a message asks, as a cache key; false if none. */
static bool
question_of(const uint8_t *msg, size_t len, uint8_t name[WIRE_MAX_NAME], struct cache_key *key)
{
	size_t off = WIRE_HEADER_LEN, n;

	if (len < WIRE_HEADER_LEN || !(n = wire_name_read(msg, len, &off, name)) || off + 4 > len)
		return false;
	*key = (struct cache_key){.name = name,
				  .name_len = n,
				  .qtype = wire_get16(msg + off),
				  .qclass = wire_get16(msg + off + 2)};
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct l2value_ctx ctx = {.anchor_id = 7, .validating = true};
	struct l2value_answer ans;
	uint8_t name[WIRE_MAX_NAME];
	struct cache_key key;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		ctx.secret = secret;
		ctx.secret_len = sizeof(secret) - 1;
	}
	data++;
	size--;
	uint8_t *msg = malloc(WIRE_MAX_MSG), *val = malloc(L2VALUE_MAX);
	CHECK(msg && val);

	/* As a value: the question it names itself, so verification goes deep. */
	if (size > L2VALUE_HEADER + 5 &&
	    L2VALUE_HEADER + 5 + (size_t)data[L2VALUE_HEADER + 4] <= size) {
		const uint8_t *q = data + L2VALUE_HEADER;
		key = (struct cache_key){.name = q + 5,
					 .name_len = q[4],
					 .qtype = wire_get16(q),
					 .qclass = wire_get16(q + 2),
					 .flags = data[6]};
		uint8_t *small = malloc(64);
		CHECK(small);
		(void)l2value_decode(&ctx, &key, data, size, NOW, small, 64, &ans);
		free(small);
		if (l2value_decode(&ctx, &key, data, size, NOW, msg, WIRE_MAX_MSG, &ans) ==
		    L2VALUE_OK) {
			CHECK(ans.len <= WIRE_MAX_MSG);
			CHECK(ctx.secret || !ans.secure);
		}
	}

	/* As a message a writer stores. */
	if (size <= WIRE_MAX_MSG && question_of(data, size, name, &key) && key.name_len) {
		size_t n = l2value_encode(&ctx, &key, data, size, 60, true, NOW, val, L2VALUE_MAX);
		CHECK(n > size);
		enum l2value_verdict v =
		    l2value_decode(&ctx, &key, val, n, NOW, msg, WIRE_MAX_MSG, &ans);
		CHECK(v == L2VALUE_OK || v == L2VALUE_BAD_MESSAGE);
		if (v == L2VALUE_OK) {
			/* Aged by 0 s: only TTLs of 2^31 and more change (to 0). */
			memcpy(val, data, size);
			CHECK(wire_age_ttls(val, size, 0));
			CHECK(ans.len == size && memcmp(msg, val, size) == 0);
			CHECK(ans.ttl == 60 && ans.age == 0);
			CHECK(ans.secure == (ctx.secret != NULL));
		}
		/* One bit off anywhere: never OK. */
		n = l2value_encode(&ctx, &key, data, size, 60, true, NOW, val, L2VALUE_MAX);
		val[size % n] ^= 1;
		CHECK(l2value_decode(&ctx, &key, val, n, NOW, msg, WIRE_MAX_MSG, &ans) !=
		      L2VALUE_OK);
	}
	free(msg);
	free(val);
	return 0;
}
