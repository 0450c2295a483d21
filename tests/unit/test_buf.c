/*
 * Unit tests for buf (include/buf.h): growth and the cap of buf_append,
 * and buf_flush on a Unix socketpair whose peer stops reading or hangs
 * up. The buffer and the sockets live in *state; t_teardown releases them
 * even when a test fails.
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
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"

struct t_buf {
	struct buf b;
	int fd[2]; /* fd[0] written through the buf, fd[1] the peer */
	uint8_t *got;
	size_t got_len;
};

static int
t_setup(void **state)
{
	struct t_buf *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->fd[0] = t->fd[1] = -1;
	*state = t;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_buf *t = *state;

	if (t) {
		buf_free(&t->b);
		for (int i = 0; i < 2; i++)
			if (t->fd[i] >= 0)
				close(t->fd[i]);
		free(t->got);
		free(t);
	}
	*state = NULL;
	return 0;
}

/* Byte i of a long recognisable stream. */
static uint8_t
t_pat(size_t i)
{
	return (uint8_t)(i * 131u + (i >> 8) * 7u + 1u);
}

/* Appends the stream's bytes [from, from + n). */
static bool
t_append_pat(struct buf *b, size_t from, size_t n)
{
	uint8_t chunk[4096];
	bool ok = true;

	while (ok && n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		for (size_t i = 0; i < k; i++)
			chunk[i] = t_pat(from + i);
		ok = buf_append(b, chunk, k);
		from += k;
		n -= k;
	}
	return ok;
}

/* Asserts the queue holds the stream's bytes [from, from + b->len). */
static void
t_holds_pat(const struct buf *b, size_t from)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] != t_pat(from + i))
			fail_msg("byte %zu of the queue is wrong", i);
}

/* A socketpair, the writing end non-blocking with a small send buffer. */
static void
t_pair(struct t_buf *t, int sndbuf)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, t->fd), 0);
	assert_int_equal(fcntl(t->fd[0], F_SETFL, fcntl(t->fd[0], F_GETFL) | O_NONBLOCK), 0);
	assert_int_equal(fcntl(t->fd[1], F_SETFL, fcntl(t->fd[1], F_GETFL) | O_NONBLOCK), 0);
	if (sndbuf)
		assert_int_equal(
		    setsockopt(t->fd[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
}

/* Reads whatever the peer has into t->got. */
static void
t_drain(struct t_buf *t)
{
	uint8_t chunk[65536];
	ssize_t n;

	while ((n = read(t->fd[1], chunk, sizeof(chunk))) > 0) {
		uint8_t *g = realloc(t->got, t->got_len + (size_t)n);
		assert_non_null(g);
		t->got = g;
		memcpy(t->got + t->got_len, chunk, (size_t)n);
		t->got_len += (size_t)n;
	}
	assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* ---- buf_append ---------------------------------------------------- */

static void
append_growth(void **state)
{
	struct t_buf *t = *state;
	struct buf *b = &t->b;
	size_t total = 0, grows = 0, cap = 0;

	b->max = 1 << 20;
	assert_true(buf_append(b, "x", 1));
	assert_int_equal(b->len, 1);
	assert_true(b->cap >= 1);
	assert_int_equal(b->data[0], 'x');
	buf_free(b);
	assert_int_equal(b->max, 1 << 20); /* the cap survives a free */

	/* Odd-sized pieces: the contents survive every reallocation. */
	while (total < 300000) {
		size_t n = 1 + (total * 7) % 5000;
		assert_true(t_append_pat(b, total, n));
		total += n;
		assert_int_equal(b->len, total);
		assert_true(b->cap >= b->len);
		assert_true(b->cap <= b->max * 2);
		if (b->cap != cap) {
			grows++;
			cap = b->cap;
		}
	}
	t_holds_pat(b, 0);
	/* Grown by doubling, not a piece at a time. */
	assert_true(grows < 20);

	/* One append as large as the rest of the cap. */
	assert_true(t_append_pat(b, total, b->max - total));
	assert_int_equal(b->len, b->max);
	t_holds_pat(b, 0);
}

static void
append_cap(void **state)
{
	struct t_buf *t = *state;
	struct buf *b = &t->b;
	uint8_t big[200];

	memset(big, 'q', sizeof(big));
	b->max = 100;
	assert_false(buf_append(b, big, 101));
	assert_int_equal(b->len, 0);
	assert_true(t_append_pat(b, 0, 60));
	/* Past the cap: refused whole, nothing of it queued. */
	assert_false(buf_append(b, big, 41));
	assert_int_equal(b->len, 60);
	t_holds_pat(b, 0);
	/* Up to the cap exactly is fine, one byte more is not. */
	assert_true(t_append_pat(b, 60, 40));
	assert_int_equal(b->len, 100);
	assert_false(buf_append(b, big, 1));
	assert_int_equal(b->len, 100);
	t_holds_pat(b, 0);
}

static void
append_max_zero(void **state)
{
	struct t_buf *t = *state;

	/* A zeroed struct buf takes nothing. */
	assert_false(buf_append(&t->b, "x", 1));
	assert_int_equal(t->b.len, 0);
	assert_null(t->b.data);
}

static void
append_nothing(void **state)
{
	struct t_buf *t = *state;

	t->b.max = 10;
	/* An empty append is a no-op, on an empty queue too. */
	assert_true(buf_append(&t->b, "", 0));
	assert_int_equal(t->b.len, 0);
	assert_true(buf_append(&t->b, "abc", 3));
	assert_true(buf_append(&t->b, "", 0));
	assert_int_equal(t->b.len, 3);
	assert_memory_equal(t->b.data, "abc", 3);
}

static void
free_and_reuse(void **state)
{
	struct t_buf *t = *state;

	t->b.max = 64;
	assert_true(buf_append(&t->b, "hello", 5));
	buf_free(&t->b);
	assert_null(t->b.data);
	assert_int_equal(t->b.len, 0);
	assert_int_equal(t->b.cap, 0);
	buf_free(&t->b); /* twice is harmless */
	assert_true(buf_append(&t->b, "again", 5));
	assert_memory_equal(t->b.data, "again", 5);
}

/* ---- buf_flush ----------------------------------------------------- */

static void
flush_empty(void **state)
{
	struct t_buf *t = *state;

	/* Nothing queued: nothing written, not even to a bad descriptor. */
	assert_int_equal(buf_flush(&t->b, -1), 0);
	t_pair(t, 0);
	assert_int_equal(buf_flush(&t->b, t->fd[0]), 0);
	t_drain(t);
	assert_int_equal(t->got_len, 0);
}

static void
flush_all(void **state)
{
	struct t_buf *t = *state;

	t_pair(t, 0);
	t->b.max = 1 << 20;
	assert_true(t_append_pat(&t->b, 0, 1000));
	assert_int_equal(buf_flush(&t->b, t->fd[0]), 0);
	assert_int_equal(t->b.len, 0);
	t_drain(t);
	assert_int_equal(t->got_len, 1000);
	for (size_t i = 0; i < t->got_len; i++)
		assert_int_equal(t->got[i], t_pat(i));
}

static void
flush_partial(void **state)
{
	enum { TOTAL = 1 << 20, MORE = 5000 };
	struct t_buf *t = *state;
	size_t sent, before, rounds = 0;

	t_pair(t, 4096);
	t->b.max = 4 << 20;
	assert_true(t_append_pat(&t->b, 0, TOTAL));

	/* The peer takes part of it; the rest stays queued, in order. */
	assert_int_equal(buf_flush(&t->b, t->fd[0]), 0);
	assert_true(t->b.len > 0);
	assert_true(t->b.len < TOTAL);
	sent = TOTAL - t->b.len;
	t_holds_pat(&t->b, sent);

	/* Still full: nothing moves, and that is not an error. */
	before = t->b.len;
	assert_int_equal(buf_flush(&t->b, t->fd[0]), 0);
	assert_int_equal(t->b.len, before);

	/* More queued behind the rest. */
	assert_true(t_append_pat(&t->b, TOTAL, MORE));
	t_holds_pat(&t->b, sent);

	/* The peer reads as it can; everything arrives once, in order. */
	while (t->b.len > 0) {
		assert_true(++rounds < 100000);
		t_drain(t);
		assert_int_equal(buf_flush(&t->b, t->fd[0]), 0);
	}
	t_drain(t);
	assert_int_equal(t->got_len, TOTAL + MORE);
	for (size_t i = 0; i < t->got_len; i++)
		if (t->got[i] != t_pat(i))
			fail_msg("byte %zu arrived wrong", i);
	assert_true(rounds > 1);
}

static void
flush_peer_closed(void **state)
{
	struct t_buf *t = *state;

	t_pair(t, 0);
	t->b.max = 1 << 20;
	assert_true(t_append_pat(&t->b, 0, 1000));
	close(t->fd[1]);
	t->fd[1] = -1;
	errno = 0;
	assert_int_equal(buf_flush(&t->b, t->fd[0]), -1);
	assert_int_equal(errno, EPIPE);
	/* What could not be sent is still there. */
	assert_int_equal(t->b.len, 1000);
	t_holds_pat(&t->b, 0);
}

static void
flush_bad_fd(void **state)
{
	struct t_buf *t = *state;

	t->b.max = 16;
	assert_true(buf_append(&t->b, "data", 4));
	errno = 0;
	assert_int_equal(buf_flush(&t->b, -1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(t->b.len, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(append_growth, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(append_cap, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(append_max_zero, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(free_and_reuse, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_empty, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_all, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_partial, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_peer_closed, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(flush_bad_fd, t_setup, t_teardown),
	    /* Last: UBSan built without recovery stops the whole run here. */
	    cmocka_unit_test_setup_teardown(append_nothing, t_setup, t_teardown),
	};

	/* A write to a closed peer must fail with EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
