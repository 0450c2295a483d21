/*
 * metrics: see include/metrics.h.
 *
 * A connection reads one request head, answers it, shuts down its side and
 * reads whatever else the client sends until it hangs up (a close with
 * unread input would reset the connection and could lose the answer). One
 * deadline bounds every phase. Accepting, the connection list and the
 * output queue are stream's.
 */
#include "metrics.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acl.h"
#include "buf.h"
#include "control.h"
#include "prom.h"
#include "sock.h"
#include "stream.h"

#define METRICS_SEND_TIMEOUT 10.0 /* seconds for the client to take the answer */
#define METRICS_LINGER_TIMEOUT 2.0
#define METRICS_MAX_RESPONSE (4 * 1024 * 1024)
#define METRICS_STATS_REQUEST "{\"cmd\":\"stats\",\"histograms\":true}"
#define METRICS_NO_STATS "stats unavailable\n"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_phase { METRICS_READING, METRICS_WRITING, METRICS_LINGERING };

struct metrics_conn {
	struct stream_conn sc;
	struct metrics *m;
	enum metrics_phase phase;
	size_t inlen;
	char in[METRICS_MAX_HEAD];
};

struct metrics {
	struct stream_server srv;
	const struct acl *acl;
	struct control_ctx ctx;
};

static bool metrics_tchar(unsigned char c);
static size_t metrics_token(const char *s, size_t len);
static bool metrics_request_line(const char *s, size_t len, bool *known, bool *head, bool *found);
static bool metrics_header_line(const char *s, size_t len);
static bool metrics_accept(struct stream_server *srv, int fd, const struct sockaddr *peer,
			   socklen_t peerlen);
static bool metrics_make_room(struct metrics *m);
static void metrics_readable(struct stream_conn *sc);
static void metrics_writable(struct stream_conn *sc, size_t written);
static void metrics_expired(struct stream_conn *sc);
static void metrics_closed(struct stream_conn *sc);
static void metrics_answer(struct metrics_conn *mc, enum metrics_verdict v,
			   const struct metrics_request *req);
static bool metrics_respond(struct metrics_conn *mc, const char *status, const char *type,
			    const char *extra, const char *body, size_t len, bool head_only);
static char *metrics_exposition(const struct metrics *m, size_t *len);
static void metrics_phase(struct metrics_conn *mc, enum metrics_phase phase, double seconds);
static void metrics_flush(struct metrics_conn *mc);
static void metrics_linger(struct metrics_conn *mc);

static const struct stream_ops metrics_stream = {.accept = metrics_accept,
						 .readable = metrics_readable,
						 .writable = metrics_writable,
						 .expired = metrics_expired,
						 .closed = metrics_closed};

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
	int fd;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((fd = sock_bind(addr, SOCK_STREAM, err, errlen)) < 0) {
		free(m);
		return NULL;
	}
	m->acl = acl;
	m->ctx = *ctx;
	stream_start(&m->srv, loop, fd, &metrics_stream);
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
	stream_stop(&m->srv);
	free(m);
}

static bool
metrics_accept(struct stream_server *srv, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct metrics *m = STREAM_OWNER(srv, struct metrics, srv);
	struct metrics_conn *mc;

	(void)peerlen;
	if (!acl_allows(m->acl, peer) || !metrics_make_room(m) ||
	    !(mc = calloc(1, sizeof(*mc))))
		return false;
	mc->m = m;
	stream_open(srv, &mc->sc, fd, METRICS_MAX_RESPONSE);
	stream_deadline(&mc->sc, METRICS_HEAD_TIMEOUT);
	return true;
}

/* At the cap, the oldest connection still waiting for its request head
 * (or lingering) gives way: a scraper sends its head at once, so clients
 * that hold connections open without asking cannot keep it out. Those
 * writing an answer finish; when all of them are, the newcomer is refused. */
static bool
metrics_make_room(struct metrics *m)
{
	struct stream_conn *oldest = NULL;

	if (m->srv.nconns < METRICS_MAX_CONNS)
		return true;
	for (struct stream_conn *sc = m->srv.conns; sc; sc = sc->next)
		if (STREAM_OWNER(sc, struct metrics_conn, sc)->phase != METRICS_WRITING)
			oldest = sc; /* the list is newest first */
	if (!oldest)
		return false;
	stream_close(oldest, true);
	return true;
}

static void
metrics_readable(struct stream_conn *sc)
{
	struct metrics_conn *mc = STREAM_OWNER(sc, struct metrics_conn, sc);
	struct metrics_request req;
	char scratch[4096];
	bool lingering = mc->phase == METRICS_LINGERING;
	char *at = lingering ? scratch : mc->in + mc->inlen;
	size_t room = lingering ? sizeof(scratch) : sizeof(mc->in) - mc->inlen;
	size_t n = 0;

	switch (stream_read(sc, at, room, &n)) {
	case STREAM_AGAIN:
		return;
	case STREAM_EOF:
	case STREAM_ERROR:
		stream_close(sc, false);
		return;
	case STREAM_DATA:
		break;
	}
	if (lingering)
		return;
	mc->inlen += n;
	enum metrics_verdict v = metrics_parse_request(mc->in, mc->inlen, &req);
	if (v != METRICS_INCOMPLETE)
		metrics_answer(mc, v, &req);
}

static void
metrics_writable(struct stream_conn *sc, size_t written)
{
	(void)written;
	if (sc->out.len == 0)
		metrics_linger(STREAM_OWNER(sc, struct metrics_conn, sc));
}

static void
metrics_expired(struct stream_conn *sc)
{
	stream_close(sc, false);
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
	    /* Never answered (more is read first); an entry all the same. */
	    [METRICS_INCOMPLETE] = {"400 Bad Request", "", "bad request\n"},
	    [METRICS_BAD] = {"400 Bad Request", "", "bad request\n"},
	    [METRICS_METHOD] = {"405 Method Not Allowed", "Allow: GET, HEAD\r\n",
				"only GET and HEAD\n"},
	    [METRICS_NOT_FOUND] = {"404 Not Found", "", "try /metrics\n"},
	};
	char *text = NULL;
	size_t len = 0;
	bool ok;

	stream_reading(&mc->sc, false);
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
		stream_close(&mc->sc, false);
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

	return n > 0 && (size_t)n < sizeof(head) && buf_append(&mc->sc.out, head, (size_t)n) &&
	       (head_only || buf_append(&mc->sc.out, body, len));
}

/* Each phase has its own deadline, counted from its start. */
static void
metrics_phase(struct metrics_conn *mc, enum metrics_phase phase, double seconds)
{
	mc->phase = phase;
	stream_deadline(&mc->sc, seconds);
}

static void
metrics_flush(struct metrics_conn *mc)
{
	if (stream_flush(&mc->sc) < 0)
		stream_close(&mc->sc, false);
	else if (mc->sc.out.len == 0)
		metrics_linger(mc);
}

/* Everything is sent: tell the client, and wait (bounded) for it to hang
 * up, reading and dropping what it still sends. */
static void
metrics_linger(struct metrics_conn *mc)
{
	if (shutdown(mc->sc.fd, SHUT_WR) != 0) {
		stream_close(&mc->sc, false);
		return;
	}
	metrics_phase(mc, METRICS_LINGERING, METRICS_LINGER_TIMEOUT);
	stream_reading(&mc->sc, true);
}

static void
metrics_closed(struct stream_conn *sc)
{
	free(STREAM_OWNER(sc, struct metrics_conn, sc));
}
