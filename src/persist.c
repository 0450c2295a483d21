/*
 * persist: see include/persist.h.
 *
 * File: a 36-byte header ("MXCACHE2", u64 wall-clock ms of the save, u32
 * record count, u64 identity of the trust anchor, u64 SipHash of those 28
 * bytes), then per record: u16 length, the record, u64 SipHash of the
 * record. A record: u8 name length, name (wire form), u16 type, u16 class,
 * u8 key flags, u8 answer flags, u32 age ms, u32 ms left, u8 reserved (0),
 * then the stored answer. Big-endian.
 *
 * The SipHash key is a constant, in this file for anyone to read: the
 * checksums catch a truncated or damaged file, they cannot tell a forged
 * one (a secret key would have to sit where the daemon, and so whoever
 * controls its user, can read it). What stands between a forged file and
 * the clients is the content checks below, the TTL clamps, the trust
 * anchor rule for the secure status, and the ownership and mode checks.
 */
#include "persist.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "siphash.h"
#include "wire.h"
#include "wire_write.h"

static const uint8_t persist_magic[8] = {'M', 'X', 'C', 'A', 'C', 'H', 'E', '2'};
#define PERSIST_HEADER 36	 /* magic, save time, count, anchor, checksum */
#define PERSIST_HEADER_SUMMED 28 /* the part the header checksum covers */
#define PERSIST_FIXED 15	 /* record bytes besides name and answer */
#define PERSIST_MAX_RECORD 0xffff
#define PERSIST_MAX_ANCHOR (1024 * 1024)

static const uint8_t persist_key[16]; /* all zero: a checksum, not a MAC */

struct persist_writer {
	FILE *f;
	uint64_t now_ms;
	size_t count;
	bool failed;
	uint8_t rec[2 + PERSIST_MAX_RECORD + 8];
};

/* What loading needs at hand, and its scratch space. */
struct persist_loader {
	struct cache *c;
	const struct persist_policy *policy;
	struct persist_report *rep;
	uint64_t now_ms;
	uint64_t elapsed_ms;
	bool keep_secure;
	uint8_t rec[PERSIST_MAX_RECORD];
	uint8_t msg[PERSIST_MAX_RECORD];
};

static const struct {
	mode_t fmt;
	const char *what;
} persist_kinds[] = {
    {S_IFLNK, "a symbolic link"}, {S_IFDIR, "a directory"},	   {S_IFIFO, "a FIFO"},
    {S_IFSOCK, "a socket"},	  {S_IFCHR, "a character device"}, {S_IFBLK, "a block device"},
};

static bool persist_regular(const char *path, const struct stat *st, char *err, size_t errlen);
static bool persist_write_entry(const struct cache_entry_info *info, void *arg);
static void persist_header(uint8_t *h, uint64_t wall_ms, uint32_t count, uint64_t anchor_id);
static void persist_sync_dir(const char *path);
static const char *persist_read_record(FILE *f, uint8_t *rec, size_t *len);
static void persist_cap_ttls(uint8_t *msg, size_t len, uint32_t cap, uint32_t age);
static const char *persist_insert(struct persist_loader *l, size_t len);

/* A cache file must be a plain file: a symbolic link could point the
 * daemon's root-time read or its later write anywhere. */
static bool
persist_regular(const char *path, const struct stat *st, char *err, size_t errlen)
{
	const char *what = "not a regular file";

	if (S_ISREG(st->st_mode))
		return true;
	for (size_t i = 0; i < sizeof(persist_kinds) / sizeof(persist_kinds[0]); i++)
		if ((st->st_mode & S_IFMT) == persist_kinds[i].fmt)
			what = persist_kinds[i].what;
	snprintf(err, errlen, "%s: is %s, not a regular file; refused", path, what);
	return false;
}

bool
persist_anchor_id(const char *anchor, uint64_t *id, char *err, size_t errlen)
{
	size_t plen = strlen(anchor) + 1, n;
	uint8_t *buf = NULL;
	struct stat st;
	bool ok = false;
	FILE *f = NULL;

	if (strcmp(anchor, "none") == 0) {
		*id = siphash24(persist_key, anchor, plen);
		return true;
	}
	if (!(f = fopen(anchor, "rb")) || fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "trust anchor %s: %s", anchor, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PERSIST_MAX_ANCHOR) {
		snprintf(err, errlen, "trust anchor %s: not a regular file of at most %d bytes",
			 anchor, PERSIST_MAX_ANCHOR);
		goto cleanup;
	}
	if (!(buf = malloc(plen + (size_t)st.st_size + 1))) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	/* The path counts too: the same keys under another name are another
	 * configuration, and the operator may mean something by it. */
	memcpy(buf, anchor, plen);
	n = fread(buf + plen, 1, (size_t)st.st_size + 1, f);
	if (ferror(f) || n != (size_t)st.st_size) {
		snprintf(err, errlen, "trust anchor %s: changed while read", anchor);
		goto cleanup;
	}
	*id = siphash24(persist_key, buf, plen + n);
	ok = true;
cleanup:
	free(buf);
	if (f)
		fclose(f);
	return ok;
}

static bool
persist_write_entry(const struct cache_entry_info *info, void *arg)
{
	struct persist_writer *w = arg;
	const struct cache_answer *a = info->ans;
	uint8_t *p = w->rec + 2;
	size_t rlen = 1 + info->name_len + PERSIST_FIXED + a->len;

	if (rlen > PERSIST_MAX_RECORD)
		return true; /* cannot be framed: leave it out */
	wire_put16(w->rec, (uint16_t)rlen);
	*p++ = (uint8_t)info->name_len;
	memcpy(p, info->name, info->name_len);
	p += info->name_len;
	wire_put16(p, info->qtype);
	wire_put16(p + 2, info->qclass);
	p[4] = info->flags;
	p[5] = (uint8_t)((a->secure ? CACHE_ANSWER_SECURE : 0) |
			 (a->prefetched ? CACHE_ANSWER_PREFETCHED : 0));
	wire_put32(p + 6, (uint32_t)(w->now_ms - a->stored_ms));
	wire_put32(p + 10, (uint32_t)(a->expires_ms - w->now_ms));
	p[14] = 0; /* reserved */
	memcpy(p + PERSIST_FIXED, a->wire, a->len);
	wire_put64(w->rec + 2 + rlen, siphash24(persist_key, w->rec + 2, rlen));
	if (fwrite(w->rec, 1, 2 + rlen + 8, w->f) != 2 + rlen + 8)
		w->failed = true;
	w->count++;
	return !w->failed;
}

static void
persist_header(uint8_t *h, uint64_t wall_ms, uint32_t count, uint64_t anchor_id)
{
	memcpy(h, persist_magic, sizeof(persist_magic));
	wire_put64(h + 8, wall_ms);
	wire_put32(h + 16, count);
	wire_put64(h + 20, anchor_id);
	wire_put64(h + 28, siphash24(persist_key, h, PERSIST_HEADER_SUMMED));
}

/* The rename is only durable once the directory is on disk; a file system
 * that cannot sync a directory still has the file, so failure is quiet. */
static void
persist_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

bool
persist_save(const struct cache *c, const char *path, uint64_t anchor_id, uint64_t now_ms,
	     uint64_t wall_ms, size_t *saved, char *err, size_t errlen)
{
	char tmp[4096];
	uint8_t header[PERSIST_HEADER] = {0};
	struct persist_writer *w = NULL;
	struct stat st;
	bool ok = false;
	int fd;

	if (lstat(path, &st) == 0) {
		if (!persist_regular(path, &st, err, errlen))
			return false;
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	/* A name of our own (the pid): O_EXCL then fails only on a leftover
	 * of an earlier process with the same pid, removed first; O_NOFOLLOW
	 * keeps a planted link from sending the write elsewhere. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return false;
	}
	if (unlink(tmp) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return false;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return false;
	}
	if (!(w = calloc(1, sizeof(*w))) || !(w->f = fdopen(fd, "wb"))) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		goto cleanup;
	}
	w->now_ms = now_ms;
	errno = 0;
	w->failed = fwrite(header, 1, sizeof(header), w->f) != sizeof(header);
	if (!w->failed)
		cache_walk(c, now_ms, persist_write_entry, w);
	persist_header(header, wall_ms, (uint32_t)w->count, anchor_id);
	if (w->failed || fseek(w->f, 0, SEEK_SET) != 0 ||
	    fwrite(header, 1, sizeof(header), w->f) != sizeof(header) || fflush(w->f) != 0 ||
	    fsync(fileno(w->f)) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno ? errno : EIO));
		goto cleanup;
	}
	fd = fclose(w->f);
	w->f = NULL;
	if (fd != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	persist_sync_dir(path);
	*saved = w->count;
	ok = true;
cleanup:
	if (w && w->f)
		fclose(w->f);
	if (!ok)
		unlink(tmp);
	free(w);
	return ok;
}

/* Why the next record cannot be read, or NULL. */
static const char *
persist_read_record(FILE *f, uint8_t *rec, size_t *len)
{
	uint8_t head[2], sum[8];

	if (fread(head, 1, 2, f) != 2)
		return "missing";
	*len = wire_get16(head);
	if (*len < 1 + PERSIST_FIXED + WIRE_HEADER_LEN)
		return "too short";
	if (fread(rec, 1, *len, f) != *len || fread(sum, 1, sizeof(sum), f) != sizeof(sum))
		return "cut short";
	if (wire_get64(sum) != siphash24(persist_key, rec, *len))
		return "checksum mismatch";
	return NULL;
}

/* Every record TTL at most cap, then aged by age seconds. The message has
 * passed persist_check_message: no OPT to spare, and it walks. */
static void
persist_cap_ttls(uint8_t *msg, size_t len, uint32_t cap, uint32_t age)
{
	struct wire_iter it;
	struct wire_rr rr;

	wire_iter_init(&it, msg, len);
	while (wire_iter_next(&it, &rr) == 1) {
		uint32_t ttl = rr.ttl < cap ? rr.ttl : cap;
		wire_put32(msg + rr.ttl_off, ttl > age ? ttl - age : 0);
	}
}

/* One checked record (in l->rec) into the cache, its lifetime clamped as
 * the cache's insert path clamps it and aged by the time on disk; why it
 * is refused, or NULL. */
static const char *
persist_insert(struct persist_loader *l, size_t len)
{
	const struct persist_policy *p = l->policy;
	const uint8_t *rec = l->rec, *name = rec + 1, *fixed;
	size_t nlen = rec[0], off = 0, alen;
	const char *why;
	bool negative;

	if (nlen == 0 || len < 1 + nlen + PERSIST_FIXED + WIRE_HEADER_LEN ||
	    wire_name_read(name, nlen, &off, NULL) != nlen || off != nlen)
		return "bad name";
	fixed = name + nlen;
	struct cache_key key = {.name = name,
				.name_len = nlen,
				.qtype = wire_get16(fixed),
				.qclass = wire_get16(fixed + 2),
				.flags = fixed[4]};
	unsigned aflags = fixed[5];
	if ((key.flags & ~(CACHE_KEY_DO | CACHE_KEY_CD)) ||
	    (aflags & ~(CACHE_ANSWER_SECURE | CACHE_ANSWER_PREFETCHED)) || fixed[14] != 0)
		return "unknown flags";
	alen = len - 1 - nlen - PERSIST_FIXED;
	memcpy(l->msg, fixed + PERSIST_FIXED, alen);
	if ((why = wire_check_stored(l->msg, alen, key.name, key.name_len, key.qtype, key.qclass,
				     &negative)))
		return why;

	uint64_t age = wire_get32(fixed + 6), life = age + wire_get32(fixed + 10);
	uint64_t floor = negative ? 0 : (uint64_t)p->min_ttl * 1000u;
	uint64_t cap = (uint64_t)(negative ? p->max_negative_ttl : p->max_ttl) * 1000u;
	life = life < floor ? floor : life;
	life = life > cap ? cap : life;
	age += l->elapsed_ms;
	if (life <= age + 1000) {
		l->rep->expired++;
		return NULL;
	}
	persist_cap_ttls(l->msg, alen, (uint32_t)(life / 1000u), (uint32_t)(age / 1000u));
	if ((aflags & CACHE_ANSWER_SECURE) && !l->keep_secure) {
		aflags &= ~CACHE_ANSWER_SECURE;
		l->rep->unsecured++;
	}
	if (cache_insert(l->c, &key, l->msg, alen, (uint32_t)((life - age) / 1000u), aflags,
			 l->now_ms))
		l->rep->loaded++;
	return NULL;
}

bool
persist_read(struct cache *c, FILE *f, const struct persist_policy *policy, uint64_t now_ms,
	     uint64_t wall_ms, struct persist_report *rep, char *err, size_t errlen)
{
	uint8_t header[PERSIST_HEADER];
	struct persist_loader *l = NULL;
	const char *why;
	uint32_t count;
	uint64_t saved_ms;
	size_t len, i = 0;

	*rep = (struct persist_report){0};
	if (fread(header, 1, sizeof(header), f) != sizeof(header) ||
	    memcmp(header, persist_magic, sizeof(persist_magic)) != 0) {
		snprintf(err, errlen, "not a cache file of this version");
		goto fail;
	}
	if (wire_get64(header + 28) != siphash24(persist_key, header, PERSIST_HEADER_SUMMED)) {
		snprintf(err, errlen, "header checksum mismatch");
		goto fail;
	}
	saved_ms = wire_get64(header + 8);
	if (saved_ms > wall_ms + PERSIST_CLOCK_SKEW_MS) {
		snprintf(err, errlen, "saved %llu s in the future",
			 (unsigned long long)((saved_ms - wall_ms) / 1000u));
		goto fail;
	}
	count = wire_get32(header + 16);
	if (!(l = malloc(sizeof(*l)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	l->c = c;
	l->policy = policy;
	l->rep = rep;
	l->now_ms = now_ms;
	l->elapsed_ms = wall_ms > saved_ms ? wall_ms - saved_ms : 0;
	/* Validated answers stay validated only under the anchor that
	 * validated them; without one, nothing is secure. */
	l->keep_secure = policy->validating && wire_get64(header + 20) == policy->anchor_id;
	for (; i < count; i++) {
		if ((why = persist_read_record(f, l->rec, &len)) ||
		    (why = persist_insert(l, len))) {
			snprintf(err, errlen, "record %zu of %u: %s", i + 1, count, why);
			goto fail;
		}
	}
	if (fgetc(f) != EOF) {
		snprintf(err, errlen, "data after the last record");
		goto fail;
	}
	free(l);
	return true;
fail:
	free(l);
	cache_flush(c);
	*rep = (struct persist_report){0};
	return false;
}

enum persist_result
persist_load(struct cache *c, const char *path, const struct persist_policy *policy,
	     uint64_t now_ms, uint64_t wall_ms, struct persist_report *rep, char *err,
	     size_t errlen)
{
	enum persist_result res = PERSIST_REJECTED;
	char why[256];
	struct stat st;
	FILE *f = NULL;
	int fd;

	*rep = (struct persist_report){0};
	/* Non-blocking: opening a FIFO must not wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return PERSIST_ABSENT;
		if (errno == ELOOP)
			snprintf(err, errlen, "%s: is a symbolic link, not a regular file; refused",
				 path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return PERSIST_REJECTED;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!persist_regular(path, &st, err, errlen))
		goto cleanup;
	/* Whoever may write the file decides what the next start believes. */
	if (st.st_uid != 0 && st.st_uid != policy->owner) {
		snprintf(err, errlen, "%s: owned by uid %u, not by root or uid %u; refused", path,
			 (unsigned)st.st_uid, (unsigned)policy->owner);
		goto cleanup;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: writable by group or others (mode %04o); refused", path,
			 (unsigned)(st.st_mode & 07777));
		goto cleanup;
	}
	if (!(f = fdopen(fd, "rb"))) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	fd = -1;
	if (!persist_read(c, f, policy, now_ms, wall_ms, rep, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto cleanup;
	}
	res = PERSIST_LOADED;
cleanup:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return res;
}
