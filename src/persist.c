/*
 * persist: see include/persist.h.
 *
 * File: "MXCACHE1", u64 wall-clock ms of the save, u32 record count, then
 * per record: u16 length, the record, u64 SipHash of the record (a fixed
 * key: it detects damage, it is not a signature). A record: u8 name
 * length, name (wire form), u16 type, u16 class, u8 key flags, u8 answer
 * flags, u32 age ms, u32 ms left, then the stored answer. Big-endian.
 */
#include "persist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "siphash.h"
#include "wire.h"
#include "wire_write.h"

static const uint8_t persist_magic[8] = {'M', 'X', 'C', 'A', 'C', 'H', 'E', '1'};
#define PERSIST_HEADER 20 /* magic, save time, count */
#define PERSIST_FIXED 15  /* record bytes besides name and answer */
#define PERSIST_MAX_RECORD (1 + WIRE_MAX_NAME + PERSIST_FIXED + WIRE_MAX_MSG)

static const uint8_t persist_key[16]; /* all zero: a checksum, not a MAC */

struct persist_writer {
	FILE *f;
	uint64_t now_ms;
	size_t count;
	bool failed;
};

static bool persist_write_entry(const struct cache_entry_info *info, void *arg);
static bool persist_read_record(FILE *f, uint8_t *rec, size_t *len);
static bool persist_insert(struct cache *c, const uint8_t *rec, size_t len, uint64_t now_ms,
			   uint64_t elapsed_ms, size_t *loaded);
static void persist_put64(uint8_t *p, uint64_t v);
static uint64_t persist_get64(const uint8_t *p);

static void
persist_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

static uint64_t
persist_get64(const uint8_t *p)
{
	return ((uint64_t)wire_get32(p) << 32) | wire_get32(p + 4);
}

static bool
persist_write_entry(const struct cache_entry_info *info, void *arg)
{
	struct persist_writer *w = arg;
	const struct cache_answer *a = info->ans;
	uint8_t head[2 + 1 + WIRE_MAX_NAME + PERSIST_FIXED], sum[8];
	size_t n = 0, rlen = 1 + info->name_len + PERSIST_FIXED + a->len;

	if (rlen > 0xffff)
		return true; /* cannot be framed: leave it out */
	wire_put16(head, (uint16_t)rlen);
	n = 2;
	head[n++] = (uint8_t)info->name_len;
	memcpy(head + n, info->name, info->name_len);
	n += info->name_len;
	wire_put16(head + n, info->qtype);
	wire_put16(head + n + 2, info->qclass);
	head[n + 4] = info->flags;
	head[n + 5] = (uint8_t)((a->secure ? CACHE_ANSWER_SECURE : 0) |
				(a->prefetched ? CACHE_ANSWER_PREFETCHED : 0));
	wire_put32(head + n + 6, (uint32_t)(w->now_ms - a->stored_ms));
	wire_put32(head + n + 10, (uint32_t)(a->expires_ms - w->now_ms));
	n += 14;
	head[n++] = 0; /* reserved */

	/* The checksum covers the record: header part after the length, then the answer. */
	uint8_t *rec = malloc(rlen);
	if (!rec) {
		w->failed = true;
		return false;
	}
	memcpy(rec, head + 2, n - 2);
	memcpy(rec + n - 2, a->wire, a->len);
	persist_put64(sum, siphash24(persist_key, rec, rlen));
	if (fwrite(head, 1, 2, w->f) != 2 || fwrite(rec, 1, rlen, w->f) != rlen ||
	    fwrite(sum, 1, sizeof(sum), w->f) != sizeof(sum))
		w->failed = true;
	free(rec);
	w->count++;
	return !w->failed;
}

bool
persist_save(const struct cache *c, const char *path, uint64_t now_ms, uint64_t wall_ms,
	     size_t *saved, char *err, size_t errlen)
{
	char tmp[4096];
	uint8_t header[PERSIST_HEADER];
	struct persist_writer w = {.now_ms = now_ms};

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return false;
	}
	if (!(w.f = fopen(tmp, "wb"))) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return false;
	}
	memcpy(header, persist_magic, sizeof(persist_magic));
	persist_put64(header + 8, wall_ms);
	wire_put32(header + 16, 0); /* the count, written last */
	w.failed = fwrite(header, 1, sizeof(header), w.f) != sizeof(header);
	if (!w.failed)
		cache_walk(c, now_ms, persist_write_entry, &w);
	wire_put32(header + 16, (uint32_t)w.count);
	if (w.failed || fseek(w.f, 16, SEEK_SET) != 0 || fwrite(header + 16, 1, 4, w.f) != 4 ||
	    fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno ? errno : EIO));
		fclose(w.f);
		unlink(tmp);
		return false;
	}
	if (fclose(w.f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return false;
	}
	*saved = w.count;
	return true;
}

static bool
persist_read_record(FILE *f, uint8_t *rec, size_t *len)
{
	uint8_t head[2], sum[8];

	if (fread(head, 1, 2, f) != 2)
		return false;
	*len = wire_get16(head);
	return *len > 1 + PERSIST_FIXED && fread(rec, 1, *len, f) == *len &&
	       fread(sum, 1, sizeof(sum), f) == sizeof(sum) &&
	       persist_get64(sum) == siphash24(persist_key, rec, *len);
}

/* One checked record into the cache, aged by the time on disk; false if
 * it does not make sense (a checksum only proves it was written so). */
static bool
persist_insert(struct cache *c, const uint8_t *rec, size_t len, uint64_t now_ms,
	       uint64_t elapsed_ms, size_t *loaded)
{
	size_t nlen = rec[0], off = 0;
	const uint8_t *name = rec + 1, *fixed = rec + 1 + nlen;
	uint16_t offs[WIRE_MAX_MSG / 11 + 1];

	if (len < 1 + nlen + PERSIST_FIXED + WIRE_HEADER_LEN || nlen == 0 ||
	    wire_name_read(name, nlen, &off, NULL) != nlen)
		return false;
	const uint8_t *ans = fixed + PERSIST_FIXED;
	size_t alen = len - 1 - nlen - PERSIST_FIXED;
	size_t n = wire_ttl_offsets(ans, alen, offs, sizeof(offs) / sizeof(offs[0]));
	if (n == SIZE_MAX)
		return false;
	uint64_t age = wire_get32(fixed + 6) + elapsed_ms, left = wire_get32(fixed + 10);
	if (left <= elapsed_ms + 1000)
		return true; /* expired while we were down */
	uint8_t *copy = malloc(alen);
	if (!copy)
		return false;
	memcpy(copy, ans, alen);
	wire_age_offsets(copy, offs, n, (uint32_t)(age / 1000u));
	struct cache_key key = {.name = name,
				.name_len = nlen,
				.qtype = wire_get16(fixed),
				.qclass = wire_get16(fixed + 2),
				.flags = fixed[4]};
	if (cache_insert(c, &key, copy, alen, (uint32_t)((left - elapsed_ms) / 1000u), fixed[5],
			 now_ms))
		(*loaded)++;
	free(copy);
	return true;
}

bool
persist_load(struct cache *c, const char *path, uint64_t now_ms, uint64_t wall_ms, size_t *loaded,
	     char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t header[PERSIST_HEADER], *rec = NULL;
	uint32_t count;
	uint64_t elapsed;
	size_t len, i = 0;

	*loaded = 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fread(header, 1, sizeof(header), f) != sizeof(header) ||
	    memcmp(header, persist_magic, sizeof(persist_magic)) != 0) {
		snprintf(err, errlen, "%s: not a cache file", path);
		goto fail;
	}
	elapsed = wall_ms > persist_get64(header + 8) ? wall_ms - persist_get64(header + 8) : 0;
	count = wire_get32(header + 16);
	if (!(rec = malloc(PERSIST_MAX_RECORD))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (; i < count; i++) {
		if (!persist_read_record(f, rec, &len) ||
		    !persist_insert(c, rec, len, now_ms, elapsed, loaded)) {
			snprintf(err, errlen, "%s: record %zu of %u is damaged or missing", path,
				 i + 1, count);
			goto fail;
		}
	}
	if (fgetc(f) != EOF) {
		snprintf(err, errlen, "%s: data after the last record", path);
		goto fail;
	}
	free(rec);
	fclose(f);
	return true;
fail:
	free(rec);
	fclose(f);
	cache_flush(c);
	*loaded = 0;
	return false;
}
