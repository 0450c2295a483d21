/*
 * Unit tests for servfail (include/servfail.h): the --log-servfail line
 * (question, type, CD, reason text and name, detail, clients), a name for
 * every reason, the rate limit with its count of lines left out, and the
 * line the engine logs for a bogus answer, counted by reason.
 */
#include "log.h"
#include "servfail.h"

#include "t_engine.h"

#include "t_capture.h"

static struct cache_key
t_key(const char *name, uint8_t *wname, uint16_t qtype, uint8_t flags)
{
	return (struct cache_key){.name = wname,
				  .name_len = t_dns_name(name, wname),
				  .qtype = qtype,
				  .qclass = WIRE_CLASS_IN,
				  .flags = flags};
}

static void
line_says_question_reason_and_clients(void **state)
{
	uint8_t w[WIRE_MAX_NAME];
	char line[1024];
	struct cache_key k = t_key("yada123.com", w, WIRE_T_MX, 0);
	(void)state;

	servfail_format(&k, STATS_SF_BOGUS, "signature expired", 2, line, sizeof(line));
	assert_string_equal(line, "SERVFAIL yada123.com. MX: DNSSEC validation failed [bogus]: "
				  "signature expired, 2 clients");
	k.flags = CACHE_KEY_CD;
	servfail_format(&k, STATS_SF_DEADLINE, NULL, 1, line, sizeof(line));
	assert_string_equal(line, "SERVFAIL yada123.com. MX (CD): no answer within "
				  "--query-timeout [deadline], 1 client");
}

static void
unknown_type_and_reason(void **state)
{
	uint8_t w[WIRE_MAX_NAME];
	char line[1024];
	struct cache_key k = t_key("example.org", w, 65280, 0);
	(void)state;

	servfail_format(&k, STATS_SF_COUNT, NULL, 3, line, sizeof(line));
	assert_string_equal(line, "SERVFAIL example.org. TYPE65280: unknown [unknown], 3 clients");
}

/* Each reason has its own text and its own stats name. */
static void
every_reason_named(void **state)
{
	uint8_t w[WIRE_MAX_NAME];
	char lines[STATS_SF_COUNT][1024];
	struct cache_key k = t_key("a.example", w, WIRE_T_A, 0);
	(void)state;

	for (int i = 0; i < STATS_SF_COUNT; i++) {
		const char *name = stats_servfail_name((enum stats_servfail)i);
		char tag[64];

		servfail_format(&k, (enum stats_servfail)i, NULL, 1, lines[i], sizeof(lines[i]));
		assert_null(strstr(lines[i], "unknown"));
		snprintf(tag, sizeof(tag), "[%s]", name);
		assert_non_null(strstr(lines[i], tag));
		for (int j = 0; j < i; j++) {
			assert_string_not_equal(lines[i], lines[j]);
			assert_string_not_equal(name, stats_servfail_name((enum stats_servfail)j));
		}
	}
}

static size_t
t_count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void
rate_limited_per_second(void **state)
{
	uint8_t w[WIRE_MAX_NAME];
	struct cache_key k = t_key("mx.example", w, WIRE_T_MX, 0);
	struct servfail_log sl = {.enabled = true};
	struct t_capture c;
	uint64_t now = 5000000; /* second 5 */
	const char *out;
	(void)state;

	log_init("t", false, LOG_LEVEL_INFO);
	clock_set_fake(&now);
	t_capture_start(&c);
	for (int i = 0; i < SERVFAIL_LOG_PER_SEC + 3; i++)
		servfail_note(&sl, &k, STATS_SF_UPSTREAM, NULL, 1);
	now += 999999; /* still second 5 */
	servfail_note(&sl, &k, STATS_SF_UPSTREAM, NULL, 1);
	now += 1; /* second 6 */
	servfail_note(&sl, &k, STATS_SF_DEADLINE, NULL, 1);
	servfail_note(&sl, &k, STATS_SF_DEADLINE, NULL, 1);
	out = t_capture_end(&c);
	clock_set_fake(NULL);

	assert_int_equal(t_count(out, "\n"), SERVFAIL_LOG_PER_SEC + 2);
	assert_int_equal(t_count(out, "[upstream]"), SERVFAIL_LOG_PER_SEC);
	assert_int_equal(t_count(out, "t[warning]: SERVFAIL mx.example. MX"),
			 SERVFAIL_LOG_PER_SEC + 2);
	/* The first line of the next second says how many were left out,
	 * the one after it no longer does. */
	assert_int_equal(t_count(out, "(and 4 more not logged)"), 1);
	assert_non_null(strstr(out, "[deadline], 1 client (and 4 more not logged)\n"));
	assert_int_equal(t_count(out, "more not logged"), 1);
	assert_int_equal(sl.skipped, 0);
}

static void
disabled_logs_nothing(void **state)
{
	uint8_t w[WIRE_MAX_NAME];
	struct cache_key k = t_key("mx.example", w, WIRE_T_MX, 0);
	struct servfail_log sl = {.enabled = false};
	struct t_capture c;
	(void)state;

	log_init("t", false, LOG_LEVEL_DEBUG);
	t_capture_start(&c);
	for (int i = 0; i < 3; i++)
		servfail_note(&sl, &k, STATS_SF_UPSTREAM, NULL, 1);
	assert_string_equal(t_capture_end(&c), "");
	assert_int_equal(sl.lines, 0);
	assert_int_equal(sl.skipped, 0);
}

/* The engine's hook: a bogus answer for two waiting clients is one line
 * with libunbound's reason, and two SERVFAILs counted as bogus. */
static void
engine_logs_and_counts_bogus(void **state)
{
	struct t_env *t = t_env_new(NULL);
	struct servfail_log sl = {.enabled = true};
	struct t_capture c;
	struct t_dns_msg m;
	const char *out;
	(void)state;

	log_init("t", false, LOG_LEVEL_INFO);
	query_set_hooks(t->qe,
			&(struct query_hooks){.servfail = servfail_note, .servfail_arg = &sl});
	t_ask(t, 0, 1, "Bogus.Example", WIRE_T_MX, WIRE_RD);
	t_ask(t, 1, 2, "bogus.example", WIRE_T_MX, WIRE_RD);
	assert_int_equal(t->fake.n, 1);
	t_dns_a(&m, "bogus.example", 300, 0x01020304);
	t_capture_start(&c);
	t_resolve(t, 0, &m, false, true);
	out = t_capture_end(&c);

	assert_int_equal(t_rcode(&t->c[0]), WIRE_SERVFAIL);
	assert_int_equal(t_rcode(&t->c[1]), WIRE_SERVFAIL);
	assert_int_equal(t->stats.servfail[STATS_SF_BOGUS], 2);
	assert_int_equal(t_count(out, "\n"), 1);
	assert_non_null(strstr(out, "DNSSEC validation failed [bogus]: signature expired, "
				    "2 clients\n"));
	assert_non_null(strcasestr(out, "SERVFAIL bogus.example. MX:"));
	t_env_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(line_says_question_reason_and_clients),
	    cmocka_unit_test(unknown_type_and_reason),
	    cmocka_unit_test(every_reason_named),
	    cmocka_unit_test(rate_limited_per_second),
	    cmocka_unit_test(disabled_logs_nothing),
	    cmocka_unit_test(engine_logs_and_counts_bogus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
