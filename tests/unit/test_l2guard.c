/*
 * Unit tests for l2guard (include/l2guard.h): a hiredis connection to a
 * unix socket the test serves itself, raw RESP bytes written to it. A
 * sound reply reaches its callback; a reply to no request, an array and a
 * reply longer than the bound are cut off before they are built or
 * buffered whole, with the reason, and hiredis never aborts.
 */
#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "l2guard.h"

#define T_MAX_BUF 4096

struct t_conn {
	struct ev_loop *loop;
	redisAsyncContext *ac;
	int server; /* our end, accepted */
	char dir[64];
	char path[108];
};

static const char *t_why;
static bool t_drop;
static int t_cuts;
static char t_got[64];
static int t_replies;

static void
t_cut(redisAsyncContext *ac, const char *why, bool drop)
{
	t_why = why;
	t_drop = drop;
	t_cuts++;
	if (drop) /* as the tier does: outside hiredis, so freed at once */
		redisAsyncFree(ac);
}

static void
t_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *r = reply;

	(void)ac;
	(void)priv;
	t_replies++;
	if (r && r->type == REDIS_REPLY_STRING)
		snprintf(t_got, sizeof(t_got), "%.*s", (int)r->len, r->str);
}

static void
t_open(struct t_conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd;

	t_why = NULL;
	t_drop = false;
	t_cuts = t_replies = 0;
	t_got[0] = '\0';
	snprintf(c->dir, sizeof(c->dir), "/tmp/l2guard.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->path, sizeof(c->path), "%s/s", c->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	assert_true((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	c->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(c->ac = redisAsyncConnectUnix(c->path));
	assert_int_equal(c->ac->err, 0);
	assert_int_equal(redisLibevAttach(c->loop, c->ac), REDIS_OK);
	l2guard_attach(c->ac, T_MAX_BUF, t_cut);
	assert_true((c->server = accept(lfd, NULL, NULL)) >= 0);
	close(lfd);
}

/* Runs the loop until the connection is gone or nothing is left to do. */
static void
t_run(struct t_conn *c, int rounds)
{
	for (int i = 0; i < rounds; i++)
		ev_run(c->loop, EVRUN_NOWAIT);
}

static void
t_send(struct t_conn *c, const char *resp, size_t len)
{
	assert_int_equal(write(c->server, resp, len), (ssize_t)len);
}

static void
t_close(struct t_conn *c)
{
	if (!t_cuts)
		redisAsyncFree(c->ac);
	t_run(c, 3);
	close(c->server);
	unlink(c->path);
	rmdir(c->dir);
	ev_loop_destroy(c->loop);
}

static void
test_sound_reply(void **state)
{
	struct t_conn c;
	(void)state;

	t_open(&c);
	assert_int_equal(redisAsyncCommand(c.ac, t_reply, NULL, "GET k"), REDIS_OK);
	t_run(&c, 3);
	t_send(&c, "$3\r\nabc\r\n", 9);
	t_run(&c, 3);
	assert_int_equal(t_replies, 1);
	assert_string_equal(t_got, "abc");
	assert_int_equal(t_cuts, 0);
	t_close(&c);
}

static void
test_reply_to_no_request(void **state)
{
	struct t_conn c;
	(void)state;

	t_open(&c);
	assert_int_equal(redisAsyncCommand(c.ac, t_reply, NULL, "GET k"), REDIS_OK);
	t_run(&c, 3);
	t_send(&c, "$-1\r\n+OK\r\n", 10); /* the answer, and one more */
	t_run(&c, 3);			  /* hiredis would assert here without the guard */
	assert_int_equal(t_replies, 1);
	assert_int_equal(t_cuts, 1);
	assert_string_equal(t_why, "a reply to no request");
	assert_false(t_drop); /* hiredis drops it itself */
	t_close(&c);
}

static void
test_array_refused(void **state)
{
	struct t_conn c;
	(void)state;

	t_open(&c);
	assert_int_equal(redisAsyncCommand(c.ac, t_reply, NULL, "GET k"), REDIS_OK);
	t_run(&c, 3);
	t_send(&c, "*1000000000\r\n:1\r\n:1\r\n", 21);
	t_run(&c, 3);
	assert_true(t_cuts >= 1);
	assert_string_equal(t_why, "an array reply");
	t_close(&c);
}

static void
test_long_reply_cut(void **state)
{
	struct t_conn c;
	static char chunk[8192];
	(void)state;

	memset(chunk, 'x', sizeof(chunk));
	t_open(&c);
	assert_int_equal(redisAsyncCommand(c.ac, t_reply, NULL, "GET k"), REDIS_OK);
	t_run(&c, 3);
	t_send(&c, "$500000000\r\n", 12);
	for (int i = 0; i < 8 && !t_cuts; i++) {
		t_send(&c, chunk, sizeof(chunk));
		t_run(&c, 2);
	}
	assert_int_equal(t_cuts, 1);
	assert_string_equal(t_why, "a reply larger than any value");
	assert_true(t_drop);
	assert_string_equal(t_got, ""); /* its callback got no reply */
	t_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sound_reply),
	    cmocka_unit_test(test_reply_to_no_request),
	    cmocka_unit_test(test_array_refused),
	    cmocka_unit_test(test_long_reply_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
