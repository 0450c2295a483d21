/*
 * l2value: what the shared cache tier (l2.h) keeps in Redis, as pure
 * functions: the key name of a question and a value's encoding, MAC and
 * verification. No I/O, no clock (times are passed in), no allocation.
 *
 * Key: "mxc1:" and 32 hex digits of HMAC-SHA256(secret, "key" + the cache
 * key bytes: lowercased name, type, class, DO/CD flags), so with a secret
 * Redis never sees a name. Value (big-endian):
 *
 *   "MXL2" version(1) status(1) key flags(1) stored-at(8, wall ms)
 *   expires(8, wall ms) anchor(8) qtype(2) qclass(2) name length(1) name
 *   message length(2) message  HMAC-SHA256(secret, everything before)(32)
 *
 * Without a secret the MAC is keyed with nothing: it still catches
 * corruption, proves nothing about the writer, and a value's validated
 * status is never believed.
 */
#ifndef MXCACHE_L2VALUE_H
#define MXCACHE_L2VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "wire.h"

#define L2VALUE_VERSION 1
#define L2VALUE_MAC_LEN 32
#define L2VALUE_KEY_PREFIX "mxc1:"
#define L2VALUE_KEY_HEX 32 /* digits of the keyed hash in a key name */
#define L2VALUE_KEY_MAX (sizeof(L2VALUE_KEY_PREFIX) + L2VALUE_KEY_HEX)
#define L2VALUE_HEADER 31 /* magic to anchor */
/* The largest value: a full name and the largest message. */
#define L2VALUE_MAX (L2VALUE_HEADER + 5 + WIRE_MAX_NAME + 2 + WIRE_MAX_MSG + L2VALUE_MAC_LEN)

#define L2VALUE_SECURE 0x1u /* status: validated under the anchor named */
/* How far a writer's clock may be ahead of the reader's (NTP keeps a
 * fleet well within it): a value stored later than that is a miss. */
#define L2VALUE_SKEW_MS 10000u

/* What a host knows when it reads or writes values. */
struct l2value_ctx {
	const uint8_t *secret; /* NULL: none */
	size_t secret_len;
	uint64_t anchor_id; /* persist_anchor_id of the anchor in force */
	bool validating;    /* false: anchor "none" or unknown, nothing is secure */
};

/* Writes the key name of key (NUL-terminated); returns its length. */
size_t l2value_key(const struct l2value_ctx *ctx, const struct cache_key *key,
		   char out[L2VALUE_KEY_MAX]);

/* Encodes an answer (stored form) cached for ttl seconds from now_wall_ms;
 * returns the value's length, 0 if it does not fit in cap. */
size_t l2value_encode(const struct l2value_ctx *ctx, const struct cache_key *key,
		      const uint8_t *msg, size_t len, uint32_t ttl, bool secure,
		      uint64_t now_wall_ms, uint8_t *out, size_t cap);

enum l2value_verdict {
	L2VALUE_OK,
	L2VALUE_EXPIRED,      /* sound, but its lifetime is over (or unknown: stored
				 more than L2VALUE_SKEW_MS ahead of our clock): a miss */
	L2VALUE_BAD_FORMAT,   /* not a value of ours: truncated, other version */
	L2VALUE_BAD_MAC,      /* written without our secret, or altered */
	L2VALUE_BAD_QUESTION, /* a sound value for another question */
	L2VALUE_BAD_MESSAGE,  /* the message does not walk, or asks something else */
	L2VALUE_OTHER_ANCHOR, /* sound, written under another anchor (or none) than a
				 validating reader's: a miss (the reader's write replaces it) */
};

/* A verified value: the message copied out, TTLs aged by its age. */
struct l2value_answer {
	size_t len;
	bool secure;	    /* only with a secret and the same anchor */
	uint32_t ttl;	    /* seconds of lifetime left */
	uint32_t age;	    /* seconds since it was stored, by whichever host */
	uint64_t stored_ms; /* wall clock */
	uint64_t expires_ms;
};

/* Verifies a value read under key's name at now_wall_ms and copies its
 * message into msg (cap bytes, WIRE_MAX_MSG is enough). */
enum l2value_verdict l2value_decode(const struct l2value_ctx *ctx, const struct cache_key *key,
				    const uint8_t *val, size_t len, uint64_t now_wall_ms,
				    uint8_t *msg, size_t cap, struct l2value_answer *out);

/* "ok", "expired", "format", "mac", "question", "message", "anchor": for
 * the log. */
const char *l2value_verdict_name(enum l2value_verdict v);

#endif
