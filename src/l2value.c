/*
 * l2value: key names and values of the shared tier. See include/l2value.h.
 */
#include "l2value.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "wire_write.h"

static const uint8_t l2value_magic[4] = {'M', 'X', 'L', '2'};
/* What keys a MAC without a secret (OpenSSL wants a key pointer). */
static const uint8_t l2value_no_secret[1];

static bool l2value_mac(const struct l2value_ctx *ctx, const uint8_t *data, size_t len,
			uint8_t mac[L2VALUE_MAC_LEN]);

/* HMAC-SHA256 keyed with the secret (or nothing). */
static bool
l2value_mac(const struct l2value_ctx *ctx, const uint8_t *data, size_t len,
	    uint8_t mac[L2VALUE_MAC_LEN])
{
	unsigned mlen = 0;

	return HMAC(EVP_sha256(), ctx->secret ? ctx->secret : l2value_no_secret,
		    ctx->secret ? (int)ctx->secret_len : 0, data, len, mac, &mlen) &&
	       mlen == L2VALUE_MAC_LEN;
}

size_t
l2value_key(const struct l2value_ctx *ctx, const struct cache_key *key, char out[L2VALUE_KEY_MAX])
{
	static const char hex[] = "0123456789abcdef";
	/* "key" first: a key name is never the MAC of some value. */
	uint8_t kb[3 + CACHE_KEY_MAX] = {'k', 'e', 'y'}, mac[L2VALUE_MAC_LEN];
	size_t n = sizeof(L2VALUE_KEY_PREFIX) - 1;

	if (!l2value_mac(ctx, kb, 3 + cache_key_encode(key, kb + 3), mac)) {
		out[0] = '\0';
		return 0;
	}
	memcpy(out, L2VALUE_KEY_PREFIX, n);
	for (size_t i = 0; i < L2VALUE_KEY_HEX / 2; i++) {
		out[n++] = hex[mac[i] >> 4];
		out[n++] = hex[mac[i] & 15];
	}
	out[n] = '\0';
	return n;
}

size_t
l2value_encode(const struct l2value_ctx *ctx, const struct cache_key *key, const uint8_t *msg,
	       size_t len, uint32_t ttl, bool secure, uint64_t now_wall_ms, uint8_t *out,
	       size_t cap)
{
	size_t need = L2VALUE_HEADER + 5 + key->name_len + 2 + len + L2VALUE_MAC_LEN;
	uint8_t *p = out;

	if (need > cap || key->name_len > WIRE_MAX_NAME || len > WIRE_MAX_MSG)
		return 0;
	memcpy(p, l2value_magic, sizeof(l2value_magic));
	p[4] = L2VALUE_VERSION;
	/* Validated status means something only under a secret and an anchor. */
	p[5] = (secure && ctx->secret && ctx->validating) ? L2VALUE_SECURE : 0;
	p[6] = key->flags;
	wire_put64(p + 7, now_wall_ms);
	wire_put64(p + 15, now_wall_ms + (uint64_t)ttl * 1000u);
	wire_put64(p + 23, ctx->anchor_id);
	p += L2VALUE_HEADER;
	wire_put16(p, key->qtype);
	wire_put16(p + 2, key->qclass);
	p[4] = (uint8_t)key->name_len;
	for (size_t i = 0; i < key->name_len; i++)
		p[5 + i] = wire_lower(key->name[i]);
	p += 5 + key->name_len;
	wire_put16(p, (uint16_t)len);
	memcpy(p + 2, msg, len);
	p += 2 + len;
	if (!l2value_mac(ctx, out, (size_t)(p - out), p))
		return 0;
	return need;
}

enum l2value_verdict
l2value_decode(const struct l2value_ctx *ctx, const struct cache_key *key, const uint8_t *val,
	       size_t len, uint64_t now_wall_ms, uint8_t *msg, size_t cap,
	       struct l2value_answer *out)
{
	uint8_t mac[L2VALUE_MAC_LEN];
	bool negative;

	if (len < L2VALUE_HEADER + 5 + 2 + L2VALUE_MAC_LEN ||
	    memcmp(val, l2value_magic, sizeof(l2value_magic)) != 0 || val[4] != L2VALUE_VERSION)
		return L2VALUE_BAD_FORMAT;
	const uint8_t *q = val + L2VALUE_HEADER;
	size_t nlen = q[4];
	if (len < L2VALUE_HEADER + 5 + nlen + 2 + L2VALUE_MAC_LEN)
		return L2VALUE_BAD_FORMAT;
	const uint8_t *m = q + 5 + nlen;
	size_t mlen = wire_get16(m);
	if (L2VALUE_HEADER + 5 + nlen + 2 + mlen + L2VALUE_MAC_LEN != len || mlen > cap)
		return L2VALUE_BAD_FORMAT;
	if (!l2value_mac(ctx, val, len - L2VALUE_MAC_LEN, mac) ||
	    CRYPTO_memcmp(mac, val + len - L2VALUE_MAC_LEN, L2VALUE_MAC_LEN) != 0)
		return L2VALUE_BAD_MAC;
	/* Sound and ours: but copied under this key from another question? */
	if (val[6] != key->flags || wire_get16(q) != key->qtype ||
	    wire_get16(q + 2) != key->qclass ||
	    !wire_name_equal(q + 5, nlen, key->name, key->name_len))
		return L2VALUE_BAD_QUESTION;
	/* A validating reader takes nothing validated under another anchor or
	 * none: such a writer's "insecure" may be bogus here. */
	if (ctx->validating && wire_get64(val + 23) != ctx->anchor_id)
		return L2VALUE_OTHER_ANCHOR;
	uint64_t stored = wire_get64(val + 7), expires = wire_get64(val + 15);
	if (expires < stored || wire_check_stored(m + 2, mlen, key->name, key->name_len, key->qtype,
						  key->qclass, &negative))
		return L2VALUE_BAD_MESSAGE;
	/* A writer's clock far ahead of ours hides the value's age: its TTLs
	 * would go out unaged for as long as Redis keeps the key. */
	if (expires <= now_wall_ms || stored > now_wall_ms + L2VALUE_SKEW_MS)
		return L2VALUE_EXPIRED;
	/* A writer's clock a little ahead of ours ages nothing, never negatively. */
	uint64_t age_ms = now_wall_ms > stored ? now_wall_ms - stored : 0;
	memcpy(msg, m + 2, mlen);
	wire_age_ttls(msg, mlen, (uint32_t)(age_ms / 1000u));
	out->len = mlen;
	out->secure = (val[5] & L2VALUE_SECURE) && ctx->secret && ctx->validating;
	out->ttl = (uint32_t)((expires - now_wall_ms) / 1000u);
	out->age = (uint32_t)(age_ms / 1000u);
	out->stored_ms = stored;
	out->expires_ms = expires;
	return L2VALUE_OK;
}

const char *
l2value_verdict_name(enum l2value_verdict v)
{
	static const char *const names[] = {
	    [L2VALUE_OK] = "ok",
	    [L2VALUE_EXPIRED] = "expired",
	    [L2VALUE_BAD_FORMAT] = "format",
	    [L2VALUE_BAD_MAC] = "mac",
	    [L2VALUE_BAD_QUESTION] = "question",
	    [L2VALUE_BAD_MESSAGE] = "message",
	    [L2VALUE_OTHER_ANCHOR] = "anchor",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}
