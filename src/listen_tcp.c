/*
 * listen_tcp: see include/listen_tcp.h.
 *
 * A connection is referenced by the query engine for each query it has
 * open, so it outlives its socket until the last answer is in (and then
 * dropped): a client that hangs up never leaves the engine a dangling
 * pointer. Accepting, the connection list, the idle deadline and the
 * output queue are stream's.
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

#include "query.h"
#include "siphash.h"
#include "sock.h"
#include "stats.h"
#include "stream.h"
#include "wire.h"

/* Queries are small; a frame longer than this is not a DNS query, nor is
 * one shorter than a header. */
#define TCP_MAX_QUERY 4096
/* A client that does not read its answers is cut off past this. */
#define TCP_MAX_OUTPUT (1024 * 1024)
/* No more queries are taken from a client while this much of its output
 * waits: cache hits are answered at once and never count as pending, so
 * without it one connection could fill TCP_MAX_OUTPUT before its write
 * deadline, and every connection at once. */
#define TCP_READ_OUTPUT (64 * 1024)
/* Connections per client are counted in a fixed table under a keyed hash:
 * clients that share a slot share the cap, which an attacker cannot aim. */
#define TCP_CLIENT_SLOTS 4096u

struct tcp_conn {
	struct query_client base;
	struct stream_conn sc; /* its deadline is the idle timeout */
	struct listen_tcp *lt;
	bool paused;	  /* shutting down: no more queries from this client */
	bool eof;	  /* the client half-closed: answer what it sent, then close */
	unsigned refs;	  /* 1 for the socket + 1 per query the engine holds */
	unsigned pending; /* queries the engine holds */
	ev_timer wdead;	  /* the write deadline: see tcp_write_check */
	ev_timer resume;  /* parses what was left buffered once under the limit */
	struct sock_addr peer;
	uint32_t *per_client; /* this client's count in lt->per_client, if capped */
	uint64_t queued;      /* answer bytes given to this connection so far */
	uint64_t written;     /* of which handed to the kernel */
	uint64_t target;      /* taken by the client when wdead fires, or reset */
	size_t rlen;
	uint8_t rbuf[2 + TCP_MAX_QUERY];
};

struct listen_tcp {
	struct stream_server srv;
	struct listen_tcp_options opts;
	struct query_engine *qe;
	struct stats *stats;
	uint8_t seed[16];
	uint32_t per_client[TCP_CLIENT_SLOTS];
};

static bool listen_tcp_accept(struct stream_server *srv, int fd, const struct sockaddr *sa,
			      socklen_t salen);
static uint32_t *tcp_client_count(struct listen_tcp *lt, const struct sock_addr *peer);
static bool tcp_open(struct listen_tcp *lt, int fd, const struct sock_addr *peer,
		     uint32_t *per_client);
static bool tcp_is_open(const struct tcp_conn *tc);
static void tcp_idle_again(struct tcp_conn *tc);
static void tcp_readable(struct stream_conn *sc);
static void tcp_writable(struct stream_conn *sc, size_t written);
static void tcp_idle(struct stream_conn *sc);
static void tcp_closed(struct stream_conn *sc);
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
static const struct stream_ops tcp_stream = {.accept = listen_tcp_accept,
					     .readable = tcp_readable,
					     .writable = tcp_writable,
					     .expired = tcp_idle,
					     .closed = tcp_closed};

struct listen_tcp *
listen_tcp_new(struct ev_loop *loop, const struct sock_addr *addr,
	       const struct listen_tcp_options *opts, struct query_engine *qe, struct stats *stats,
	       char *err, size_t errlen)
{
	struct listen_tcp *lt = calloc(1, sizeof(*lt));
	int fd;

	if (!lt)
		return NULL;
	if (getrandom(lt->seed, sizeof(lt->seed), 0) != (ssize_t)sizeof(lt->seed)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		free(lt);
		return NULL;
	}
	if ((fd = sock_bind(addr, SOCK_STREAM, err, errlen)) < 0) {
		free(lt);
		return NULL;
	}
	lt->opts = *opts;
	lt->qe = qe;
	lt->stats = stats;
	stream_start(&lt->srv, loop, fd, &tcp_stream);
	return lt;
}

void
listen_tcp_free(struct listen_tcp *lt)
{
	if (!lt)
		return;
	stream_stop(&lt->srv);
	free(lt);
}

void
listen_tcp_pause(struct listen_tcp *lt)
{
	stream_pause(&lt->srv);
	for (struct stream_conn *sc = lt->srv.conns; sc; sc = sc->next) {
		struct tcp_conn *tc = STREAM_OWNER(sc, struct tcp_conn, sc);
		tc->paused = true;
		tcp_update_reading(tc);
	}
}

static bool
listen_tcp_accept(struct stream_server *srv, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct listen_tcp *lt = STREAM_OWNER(srv, struct listen_tcp, srv);
	struct sock_addr peer = {.len = salen};

	memcpy(&peer.ss, sa, salen);
	/* Nothing is read from a client outside the allow list: it costs
	 * no slot, no buffer and no answer (UDP clients get REFUSED, since
	 * a datagram cannot be refused otherwise). */
	if (!query_allowed(lt->qe, sa)) {
		lt->stats->tcp_refused++;
		return false;
	}
	uint32_t *per_client = tcp_client_count(lt, &peer);
	if (srv->nconns >= lt->opts.max_conns ||
	    (per_client && *per_client >= lt->opts.max_per_client) ||
	    !tcp_open(lt, fd, &peer, per_client)) {
		lt->stats->tcp_rejected++;
		return false;
	}
	return true;
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

static bool
tcp_open(struct listen_tcp *lt, int fd, const struct sock_addr *peer, uint32_t *per_client)
{
	struct tcp_conn *tc = calloc(1, sizeof(*tc));

	if (!tc)
		return false;
	lt->stats->tcp_accepted++;
	tc->base = (struct query_client){.ops = &tcp_ops, .tcp = true};
	tc->lt = lt;
	tc->refs = 1;
	tc->peer = *peer;
	if ((tc->per_client = per_client))
		(*per_client)++;
	stream_open(&lt->srv, &tc->sc, fd, TCP_MAX_OUTPUT);
	ev_timer_init(&tc->wdead, tcp_write_check, 0.0, lt->opts.write_ms / 1000.0);
	ev_timer_init(&tc->resume, tcp_resume, 0.0, 0.0);
	tc->wdead.data = tc->resume.data = tc;
	tcp_idle_again(tc);
	return true;
}

static bool
tcp_is_open(const struct tcp_conn *tc)
{
	return tc->sc.fd >= 0;
}

static void
tcp_idle_again(struct tcp_conn *tc)
{
	stream_deadline(&tc->sc, tc->lt->opts.idle_ms / 1000.0);
}

/* Reading stops while the engine holds as many of this client's queries
 * as it may (so one connection cannot claim the whole in-flight table),
 * while too much of its output waits, and once the client has
 * half-closed. */
static void
tcp_update_reading(struct tcp_conn *tc)
{
	if (tcp_is_open(tc))
		stream_reading(&tc->sc, !tc->paused && !tc->eof &&
					    tc->pending < tc->lt->opts.max_pending &&
					    tc->sc.out.len < TCP_READ_OUTPUT &&
					    tc->rlen < sizeof(tc->rbuf));
}

static void
tcp_readable(struct stream_conn *sc)
{
	struct tcp_conn *tc = STREAM_OWNER(sc, struct tcp_conn, sc);
	size_t n = 0;

	switch (stream_read(sc, tc->rbuf + tc->rlen, sizeof(tc->rbuf) - tc->rlen, &n)) {
	case STREAM_AGAIN:
		return;
	case STREAM_ERROR:
		tcp_close(tc, false);
		return;
	case STREAM_EOF:
		/* RFC 7766 §6.2.4: a client may half-close and still wait for
		 * its answers. */
		tc->eof = true;
		break;
	case STREAM_DATA:
		tc->rlen += n;
		break;
	}
	tcp_parse(tc);
}

/* Hands the whole queries buffered to the engine, no more than the
 * pending limit allows; the rest waits in rbuf (bounded: reading stops
 * meanwhile) until answers make room. */
static void
tcp_parse(struct tcp_conn *tc)
{
	if (!tcp_is_open(tc))
		return;
	/* The engine may answer (and a write may fail and close) inside the
	 * loop: hold a reference until it is done. */
	tc->refs++;
	size_t off = 0;
	while (tcp_is_open(tc) && !tc->paused && tc->pending < tc->lt->opts.max_pending &&
	       tc->sc.out.len < TCP_READ_OUTPUT && tc->rlen - off >= 2) {
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
	if (tcp_is_open(tc)) { // NOLINT(clang-analyzer-unix.Malloc)
		/* Only whole queries count as activity: a client trickling bytes
		 * of one query cannot hold its slot past the idle timeout. */
		if (off > 0)
			tcp_idle_again(tc);
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
	if (tcp_is_open(tc) && tc->eof && tc->pending == 0 && tc->sc.out.len == 0 &&
	    !ev_is_active(&tc->resume))
		tcp_close(tc, false);
}

static void
tcp_deliver(struct query_client *c, const uint8_t *pkt, size_t len)
{
	struct tcp_conn *tc = (struct tcp_conn *)c;
	uint8_t prefix[2];
	size_t sent = 0;

	if (!tcp_is_open(tc))
		return;
	wire_put16(prefix, (uint16_t)len);
	if (tc->sc.out.len == 0) {
		/* Usually the socket takes it all at once: no copy. */
		struct iovec iov[2] = {{prefix, 2}, {(void *)(uintptr_t)pkt, len}};
		ssize_t n = writev(tc->sc.fd, iov, 2);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			tcp_close(tc, false);
			return;
		}
		sent = n > 0 ? (size_t)n : 0;
	}
	tcp_queued(tc, len + 2, sent);
	if (sent == len + 2)
		return;
	bool ok = sent >= 2 ? stream_queue(&tc->sc, pkt + (sent - 2), len - (sent - 2))
			    : stream_queue(&tc->sc, prefix + sent, 2 - sent) &&
				  stream_queue(&tc->sc, pkt, len);
	if (!ok)
		tcp_close(tc, true);
}

static void
tcp_queued(struct tcp_conn *tc, size_t len, size_t sent)
{
	tc->queued += len;
	tc->written += sent;
	if (!ev_is_active(&tc->wdead)) {
		tc->target = tc->queued;
		ev_timer_again(tc->lt->srv.loop, &tc->wdead);
	}
}

/* Bytes of answers the client has taken: written, and no longer in the
 * kernel's send queue (acknowledged by the client's side). */
static uint64_t
tcp_taken(const struct tcp_conn *tc)
{
	int unacked = 0;

	if (ioctl(tc->sc.fd, SIOCOUTQ, &unacked) != 0 || unacked < 0)
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
tcp_writable(struct stream_conn *sc, size_t written)
{
	struct tcp_conn *tc = STREAM_OWNER(sc, struct tcp_conn, sc);

	tc->written += written;
	tcp_idle_again(tc);
	/* Room again for answers: take the queries that waited. */
	if (sc->out.len < TCP_READ_OUTPUT && !ev_is_active(&tc->resume))
		tcp_parse(tc);
	else
		tcp_finish(tc);
}

static void
tcp_idle(struct stream_conn *sc)
{
	struct tcp_conn *tc = STREAM_OWNER(sc, struct tcp_conn, sc);

	/* Quiet, but still waiting for answers (or for the client to take
	 * them, which the write deadline bounds): not idle. */
	if (tc->pending > 0 || sc->out.len > 0) {
		tcp_idle_again(tc);
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
	stream_close(&tc->sc, reset);
}

static void
tcp_closed(struct stream_conn *sc)
{
	struct tcp_conn *tc = STREAM_OWNER(sc, struct tcp_conn, sc);
	struct ev_loop *loop = tc->lt->srv.loop;

	ev_timer_stop(loop, &tc->wdead);
	ev_timer_stop(loop, &tc->resume);
	if (tc->per_client)
		(*tc->per_client)--;
	tcp_unref(tc);
}

static void
tcp_unref(struct tcp_conn *tc)
{
	if (--tc->refs > 0)
		return;
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
	if (!tcp_is_open(tc)) {
		tcp_unref(tc);
		return;
	}
	tc->refs--; /* never the last: the open socket holds one */
	tcp_idle_again(tc);
	if (!ev_is_active(&tc->resume)) {
		ev_timer_set(&tc->resume, 0.0, 0.0);
		ev_timer_start(tc->lt->srv.loop, &tc->resume);
	}
}
