/*
 * l2: the shared cache tier on Redis. See include/l2.h.
 */
#include "l2.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <hiredis/adapters/libev.h>
#pragma GCC diagnostic pop

#include "cache.h"
#include "clock.h"
#include "freshness.h"
#include "l2guard.h"
#include "l2value.h"
#include "log.h"
#include "sock.h"
#include "wire.h"

#define L2_SECRET_MAX 4096
#define L2_BACKOFF_MIN_MS 100
#define L2_BACKOFF_MAX_MS 10000
/* A connection is up once its PING is answered, within this long. */
#define L2_HANDSHAKE_MS 1000
/* This many deadlines in a row with no reply for this long: the server
 * stalled; the connection is dropped and made again. */
#define L2_STALL_TIMEOUTS 8
#define L2_STALL_MS 1000
/* A reply being read is at most a value of ours and its framing, plus
 * the 1 KiB hiredis's reader keeps already parsed: past this, l2guard
 * drops the connection. */
#define L2_MAX_REPLY_BUF (2 * L2VALUE_MAX)

enum l2_state { L2_DOWN, L2_CONNECTING, L2_UP };

struct l2_conn {
	struct l2 *l2;
	const char *role; /* "--redis", "--redis-read": for the log */
	char *addr;
	redisAsyncContext *ac;
	enum l2_state state;
	bool failed; /* the last attempt failed and was logged: quiet until up */
	unsigned backoff_ms;
	unsigned timeouts_in_row;
	uint64_t last_reply_us;
	char refused[96]; /* the server's answer to PING when not PONG */
	const char *cut;  /* why a reply was refused before it was built */
	ev_timer timer;	  /* the handshake's deadline, or the next attempt */
};

/* One lookup (the engine's struct resolver_req). It lives until the
 * engine is done with it and no GET reply is owed to it. */
struct l2_req {
	struct l2 *l2;
	struct l2_req *older, *newer; /* on the deadline list while waiting */
	struct l2_conn *conn;	      /* where the GET went */
	resolver_cb cb;
	void *arg;
	struct resolver_req *next_req; /* forwarded to recursion */
	uint64_t sent_us;
	bool waiting;	  /* on Redis, before the deadline */
	bool get_pending; /* a reply is still owed */
	bool done;	  /* answered or cancelled */
	struct resolver_question q;
	uint8_t name[WIRE_MAX_NAME];
	char key[L2VALUE_KEY_MAX];
	size_t key_len;
};

struct l2 {
	struct resolver base; /* first: the engine sees only this */
	struct ev_loop *loop;
	struct resolver *next;
	struct l2value_ctx vctx;
	uint8_t secret[L2_SECRET_MAX];
	unsigned timeout_ms;
	struct l2_conn main, read;
	struct l2_req *oldest, *newest;
	size_t gets;
	size_t write_bytes;
	ev_timer deadline;
	bool closing;
	struct l2_stats st;
	uint8_t msg[WIRE_MAX_MSG];
	uint8_t val[L2VALUE_MAX];
};

static struct resolver_req *l2_resolve(struct resolver *r, const struct resolver_question *q,
				       resolver_cb cb, void *arg);
static void l2_cancel(struct resolver *r, struct resolver_req *rreq);
static void l2_store(struct resolver *r, const struct resolver_question *q, const uint8_t *pkt,
		     size_t len, uint32_t ttl, uint32_t linger, bool secure);
static bool l2_read_secret(struct l2 *l2, const char *path, char *err, size_t errlen);
static void l2_conn_init(struct l2 *l2, struct l2_conn *c, const char *role, const char *addr);
static void l2_conn_connect(struct l2_conn *c);
static void l2_conn_drop(struct l2_conn *c, const char *why);
static void l2_conn_down(struct l2_conn *c, const char *why);
static void l2_conn_close(struct l2_conn *c);
static void l2_conn_timer(struct ev_loop *loop, ev_timer *w, int revents);
static void l2_connected(const redisAsyncContext *ac, int status);
static void l2_disconnected(const redisAsyncContext *ac, int status);
static void l2_pong(redisAsyncContext *ac, void *reply, void *priv);
static void l2_cut(redisAsyncContext *ac, const char *why, bool drop);
static struct l2_conn *l2_get_conn(struct l2 *l2);
static void l2_got(redisAsyncContext *ac, void *reply, void *priv);
static void l2_hit(struct l2_req *req, const redisReply *r);
static void l2_stored(redisAsyncContext *ac, void *reply, void *priv);
static void l2_deadline(struct ev_loop *loop, ev_timer *w, int revents);
static void l2_arm(struct l2 *l2);
static void l2_unlink(struct l2_req *req);
static void l2_forward(struct l2_req *req);
static void l2_forwarded(void *arg, const struct resolver_result *res);
static void l2_answer(struct l2_req *req, const struct resolver_result *res);
static void l2_release(struct l2_req *req);
static bool l2_parse(const char *text, char *host, size_t cap, int *port, bool *unix_path);
static struct cache_key l2_key_of(const struct resolver_question *q);

static const struct resolver_ops l2_ops = {
    .resolve = l2_resolve, .cancel = l2_cancel, .store = l2_store};

/* The question as the cache (and l2value) key it. */
static struct cache_key
l2_key_of(const struct resolver_question *q)
{
	return (struct cache_key){.name = q->name,
				  .name_len = q->name_len,
				  .qtype = q->qtype,
				  .qclass = q->qclass,
				  .flags = q->flags};
}

/* "unix:PATH" (host gets the path), or ADDR[@PORT] (host gets the address). */
static bool
l2_parse(const char *text, char *host, size_t cap, int *port, bool *unix_path)
{
	struct sock_addr a;
	const void *ip;

	if (strncmp(text, "unix:", 5) == 0) {
		*unix_path = true;
		return text[5] && snprintf(host, cap, "%s", text + 5) < (int)cap;
	}
	*unix_path = false;
	if (!sock_parse_addr(text, L2_DEFAULT_PORT, &a))
		return false;
	if (a.ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&a.ss;
		ip = &in->sin_addr;
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.ss;
		ip = &in6->sin6_addr;
		*port = ntohs(in6->sin6_port);
	}
	return inet_ntop(a.ss.ss_family, ip, host, (socklen_t)cap) != NULL;
}

bool
l2_valid_addr(const char *text)
{
	char host[108];
	int port;
	bool unix_path;

	return l2_parse(text, host, sizeof(host), &port, &unix_path);
}

/* The fleet's shared secret: a file only its owner may read (every host
 * holding it can feed every relay), trailing newlines not part of it. */
static bool
l2_read_secret(struct l2 *l2, const char *path, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	/* Non-blocking: a FIFO in its place must not hang the start. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "--redis-secret %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(err, errlen,
			 "--redis-secret %s: %s (mode %04o); it must be a file only its owner can "
			 "read: chmod 600 %s",
			 path,
			 S_ISREG(st.st_mode) ? "open to group or others" : "not a regular file",
			 (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return false;
	}
	n = read(fd, l2->secret, sizeof(l2->secret));
	close(fd);
	while (n > 0 && (l2->secret[n - 1] == '\n' || l2->secret[n - 1] == '\r'))
		n--;
	if (n <= 0 || st.st_size > (off_t)sizeof(l2->secret)) {
		snprintf(err, errlen, "--redis-secret %s: %s", path,
			 n < 0	  ? strerror(errno)
			 : n == 0 ? "empty"
				  : "over 4 KiB");
		return false;
	}
	l2->vctx.secret = l2->secret;
	l2->vctx.secret_len = (size_t)n;
	return true;
}

struct l2 *
l2_new(struct ev_loop *loop, const struct l2_options *opts, struct resolver *next,
       uint64_t anchor_id, bool validating, char *err, size_t errlen)
{
	struct l2 *l2;

	if (!l2_valid_addr(opts->addr) || (opts->read_addr && !l2_valid_addr(opts->read_addr))) {
		snprintf(err, errlen, "%s: '%s' is not ADDR[@PORT] or unix:PATH",
			 l2_valid_addr(opts->addr) ? "--redis-read" : "--redis",
			 l2_valid_addr(opts->addr) ? opts->read_addr : opts->addr);
		return NULL;
	}
	if (!(l2 = calloc(1, sizeof(*l2)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l2->base.ops = &l2_ops;
	l2->loop = loop;
	l2->next = next;
	l2->timeout_ms = opts->timeout_ms;
	l2->vctx.anchor_id = anchor_id;
	l2->vctx.validating = validating;
	if (opts->secret_file && !l2_read_secret(l2, opts->secret_file, err, errlen)) {
		free(l2);
		return NULL;
	}
	if (!opts->secret_file)
		log_warn("--redis without --redis-secret: answers from Redis are never "
			 "DNSSEC-secure, and whoever can write to it can feed this relay");
	/* OpenSSL loads its algorithms on first use (milliseconds): here, not
	 * on the first client's lookup. */
	char warm[L2VALUE_KEY_MAX];
	(void)l2value_key(&l2->vctx,
			  &(struct cache_key){.name = (const uint8_t *)"", .name_len = 1}, warm);
	ev_timer_init(&l2->deadline, l2_deadline, 0.0, 0.0);
	l2->deadline.data = l2;
	l2_conn_init(l2, &l2->main, "--redis", opts->addr);
	l2_conn_init(l2, &l2->read, "--redis-read", opts->read_addr);
	if (!l2->main.addr || (opts->read_addr && !l2->read.addr)) {
		l2_free(l2);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l2_conn_connect(&l2->main);
	if (l2->read.addr)
		l2_conn_connect(&l2->read);
	return l2;
}

void
l2_free(struct l2 *l2)
{
	if (!l2)
		return;
	l2->closing = true;
	/* The engine cancelled its lookups; what remains is owed replies. */
	l2_conn_close(&l2->main);
	l2_conn_close(&l2->read);
	ev_timer_stop(l2->loop, &l2->deadline);
	free(l2);
}

struct resolver *
l2_resolver(struct l2 *l2)
{
	return &l2->base;
}

void
l2_set_options(struct l2 *l2, const struct l2_options *opts)
{
	struct {
		struct l2_conn *c;
		const char *addr;
	} conns[] = {{&l2->main, opts->addr}, {&l2->read, opts->read_addr}};

	l2->timeout_ms = opts->timeout_ms;
	if (!opts->addr) {
		log_warn("reload: --redis removed; the shared tier stays until a restart");
		return;
	}
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
		struct l2_conn *c = conns[i].c;
		const char *addr = conns[i].addr;
		if ((!addr && !c->addr) || (addr && c->addr && strcmp(addr, c->addr) == 0))
			continue;
		if (addr && !l2_valid_addr(addr)) {
			log_error("reload: %s '%s' is not ADDR[@PORT] or unix:PATH; keeping %s",
				  c->role, addr, c->addr ? c->addr : "none");
			continue;
		}
		log_info("reload: %s %s (was %s)", c->role, addr ? addr : "none",
			 c->addr ? c->addr : "none");
		l2_conn_close(c);
		l2_conn_init(l2, c, c->role, addr);
		if (c->addr)
			l2_conn_connect(c);
	}
}

static void
l2_conn_init(struct l2 *l2, struct l2_conn *c, const char *role, const char *addr)
{
	memset(c, 0, sizeof(*c));
	c->l2 = l2;
	c->role = role;
	c->addr = addr ? strdup(addr) : NULL;
	c->backoff_ms = L2_BACKOFF_MIN_MS;
	ev_timer_init(&c->timer, l2_conn_timer, 0.0, 0.0);
	c->timer.data = c;
}

/* Starts an attempt: connect, then PING; up when PONG comes back. */
static void
l2_conn_connect(struct l2_conn *c)
{
	char host[108];
	int port = 0;
	bool unix_path;
	redisAsyncContext *ac;

	if (!l2_parse(c->addr, host, sizeof(host), &port, &unix_path))
		return;
	ac = unix_path ? redisAsyncConnectUnix(host) : redisAsyncConnect(host, port);
	if (!ac || ac->err) {
		char why[128];
		snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		l2_conn_down(c, why);
		return;
	}
	ac->data = c;
	if (redisLibevAttach(c->l2->loop, ac) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, l2_connected) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, l2_disconnected) != REDIS_OK ||
	    redisAsyncCommand(ac, l2_pong, c, "PING") != REDIS_OK) {
		redisAsyncFree(ac);
		l2_conn_down(c, "cannot set up the connection");
		return;
	}
	l2guard_attach(ac, L2_MAX_REPLY_BUF, l2_cut);
	c->ac = ac;
	c->state = L2_CONNECTING;
	c->refused[0] = '\0';
	c->cut = NULL;
	ev_timer_set(&c->timer, L2_HANDSHAKE_MS / 1000.0, 0.0);
	ev_timer_start(c->l2->loop, &c->timer);
}

/* The connection failed or was lost: one log line when that is news,
 * then the next attempt after the back-off, which doubles up to its cap. */
static void
l2_conn_down(struct l2_conn *c, const char *why)
{
	struct l2 *l2 = c->l2;

	if (l2->closing)
		return;
	if (c->state == L2_UP || !c->failed)
		log_warn("redis %s %s: %s (%s); retrying, lookups go on to recursion meanwhile",
			 c->role, c->addr, c->state == L2_UP ? "down" : "cannot connect", why);
	c->failed = true;
	c->state = L2_DOWN;
	ev_timer_stop(l2->loop, &c->timer);
	ev_timer_set(&c->timer, c->backoff_ms / 1000.0, 0.0);
	ev_timer_start(l2->loop, &c->timer);
	c->backoff_ms =
	    c->backoff_ms * 2 > L2_BACKOFF_MAX_MS ? L2_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Drops a live connection (stalled, or no PING answer): the replies owed
 * on it come back empty and their lookups go on to recursion. Never from
 * within a hiredis callback. */
static void
l2_conn_drop(struct l2_conn *c, const char *why)
{
	redisAsyncContext *ac = c->ac;

	c->ac = NULL;
	l2_conn_down(c, why);
	if (ac)
		redisAsyncFree(ac);
}

static void
l2_conn_close(struct l2_conn *c)
{
	redisAsyncContext *ac = c->ac;

	ev_timer_stop(c->l2->loop, &c->timer);
	c->ac = NULL;
	c->state = L2_DOWN;
	if (ac)
		redisAsyncFree(ac);
	free(c->addr);
	c->addr = NULL;
}

static void
l2_conn_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct l2_conn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->state == L2_CONNECTING)
		l2_conn_drop(c, c->refused[0] ? c->refused : "no answer to PING");
	else if (c->state == L2_DOWN)
		l2_conn_connect(c);
}

/* hiredis frees a context whose connect failed once this returns. */
static void
l2_connected(const redisAsyncContext *ac, int status)
{
	struct l2_conn *c = ac->data;

	if (status == REDIS_OK || c->ac != ac)
		return;
	c->ac = NULL;
	l2_conn_down(c, ac->errstr);
}

static void
l2_disconnected(const redisAsyncContext *ac, int status)
{
	struct l2_conn *c = ac->data;

	(void)status;
	if (c->ac != ac)
		return;
	c->ac = NULL;
	l2_conn_down(c, c->cut ? c->cut : ac->err ? ac->errstr : "closed by the server");
}

/* l2guard refused a reply: why goes to the log line of the drop. */
static void
l2_cut(redisAsyncContext *ac, const char *why, bool drop)
{
	struct l2_conn *c = ac->data;

	c->cut = why;
	if (drop && c->ac == ac)
		l2_conn_drop(c, why);
}

static void
l2_pong(redisAsyncContext *ac, void *reply, void *priv)
{
	struct l2_conn *c = priv;
	const redisReply *r = reply;

	if (!r || c->ac != ac || c->state != L2_CONNECTING)
		return;
	if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
		/* An error (NOAUTH, LOADING...): not usable. The timer drops
		 * the connection, outside this callback, and tries again. */
		snprintf(c->refused, sizeof(c->refused), "PING answered: %.80s",
			 r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR ? r->str
										       : "?");
		ev_timer_stop(c->l2->loop, &c->timer);
		ev_timer_set(&c->timer, 0.0, 0.0);
		ev_timer_start(c->l2->loop, &c->timer);
		return;
	}
	ev_timer_stop(c->l2->loop, &c->timer);
	c->state = L2_UP;
	c->failed = false;
	c->backoff_ms = L2_BACKOFF_MIN_MS;
	c->timeouts_in_row = 0;
	c->last_reply_us = clock_us();
	log_info("redis %s %s: connected", c->role, c->addr);
}

/* Reads go to the replica when it is up, else to the primary. */
static struct l2_conn *
l2_get_conn(struct l2 *l2)
{
	if (l2->read.state == L2_UP)
		return &l2->read;
	return l2->main.state == L2_UP ? &l2->main : NULL;
}

static struct resolver_req *
l2_resolve(struct resolver *r, const struct resolver_question *q, resolver_cb cb, void *arg)
{
	struct l2 *l2 = (struct l2 *)r;
	struct l2_req *req = calloc(1, sizeof(*req));
	struct l2_conn *c = l2_get_conn(l2);

	if (!req)
		return NULL;
	req->l2 = l2;
	req->cb = cb;
	req->arg = arg;
	req->q = *q;
	memcpy(req->name, q->name, q->name_len);
	req->q.name = req->name;
	struct cache_key key = l2_key_of(&req->q);
	req->key_len = l2value_key(&l2->vctx, &key, req->key);
	if (!c || l2->gets >= L2_MAX_GETS || !req->key_len ||
	    redisAsyncCommand(c->ac, l2_got, req, "GET %b", req->key, req->key_len) != REDIS_OK) {
		l2->st.misses++;
		if (!(req->next_req = resolver_resolve(l2->next, &req->q, l2_forwarded, req))) {
			free(req);
			return NULL;
		}
		return (struct resolver_req *)req;
	}
	l2->gets++;
	req->conn = c;
	req->get_pending = req->waiting = true;
	req->sent_us = clock_us();
	req->older = l2->newest;
	if (l2->newest)
		l2->newest->newer = req;
	else
		l2->oldest = req;
	l2->newest = req;
	if (!ev_is_active(&l2->deadline))
		l2_arm(l2);
	return (struct resolver_req *)req;
}

static void
l2_cancel(struct resolver *r, struct resolver_req *rreq)
{
	struct l2_req *req = (struct l2_req *)rreq;

	(void)r;
	if (!req)
		return;
	if (req->next_req)
		resolver_cancel(req->l2->next, req->next_req);
	req->next_req = NULL;
	l2_unlink(req);
	req->done = true;
	l2_release(req);
}

static void
l2_unlink(struct l2_req *req)
{
	struct l2 *l2 = req->l2;

	if (!req->waiting)
		return;
	req->waiting = false;
	if (req->older)
		req->older->newer = req->newer;
	else
		l2->oldest = req->newer;
	if (req->newer)
		req->newer->older = req->older;
	else
		l2->newest = req->older;
	req->older = req->newer = NULL;
}

static void
l2_release(struct l2_req *req)
{
	if (req->done && !req->get_pending)
		free(req);
}

/* Off the deadline list, on to recursion; called from the loop (never
 * from l2_resolve), so a refusal is answered through cb at once. */
static void
l2_forward(struct l2_req *req)
{
	static const struct resolver_result failed = {.ok = false};

	l2_unlink(req);
	if (!(req->next_req = resolver_resolve(req->l2->next, &req->q, l2_forwarded, req)))
		l2_answer(req, &failed);
}

static void
l2_forwarded(void *arg, const struct resolver_result *res)
{
	struct l2_req *req = arg;

	req->next_req = NULL;
	l2_answer(req, res);
}

static void
l2_answer(struct l2_req *req, const struct resolver_result *res)
{
	resolver_cb cb = req->cb;
	void *arg = req->arg;

	req->done = true;
	l2_release(req);
	cb(arg, res);
}

static void
l2_got(redisAsyncContext *ac, void *reply, void *priv)
{
	struct l2_req *req = priv;
	struct l2 *l2 = req->l2;
	const redisReply *r = reply;

	(void)ac;
	l2->gets--;
	req->get_pending = false;
	if (r) {
		req->conn->timeouts_in_row = 0;
		req->conn->last_reply_us = clock_us();
		stats_hist_add(&l2->st.latency, req->conn->last_reply_us - req->sent_us);
	}
	if (!req->waiting || l2->closing) { /* late or cancelled: recursion has it */
		l2_release(req);
		return;
	}
	if (r && r->type == REDIS_REPLY_STRING) {
		l2_hit(req, r);
		return;
	}
	/* Not there, or an error reply, another type, a lost connection. */
	if (r && r->type == REDIS_REPLY_NIL)
		l2->st.misses++;
	else
		l2->st.errors++;
	l2_forward(req);
}

/* A value: answered from it if it verifies, else deleted and forwarded. */
static void
l2_hit(struct l2_req *req, const redisReply *r)
{
	struct l2 *l2 = req->l2;
	struct l2value_answer ans;
	struct cache_key key = l2_key_of(&req->q);
	uint64_t now = clock_wall_ms();
	enum l2value_verdict v =
	    l2value_decode(&l2->vctx, &key, (const uint8_t *)r->str, (size_t)r->len, now, l2->msg,
			   sizeof(l2->msg), &ans);

	if (v == L2VALUE_OK && req->q.refresh &&
	    freshness_refresh_due(ans.stored_ms, ans.expires_ms, now, true))
		v = L2VALUE_EXPIRED; /* the copy the cache holds already: ask recursion */
	if (v == L2VALUE_EXPIRED || v == L2VALUE_OTHER_ANCHOR) {
		l2->st.misses++;
		l2_forward(req);
		return;
	}
	if (v != L2VALUE_OK) {
		l2->st.rejected++;
		log_debug("redis: value for %s refused (%s), deleted", req->key,
			  l2value_verdict_name(v));
		if (l2->main.state == L2_UP)
			(void)redisAsyncCommand(l2->main.ac, NULL, NULL, "DEL %b", req->key,
						req->key_len);
		l2_forward(req);
		return;
	}
	l2->st.hits++;
	l2_unlink(req);
	struct resolver_result res = {.ok = true,
				      .pkt = l2->msg,
				      .len = ans.len,
				      .secure = ans.secure,
				      .lane = req->q.lane,
				      .cached = true};
	l2_answer(req, &res);
}

static void
l2_arm(struct l2 *l2)
{
	uint64_t due, now = clock_us();

	ev_timer_stop(l2->loop, &l2->deadline);
	if (!l2->oldest)
		return;
	due = l2->oldest->sent_us + (uint64_t)l2->timeout_ms * 1000u;
	ev_timer_set(&l2->deadline, due > now ? (double)(due - now) / 1e6 : 0.0, 0.0);
	ev_timer_start(l2->loop, &l2->deadline);
}

/* Lookups whose GET is past its deadline go on to recursion; a server
 * that answers nothing for long is dropped. */
static void
l2_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct l2 *l2 = w->data;
	uint64_t now = clock_us(), limit = (uint64_t)l2->timeout_ms * 1000u;
	struct l2_conn *stalled = NULL;

	(void)loop;
	(void)revents;
	/* A lookup on the list has its GET reply owed: forwarding never frees
	 * it (l2_release), whatever the analyzer fears. */
	while (l2->oldest &&
	       l2->oldest->sent_us + limit <= now) { // NOLINT(clang-analyzer-unix.Malloc)
		struct l2_req *req = l2->oldest;
		struct l2_conn *c = req->conn;
		l2->st.timeouts++;
		if (++c->timeouts_in_row >= L2_STALL_TIMEOUTS &&
		    now - c->last_reply_us >= (uint64_t)L2_STALL_MS * 1000u && c->ac)
			stalled = c;
		l2_forward(req);
	}
	if (stalled)
		l2_conn_drop(stalled, "no replies: stalled");
	l2_arm(l2);
}

static void
l2_stored(redisAsyncContext *ac, void *reply, void *priv)
{
	struct l2_conn *c = ac->data;
	const redisReply *r = reply;

	c->l2->write_bytes -= (size_t)(uintptr_t)priv;
	if (!r || r->type == REDIS_REPLY_ERROR)
		c->l2->st.errors++;
}

static void
l2_store(struct resolver *r, const struct resolver_question *q, const uint8_t *pkt, size_t len,
	 uint32_t ttl, uint32_t linger, bool secure)
{
	struct l2 *l2 = (struct l2 *)r;
	struct cache_key key = l2_key_of(q);
	char name[L2VALUE_KEY_MAX];
	size_t klen, n;

	if (l2->main.state != L2_UP || ttl == 0 ||
	    !(n = l2value_encode(&l2->vctx, &key, pkt, len, ttl, secure, clock_wall_ms(), l2->val,
				 sizeof(l2->val))) ||
	    n > L2_MAX_VALUE || l2->write_bytes + n > L2_MAX_WRITE_BYTES ||
	    !(klen = l2value_key(&l2->vctx, &key, name))) {
		l2->st.dropped++;
		return;
	}
	/* Redis forgets it when the cache would: its lifetime and the stale window. */
	if (redisAsyncCommand(l2->main.ac, l2_stored, (void *)(uintptr_t)n, "SET %b %b EX %u", name,
			      klen, l2->val, n, ttl + linger) != REDIS_OK) {
		l2->st.dropped++;
		return;
	}
	l2->write_bytes += n;
	l2->st.stores++;
}

void
l2_get_stats(const struct l2 *l2, struct l2_stats *st)
{
	static const struct l2_stats zero;

	*st = l2 ? l2->st : zero;
}

bool
l2_up(const struct l2 *l2, bool reads)
{
	return l2 && (reads ? l2->read.state : l2->main.state) == L2_UP;
}

void
l2_stats_reset(struct l2 *l2)
{
	if (l2)
		memset(&l2->st, 0, sizeof(l2->st));
}
