/*
 * Unit tests for log (include/log.h): the line's form (local time with
 * milliseconds, ident, level name), the threshold (nothing below it is
 * written), and log_fatal's exit status. stderr is captured in a
 * temporary file. Syslog is left alone: a test does not write to the
 * host's log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>
#include <regex.h>
#include <sys/wait.h>

#include "log.h"

#include "t_capture.h"

/* Every line written by the test, each matched whole. */
static void
t_assert_lines(const char *text, const char *const *want, size_t n)
{
	regex_t re;
	const char *p = text;

	for (size_t i = 0; i < n; i++) {
		char pattern[256];
		const char *eol = strchr(p, '\n');
		char line[512];

		assert_non_null(eol);
		assert_true((size_t)(eol - p) < sizeof(line));
		memcpy(line, p, (size_t)(eol - p));
		line[eol - p] = '\0';
		snprintf(pattern, sizeof(pattern),
			 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} %s$",
			 want[i]);
		assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
		if (regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("line %zu \"%s\" does not match \"%s\"", i, line, pattern);
		regfree(&re);
		p = eol + 1;
	}
	assert_string_equal(p, ""); /* nothing more */
}

static void
info_threshold(void **state)
{
	struct t_capture c;
	static const char *const want[] = {"tester\\[error\\]: disk 1 of 2",
					   "tester\\[warning\\]: 50% full",
					   "tester\\[info\\]: hello world"};
	(void)state;

	log_init("tester", false, LOG_LEVEL_INFO);
	t_capture_start(&c);
	log_error("disk %d of %d", 1, 2);
	log_warn("%s%% full", "50");
	log_info("hello %s", "world");
	log_debug("not written %d", 4);
	t_assert_lines(t_capture_end(&c), want, 3);
}

static void
each_threshold_cuts_below(void **state)
{
	static const enum log_level levels[] = {LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
						LOG_LEVEL_DEBUG};
	static const char *const want[] = {"t\\[error\\]: e", "t\\[warning\\]: w", "t\\[info\\]: i",
					   "t\\[debug\\]: d"};
	(void)state;

	for (size_t i = 0; i < 4; i++) {
		struct t_capture c;

		log_init("t", false, levels[i]);
		t_capture_start(&c);
		log_msg(LOG_LEVEL_ERROR, "e");
		log_msg(LOG_LEVEL_WARN, "w");
		log_msg(LOG_LEVEL_INFO, "i");
		log_msg(LOG_LEVEL_DEBUG, "d");
		t_assert_lines(t_capture_end(&c), want, i + 1);
	}
}

/* Without syslog, log_errors_to_stderr and log_reopen change nothing. */
static void
stderr_mode_ignores_syslog_switches(void **state)
{
	struct t_capture c;
	static const char *const want[] = {"x\\[warning\\]: still here"};
	(void)state;

	log_init("x", false, LOG_LEVEL_WARN);
	log_errors_to_stderr(false);
	log_reopen();
	t_capture_start(&c);
	log_warn("still here");
	log_info("below");
	t_assert_lines(t_capture_end(&c), want, 1);
}

static void
fatal_logs_and_exits_1(void **state)
{
	int fds[2], status;
	char buf[256];
	size_t len;
	ssize_t n;
	pid_t pid;
	(void)state;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL); /* the child's exit would write cmocka's pending output again */
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		log_init("dying", false, LOG_LEVEL_ERROR);
		log_fatal("cannot %s", "go on");
	}
	close(fds[1]);
	/* stderr is unbuffered: the line comes in pieces, up to the end. */
	for (len = 0; (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0;)
		len += (size_t)n;
	close(fds[0]);
	buf[len] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	static const char *const want[] = {"dying\\[error\\]: cannot go on"};
	t_assert_lines(buf, want, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(info_threshold),
	    cmocka_unit_test(each_threshold_cuts_below),
	    cmocka_unit_test(stderr_mode_ignores_syslog_switches),
	    cmocka_unit_test(fatal_logs_and_exits_1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
