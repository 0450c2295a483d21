/*
 * control: see include/control.h.
 *
 * Every command is one function and one line in control_cmds[]. A client
 * that stops reading is not read from either (its answers queue up to a
 * bound, then it is cut off), so it cannot stall the loop or anyone else.
 * Accepting and the connection list are stream's.
 */
#include "control.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "chaser.h"
#include "clock.h"
#include "l2.h"
#include "query.h"
#include "route.h"
#include "spfcheck.h"
#include "stats.h"
#include "stats_keys.h"
#include "stream.h"
#include "upstream.h"
#include "wire.h"

#define CONTROL_MAX_CONNS 64
#define CONTROL_PAUSE_OUTPUT (256 * 1024) /* stop reading a client this far behind */
#define CONTROL_DUMP_DEFAULT 100
#define CONTROL_DUMP_MAX 100000
/* A dump answer must fit in the output cap on top of what a client may
 * have queued before asking (less than CONTROL_PAUSE_OUTPUT), or the
 * client would see its connection closed instead of an answer. */
#define CONTROL_DUMP_BYTES (CONTROL_MAX_OUTPUT - CONTROL_PAUSE_OUTPUT - 4096)
/* An entry's JSON besides its name, at most (every number at its widest). */
#define CONTROL_DUMP_ENTRY_FIXED 192

struct control_conn {
	struct stream_conn sc;
	struct control *ctl;
	bool eof;
	bool discarding; /* skipping the rest of an over-long line */
	void *pending;	 /* a command still resolving (route, spfcheck): later lines wait */
	void (*cancel)(void *job);
	size_t inlen;
	char in[CONTROL_MAX_LINE];
};

struct control {
	struct stream_server srv;
	char *made_dir; /* the socket's directory, if we created it */
	char *path;
	struct control_ctx ctx;
};

struct control_cmd {
	const char *name;
	const char *args; /* accepted argument names, comma-separated */
	json_t *(*run)(const struct control_ctx *ctx, const json_t *req);
	/* Commands that resolve: NULL once started (the answer comes later). */
	json_t *(*start)(const struct control_ctx *ctx, struct control_conn *cc, const json_t *req);
	const char *help;
};

static json_t *cmd_ping(const struct control_ctx *ctx, const json_t *req);
static json_t *cmd_stats(const struct control_ctx *ctx, const json_t *req);
static json_t *cmd_stats_reset(const struct control_ctx *ctx, const json_t *req);
static json_t *cmd_flush(const struct control_ctx *ctx, const json_t *req);
static json_t *cmd_dump(const struct control_ctx *ctx, const json_t *req);
static json_t *cmd_help(const struct control_ctx *ctx, const json_t *req);
static json_t *cmd_route(const struct control_ctx *ctx, struct control_conn *cc, const json_t *req);
static json_t *cmd_spf(const struct control_ctx *ctx, struct control_conn *cc, const json_t *req);
static void control_job_done(void *arg, json_t *result);
static json_t *control_run(const struct control_ctx *ctx, struct control_conn *cc, const char *line,
			   size_t len);
static json_t *control_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void control_utf8_clean(char *s);
static const char *control_bad_arg(const struct control_cmd *cmd, const json_t *req);
static bool control_dump_entry(const struct cache_entry_info *info, void *arg);
static int control_listen(const char *path, bool *made_dir, char *err, size_t errlen);
static bool control_accept(struct stream_server *srv, int fd, const struct sockaddr *peer,
			   socklen_t peerlen);
static void control_readable(struct stream_conn *sc);
static void control_writable(struct stream_conn *sc, size_t written);
static void control_closed(struct stream_conn *sc);
static void control_lines(struct control_conn *cc);
static void control_send(struct control_conn *cc, json_t *ans);
static void control_update(struct control_conn *cc);

static const struct stream_ops control_stream = {.accept = control_accept,
						 .readable = control_readable,
						 .writable = control_writable,
						 .closed = control_closed};

static const struct control_cmd control_cmds[] = {
    {"ping", "", cmd_ping, NULL, "liveness check"},
    {"stats", "histograms", cmd_stats, NULL, "counters, cache, upstream, latency percentiles"},
    {"stats_reset", "", cmd_stats_reset, NULL, "zero the counters and histograms"},
    {"flush", "name,type", cmd_flush, NULL, "drop the whole cache, or one name (and type)"},
    {"dump", "limit", cmd_dump, NULL, "list cache entries, most recently used first"},
    {"cache_list", "limit", cmd_dump, NULL, "same as dump"},
    {"route", "domain", NULL, cmd_route, "how mail to a domain would be routed (RFC 5321 5.1)"},
    {"spf", "domain", NULL, cmd_spf,
     "a domain's SPF tree through the cache: terms, lookups, limits, where it breaks"},
    {"help", "", cmd_help, NULL, "list the commands"},
};

#define CONTROL_NCMDS (sizeof(control_cmds) / sizeof(control_cmds[0]))

/* Messages quote what the client sent, cut to a length: whatever bytes
 * that leaves, the answer must still be a JSON string (valid UTF-8). */
static void
control_utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80	       ? 1
			   : (*p >> 5) == 0x6  ? 2
			   : (*p >> 4) == 0xe  ? 3
			   : (*p >> 3) == 0x1e ? 4
					       : 0;
		size_t i = 1;
		while (i < n && (p[i] & 0xc0) == 0x80)
			i++;
		if (n == 0 || i < n) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static json_t *
control_error(const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	control_utf8_clean(text);
	return json_pack("{s:s}", "error", text);
}

static json_t *
cmd_ping(const struct control_ctx *ctx, const json_t *req)
{
	(void)ctx;
	(void)req;
	return json_pack("{s:b}", "pong", 1);
}

void
control_stats_view(const struct control_ctx *ctx, struct stats_view *v)
{
	v->counters = *ctx->stats;
	cache_get_stats(ctx->cache, &v->cache);
	if (ctx->chaser)
		chaser_get_stats(ctx->chaser, v->chaser);
	else
		memset(v->chaser, 0, sizeof(v->chaser));
	v->gauges.upstream_queries = upstream_queries(ctx->up);
	v->gauges.upstream_in_flight = upstream_in_flight(ctx->up);
	v->gauges.distinct_in_flight = query_inflight(ctx->qe);
	v->gauges.uptime_s = (clock_us() - ctx->started_us) / 1000000u;
	l2_get_stats(ctx->l2, &v->l2);
	v->gauges.l2_up = l2_up(ctx->l2, false);
	v->gauges.l2_read_up = l2_up(ctx->l2, true);
}

static json_t *
cmd_stats(const struct control_ctx *ctx, const json_t *req)
{
	const json_t *h = json_object_get(req, "histograms");
	struct stats_view *v;
	json_t *obj;

	if (h && !json_is_boolean(h))
		return control_error("stats: 'histograms' must be true or false");
	/* About 7 KiB: off the stack of a loop callback. */
	if (!(v = malloc(sizeof(*v))) || !(obj = json_object())) {
		free(v);
		return control_error("stats: out of memory");
	}
	control_stats_view(ctx, v);
	stats_to_json(v, obj, json_is_true(h));
	free(v);
	return obj;
}

static json_t *
cmd_stats_reset(const struct control_ctx *ctx, const json_t *req)
{
	(void)req;
	memset(ctx->stats, 0, sizeof(*ctx->stats));
	l2_stats_reset(ctx->l2);
	if (ctx->up)
		upstream_reset_stats(ctx->up);
	cache_reset_stats(ctx->cache);
	if (ctx->chaser)
		chaser_reset_stats(ctx->chaser);
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
cmd_flush(const struct control_ctx *ctx, const json_t *req)
{
	const json_t *name = json_object_get(req, "name"), *type = json_object_get(req, "type");
	uint8_t wname[WIRE_MAX_NAME];
	size_t wlen, removed;
	int qtype = -1;

	if (!name) {
		if (type)
			return control_error("flush: 'type' needs a 'name'");
		struct cache_stats cs;
		cache_get_stats(ctx->cache, &cs);
		cache_flush(ctx->cache);
		return json_pack("{s:b, s:I}", "ok", 1, "removed", (json_int_t)cs.entries);
	}
	if (!json_is_string(name) || !(wlen = wire_name_from_text(json_string_value(name), wname)))
		return control_error("flush: 'name' must be a domain name");
	if (json_is_string(type))
		qtype = wire_type_from_name(json_string_value(type));
	else if (json_is_integer(type) && json_integer_value(type) >= 0 &&
		 json_integer_value(type) <= 0xffff)
		qtype = (int)json_integer_value(type);
	else if (type)
		qtype = -2;
	if (type && qtype < 0)
		return control_error("flush: 'type' must be a record type like \"MX\" or 15");
	removed = cache_flush_name(ctx->cache, wname, wlen, qtype);
	return json_pack("{s:b, s:I}", "ok", 1, "removed", (json_int_t)removed);
}

struct control_dump {
	json_t *entries;
	size_t limit;
	size_t total;
	size_t bytes; /* an upper bound of the entries' JSON so far */
};

static bool
control_dump_entry(const struct cache_entry_info *info, void *arg)
{
	struct control_dump *d = arg;
	char name[WIRE_NAME_TEXT_MAX], type[16];
	const char *tname = wire_type_name(info->qtype);

	d->total++;
	if (json_array_size(d->entries) >= d->limit)
		return true; /* keep counting */
	if (!wire_name_to_text(info->name, info->name_len, name, sizeof(name)))
		return true;
	/* JSON at most doubles a name's characters (backslashes). */
	size_t cost = 2 * strlen(name) + CONTROL_DUMP_ENTRY_FIXED;
	if (d->bytes + cost > CONTROL_DUMP_BYTES) {
		d->limit = json_array_size(d->entries); /* full: count the rest */
		return true;
	}
	d->bytes += cost;
	if (!tname) {
		snprintf(type, sizeof(type), "TYPE%u", info->qtype);
		tname = type;
	}
	json_array_append_new(
	    d->entries,
	    json_pack("{s:s, s:s, s:i, s:I, s:I, s:b, s:b, s:b, s:i}", "name", name, "type", tname,
		      "class", info->qclass, "ttl", (json_int_t)info->ttl_left, "bytes",
		      (json_int_t)info->bytes, "do", (info->flags & CACHE_KEY_DO) != 0, "cd",
		      (info->flags & CACHE_KEY_CD) != 0, "secure", info->ans->secure, "rcode",
		      WIRE_RCODE(wire_get16(info->ans->wire + 2))));
	return true;
}

static json_t *
cmd_dump(const struct control_ctx *ctx, const json_t *req)
{
	const json_t *limit = json_object_get(req, "limit");
	struct control_dump d = {.entries = json_array(), .limit = CONTROL_DUMP_DEFAULT};

	if (limit) {
		if (!json_is_integer(limit) || json_integer_value(limit) < 0 ||
		    json_integer_value(limit) > CONTROL_DUMP_MAX) {
			json_decref(d.entries);
			return control_error("dump: 'limit' must be a number from 0 to %d",
					     CONTROL_DUMP_MAX);
		}
		d.limit = (size_t)json_integer_value(limit);
	}
	cache_walk(ctx->cache, clock_us() / 1000u, control_dump_entry, &d);
	size_t shown = json_array_size(d.entries);
	return json_pack("{s:o, s:I, s:b, s:I}", "entries", d.entries, "total", (json_int_t)d.total,
			 "truncated", d.total > shown, "omitted", (json_int_t)(d.total - shown));
}

static json_t *
cmd_help(const struct control_ctx *ctx, const json_t *req)
{
	json_t *cmds = json_object();

	(void)ctx;
	(void)req;
	for (size_t i = 0; i < CONTROL_NCMDS; i++)
		json_object_set_new(cmds, control_cmds[i].name, json_string(control_cmds[i].help));
	return json_pack("{s:o}", "commands", cmds);
}

static void
control_cancel_route(void *job)
{
	route_cancel(job);
}

static void
control_cancel_spf(void *job)
{
	spfcheck_cancel(job);
}

static json_t *
cmd_route(const struct control_ctx *ctx, struct control_conn *cc, const json_t *req)
{
	const char *domain = json_string_value(json_object_get(req, "domain"));
	char err[400];

	if (!domain)
		return control_error("route: 'domain' must be a domain name");
	if (!(cc->pending =
		  route_start(ctx->loop, ctx->qe, domain, control_job_done, cc, err, sizeof(err))))
		return control_error("route: %s", err);
	cc->cancel = control_cancel_route;
	return NULL;
}

static json_t *
cmd_spf(const struct control_ctx *ctx, struct control_conn *cc, const json_t *req)
{
	const char *domain = json_string_value(json_object_get(req, "domain"));
	char err[400];

	if (!domain)
		return control_error("spf: 'domain' must be a domain name");
	if (!(cc->pending = spfcheck_start(ctx->loop, ctx->qe, domain, control_job_done, cc, err,
					   sizeof(err))))
		return control_error("spf: %s", err);
	cc->cancel = control_cancel_spf;
	return NULL;
}

/* The first request key the command does not take, or NULL. */
static const char *
control_bad_arg(const struct control_cmd *cmd, const json_t *req)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)(uintptr_t)req, key, value)
	{
		size_t n = strlen(key);
		const char *a = cmd->args;
		bool found = strcmp(key, "cmd") == 0;
		while (!found && *a) {
			size_t alen = strcspn(a, ",");
			found = alen == n && strncmp(a, key, n) == 0;
			a += alen + (a[alen] == ',');
		}
		if (!found)
			return key;
	}
	return NULL;
}

json_t *
control_dispatch(const struct control_ctx *ctx, const char *line, size_t len)
{
	return control_run(ctx, NULL, line, len);
}

/* One request; NULL when an asynchronous command started on cc. */
static json_t *
control_run(const struct control_ctx *ctx, struct control_conn *cc, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *ans = NULL;
	const char *name, *bad;
	bool found = false;

	if (!req)
		return control_error("invalid JSON: %s", jerr.text);
	if (!json_is_object(req)) {
		ans = control_error("a request is a JSON object like {\"cmd\": \"stats\"}");
	} else if (!(name = json_string_value(json_object_get(req, "cmd")))) {
		ans = control_error("missing \"cmd\" (a string)");
	} else {
		for (size_t i = 0; i < CONTROL_NCMDS && !found; i++) {
			const struct control_cmd *cmd = &control_cmds[i];
			if (strcmp(cmd->name, name) != 0)
				continue;
			found = true;
			if ((bad = control_bad_arg(cmd, req)))
				ans = control_error("%s: unknown argument '%s'", name, bad);
			else if (cmd->run)
				ans = cmd->run(ctx, req);
			else if (!cc)
				ans = control_error("%s: needs a socket connection", name);
			else
				ans = cmd->start(ctx, cc, req); /* NULL: answered later */
		}
		if (!found)
			ans = control_error("unknown command '%.64s' (try \"help\")", name);
	}
	json_decref(req);
	if (!ans && !(cc && cc->pending))
		ans = control_error("out of memory");
	return ans;
}

static int
control_listen(const char *path, bool *made_dir, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	char dir[sizeof(sun.sun_path)];
	memcpy(dir, path, strlen(path) + 1);
	*made_dir = mkdir(dirname(dir), 0755) == 0;
	if (!*made_dir && errno != EEXIST) {
		snprintf(err, errlen, "control socket directory for %s: %s", path, strerror(errno));
		goto fail;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			goto fail;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			snprintf(err, errlen, "%s: another daemon is answering there", path);
			goto fail;
		}
		unlink(path); /* left behind by a crash */
	}
	/* Created 0660 from the start: no window where others could connect. */
	mode_t old = umask(0117);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r != 0 || listen(fd, 16) != 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

struct control *
control_new(struct ev_loop *loop, const char *path, const struct control_ctx *ctx, char *err,
	    size_t errlen)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	char dir[4096];
	bool made_dir = false;
	int fd;

	if (!ctl || !(ctl->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		free(ctl);
		return NULL;
	}
	if ((fd = control_listen(path, &made_dir, err, errlen)) < 0) {
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if (made_dir && !(ctl->made_dir = strdup(dirname(dir)))) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	ctl->ctx = *ctx;
	stream_start(&ctl->srv, loop, fd, &control_stream);
	return ctl;
}

void
control_free(struct control *ctl)
{
	if (!ctl)
		return;
	stream_pause(&ctl->srv);
	unlink(ctl->path);
	free(ctl->made_dir);
	stream_stop(&ctl->srv);
	free(ctl->path);
	free(ctl);
}

const char *
control_made_dir(const struct control *ctl)
{
	return ctl->made_dir;
}

static bool
control_accept(struct stream_server *srv, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct control *ctl = STREAM_OWNER(srv, struct control, srv);
	struct control_conn *cc;

	(void)peer;
	(void)peerlen;
	if (srv->nconns >= CONTROL_MAX_CONNS || !(cc = calloc(1, sizeof(*cc))))
		return false;
	cc->ctl = ctl;
	stream_open(srv, &cc->sc, fd, CONTROL_MAX_OUTPUT);
	return true;
}

static void
control_send(struct control_conn *cc, json_t *ans)
{
	char *text = json_dumps(ans, JSON_COMPACT);

	json_decref(ans);
	if (!text || !buf_append(&cc->sc.out, text, strlen(text)) ||
	    !buf_append(&cc->sc.out, "\n", 1))
		cc->eof = true; /* cannot answer: finish what is queued, then close */
	free(text);
}

/* Answers the complete lines in the input buffer, while the client keeps
 * up with its answers: a batch of requests from a client that does not read
 * waits in the buffer instead of holding the loop. */
static void
control_lines(struct control_conn *cc)
{
	size_t start = 0;
	char *nl;

	while (!cc->eof && !cc->pending && cc->sc.out.len < CONTROL_PAUSE_OUTPUT &&
	       (nl = memchr(cc->in + start, '\n', cc->inlen - start))) {
		size_t len = (size_t)(nl - (cc->in + start));
		json_t *ans;
		if (cc->discarding)
			cc->discarding = false;
		else if (len > 0 && (ans = control_run(&cc->ctl->ctx, cc, cc->in + start, len)))
			control_send(cc, ans);
		start += len + 1;
	}
	memmove(cc->in, cc->in + start, cc->inlen - start);
	cc->inlen -= start;
	if (cc->inlen == sizeof(cc->in) && !memchr(cc->in, '\n', cc->inlen)) {
		if (!cc->discarding)
			control_send(
			    cc, control_error("request line over %d KiB", CONTROL_MAX_LINE / 1024));
		cc->discarding = true;
		cc->inlen = 0;
	}
}

static void
control_readable(struct stream_conn *sc)
{
	struct control_conn *cc = STREAM_OWNER(sc, struct control_conn, sc);
	size_t n = 0;

	switch (stream_read(sc, cc->in + cc->inlen, sizeof(cc->in) - cc->inlen, &n)) {
	case STREAM_AGAIN:
		return;
	case STREAM_DATA:
		cc->inlen += n;
		control_lines(cc);
		break;
	case STREAM_EOF:
	case STREAM_ERROR:
		cc->eof = true;
		break;
	}
	control_update(cc);
}

static void
control_writable(struct stream_conn *sc, size_t written)
{
	struct control_conn *cc = STREAM_OWNER(sc, struct control_conn, sc);

	(void)written;
	control_lines(cc);
	control_update(cc);
}

/* Reads while the client keeps up, writes while output is queued, closes
 * once it hung up and has everything. */
static void
control_update(struct control_conn *cc)
{
	if (stream_flush(&cc->sc) < 0 || (cc->eof && cc->sc.out.len == 0 && !cc->pending)) {
		stream_close(&cc->sc, false);
		return;
	}
	stream_reading(&cc->sc, !cc->eof && !cc->pending && cc->sc.out.len < CONTROL_PAUSE_OUTPUT &&
				    cc->inlen < sizeof(cc->in));
}

/* A route or spf job finished: answer it, then carry on with the lines that waited. */
static void
control_job_done(void *arg, json_t *result)
{
	struct control_conn *cc = arg;

	cc->pending = NULL;
	control_send(cc, result);
	control_lines(cc);
	control_update(cc);
}

static void
control_closed(struct stream_conn *sc)
{
	struct control_conn *cc = STREAM_OWNER(sc, struct control_conn, sc);

	if (cc->pending)
		cc->cancel(cc->pending);
	free(cc);
}
