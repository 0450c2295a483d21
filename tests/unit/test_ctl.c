/*
 * Unit tests for mxcache-ctl (src/ctl.c), run as the operator runs it,
 * against a fake daemon on a Unix socket that records the request line
 * and answers what the test says: the request each command sends, options
 * before or after the command, the text, JSON and Prometheus forms of the
 * answers, and the exit status of every kind of wrong command line (2,
 * nothing sent), of an error answer and of a daemon that cannot be
 * reached (1). The binary is the one built next to this test's directory.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_WAIT_MS 10000 /* a guard: the client connects at once or never */

struct t_daemon {
	char dir[32];
	char path[64];
	char ctl[PATH_MAX];
	int fd;
};

struct t_run {
	int status;
	char out[16384];
	char err[4096];
	json_t *req; /* what the client sent, NULL if it did not connect */
};

static int
t_setup(void **state)
{
	struct t_daemon *d = calloc(1, sizeof(*d));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char self[PATH_MAX];
	ssize_t n;

	assert_non_null(d);
	assert_true((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0);
	self[n] = '\0';
	snprintf(d->ctl, sizeof(d->ctl), "%s/../mxcache-ctl", dirname(self));
	assert_int_equal(access(d->ctl, X_OK), 0);
	strcpy(d->dir, "/tmp/test_ctl.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/control", d->dir);
	strcpy(sa.sun_path, d->path);
	assert_true((d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(d->fd, 4), 0);
	*state = d;
	return 0;
}

static int
t_teardown(void **state)
{
	struct t_daemon *d = *state;

	close(d->fd);
	unlink(d->path);
	rmdir(d->dir);
	free(d);
	return 0;
}

static void
t_drain(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

/* Serves one connection: reads the request line, answers answer. */
static json_t *
t_serve(struct t_daemon *d, const char *answer)
{
	struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
	char line[4096];
	size_t len = 0;
	ssize_t n;
	int c;

	if (poll(&pfd, 1, T_WAIT_MS) != 1)
		return NULL;
	assert_true((c = accept(d->fd, NULL, NULL)) >= 0);
	while (len < sizeof(line) - 1 && (n = read(c, line + len, sizeof(line) - 1 - len)) > 0) {
		len += (size_t)n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = '\0';
	assert_non_null(strchr(line, '\n'));
	assert_int_equal(write(c, answer, strlen(answer)), (ssize_t)strlen(answer));
	close(c);
	return json_loads(line, 0, NULL);
}

/* Runs mxcache-ctl with args (NULL-terminated, "-s PATH" first unless
 * the test gives its own); answer NULL: the client must not connect. */
static void
t_run(struct t_daemon *d, struct t_run *r, bool own_socket, const char *answer, ...)
{
	const char *argv[32];
	int argc = 0, out[2], err[2];
	va_list ap;
	pid_t pid;

	argv[argc++] = "mxcache-ctl";
	if (!own_socket) {
		argv[argc++] = "-s";
		argv[argc++] = d->path;
	}
	va_start(ap, answer);
	for (const char *a; (a = va_arg(ap, const char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;

	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(d->ctl, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	r->req = answer ? t_serve(d, answer) : NULL;
	t_drain(out[0], r->out, sizeof(r->out));
	t_drain(err[0], r->err, sizeof(r->err));
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
	assert_true(WIFEXITED(r->status));
	r->status = WEXITSTATUS(r->status);
	if (!answer) {
		/* Nobody connected: a command line error is found first. */
		struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
		assert_int_equal(poll(&pfd, 1, 0), 0);
	}
}

static void
t_assert_request(const struct t_run *r, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);

	assert_non_null(w);
	if (!r->req || !json_equal(r->req, w)) {
		char *got = r->req ? json_dumps(r->req, JSON_SORT_KEYS) : NULL;
		fail_msg("request %s, expected %s", got ? got : "(none)", want);
	}
	json_decref(w);
}

static void
t_done(struct t_run *r)
{
	json_decref(r->req);
	r->req = NULL;
}

static void
requests(void **state)
{
	struct t_daemon *d = *state;
	struct t_run r;
	static const struct {
		const char *args[4];
		const char *request;
	} cases[] = {
	    {{"stats"}, "{\"cmd\": \"stats\"}"},
	    {{"reset"}, "{\"cmd\": \"stats_reset\"}"},
	    {{"ping"}, "{\"cmd\": \"ping\"}"},
	    {{"flush"}, "{\"cmd\": \"flush\"}"},
	    {{"flush", "Example.COM"}, "{\"cmd\": \"flush\", \"name\": \"Example.COM\"}"},
	    {{"flush", "example.com", "MX"},
	     "{\"cmd\": \"flush\", \"name\": \"example.com\", \"type\": \"MX\"}"},
	    {{"dump"}, "{\"cmd\": \"dump\", \"limit\": 100}"},
	    {{"dump", "7"}, "{\"cmd\": \"dump\", \"limit\": 7}"},
	    {{"dump", "0"}, "{\"cmd\": \"dump\", \"limit\": 0}"},
	    {{"route", "example.org"}, "{\"cmd\": \"route\", \"domain\": \"example.org\"}"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_run(d, &r, false, "{}\n", cases[i].args[0], cases[i].args[1], cases[i].args[2],
		      NULL);
		assert_int_equal(r.status, 0);
		t_assert_request(&r, cases[i].request);
		t_done(&r);
	}
}

/* Options before or after the command, as the README shows them. */
static void
options_anywhere(void **state)
{
	struct t_daemon *d = *state;
	struct t_run r;
	json_t *out;
	static const char answer[] = "{\"cache.hits\": 3, \"queries.total\": 4}\n";

	t_run(d, &r, true, answer, "stats", "--json", "-s", d->path, NULL);
	assert_int_equal(r.status, 0);
	t_assert_request(&r, "{\"cmd\": \"stats\"}");
	assert_non_null(out = json_loads(r.out, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(out, "cache.hits")), 3);
	assert_int_equal(json_integer_value(json_object_get(out, "queries.total")), 4);
	json_decref(out);
	t_done(&r);

	t_run(d, &r, true, answer, "--socket", d->path, "--prometheus", "stats", NULL);
	assert_int_equal(r.status, 0);
	t_assert_request(&r, "{\"cmd\": \"stats\", \"histograms\": true}");
	assert_non_null(strstr(r.out, "# TYPE mxcache_cache_hits_total counter\n"
				      "mxcache_cache_hits_total 3\n"));
	t_done(&r);

	/* "--" ends the options: a name that looks like one is a name. */
	t_run(d, &r, false, "{\"removed\": 0}\n", "flush", "--", "--json", NULL);
	assert_int_equal(r.status, 0);
	t_assert_request(&r, "{\"cmd\": \"flush\", \"name\": \"--json\"}");
	assert_string_equal(r.out, "flushed 0 entries\n");
	t_done(&r);
}

/* Wrong command lines: status 2, a message, nothing sent. */
static void
wrong_command_lines(void **state)
{
	struct t_daemon *d = *state;
	struct t_run r;
	static const struct {
		const char *args[12];
		const char *message;
	} cases[] = {
	    {{"frobnicate"}, "unknown command 'frobnicate'"},
	    {{"route"}, "wrong arguments; usage: route DOMAIN"},
	    {{"route", "a", "b"}, "wrong arguments; usage: route DOMAIN"},
	    {{"flush", "a", "MX", "c"}, "wrong arguments; usage: flush [NAME [TYPE]]"},
	    {{"stats", "x"}, "wrong arguments; usage: stats"},
	    /* Options come anywhere: after "--" a negative count is seen. */
	    {{"dump", "-1"}, "-1: unknown option"},
	    {{"dump", "--", "-1"}, "dump: '-1' is not a count"},
	    {{"dump", "12x"}, "dump: '12x' is not a count"},
	    {{"dump", ""}, "dump: '' is not a count"},
	    {{"--prometheus", "flush"}, "--prometheus goes with stats, not flush"},
	    {{"--json", "--prometheus", "stats"}, "--json or --prometheus, not both"},
	    {{"--bogus", "stats"}, "--bogus: unknown option"},
	    {{"-x", "stats"}, "-x: unknown option"},
	    {{"stats", "-s"}, "-s: missing value"},
	    {{"--json"}, "no command given"},
	    {{"flush", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, "too many arguments"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		t_run(d, &r, false, NULL, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
		      a[9], a[10], NULL);
		if (r.status != 2 || !strstr(r.err, cases[i].message))
			fail_msg("case %zu: status %d, stderr \"%s\"", i, r.status, r.err);
		assert_string_equal(r.out, "");
	}
	/* The same option twice is no conflict. */
	t_run(d, &r, false, "{}\n", "--json", "ping", "--json", NULL);
	assert_int_equal(r.status, 0);
	t_done(&r);
}

static void
help_lists_every_command(void **state)
{
	struct t_daemon *d = *state;
	struct t_run r;
	static const char *const commands[] = {
	    "stats", "reset", "flush [NAME [TYPE]]", "dump [LIMIT]", "route DOMAIN", "ping"};

	t_run(d, &r, false, NULL, "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "usage: mxcache-ctl"));
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "\n  %s ", commands[i]);
		if (!strstr(r.out, line))
			fail_msg("no '%s' in the help", commands[i]);
	}
}

static void
daemon_errors(void **state)
{
	struct t_daemon *d = *state;
	struct t_run r;
	char missing[128];

	t_run(d, &r, false, "{\"error\": \"no such command\"}\n", "ping", NULL);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "mxcache-ctl: no such command\n");
	assert_string_equal(r.out, "");
	t_done(&r);

	t_run(d, &r, false, "this is not json\n", "ping", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "unreadable answer from the daemon"));
	t_done(&r);

	/* The daemon hangs up without a whole line. */
	t_run(d, &r, false, "{\"cmd\":", "ping", NULL);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	t_done(&r);

	snprintf(missing, sizeof(missing), "%s/nobody", d->dir);
	t_run(d, &r, true, NULL, "-s", missing, "ping", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "cannot connect to"));
	assert_non_null(strstr(r.err, missing));
}

static void
text_forms(void **state)
{
	struct t_daemon *d = *state;
	struct t_run r;

	t_run(d, &r, false,
	      "{\"cache.hits\": 3, \"cache.misses\": 1, \"queries.total\": 4, \"queries.udp\": 3,"
	      " \"queries.tcp\": 1, \"cache.bytes\": 1048576, \"cache.max_bytes\": 4194304,"
	      " \"latency_us.p50\": 80, \"latency_us.p90\": 1500, \"latency_us.p99\": 2500,"
	      " \"latency_us.max\": 999, \"latency_us.count\": 4,"
	      " \"queries.by_rcode.NOERROR\": 4, \"queries.by_rcode.NXDOMAIN\": 0,"
	      " \"queries.by_type.MX\": 4, \"uptime_s\": 12}\n",
	      "stats", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(
	    strstr(r.out, "queries        total 4  udp 3  tcp 1\n")); /* what was sent */
	assert_non_null(strstr(r.out, "cache          hit ratio 75.0%  hits 3  misses 1  bytes 1.0 "
				      "MiB  max bytes 4.0 MiB\n"));
	assert_non_null(strstr(r.out, "latency\n  all  "));
	assert_non_null(strstr(r.out, "p50 80 us  p90 1.5 ms  p99 2.5 ms  max 999 us  (4)\n"));
	assert_non_null(strstr(r.out, "rcodes         NOERROR 4\n")); /* zeros left out */
	assert_non_null(strstr(r.out, "types          MX 4\n"));
	assert_non_null(strstr(r.out, "uptime         12 s\n"));
	assert_null(strstr(r.out, "mx chaser")); /* not in the answer: not shown */
	t_done(&r);

	/* No lookups yet: a ratio of 0, not a division by zero. */
	t_run(d, &r, false, "{\"cache.hits\": 0}\n", "stats", NULL);
	assert_non_null(strstr(r.out, "hit ratio 0.0%"));
	t_done(&r);

	t_run(d, &r, false,
	      "{\"total\": 7, \"entries\": [{\"name\": \"example.com.\", \"type\": \"MX\","
	      " \"ttl\": 250, \"bytes\": 120, \"do\": true, \"secure\": true, \"rcode\": 0},"
	      " {\"name\": \"gone.example.\", \"type\": \"A\", \"ttl\": 30, \"bytes\": 60,"
	      " \"rcode\": 3}]}\n",
	      "dump", "2", NULL);
	assert_int_equal(r.status, 0);
	char want[512];
	snprintf(want, sizeof(want), "%-40s %-6s %8s %7s  %s\n%-40s %-6s %8d %7d  %s\n", "NAME",
		 "TYPE", "TTL", "BYTES", "FLAGS", "example.com.", "MX", 250, 120, "do secure ");
	assert_memory_equal(r.out, want, strlen(want));
	assert_non_null(strstr(r.out, " nxdomain\n(2 of 7 entries)\n"));
	t_done(&r);

	t_run(d, &r, false,
	      "{\"domain\": \"example.com\", \"rcode\": \"NOERROR\", \"secure\": false,"
	      " \"exchangers\": [{\"preference\": 10, \"name\": \"mx1.example.com.\","
	      " \"addresses\": [{\"address\": \"192.0.2.1\", \"type\": \"A\", \"ttl\": 300}]},"
	      " {\"preference\": 20, \"name\": \"mx2.example.com.\", \"addresses\": [],"
	      " \"problem\": \"no address\"}]}\n",
	      "route", "example.com", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "example.com  NOERROR, not secure\n"
				      "     10 mx1.example.com.\n"));
	assert_non_null(strstr(r.out, "192.0.2.1"));
	assert_non_null(strstr(r.out, "     20 mx2.example.com.\n          ! no address\n"));
	t_done(&r);

	t_run(d, &r, false, "{\"removed\": 3}\n", "flush", NULL);
	assert_string_equal(r.out, "flushed 3 entries\n");
	t_done(&r);
	t_run(d, &r, false, "{}\n", "reset", NULL);
	assert_string_equal(r.out, "ok\n");
	t_done(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(requests, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(options_anywhere, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(wrong_command_lines, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(help_lists_every_command, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(daemon_errors, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(text_forms, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
