/*
 * metrics: see include/metrics.h.
 *
 * A connection reads one request head, answers it, shuts down its side and
 * reads whatever else the client sends until it hangs up (a close with
 * unread input would reset the connection and could lose the answer). One
 * timer bounds every phase. The shape (accept with backoff, a list of
 * connections, read/write watchers) is the control socket's.
 */
#include "metrics.h"

#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acl.h"
#include "buf.h"
#include "control.h"
#include "prom.h"
#include "sock.h"

#define METRICS_SEND_TIMEOUT 10.0 /* seconds for the client to take the answer */
#define METRICS_LINGER_TIMEOUT 2.0
#define METRICS_MAX_RESPONSE (4 * 1024 * 1024)
#define METRICS_STATS_REQUEST "{\"cmd\":\"stats\",\"histograms\":true}"
#define METRICS_NO_STATS "stats unavailable\n"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_phase { METRICS_READING, METRICS_WRITING, METRICS_LINGERING };

struct metrics_conn {
	struct metrics *m;
	struct metrics_conn *prev;
	struct metrics_conn *next;
	int fd;
	enum metrics_phase phase;
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	size_t inlen;
	char in[METRICS_MAX_HEAD];
	struct buf out;
};

struct metrics {
	struct ev_loop *loop;
	ev_io io;
	ev_timer backoff; /* accepting again after running out of descriptors */
	int fd;
	const struct acl *acl;
	struct control_ctx ctx;
	struct metrics_conn *conns;
	unsigned nconns;
};

static bool metrics_tchar(unsigned char c);
static size_t metrics_token(const char *s, size_t len);
static bool metrics_request_line(const char *s, size_t len, bool *known, bool *head, bool *found);
static bool metrics_header_line(const char *s, size_t len);
static void metrics_accept(struct ev_loop *loop, ev_io *w, int revents);
static void metrics_resume(struct ev_loop *loop, ev_timer *w, int revents);
static void metrics_open(struct metrics *m, int fd);
static void metrics_readable(struct ev_loop *loop, ev_io *w, int revents);
static void metrics_writable(struct ev_loop *loop, ev_io *w, int revents);
static void metrics_expired(struct ev_loop *loop, ev_timer *w, int revents);
static void metrics_answer(struct metrics_conn *mc, enum metrics_verdict v,
			   const struct metrics_request *req);
static bool metrics_respond(struct metrics_conn *mc, const char *status, const char *type,
			    const char *extra, const char *body, size_t len, bool head_only);
static char *metrics_exposition(const struct metrics *m, size_t *len);
static void metrics_phase(struct metrics_conn *mc, enum metrics_phase phase, double seconds);
static void metrics_flush(struct metrics_conn *mc);
static void metrics_linger(struct metrics_conn *mc);
static void metrics_close(struct metrics_conn *mc);

/* RFC 9110 5.6.2 */
static bool
metrics_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t
metrics_token(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && metrics_tchar((unsigned char)s[n]))
		n++;
	return n;
}

/* "METHOD SP TARGET SP HTTP/1.x" (RFC 9112 3); false if malformed. */
static bool
metrics_request_line(const char *s, size_t len, bool *known, bool *head, bool *found)
{
	size_t mlen = metrics_token(s, len), t = mlen + 1, tlen = 0, plen;
	const char *q;

	if (mlen == 0 || t >= len || s[mlen] != ' ')
		return false;
	while (t + tlen < len && (unsigned char)s[t + tlen] > ' ' &&
	       (unsigned char)s[t + tlen] < 0x7f)
		tlen++;
	if (tlen == 0 || t + tlen >= len || s[t + tlen] != ' ')
		return false;
	if (s[t] != '/' && !(tlen == 1 && s[t] == '*'))
		return false;
	if (len - (t + tlen + 1) != 8 || memcmp(s + t + tlen + 1, "HTTP/1.", 7) != 0 ||
	    (s[len - 1] != '0' && s[len - 1] != '1'))
		return false;
	*head = mlen == 4 && memcmp(s, "HEAD", 4) == 0;
	*known = *head || (mlen == 3 && memcmp(s, "GET", 3) == 0);
	q = memchr(s + t, '?', tlen);
	plen = q ? (size_t)(q - (s + t)) : tlen;
	*found = plen == 8 && memcmp(s + t, "/metrics", 8) == 0;
	return true;
}

/* "name: value" with visible characters, spaces, tabs and obs-text. */
static bool
metrics_header_line(const char *s, size_t len)
{
	size_t n = metrics_token(s, len);

	if (n == 0 || n >= len || s[n] != ':')
		return false;
	for (size_t i = n + 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != '\t' && (c < ' ' || c == 0x7f))
			return false;
	}
	return true;
}

enum metrics_verdict
metrics_parse_request(const char *buf, size_t len, struct metrics_request *req)
{
	size_t lim = len < METRICS_MAX_HEAD ? len : METRICS_MAX_HEAD, pos = 0;
	bool known = false, head = false, found = false;
	const char *nl;

	memset(req, 0, sizeof(*req));
	while ((nl = memchr(buf + pos, '\n', lim - pos))) {
		size_t end = (size_t)(nl - buf), llen = end - pos;
		if (llen > 0 && buf[end - 1] == '\r')
			llen--;
		if (pos == 0) {
			if (!metrics_request_line(buf, llen, &known, &head, &found))
				goto bad;
		} else if (llen == 0) {
			req->head_len = end + 1;
			req->head_only = head;
			return !known ? METRICS_METHOD : !found ? METRICS_NOT_FOUND : METRICS_OK;
		} else if (!metrics_header_line(buf + pos, llen)) {
			goto bad;
		}
		pos = end + 1;
	}
	if (len < METRICS_MAX_HEAD)
		return METRICS_INCOMPLETE;
bad:
	req->head_len = lim;
	return METRICS_BAD;
}

struct metrics *
metrics_new(struct ev_loop *loop, const struct sock_addr *addr, const struct acl *acl,
	    const struct control_ctx *ctx, char *err, size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((m->fd = sock_bind(addr, SOCK_STREAM, err, errlen)) < 0) {
		free(m);
		return NULL;
	}
	m->loop = loop;
	m->acl = acl;
	m->ctx = *ctx;
	ev_io_init(&m->io, metrics_accept, m->fd, EV_READ);
	ev_timer_init(&m->backoff, metrics_resume, SOCK_ACCEPT_BACKOFF, 0.0);
	m->io.data = m->backoff.data = m;
	ev_io_start(loop, &m->io);
	return m;
}

void
metrics_set_acl(struct metrics *m, const struct acl *acl)
{
	if (m)
		m->acl = acl;
}

void
metrics_free(struct metrics *m)
{
	if (!m)
		return;
	ev_io_stop(m->loop, &m->io);
	ev_timer_stop(m->loop, &m->backoff);
	close(m->fd);
	for (struct metrics_conn *mc = m->conns, *next; mc; mc = next) {
		next = mc->next;
		metrics_close(mc);
	}
	free(m);
}

static void
metrics_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct metrics *m = w->data;

	(void)revents;
	ev_io_start(loop, &m->io);
}

static void
metrics_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct metrics *m = w->data;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;

	(void)revents;
	for (;;) {
		sslen = sizeof(ss);
		fd = accept4(m->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (sock_accept_exhausted(errno)) {
				/* A stopped one-shot timer keeps its spent delay: set it anew. */
				ev_io_stop(loop, &m->io);
				ev_timer_set(&m->backoff, SOCK_ACCEPT_BACKOFF, 0.0);
				ev_timer_start(loop, &m->backoff);
			}
			return;
		}
		if (m->nconns >= METRICS_MAX_CONNS || !acl_allows(m->acl, (struct sockaddr *)&ss))
			close(fd);
		else
			metrics_open(m, fd);
	}
}

static void
metrics_open(struct metrics *m, int fd)
{
	struct metrics_conn *mc = calloc(1, sizeof(*mc));

	if (!mc) {
		close(fd);
		return;
	}
	mc->m = m;
	mc->fd = fd;
	mc->out.max = METRICS_MAX_RESPONSE;
	mc->next = m->conns;
	if (m->conns)
		m->conns->prev = mc;
	m->conns = mc;
	m->nconns++;
	ev_io_init(&mc->rio, metrics_readable, fd, EV_READ);
	ev_io_init(&mc->wio, metrics_writable, fd, EV_WRITE);
	ev_timer_init(&mc->timer, metrics_expired, METRICS_HEAD_TIMEOUT, 0.0);
	mc->rio.data = mc->wio.data = mc->timer.data = mc;
	ev_io_start(m->loop, &mc->rio);
	ev_timer_start(m->loop, &mc->timer);
}

static void
metrics_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct metrics_conn *mc = w->data;
	struct metrics_request req;
	char scratch[4096];
	bool lingering = mc->phase == METRICS_LINGERING;
	char *at = lingering ? scratch : mc->in + mc->inlen;
	size_t room = lingering ? sizeof(scratch) : sizeof(mc->in) - mc->inlen;
	ssize_t n = read(mc->fd, at, room);

	(void)loop;
	(void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		metrics_close(mc);
		return;
	}
	if (lingering)
		return;
	mc->inlen += (size_t)n;
	enum metrics_verdict v = metrics_parse_request(mc->in, mc->inlen, &req);
	if (v != METRICS_INCOMPLETE)
		metrics_answer(mc, v, &req);
}

static void
metrics_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	metrics_flush(w->data);
}

static void
metrics_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	metrics_close(w->data);
}

/* The stats the control socket's "stats" command answers, rendered. */
static char *
metrics_exposition(const struct metrics *m, size_t *len)
{
	json_t *st =
	    control_dispatch(&m->ctx, METRICS_STATS_REQUEST, sizeof(METRICS_STATS_REQUEST) - 1);
	char *text = NULL;

	if (st && !json_object_get(st, "error"))
		text = prom_render(st, len);
	json_decref(st);
	return text;
}

static void
metrics_answer(struct metrics_conn *mc, enum metrics_verdict v, const struct metrics_request *req)
{
	static const struct {
		const char *status;
		const char *extra;
		const char *body;
	} errors[] = {
	    [METRICS_BAD] = {"400 Bad Request", "", "bad request\n"},
	    [METRICS_METHOD] = {"405 Method Not Allowed", "Allow: GET, HEAD\r\n",
				"only GET and HEAD\n"},
	    [METRICS_NOT_FOUND] = {"404 Not Found", "", "try /metrics\n"},
	};
	char *text = NULL;
	size_t len = 0;
	bool ok;

	ev_io_stop(mc->m->loop, &mc->rio);
	if (v == METRICS_OK && (text = metrics_exposition(mc->m, &len)))
		ok = metrics_respond(mc, "200 OK", METRICS_CONTENT_TYPE, "", text, len,
				     req->head_only);
	else if (v == METRICS_OK)
		ok = metrics_respond(mc, "500 Internal Server Error", "text/plain", "",
				     METRICS_NO_STATS, strlen(METRICS_NO_STATS), req->head_only);
	else
		ok = metrics_respond(mc, errors[v].status, "text/plain", errors[v].extra,
				     errors[v].body, strlen(errors[v].body), req->head_only);
	free(text);
	if (!ok) {
		metrics_close(mc);
		return;
	}
	metrics_phase(mc, METRICS_WRITING, METRICS_SEND_TIMEOUT);
	metrics_flush(mc);
}

static bool
metrics_respond(struct metrics_conn *mc, const char *status, const char *type, const char *extra,
		const char *body, size_t len, bool head_only)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
			 status, type, len, extra);

	return n > 0 && (size_t)n < sizeof(head) && buf_append(&mc->out, head, (size_t)n) &&
	       (head_only || buf_append(&mc->out, body, len));
}

/* Each phase has its own deadline, counted from its start. */
static void
metrics_phase(struct metrics_conn *mc, enum metrics_phase phase, double seconds)
{
	mc->phase = phase;
	ev_timer_stop(mc->m->loop, &mc->timer);
	ev_timer_set(&mc->timer, seconds, 0.0);
	ev_timer_start(mc->m->loop, &mc->timer);
}

static void
metrics_flush(struct metrics_conn *mc)
{
	if (buf_flush(&mc->out, mc->fd) != 0) {
		metrics_close(mc);
		return;
	}
	if (mc->out.len > 0) {
		ev_io_start(mc->m->loop, &mc->wio);
		return;
	}
	ev_io_stop(mc->m->loop, &mc->wio);
	metrics_linger(mc);
}

/* Everything is sent: tell the client, and wait (bounded) for it to hang
 * up, reading and dropping what it still sends. */
static void
metrics_linger(struct metrics_conn *mc)
{
	if (shutdown(mc->fd, SHUT_WR) != 0) {
		metrics_close(mc);
		return;
	}
	metrics_phase(mc, METRICS_LINGERING, METRICS_LINGER_TIMEOUT);
	ev_io_start(mc->m->loop, &mc->rio);
}

static void
metrics_close(struct metrics_conn *mc)
{
	struct metrics *m = mc->m;

	ev_io_stop(m->loop, &mc->rio);
	ev_io_stop(m->loop, &mc->wio);
	ev_timer_stop(m->loop, &mc->timer);
	close(mc->fd);
	if (mc->prev)
		mc->prev->next = mc->next;
	else
		m->conns = mc->next;
	if (mc->next)
		mc->next->prev = mc->prev;
	m->nconns--;
	buf_free(&mc->out);
	free(mc);
}
