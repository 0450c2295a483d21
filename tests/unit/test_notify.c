/*
 * Unit tests for notify (include/notify.h): the sd_notify datagrams
 * reach a Unix datagram socket named by $NOTIFY_SOCKET (a path or an
 * abstract "@name"), the status line and watchdog keep-alives come from
 * the loop, $WATCHDOG_USEC and $WATCHDOG_PID are read as systemd means
 * them, no variable is a no-op, and unusable names are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ev.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

#define T_SPINS 1000 /* loop iterations the beat may take, at most */

struct t_manager {
	int fd;
	char dir[32];
	char name[128]; /* what $NOTIFY_SOCKET says */
	struct ev_loop *loop;
};

/* A service manager's socket: a path in a fresh directory, or abstract. */
static void
t_manager_open(struct t_manager *m, bool abstract)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;

	assert_true((m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	m->dir[0] = '\0';
	if (abstract) {
		snprintf(m->name, sizeof(m->name), "@mxcache-test-notify-%ld", (long)getpid());
		memcpy(sa.sun_path, m->name, strlen(m->name));
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(m->name));
	} else {
		strcpy(m->dir, "/tmp/test_notify.XXXXXX");
		assert_non_null(mkdtemp(m->dir));
		snprintf(m->name, sizeof(m->name), "%s/notify", m->dir);
		strcpy(sa.sun_path, m->name);
		len = sizeof(sa);
	}
	assert_int_equal(bind(m->fd, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", m->name, 1), 0);
	assert_non_null(m->loop = ev_loop_new(EVFLAG_AUTO));
}

static void
t_manager_close(struct t_manager *m)
{
	close(m->fd);
	if (m->dir[0]) {
		unlink(m->name);
		rmdir(m->dir);
	}
	ev_loop_destroy(m->loop);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* The next datagram, which must be there already. */
static void
t_assert_received(struct t_manager *m, const char *want)
{
	char buf[512];
	ssize_t n = recv(m->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
t_assert_nothing_more(struct t_manager *m)
{
	char buf[16];

	assert_true(recv(m->fd, buf, sizeof(buf), MSG_DONTWAIT) < 0);
}

static void
t_status(void *arg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", (const char *)arg);
}

static void
t_lifecycle(bool abstract)
{
	struct t_manager m;
	struct notify *n;
	char err[256] = "";

	t_manager_open(&m, abstract);
	assert_non_null(n = notify_new(m.loop, t_status, "answering", err, sizeof(err)));
	assert_true(notify_enabled(n));
	assert_int_equal(notify_watchdog_us(n), 0);
	assert_true(notify_send(n, "READY=1"));
	assert_true(notify_send(n, "STATUS=warming up"));
	assert_true(notify_send(n, "STOPPING=1"));
	t_assert_received(&m, "READY=1");
	t_assert_received(&m, "STATUS=warming up");
	t_assert_received(&m, "STOPPING=1");
	t_assert_nothing_more(&m);
	notify_free(n);
	t_manager_close(&m);
}

static void
path_socket(void **state)
{
	(void)state;
	t_lifecycle(false);
}

static void
abstract_socket(void **state)
{
	(void)state;
	t_lifecycle(true);
}

static void
no_socket_is_a_no_op(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct notify *n;
	char err[256] = "";
	(void)state;

	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "1000000", 1);
	for (int empty = 0; empty < 2; empty++) {
		if (empty)
			setenv("NOTIFY_SOCKET", "", 1);
		assert_non_null(n = notify_new(loop, t_status, "x", err, sizeof(err)));
		assert_string_equal(err, "");
		assert_false(notify_enabled(n));
		assert_int_equal(notify_watchdog_us(n), 0); /* nobody to keep alive */
		assert_true(notify_send(n, "READY=1"));
		/* No timer was started: the loop has nothing to do. */
		assert_int_equal(ev_run(loop, EVRUN_NOWAIT), 0);
		notify_free(n);
	}
	notify_free(NULL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	ev_loop_destroy(loop);
}

static void
unusable_names_refused(void **state)
{
	char err[256], longname[200];
	(void)state;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	const char *bad[] = {"relative/socket", "notify", longname};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		setenv("NOTIFY_SOCKET", bad[i], 1);
		assert_null(notify_new(NULL, NULL, NULL, err, sizeof(err)));
		assert_non_null(strstr(err, "not a socket path"));
	}
	/* One byte too long for sun_path with its NUL: refused; the
	 * longest name that fits is accepted. */
	struct sockaddr_un sa;
	longname[sizeof(sa.sun_path)] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	assert_null(notify_new(NULL, NULL, NULL, err, sizeof(err)));
	longname[sizeof(sa.sun_path) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct notify *n = notify_new(loop, NULL, NULL, err, sizeof(err));
	assert_non_null(n);
	assert_true(notify_enabled(n));
	/* Nobody listens there: sending fails, and says so. */
	assert_false(notify_send(n, "READY=1"));
	notify_free(n);
	ev_loop_destroy(loop);
	unsetenv("NOTIFY_SOCKET");
}

static void
watchdog_variables(void **state)
{
	struct t_manager m;
	struct notify *n;
	char err[256], pid[32];
	static const struct {
		const char *usec;
		bool other_pid;
		uint64_t want;
	} cases[] = {
	    {"30000000", false, 30000000}, {"12x", false, 0}, {"", false, 0},
	    {"30000000", true, 0},	   {NULL, false, 0},
	};
	(void)state;

	t_manager_open(&m, true);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].usec)
			setenv("WATCHDOG_USEC", cases[i].usec, 1);
		else
			unsetenv("WATCHDOG_USEC");
		snprintf(pid, sizeof(pid), "%ld", (long)getpid() + (cases[i].other_pid ? 1 : 0));
		setenv("WATCHDOG_PID", pid, 1);
		assert_non_null(n = notify_new(m.loop, NULL, NULL, err, sizeof(err)));
		assert_true(notify_watchdog_us(n) == cases[i].want);
		notify_free(n);
	}
	t_manager_close(&m);
}

/* With a 2 ms watchdog the beat comes every millisecond: the loop sends
 * WATCHDOG=1 and the status line, after the first message and not before. */
static void
beat_sends_watchdog_and_status(void **state)
{
	struct t_manager m;
	struct notify *n;
	char err[256];
	struct pollfd pfd;
	(void)state;

	t_manager_open(&m, true);
	setenv("WATCHDOG_USEC", "2000", 1);
	assert_non_null(n = notify_new(m.loop, t_status, "42 queries", err, sizeof(err)));
	assert_int_equal(notify_watchdog_us(n), 2000);
	assert_int_equal(ev_run(m.loop, EVRUN_NOWAIT), 0); /* no beat before a message */
	assert_true(notify_send(n, "READY=1"));
	t_assert_received(&m, "READY=1");
	pfd = (struct pollfd){.fd = m.fd, .events = POLLIN};
	for (int spin = 0; poll(&pfd, 1, 0) == 0; spin++) {
		assert_true(spin < T_SPINS);
		assert_true(ev_run(m.loop, EVRUN_ONCE)); /* the beat is active */
	}
	t_assert_received(&m, "WATCHDOG=1");
	t_assert_received(&m, "STATUS=42 queries");
	notify_free(n);
	t_manager_close(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(path_socket),
	    cmocka_unit_test(abstract_socket),
	    cmocka_unit_test(no_socket_is_a_no_op),
	    cmocka_unit_test(unusable_names_refused),
	    cmocka_unit_test(watchdog_variables),
	    cmocka_unit_test(beat_sends_watchdog_and_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
