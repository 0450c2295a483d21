/*
 * listen_tcp: see include/listen_tcp.h.
 *
 * A connection is referenced by the query engine for each query it has
 * open, so it outlives its socket until the last answer is in (and then
 * dropped): a client that hangs up never leaves the engine a dangling
 * pointer.
 */
#include "listen_tcp.h"

#include <errno.h>
#include <ev.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "query.h"
#include "siphash.h"
#include "sock.h"
#include "stats.h"
#include "wire.h"

/* Queries are small; a frame longer than this is not a DNS query, nor is
 * one shorter than a header. */
#define TCP_MAX_QUERY 4096
/* A client that does not read its answers is cut off past this. */
#define TCP_MAX_OUTPUT (1024 * 1024)
/* Connections per client are counted in a fixed table under a keyed hash:
 * clients that share a slot share the cap, which an attacker cannot aim. */
#define TCP_CLIENT_SLOTS 4096u

struct tcp_conn {
	struct query_client base;
	struct listen_tcp *lt;
	struct tcp_conn *prev;
	struct tcp_conn *next;
	int fd;
	bool open;
	bool paused;	  /* shutting down: no more queries from this client */
	bool eof;	  /* the client half-closed: answer what it sent, then close */
	unsigned refs;	  /* 1 for the socket + 1 per query the engine holds */
	unsigned pending; /* queries the engine holds */
	ev_io rio;
	ev_io wio;
	ev_timer idle;
	ev_timer wdead;	 /* the write deadline: see tcp_write_check */
	ev_timer resume; /* parses what was left buffered once under the limit */
	struct sock_addr peer;
	uint32_t *per_client; /* this client's count in lt->per_client, if capped */
	uint64_t queued;      /* answer bytes given to this connection so far */
	uint64_t written;     /* of which handed to the kernel */
	uint64_t target;      /* taken by the client when wdead fires, or reset */
	size_t rlen;
	uint8_t rbuf[2 + TCP_MAX_QUERY];
	struct buf out;
};

struct listen_tcp {
	struct ev_loop *loop;
	ev_io io;
	ev_timer backoff; /* accepting again after running out of descriptors */
	bool paused;
	int fd;
	struct listen_tcp_options opts;
	struct query_engine *qe;
	struct stats *stats;
	struct tcp_conn *conns;
	unsigned nconns;
	uint8_t seed[16];
	uint32_t per_client[TCP_CLIENT_SLOTS];
};

static void listen_tcp_accept(struct ev_loop *loop, ev_io *w, int revents);
static void listen_tcp_resume(struct ev_loop *loop, ev_timer *w, int revents);
static uint32_t *tcp_client_count(struct listen_tcp *lt, const struct sock_addr *peer);
static void tcp_open(struct listen_tcp *lt, int fd, const struct sock_addr *peer,
		     uint32_t *per_client);
static void tcp_readable(struct ev_loop *loop, ev_io *w, int revents);
static void tcp_writable(struct ev_loop *loop, ev_io *w, int revents);
static void tcp_idle(struct ev_loop *loop, ev_timer *w, int revents);
static void tcp_write_check(struct ev_loop *loop, ev_timer *w, int revents);
static void tcp_resume(struct ev_loop *loop, ev_timer *w, int revents);
static void tcp_parse(struct tcp_conn *tc);
static void tcp_queued(struct tcp_conn *tc, size_t len, size_t sent);
static uint64_t tcp_taken(const struct tcp_conn *tc);
static void tcp_finish(struct tcp_conn *tc);
static void tcp_close(struct tcp_conn *tc, bool reset);
static void tcp_unref(struct tcp_conn *tc);
static void tcp_update_reading(struct tcp_conn *tc);
static void tcp_deliver(struct query_client *c, const uint8_t *pkt, size_t len);
static struct query_client *tcp_hold(struct query_client *c);
static void tcp_release(struct query_client *c);

static const struct query_client_ops tcp_ops = {tcp_deliver, tcp_hold, tcp_release};

struct listen_tcp *
listen_tcp_new(struct ev_loop *loop, const struct sock_addr *addr,
	       const struct listen_tcp_options *opts, struct query_engine *qe, struct stats *stats,
	       char *err, size_t errlen)
{
	struct listen_tcp *lt = calloc(1, sizeof(*lt));

	if (!lt)
		return NULL;
	if (getrandom(lt->seed, sizeof(lt->seed), 0) != (ssize_t)sizeof(lt->seed)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		free(lt);
		return NULL;
	}
	if ((lt->fd = sock_bind(addr, SOCK_STREAM, err, errlen)) < 0) {
		free(lt);
		return NULL;
	}
	lt->loop = loop;
	lt->opts = *opts;
	lt->qe = qe;
	lt->stats = stats;
	ev_io_init(&lt->io, listen_tcp_accept, lt->fd, EV_READ);
	ev_timer_init(&lt->backoff, listen_tcp_resume, SOCK_ACCEPT_BACKOFF, 0.0);
	lt->io.data = lt->backoff.data = lt;
	ev_io_start(loop, &lt->io);
	return lt;
}

void
listen_tcp_free(struct listen_tcp *lt)
{
	if (!lt)
		return;
	ev_io_stop(lt->loop, &lt->io);
	ev_timer_stop(lt->loop, &lt->backoff);
	close(lt->fd);
	for (struct tcp_conn *tc = lt->conns, *next; tc; tc = next) {
		next = tc->next;
		tcp_close(tc, false);
	}
	free(lt);
}

void
listen_tcp_pause(struct listen_tcp *lt)
{
	lt->paused = true;
	ev_io_stop(lt->loop, &lt->io);
	ev_timer_stop(lt->loop, &lt->backoff);
	for (struct tcp_conn *tc = lt->conns; tc; tc = tc->next) {
		tc->paused = true;
		tcp_update_reading(tc);
	}
}

static void
listen_tcp_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listen_tcp *lt = w->data;

	(void)revents;
	if (!lt->paused)
		ev_io_start(loop, &lt->io);
}

static void
listen_tcp_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listen_tcp *lt = w->data;

	(void)revents;
	for (;;) {
		struct sock_addr peer = {.len = sizeof(peer.ss)};
		int fd = accept4(lt->fd, (struct sockaddr *)&peer.ss, &peer.len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (sock_accept_exhausted(errno)) {
				/* A stopped one-shot timer keeps its spent delay: set it anew. */
				ev_io_stop(loop, &lt->io);
				ev_timer_set(&lt->backoff, SOCK_ACCEPT_BACKOFF, 0.0);
				ev_timer_start(loop, &lt->backoff);
			}
			return;
		}
		/* Nothing is read from a client outside the allow list: it costs
		 * no slot, no buffer and no answer (UDP clients get REFUSED, since
		 * a datagram cannot be refused otherwise). */
		if (!query_allowed(lt->qe, (const struct sockaddr *)&peer.ss)) {
			lt->stats->tcp_refused++;
			close(fd);
			continue;
		}
		uint32_t *per_client = tcp_client_count(lt, &peer);
		if (lt->nconns >= lt->opts.max_conns ||
		    (per_client && *per_client >= lt->opts.max_per_client)) {
			lt->stats->tcp_rejected++;
			close(fd);
			continue;
		}
		tcp_open(lt, fd, &peer, per_client);
	}
}

/* Where connections from peer are counted; NULL when uncapped. */
static uint32_t *
tcp_client_count(struct listen_tcp *lt, const struct sock_addr *peer)
{
	uint8_t key[SOCK_CLIENT_KEY];
	size_t klen;

	if (lt->opts.max_per_client == 0 ||
	    !(klen = sock_client_key((const struct sockaddr *)&peer->ss, key)))
		return NULL;
	return &lt->per_client[siphash24(lt->seed, key, klen) % TCP_CLIENT_SLOTS];
}

static void
tcp_open(struct listen_tcp *lt, int fd, const struct sock_addr *peer, uint32_t *per_client)
{
	struct tcp_conn *tc = calloc(1, sizeof(*tc));

	if (!tc) {
		lt->stats->tcp_rejected++;
		close(fd);
		return;
	}
	lt->stats->tcp_accepted++;
	tc->base = (struct query_client){.ops = &tcp_ops, .tcp = true};
	tc->lt = lt;
	tc->fd = fd;
	tc->open = true;
	tc->refs = 1;
	tc->peer = *peer;
	if ((tc->per_client = per_client))
		(*per_client)++;
	tc->out.max = TCP_MAX_OUTPUT;
	tc->next = lt->conns;
	if (lt->conns)
		lt->conns->prev = tc;
	lt->conns = tc;
	lt->nconns++;
	ev_io_init(&tc->rio, tcp_readable, fd, EV_READ);
	ev_io_init(&tc->wio, tcp_writable, fd, EV_WRITE);
	ev_timer_init(&tc->idle, tcp_idle, 0.0, lt->opts.idle_ms / 1000.0);
	ev_timer_init(&tc->wdead, tcp_write_check, 0.0, lt->opts.write_ms / 1000.0);
	ev_timer_init(&tc->resume, tcp_resume, 0.0, 0.0);
	tc->rio.data = tc->wio.data = tc->idle.data = tc->wdead.data = tc->resume.data = tc;
	ev_io_start(lt->loop, &tc->rio);
	ev_timer_again(lt->loop, &tc->idle);
}

/* Reading stops while the engine holds as many of this client's queries
 * as it may (so one connection cannot claim the whole in-flight table),
 * and once the client has half-closed. */
static void
tcp_update_reading(struct tcp_conn *tc)
{
	if (!tc->open)
		return;
	bool want = !tc->paused && !tc->eof && tc->pending < tc->lt->opts.max_pending &&
		    tc->rlen < sizeof(tc->rbuf);

	if (want && !ev_is_active(&tc->rio))
		ev_io_start(tc->lt->loop, &tc->rio);
	else if (!want && ev_is_active(&tc->rio))
		ev_io_stop(tc->lt->loop, &tc->rio);
}

static void
tcp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_conn *tc = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(tc->fd, tc->rbuf + tc->rlen, sizeof(tc->rbuf) - tc->rlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		tcp_close(tc, false);
		return;
	}
	/* RFC 7766 §6.2.4: a client may half-close and still wait for its
	 * answers. */
	if (n == 0)
		tc->eof = true;
	tc->rlen += (size_t)n;
	tcp_parse(tc);
}

/* Hands the whole queries buffered to the engine, no more than the
 * pending limit allows; the rest waits in rbuf (bounded: reading stops
 * meanwhile) until answers make room. */
static void
tcp_parse(struct tcp_conn *tc)
{
	if (!tc->open)
		return;
	/* The engine may answer (and a write may fail and close) inside the
	 * loop: hold a reference until it is done. */
	tc->refs++;
	size_t off = 0;
	while (tc->open && !tc->paused && tc->pending < tc->lt->opts.max_pending &&
	       tc->rlen - off >= 2) {
		size_t flen = wire_get16(tc->rbuf + off);
		if (flen < WIRE_HEADER_LEN || flen > TCP_MAX_QUERY) {
			tcp_close(tc, false);
			break;
		}
		if (tc->rlen - off < 2 + flen)
			break;
		query_handle(tc->lt->qe, &tc->base, (const struct sockaddr *)&tc->peer.ss,
			     tc->rbuf + off + 2, flen);
		off += 2 + flen;
	}
	/* The reference taken above keeps tc alive even if it was closed. */
	if (tc->open) { // NOLINT(clang-analyzer-unix.Malloc)
		/* Only whole queries count as activity: a client trickling bytes
		 * of one query cannot hold its slot past the idle timeout. */
		if (off > 0)
			ev_timer_again(tc->lt->loop, &tc->idle);
		memmove(tc->rbuf, tc->rbuf + off, tc->rlen - off);
		tc->rlen -= off;
		tcp_update_reading(tc);
		tcp_finish(tc);
	}
	tcp_unref(tc); // NOLINT(clang-analyzer-unix.Malloc)
}

static void
tcp_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	tcp_parse(w->data);
}

/* A half-closed client is closed once everything it asked is answered
 * and taken; a partial query left in rbuf will never be completed. */
static void
tcp_finish(struct tcp_conn *tc)
{
	if (tc->open && tc->eof && tc->pending == 0 && tc->out.len == 0 &&
	    !ev_is_active(&tc->resume))
		tcp_close(tc, false);
}

static void
tcp_deliver(struct query_client *c, const uint8_t *pkt, size_t len)
{
	struct tcp_conn *tc = (struct tcp_conn *)c;
	uint8_t prefix[2];
	size_t sent = 0;

	if (!tc->open)
		return;
	wire_put16(prefix, (uint16_t)len);
	if (tc->out.len == 0) {
		/* Usually the socket takes it all at once: no copy. */
		struct iovec iov[2] = {{prefix, 2}, {(void *)(uintptr_t)pkt, len}};
		ssize_t n = writev(tc->fd, iov, 2);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			tcp_close(tc, false);
			return;
		}
		sent = n > 0 ? (size_t)n : 0;
	}
	tcp_queued(tc, len + 2, sent);
	if (sent == len + 2)
		return;
	bool ok = sent >= 2 ? buf_append(&tc->out, pkt + (sent - 2), len - (sent - 2))
			    : buf_append(&tc->out, prefix + sent, 2 - sent) &&
				  buf_append(&tc->out, pkt, len);
	if (!ok) {
		tcp_close(tc, true);
		return;
	}
	ev_io_start(tc->lt->loop, &tc->wio);
}

static void
tcp_queued(struct tcp_conn *tc, size_t len, size_t sent)
{
	tc->queued += len;
	tc->written += sent;
	if (!ev_is_active(&tc->wdead)) {
		tc->target = tc->queued;
		ev_timer_again(tc->lt->loop, &tc->wdead);
	}
}

/* Bytes of answers the client has taken: written, and no longer in the
 * kernel's send queue (acknowledged by the client's side). */
static uint64_t
tcp_taken(const struct tcp_conn *tc)
{
	int unacked = 0;

	if (ioctl(tc->fd, SIOCOUTQ, &unacked) != 0 || unacked < 0)
		unacked = 0;
	return tc->written - (uint64_t)unacked;
}

/*
 * The write deadline (RFC 7766 §6.2.3), checked every write timeout while
 * answers are on their way: everything queued when it was set must have
 * been taken by then, and it is set anew for what is queued by then. Mere
 * progress is not enough: a client taking a byte now and then would keep
 * its slot and its output for ever. The kernel's send queue counts too, so
 * a stuck client is caught however large that queue has grown.
 */
static void
tcp_write_check(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tcp_conn *tc = w->data;
	uint64_t taken = tcp_taken(tc);

	(void)revents;
	if (taken < tc->target) {
		tc->lt->stats->tcp_write_timeouts++;
		tcp_close(tc, true);
		return;
	}
	if (taken == tc->queued)
		ev_timer_stop(loop, w);
	tc->target = tc->queued;
}

static void
tcp_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_conn *tc = w->data;
	size_t before = tc->out.len;

	(void)revents;
	if (buf_flush(&tc->out, tc->fd) != 0) {
		tcp_close(tc, false);
		return;
	}
	tc->written += before - tc->out.len;
	if (tc->out.len == 0)
		ev_io_stop(loop, &tc->wio);
	ev_timer_again(loop, &tc->idle);
	tcp_finish(tc);
}

static void
tcp_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tcp_conn *tc = w->data;

	(void)revents;
	/* Quiet, but still waiting for answers (or for the client to take
	 * them, which the write deadline bounds): not idle. */
	if (tc->pending > 0 || tc->out.len > 0) {
		ev_timer_again(loop, &tc->idle);
		return;
	}
	tc->lt->stats->tcp_timeouts++;
	tcp_close(tc, false);
}

/* reset: the client is not taking its answers; an abortive close frees the
 * kernel's copy of them too instead of leaving it queued for the client. */
static void
tcp_close(struct tcp_conn *tc, bool reset)
{
	if (!tc->open)
		return;
	struct listen_tcp *lt = tc->lt;
	tc->open = false;
	ev_io_stop(lt->loop, &tc->rio);
	ev_io_stop(lt->loop, &tc->wio);
	ev_timer_stop(lt->loop, &tc->idle);
	ev_timer_stop(lt->loop, &tc->wdead);
	ev_timer_stop(lt->loop, &tc->resume);
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		(void)setsockopt(tc->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(tc->fd);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		lt->conns = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	lt->nconns--;
	if (tc->per_client)
		(*tc->per_client)--;
	tcp_unref(tc);
}

static void
tcp_unref(struct tcp_conn *tc)
{
	if (--tc->refs > 0)
		return;
	buf_free(&tc->out);
	free(tc);
}

static struct query_client *
tcp_hold(struct query_client *c)
{
	struct tcp_conn *tc = (struct tcp_conn *)c;

	tc->refs++;
	tc->pending++;
	return c;
}

/* Called while the engine walks its waiters: parsing more queries here
 * could join the very lookup being answered, so it waits for the next
 * loop iteration. */
static void
tcp_release(struct query_client *c)
{
	struct tcp_conn *tc = (struct tcp_conn *)c;

	tc->pending--;
	if (!tc->open) {
		tcp_unref(tc);
		return;
	}
	tc->refs--; /* never the last: the open socket holds one */
	ev_timer_again(tc->lt->loop, &tc->idle);
	if (!ev_is_active(&tc->resume)) {
		ev_timer_set(&tc->resume, 0.0, 0.0);
		ev_timer_start(tc->lt->loop, &tc->resume);
	}
}
