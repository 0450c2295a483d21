/*
 * stream: see include/stream.h.
 */
#include "stream.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

static void stream_accept(struct ev_loop *loop, ev_io *w, int revents);
static void stream_resume(struct ev_loop *loop, ev_timer *w, int revents);
static void stream_readable(struct ev_loop *loop, ev_io *w, int revents);
static void stream_writable(struct ev_loop *loop, ev_io *w, int revents);
static void stream_expired(struct ev_loop *loop, ev_timer *w, int revents);

void
stream_start(struct stream_server *srv, struct ev_loop *loop, int fd, const struct stream_ops *ops)
{
	srv->loop = loop;
	srv->ops = ops;
	srv->fd = fd;
	srv->paused = false;
	srv->conns = NULL;
	srv->nconns = 0;
	ev_io_init(&srv->io, stream_accept, fd, EV_READ);
	ev_timer_init(&srv->backoff, stream_resume, SOCK_ACCEPT_BACKOFF, 0.0);
	srv->io.data = srv->backoff.data = srv;
	ev_io_start(loop, &srv->io);
}

void
stream_pause(struct stream_server *srv)
{
	srv->paused = true;
	ev_io_stop(srv->loop, &srv->io);
	ev_timer_stop(srv->loop, &srv->backoff);
}

void
stream_stop(struct stream_server *srv)
{
	stream_pause(srv);
	close(srv->fd);
	srv->fd = -1;
	while (srv->conns)
		stream_close(srv->conns, false);
}

static void
stream_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stream_server *srv = w->data;

	(void)revents;
	if (!srv->paused)
		ev_io_start(loop, &srv->io);
}

static void
stream_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream_server *srv = w->data;

	(void)revents;
	while (!srv->paused) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int fd =
		    accept4(srv->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (sock_accept_exhausted(errno)) {
				/* A stopped one-shot timer keeps its spent delay: set it anew. */
				ev_io_stop(loop, &srv->io);
				ev_timer_set(&srv->backoff, SOCK_ACCEPT_BACKOFF, 0.0);
				ev_timer_start(loop, &srv->backoff);
			}
			return;
		}
		if (!srv->ops->accept(srv, fd, (const struct sockaddr *)&ss, sslen))
			close(fd);
	}
}

void
stream_open(struct stream_server *srv, struct stream_conn *sc, int fd, size_t max_output)
{
	sc->srv = srv;
	sc->fd = fd;
	sc->out = (struct buf){.max = max_output};
	sc->prev = NULL;
	sc->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = sc;
	srv->conns = sc;
	srv->nconns++;
	ev_io_init(&sc->rio, stream_readable, fd, EV_READ);
	ev_io_init(&sc->wio, stream_writable, fd, EV_WRITE);
	ev_timer_init(&sc->deadline, stream_expired, 0.0, 0.0);
	sc->rio.data = sc->wio.data = sc->deadline.data = sc;
	ev_io_start(srv->loop, &sc->rio);
}

enum stream_read
stream_read(struct stream_conn *sc, void *p, size_t room, size_t *got)
{
	ssize_t n = read(sc->fd, p, room);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? STREAM_AGAIN : STREAM_ERROR;
	if (n == 0)
		return STREAM_EOF;
	*got = (size_t)n;
	return STREAM_DATA;
}

void
stream_reading(struct stream_conn *sc, bool on)
{
	if (on)
		ev_io_start(sc->srv->loop, &sc->rio);
	else
		ev_io_stop(sc->srv->loop, &sc->rio);
}

bool
stream_queue(struct stream_conn *sc, const void *p, size_t n)
{
	if (!buf_append(&sc->out, p, n))
		return false;
	ev_io_start(sc->srv->loop, &sc->wio);
	return true;
}

ssize_t
stream_flush(struct stream_conn *sc)
{
	size_t before = sc->out.len;

	if (buf_flush(&sc->out, sc->fd) != 0)
		return -1;
	if (sc->out.len > 0)
		ev_io_start(sc->srv->loop, &sc->wio);
	else
		ev_io_stop(sc->srv->loop, &sc->wio);
	return (ssize_t)(before - sc->out.len);
}

void
stream_deadline(struct stream_conn *sc, double seconds)
{
	ev_timer_stop(sc->srv->loop, &sc->deadline);
	ev_timer_set(&sc->deadline, seconds, 0.0);
	ev_timer_start(sc->srv->loop, &sc->deadline);
}

void
stream_close(struct stream_conn *sc, bool reset)
{
	struct stream_server *srv = sc->srv;

	if (sc->fd < 0)
		return;
	ev_io_stop(srv->loop, &sc->rio);
	ev_io_stop(srv->loop, &sc->wio);
	ev_timer_stop(srv->loop, &sc->deadline);
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		(void)setsockopt(sc->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(sc->fd);
	sc->fd = -1;
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		srv->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	srv->nconns--;
	buf_free(&sc->out);
	srv->ops->closed(sc);
}

static void
stream_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream_conn *sc = w->data;

	(void)loop;
	(void)revents;
	sc->srv->ops->readable(sc);
}

static void
stream_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream_conn *sc = w->data;
	ssize_t n = stream_flush(sc);

	(void)loop;
	(void)revents;
	if (n < 0)
		stream_close(sc, false);
	else if (sc->srv->ops->writable)
		sc->srv->ops->writable(sc, (size_t)n);
}

static void
stream_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stream_conn *sc = w->data;

	(void)loop;
	(void)revents;
	sc->srv->ops->expired(sc);
}
