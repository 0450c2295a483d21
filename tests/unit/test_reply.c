/*
 * Unit tests for reply (include/reply.h): a stored answer made a
 * client's reply, and error replies.
 */
#include "reply.h"

#include "t_engine.h"

static struct wire_query
t_query(uint16_t id, const char *name, uint16_t qtype, uint16_t flags, bool edns, bool dnssec_ok)
{
	uint8_t pkt[512], wname[WIRE_MAX_NAME];
	size_t nlen = t_dns_name(name, wname);
	size_t len = wire_build_query(pkt, sizeof(pkt), id, flags, wname, nlen, qtype, edns, 1232,
				      dnssec_ok);
	struct wire_query q;

	assert_int_equal(wire_parse_query(pkt, len, &q), WIRE_OK);
	return q;
}

static void
test_answer_made_the_clients(void **state)
{
	struct t_dns_msg m;
	uint8_t out[WIRE_MAX_MSG + WIRE_OPT_LEN];
	struct wire_query q = t_query(0xbeef, "WWW.example.com", WIRE_T_A, WIRE_RD, false, false);
	(void)state;

	t_dns_a(&m, "www.example.com", 300, 0x01020304);
	struct reply_source src = {.wire = m.b, .len = m.len, .age = 100, .secure = true};
	size_t len = reply_build(&q, false, &src, NULL, NULL, out, sizeof(out));
	assert_int_equal(len, m.len);
	assert_int_equal(wire_get16(out), 0xbeef);
	assert_true(wire_get16(out + 2) & WIRE_QR);
	assert_false(wire_get16(out + 2) & WIRE_AD); /* neither DO nor AD asked */
	assert_memory_equal(out + WIRE_HEADER_LEN, "\3WWW", 4);
	assert_int_equal(t_dns_first_ttl(out, len), 200);
	assert_int_equal(reply_rcode(&src), WIRE_NOERROR);
	assert_int_equal(wire_get16(m.b), 0); /* the stored copy is untouched */
}

static void
test_ad_and_opt(void **state)
{
	struct t_dns_msg m;
	uint8_t out[WIRE_MAX_MSG + WIRE_OPT_LEN];
	struct wire_query q = t_query(1, "www.example.com", WIRE_T_A, WIRE_RD, true, true);
	(void)state;

	t_dns_a(&m, "www.example.com", 300, 0x01020304);
	struct reply_source src = {.wire = m.b, .len = m.len, .secure = true};
	size_t len = reply_build(&q, false, &src, NULL, NULL, out, sizeof(out));
	assert_int_equal(len, m.len + WIRE_OPT_LEN);
	assert_true(wire_get16(out + 2) & WIRE_AD);
	assert_int_equal(wire_get16(out + 10), 1); /* the OPT */
	src.secure = false;
	reply_build(&q, false, &src, NULL, NULL, out, sizeof(out));
	assert_false(wire_get16(out + 2) & WIRE_AD);
}

static size_t
t_extra(void *arg, const struct wire_query *q, uint8_t *pkt, size_t len, size_t limit)
{
	unsigned *calls = arg;

	(void)q;
	(void)pkt;
	(void)limit;
	++*calls;
	return len;
}

static void
test_truncated_gets_no_additional(void **state)
{
	struct t_dns_msg m;
	uint8_t out[WIRE_MAX_MSG + WIRE_OPT_LEN];
	const char *many[40];
	char names[39][48];
	unsigned calls = 0;
	struct wire_query q = t_query(1, "big.example.com", WIRE_T_MX, WIRE_RD, false, false);
	(void)state;

	for (int i = 0; i < 39; i++) {
		snprintf(names[i], sizeof(names[i]), "exchanger-%02d.example.com", i);
		many[i] = names[i];
	}
	many[39] = NULL;
	t_dns_mx(&m, "big.example.com", 300, many);
	assert_true(m.len > 512);
	struct reply_source src = {.wire = m.b, .len = m.len};
	size_t len = reply_build(&q, false, &src, t_extra, &calls, out, sizeof(out));
	assert_true(len <= 512);
	assert_true(wire_get16(out + 2) & WIRE_TC);
	assert_int_equal(calls, 0);
	len = reply_build(&q, true, &src, t_extra, &calls, out, sizeof(out)); /* TCP: all of it */
	assert_int_equal(len, m.len);
	assert_int_equal(calls, 1);
}

static void
test_error_reply(void **state)
{
	uint8_t out[WIRE_MAX_MSG + WIRE_OPT_LEN];
	struct wire_query q = t_query(77, "x.example.com", WIRE_T_A, WIRE_RD, true, false);
	struct reply_source src = {.rcode = WIRE_REFUSED};
	(void)state;

	size_t len = reply_build(&q, false, &src, NULL, NULL, out, sizeof(out));
	assert_true(len > WIRE_HEADER_LEN);
	assert_int_equal(wire_get16(out), 77);
	assert_int_equal(WIRE_RCODE(wire_get16(out + 2)), WIRE_REFUSED);
	assert_int_equal(wire_get16(out + 10), 1); /* OPT, as the query had */
	assert_int_equal(reply_rcode(&src), WIRE_REFUSED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer_made_the_clients),
	    cmocka_unit_test(test_ad_and_opt),
	    cmocka_unit_test(test_truncated_gets_no_additional),
	    cmocka_unit_test(test_error_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
