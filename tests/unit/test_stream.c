/*
 * Unit tests for stream (include/stream.h): accept, read, queued output,
 * the deadline, close, refusal, the back-off when descriptors run out, and
 * stop closing every connection. A listening Unix socket (abstract name)
 * and the loop live in *state; t_teardown releases them even when a test
 * fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "stream.h"

#define T_MAX_CONNS 4
#define T_SPINS 200 /* loop iterations a test waits for an event, at most */

struct t_conn {
	struct stream_conn sc;
	struct t_stream *t;
	char in[64];
	size_t inlen;
	bool eof;
};

struct t_stream {
	struct stream_server srv;
	struct ev_loop *loop;
	bool started;
	bool refuse; /* accept says no */
	size_t max_output;
	unsigned accepted;
	unsigned closed;
	unsigned expired;
	size_t written;
	struct t_conn *last; /* the newest connection */
	int clients[T_MAX_CONNS];
	unsigned nclients;
	struct sockaddr_un sun;
	socklen_t sunlen;
};

static bool
t_accept(struct stream_server *srv, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct t_stream *t = STREAM_OWNER(srv, struct t_stream, srv);
	struct t_conn *c;

	(void)peer;
	(void)peerlen;
	if (t->refuse || !(c = calloc(1, sizeof(*c))))
		return false;
	c->t = t;
	stream_open(srv, &c->sc, fd, t->max_output);
	t->accepted++;
	t->last = c;
	return true;
}

static void
t_readable(struct stream_conn *sc)
{
	struct t_conn *c = STREAM_OWNER(sc, struct t_conn, sc);
	size_t n = 0;

	switch (stream_read(sc, c->in + c->inlen, sizeof(c->in) - c->inlen, &n)) {
	case STREAM_DATA:
		c->inlen += n;
		break;
	case STREAM_AGAIN:
		break;
	case STREAM_EOF:
	case STREAM_ERROR:
		c->eof = true;
		stream_close(sc, false);
		break;
	}
}

static void
t_writable(struct stream_conn *sc, size_t written)
{
	struct t_conn *c = STREAM_OWNER(sc, struct t_conn, sc);

	c->t->written += written;
}

static void
t_expired(struct stream_conn *sc)
{
	struct t_conn *c = STREAM_OWNER(sc, struct t_conn, sc);

	c->t->expired++;
	stream_close(sc, false);
}

static void
t_closed(struct stream_conn *sc)
{
	struct t_conn *c = STREAM_OWNER(sc, struct t_conn, sc);

	c->t->closed++;
	if (c->t->last == c)
		c->t->last = NULL;
	free(c);
}

static const struct stream_ops t_ops = {.accept = t_accept,
					.readable = t_readable,
					.writable = t_writable,
					.expired = t_expired,
					.closed = t_closed};

static int
t_setup(void **state)
{
	struct t_stream *t = calloc(1, sizeof(*t));
	int fd;

	if (!t || !(t->loop = ev_loop_new(EVFLAG_AUTO)))
		return -1;
	t->max_output = 1024;
	t->sun.sun_family = AF_UNIX;
	/* Abstract: nothing on the file system, unique per process. */
	int n = snprintf(t->sun.sun_path + 1, sizeof(t->sun.sun_path) - 1, "mxcache-test-stream-%d",
			 (int)getpid());
	t->sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&t->sun, t->sunlen) != 0 || listen(fd, 8) != 0)
		return -1;
	stream_start(&t->srv, t->loop, fd, &t_ops);
	t->started = true;
	*state = t;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_stream *t = *state;

	if (!t)
		return 0;
	if (t->started)
		stream_stop(&t->srv);
	for (unsigned i = 0; i < t->nclients; i++)
		close(t->clients[i]);
	ev_loop_destroy(t->loop);
	free(t);
	*state = NULL;
	return 0;
}

/* A client connected to the server (not yet accepted). */
static int
t_connect(struct t_stream *t)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval bound = {.tv_sec = 2};

	assert_true(fd >= 0);
	/* A read the server never answers fails the test instead of hanging it. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&t->sun, t->sunlen), 0);
	assert_true(t->nclients < T_MAX_CONNS);
	t->clients[t->nclients++] = fd;
	return fd;
}

/* Runs the loop until *counter reaches want, within T_SPINS iterations. */
static void
t_run_until(struct t_stream *t, const unsigned *counter, unsigned want)
{
	for (int i = 0; i < T_SPINS && *counter < want; i++)
		ev_run(t->loop, EVRUN_ONCE);
	assert_int_equal(*counter, want);
}

static void
accept_read_write_close(void **state)
{
	struct t_stream *t = *state;
	int fd = t_connect(t);
	char got[8];

	t_run_until(t, &t->accepted, 1);
	assert_int_equal(t->srv.nconns, 1);
	assert_non_null(t->last);
	assert_int_equal(write(fd, "ping", 4), 4);
	for (int i = 0; i < T_SPINS && t->last->inlen < 4; i++)
		ev_run(t->loop, EVRUN_ONCE);
	assert_int_equal(t->last->inlen, 4);
	assert_memory_equal(t->last->in, "ping", 4);
	/* Queued output goes out through the write watcher. */
	assert_true(stream_queue(&t->last->sc, "pong", 4));
	assert_true(ev_is_active(&t->last->sc.wio));
	for (int i = 0; i < T_SPINS && t->written < 4; i++)
		ev_run(t->loop, EVRUN_ONCE);
	assert_int_equal(t->written, 4);
	assert_false(ev_is_active(&t->last->sc.wio));
	assert_int_equal(read(fd, got, sizeof(got)), 4);
	assert_memory_equal(got, "pong", 4);
	/* The client hangs up: closed once, unlinked. */
	shutdown(fd, SHUT_WR);
	t_run_until(t, &t->closed, 1);
	assert_int_equal(t->srv.nconns, 0);
	assert_null(t->srv.conns);
}

static void
output_is_bounded(void **state)
{
	struct t_stream *t = *state;
	char big[600] = {0};

	t_connect(t);
	t_run_until(t, &t->accepted, 1);
	assert_true(stream_queue(&t->last->sc, big, sizeof(big)));
	/* 1200 would pass the bound of 1024: refused, nothing appended. */
	assert_false(stream_queue(&t->last->sc, big, sizeof(big)));
	assert_int_equal(t->last->sc.out.len, sizeof(big));
	assert_int_equal(stream_flush(&t->last->sc), (ssize_t)sizeof(big));
	assert_int_equal(t->last->sc.out.len, 0);
}

static void
deadline_expires(void **state)
{
	struct t_stream *t = *state;

	t_connect(t);
	t_run_until(t, &t->accepted, 1);
	stream_deadline(&t->last->sc, 0.01);
	/* Re-arming restarts it rather than adding a second one. */
	stream_deadline(&t->last->sc, 0.02);
	t_run_until(t, &t->expired, 1);
	assert_int_equal(t->closed, 1);
	assert_int_equal(t->srv.nconns, 0);
}

static void
refused_connection_is_closed(void **state)
{
	struct t_stream *t = *state;
	char c;

	t->refuse = true;
	int fd = t_connect(t);
	for (int i = 0; i < 5; i++)
		ev_run(t->loop, EVRUN_NOWAIT);
	assert_int_equal(read(fd, &c, 1), 0);
	assert_int_equal(t->accepted, 0);
	assert_int_equal(t->srv.nconns, 0);
}

/* Out of descriptors, the accept watcher stops and a timer takes over;
 * once descriptors are back the waiting client is accepted. */
static void
backs_off_without_descriptors(void **state)
{
	struct t_stream *t = *state;
	struct rlimit saved, low;
	int probe;

	t_connect(t);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
	low = saved;
	low.rlim_cur = (rlim_t)probe; /* the next descriptor is over the limit */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	ev_run(t->loop, EVRUN_NOWAIT);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(t->accepted, 0);
	assert_false(ev_is_active(&t->srv.io));
	assert_true(ev_is_active(&t->srv.backoff));
	t_run_until(t, &t->accepted, 1);
	assert_true(ev_is_active(&t->srv.io));
}

static void
pause_and_stop(void **state)
{
	struct t_stream *t = *state;

	t_connect(t);
	t_connect(t);
	t_run_until(t, &t->accepted, 2);
	stream_pause(&t->srv);
	assert_false(ev_is_active(&t->srv.io));
	t_connect(t);
	for (int i = 0; i < 5; i++)
		ev_run(t->loop, EVRUN_NOWAIT);
	assert_int_equal(t->accepted, 2);
	assert_int_equal(t->srv.nconns, 2);
	stream_stop(&t->srv);
	t->started = false;
	assert_int_equal(t->closed, 2);
	assert_int_equal(t->srv.nconns, 0);
	assert_int_equal(t->srv.fd, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(accept_read_write_close, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(output_is_bounded, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(deadline_expires, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(refused_connection_is_closed, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(backs_off_without_descriptors, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(pause_and_stop, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
