/*
 * Unit tests for metrics_parse_request (include/metrics.h): verdicts for
 * well-formed and malformed request heads, the 8 KiB cap, and heads that
 * arrive a byte at a time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static enum metrics_verdict
t_parse(const char *text, struct metrics_request *req)
{
	return metrics_parse_request(text, strlen(text), req);
}

static void
good_requests(void **state)
{
	static const struct {
		const char *head;
		int head_only;
	} cases[] = {
	    {"GET /metrics HTTP/1.1\r\nHost: localhost:9153\r\n\r\n", 0},
	    {"GET /metrics HTTP/1.0\r\n\r\n", 0},
	    {"HEAD /metrics HTTP/1.1\r\nAccept: */*\r\n\r\n", 1},
	    {"GET /metrics?x=1 HTTP/1.1\r\n\r\n", 0},
	    {"GET /metrics HTTP/1.1\nHost: x\n\n", 0},
	    {"GET /metrics HTTP/1.1\r\nX-Empty:\r\nX-Tab:\ta\tb\r\nX-Utf8: \xc3\xa9\r\n\r\n", 0},
	    {"GET /metrics HTTP/1.1\r\nUser-Agent: Prometheus/2.45.0\r\nAccept: "
	     "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
	     "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
	     0},
	};
	struct metrics_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (t_parse(cases[i].head, &req) != METRICS_OK)
			fail_msg("case %zu not OK: %s", i, cases[i].head);
		assert_int_equal(req.head_len, strlen(cases[i].head));
		assert_int_equal(req.head_only, cases[i].head_only);
	}
}

/* What follows the head (a body, a pipelined request) is not its part. */
static void
head_len_stops_at_blank_line(void **state)
{
	const char *text = "GET /metrics HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	struct metrics_request req;

	(void)state;
	assert_int_equal(t_parse(text, &req), METRICS_OK);
	assert_int_equal(req.head_len, strlen("GET /metrics HTTP/1.1\r\n\r\n"));
}

static void
methods_and_paths(void **state)
{
	static const struct {
		const char *head;
		enum metrics_verdict want;
	} cases[] = {
	    {"POST /metrics HTTP/1.1\r\n\r\n", METRICS_METHOD},
	    {"get /metrics HTTP/1.1\r\n\r\n", METRICS_METHOD}, /* methods are case-sensitive */
	    {"OPTIONS * HTTP/1.1\r\n\r\n", METRICS_METHOD},
	    {"GETS /metrics HTTP/1.1\r\n\r\n", METRICS_METHOD},
	    {"GET / HTTP/1.1\r\n\r\n", METRICS_NOT_FOUND},
	    {"GET /metrics/ HTTP/1.1\r\n\r\n", METRICS_NOT_FOUND},
	    {"GET /metric HTTP/1.1\r\n\r\n", METRICS_NOT_FOUND},
	    {"GET /Metrics HTTP/1.1\r\n\r\n", METRICS_NOT_FOUND},
	    {"HEAD /x?/metrics HTTP/1.1\r\n\r\n", METRICS_NOT_FOUND},
	    {"GET * HTTP/1.1\r\n\r\n", METRICS_NOT_FOUND},
	    /* The method is checked before the path. */
	    {"DELETE /nothing HTTP/1.1\r\n\r\n", METRICS_METHOD},
	};
	struct metrics_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (t_parse(cases[i].head, &req) != cases[i].want)
			fail_msg("case %zu: %s", i, cases[i].head);
}

static void
malformed(void **state)
{
	static const char *const cases[] = {
	    "\r\n\r\n",
	    "GET\r\n\r\n",
	    "GET /metrics\r\n\r\n",
	    "GET /metrics HTTP/1.1 extra\r\n\r\n",
	    "GET  /metrics HTTP/1.1\r\n\r\n",
	    "GET /metrics  HTTP/1.1\r\n\r\n",
	    " GET /metrics HTTP/1.1\r\n\r\n",
	    "GET /metrics HTTP/2.0\r\n\r\n",
	    "GET /metrics HTTP/1.2\r\n\r\n",
	    "GET /metrics http/1.1\r\n\r\n",
	    "GET /metrics HTTP/1.\r\n\r\n",
	    "GET metrics HTTP/1.1\r\n\r\n",
	    "GET http://x/metrics HTTP/1.1\r\n\r\n",
	    "GET /met\x01rics HTTP/1.1\r\n\r\n",
	    "GET /metrics HTTP/1.1\rX: y\r\n\r\n",
	    "G(T /metrics HTTP/1.1\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\n: no name\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nX: a\rb\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nX: \x7f\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\n\r \r\n\r\n",
	};
	struct metrics_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (t_parse(cases[i], &req) != METRICS_BAD)
			fail_msg("case %zu not BAD: %s", i, cases[i]);
	/* A NUL is a byte like any other: the buffer is not a C string. */
	const char nul[] = "GET /metrics HTTP/1.1\r\nX: a\0b\r\n\r\n";
	assert_int_equal(metrics_parse_request(nul, sizeof(nul) - 1, &req), METRICS_BAD);
}

/* A head arriving byte by byte is incomplete until its blank line. */
static void
incremental(void **state)
{
	const char *text = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
	size_t len = strlen(text);
	struct metrics_request req;

	(void)state;
	for (size_t n = 0; n < len; n++)
		if (metrics_parse_request(text, n, &req) != METRICS_INCOMPLETE)
			fail_msg("prefix of %zu bytes is not INCOMPLETE", n);
	assert_int_equal(metrics_parse_request(text, len, &req), METRICS_OK);
}

/* A bad first line is bad as soon as it is complete, without its head. */
static void
early_verdict(void **state)
{
	struct metrics_request req;

	(void)state;
	assert_int_equal(t_parse("BAD LINE\r\n", &req), METRICS_BAD);
	assert_int_equal(t_parse("GET /metrics HTTP/1.1\r\nbad\r\n", &req), METRICS_BAD);
	assert_int_equal(t_parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &req), METRICS_INCOMPLETE);
}

static void
size_cap(void **state)
{
	char *buf = malloc(METRICS_MAX_HEAD + 64);
	const char *line = "GET /metrics HTTP/1.1\r\nX: ";
	size_t pre = strlen(line);
	struct metrics_request req;

	(void)state;
	assert_non_null(buf);
	memcpy(buf, line, pre);
	/* Exactly METRICS_MAX_HEAD bytes, blank line included: accepted. */
	memset(buf + pre, 'a', METRICS_MAX_HEAD - pre - 4);
	memcpy(buf + METRICS_MAX_HEAD - 4, "\r\n\r\n", 4);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEAD, &req), METRICS_OK);
	assert_int_equal(req.head_len, METRICS_MAX_HEAD);
	/* One byte more: the end is past the cap. */
	memset(buf + pre, 'a', METRICS_MAX_HEAD - pre - 3);
	memcpy(buf + METRICS_MAX_HEAD - 3, "\r\n\r\n", 4);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEAD + 1, &req), METRICS_BAD);
	/* No end at all within the cap. */
	memset(buf + pre, 'a', METRICS_MAX_HEAD + 64 - pre);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEAD - 1, &req),
			 METRICS_INCOMPLETE);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEAD, &req), METRICS_BAD);
	assert_int_equal(metrics_parse_request(buf, METRICS_MAX_HEAD + 64, &req), METRICS_BAD);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(good_requests),	 cmocka_unit_test(head_len_stops_at_blank_line),
	    cmocka_unit_test(methods_and_paths), cmocka_unit_test(malformed),
	    cmocka_unit_test(incremental),	 cmocka_unit_test(early_verdict),
	    cmocka_unit_test(size_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
