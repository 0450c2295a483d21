/*
 * l2: the tier's decisions that need no Redis: addresses, the secret
 * file's checks, and with Redis unreachable, every lookup passed on to the
 * next resolver at once (its answers untouched, its cancels forwarded),
 * writes dropped and counted, the stats keys there.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "l2.h"
#include "t_engine.h"

static void
t_result(void *arg, const struct resolver_result *res)
{
	const struct resolver_result **out = arg;

	*out = res;
}

static void
test_addresses(void **state)
{
	(void)state;
	assert_true(l2_valid_addr("127.0.0.1"));
	assert_true(l2_valid_addr("192.0.2.1@6380"));
	assert_true(l2_valid_addr("::1@6379"));
	assert_true(l2_valid_addr("unix:/run/redis/redis.sock"));
	assert_false(l2_valid_addr("unix:"));
	assert_false(l2_valid_addr("redis.example"));
	assert_false(l2_valid_addr("192.0.2.1@99999"));
}

/* A secret file with content and mode; returns its path (static). */
static const char *
t_secret(const char *content, mode_t mode)
{
	static char path[] = "/tmp/test_l2_secret.XXXXXX";
	int fd;

	strcpy(path + sizeof(path) - 7, "XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void
test_secret_file_checks(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct t_fake fake = {.base.ops = &t_fake_ops};
	struct l2_options o = {.addr = "unix:/nonexistent/redis.sock", .timeout_ms = 20};
	char err[256];
	struct l2 *l2;
	(void)state;

	o.secret_file = (char *)t_secret("fleet\n", 0644);
	assert_null(l2 = l2_new(loop, &o, &fake.base, 1, true, err, sizeof(err)));
	assert_non_null(strstr(err, "chmod 600"));
	unlink(o.secret_file);
	o.secret_file = (char *)t_secret("\n", 0600);
	assert_null(l2 = l2_new(loop, &o, &fake.base, 1, true, err, sizeof(err)));
	assert_non_null(strstr(err, "empty"));
	unlink(o.secret_file);
	o.secret_file = (char *)t_secret("fleet\n", 0600);
	assert_non_null(l2 = l2_new(loop, &o, &fake.base, 1, true, err, sizeof(err)));
	l2_free(l2);
	unlink(o.secret_file);
	o.secret_file = NULL;
	o.addr = "no address";
	assert_null(l2 = l2_new(loop, &o, &fake.base, 1, true, err, sizeof(err)));
	assert_non_null(strstr(err, "--redis"));
	ev_loop_destroy(loop);
}

static void
test_redis_down_passes_everything_on(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct t_fake fake = {.base.ops = &t_fake_ops};
	struct l2_options o = {.addr = "unix:/nonexistent/redis.sock", .timeout_ms = 20};
	const struct resolver_result *got = NULL;
	uint8_t name[WIRE_MAX_NAME];
	struct resolver_question q = {.name = name,
				      .name_len = t_dns_name("mx.example", name),
				      .qtype = WIRE_T_A,
				      .qclass = WIRE_CLASS_IN};
	char err[256];
	struct t_dns_msg m;
	(void)state;

	struct l2 *l2 = l2_new(loop, &o, &fake.base, 1, true, err, sizeof(err));
	assert_non_null(l2);
	struct resolver *r = l2_resolver(l2);
	struct resolver_req *req = resolver_resolve(r, &q, t_result, &got);
	assert_non_null(req);
	assert_int_equal(fake.n, 1); /* on to recursion at once */
	assert_true(fake.reqs[0].live);
	t_dns_a(&m, "mx.example", 300, 1);
	struct resolver_result res = {.ok = true, .pkt = m.b, .len = m.len, .secure = true};
	fake.reqs[0].live = false;
	fake.reqs[0].cb(fake.reqs[0].arg, &res);
	assert_ptr_equal(got, &res); /* recursion's answer, untouched */
	resolver_store(r, &q, m.b, m.len, 300, 0, true);

	req = resolver_resolve(r, &q, t_result, &got);
	assert_int_equal(fake.n, 2);
	resolver_cancel(r, req);
	assert_false(fake.reqs[1].live);

	struct l2_stats st;
	l2_get_stats(l2, &st);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.hits, 0);
	assert_false(l2_up(l2, false));
	assert_false(l2_up(l2, true));
	l2_stats_reset(l2);
	l2_get_stats(l2, &st);
	assert_int_equal(st.misses, 0);
	l2_free(l2);

	/* Without a tier the counters read as zeros, the tier as down. */
	memset(&st, 0xff, sizeof(st));
	l2_get_stats(NULL, &st);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.latency.count, 0);
	assert_false(l2_up(NULL, false));
	ev_loop_destroy(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_secret_file_checks),
	    cmocka_unit_test(test_redis_down_passes_everything_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
