/*
 * Unit tests for upstream (include/upstream.h) that need no network: the
 * options (defaults, sizes, stubs, forwards, unbound options, files
 * checked at startup) and their errors, the trust anchor chosen, and
 * real asynchronous lookups answered by libunbound from local-data (it
 * sends nothing for a static local zone) and delivered on the libev loop
 * through ub_fd, on the lane asked, with cancel and the in-flight count.
 * When root, the test runs in a network namespace of its own (t_net.h).
 */
#include "upstream.h"

#include "t_engine.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t_net.h"

#define T_SPINS 10000 /* loop iterations a lookup may take, at most */

static char *t_local[] = {
    "local-zone:mxtest. static",
    "local-data:mx.mxtest. 300 IN MX 10 mail.mxtest.",
    "local-data:mail.mxtest. 300 IN A 192.0.2.25",
};

static const struct upstream_options t_local_opts = {
    .trust_anchor = "none", .options = t_local, .noptions = 3, .cache_bytes = 4u << 20};

/* upstream_new must fail, with an error containing want. */
static void
t_refused(const struct upstream_options *o, const char *want)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char err[512] = "";
	struct upstream *up = upstream_new(loop, o, err, sizeof(err));

	if (up)
		fail_msg("accepted; expected \"%s\"", want);
	if (!strstr(err, want))
		fail_msg("error \"%s\", expected \"%s\"", err, want);
	ev_loop_destroy(loop);
}

static void
option_errors(void **state)
{
	char *no_colon[] = {"verbosity"}, *unknown[] = {"no-such-option:1"},
	     *bad_value[] = {"num-threads:many"}, *bad_stub[] = {"example.com"},
	     *empty_stub[] = {"example.com="}, *bad_fwd[] = {"not-an-address"};
	struct upstream_options o = {.trust_anchor = "none"};
	(void)state;

	o = (struct upstream_options){.trust_anchor = "none", .options = no_colon, .noptions = 1};
	t_refused(&o, "unbound option 'verbosity': expected NAME:VALUE");
	o.options = unknown;
	t_refused(&o, "unbound option no-such-option: 1");
	o.options = bad_value;
	t_refused(&o, "unbound option num-threads: many");
	o = (struct upstream_options){.trust_anchor = "none", .stubs = bad_stub, .nstubs = 1};
	t_refused(&o, "stub 'example.com': expected ZONE=ADDR[@PORT]");
	o.stubs = empty_stub;
	t_refused(&o, "stub 'example.com=': expected ZONE=ADDR[@PORT]");
	o = (struct upstream_options){.trust_anchor = "none", .forwards = bad_fwd, .nforwards = 1};
	t_refused(&o, "forward not-an-address:");
}

/* Root hints and anchors are checked when the context is made: a missing
 * file, a directory. */
static void
file_errors(void **state)
{
	struct upstream_options o = {.trust_anchor = "none", .root_hints = "/nonexistent/hints"};
	(void)state;

	t_refused(&o, "root hints /nonexistent/hints: No such file or directory");
	o.root_hints = "/tmp";
	t_refused(&o, "root hints /tmp: not a regular file");
	o = (struct upstream_options){.trust_anchor = "/nonexistent/root.key"};
	t_refused(&o, "trust anchor /nonexistent/root.key: No such file or directory");
	o.trust_anchor = "/tmp";
	t_refused(&o, "trust anchor /tmp: not a regular file");
}

static const char *
t_anchor_of(const struct upstream_options *o, char *buf, size_t cap)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char err[512] = "";
	struct upstream *up = upstream_new(loop, o, err, sizeof(err));

	if (!up)
		fail_msg("upstream_new: %s", err);
	snprintf(buf, cap, "%s", upstream_anchor(up));
	assert_int_equal(upstream_in_flight(up), 0);
	upstream_free(up);
	ev_loop_destroy(loop);
	return buf;
}

/* The system key vouches for the real root only: other root hints or a
 * stub for "." mean no validation unless an anchor is named. */
static void
anchor_choice(void **state)
{
	char hints[] = "/tmp/test_upstream.XXXXXX", buf[256], *stubs[] = {".=192.0.2.1"},
	     *other_stub[] = {"example.com=192.0.2.1@5353"};
	struct upstream_options o = {0};
	int fd;
	(void)state;

	assert_true((fd = mkstemp(hints)) >= 0);
	static const char hint[] = ".\t3600000\tNS\tns.test.\nns.test.\t3600000\tA\t192.0.2.1\n";
	assert_int_equal(write(fd, hint, sizeof(hint) - 1), (ssize_t)sizeof(hint) - 1);
	close(fd);

	assert_string_equal(t_anchor_of(&o, buf, sizeof(buf)),
			    access(UPSTREAM_SYSTEM_ANCHOR, R_OK) == 0 ? UPSTREAM_SYSTEM_ANCHOR
								      : "none");
	o.root_hints = hints;
	assert_string_equal(t_anchor_of(&o, buf, sizeof(buf)), "none");
	o = (struct upstream_options){.stubs = stubs, .nstubs = 1};
	assert_string_equal(t_anchor_of(&o, buf, sizeof(buf)), "none");
	o = (struct upstream_options){.stubs = other_stub, .nstubs = 1};
	assert_string_equal(t_anchor_of(&o, buf, sizeof(buf)),
			    access(UPSTREAM_SYSTEM_ANCHOR, R_OK) == 0 ? UPSTREAM_SYSTEM_ANCHOR
								      : "none");
	o = (struct upstream_options){.root_hints = hints, .trust_anchor = "none"};
	assert_string_equal(t_anchor_of(&o, buf, sizeof(buf)), "none");
	unlink(hints);
}

struct t_lookup {
	bool done;
	unsigned calls;
	struct resolver_result res;
	uint8_t pkt[4096];
};

static void
t_done(void *arg, const struct resolver_result *res)
{
	struct t_lookup *l = arg;

	l->calls++;
	l->done = true;
	l->res = *res;
	if (res->ok) {
		assert_true(res->len <= sizeof(l->pkt));
		memcpy(l->pkt, res->pkt, res->len);
		l->res.pkt = l->pkt;
	}
}

static struct resolver_req *
t_resolve_name(struct upstream *up, const char *name, uint16_t qtype, enum resolver_lane lane,
	       struct t_lookup *l)
{
	uint8_t w[WIRE_MAX_NAME];
	struct resolver_question q = {.name = w,
				      .name_len = t_dns_name(name, w),
				      .qtype = qtype,
				      .qclass = WIRE_CLASS_IN,
				      .lane = lane};

	return resolver_resolve(upstream_resolver(up), &q, t_done, l);
}

static void
t_wait(struct ev_loop *loop, const struct t_lookup *l)
{
	for (int spin = 0; !l->done; spin++) {
		assert_true(spin < T_SPINS);
		ev_run(loop, EVRUN_ONCE);
	}
}

/* A lookup answered from local-data, on each lane, through the loop. */
static void
local_data_lookup_on_the_loop(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char err[512] = "";
	struct upstream *up = upstream_new(loop, &t_local_opts, err, sizeof(err));
	(void)state;

	if (!up)
		fail_msg("upstream_new: %s", err);
	for (int lane = 0; lane < RESOLVER_LANES; lane++) {
		struct t_lookup l = {0};
		struct wire_mx mx[4];
		uint8_t owner[WIRE_MAX_NAME], want[WIRE_MAX_NAME];
		size_t olen = t_dns_name("mx.mxtest", owner), wl = t_dns_name("mail.mxtest", want);

		assert_non_null(
		    t_resolve_name(up, "mx.mxtest", WIRE_T_MX, (enum resolver_lane)lane, &l));
		assert_int_equal(upstream_in_flight(up), 1);
		assert_false(l.done); /* never from within resolve */
		t_wait(loop, &l);
		assert_int_equal(l.calls, 1);
		assert_true(l.res.ok);
		assert_int_equal(l.res.lane, lane);
		assert_false(l.res.secure);
		assert_false(l.res.bogus);
		assert_int_equal(upstream_in_flight(up), 0);
		assert_int_equal(WIRE_RCODE(wire_get16(l.pkt + 2)), WIRE_NOERROR);
		assert_int_equal(wire_mx_list(l.pkt, l.res.len, owner, olen, mx, 4), 1);
		assert_int_equal(mx[0].preference, 10);
		assert_true(wire_name_equal(mx[0].name, mx[0].name_len, want, wl));
	}
	upstream_free(up);
	ev_loop_destroy(loop);
}

/* A name the static zone does not hold: NXDOMAIN, still an answer. */
static void
local_zone_nxdomain(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char err[512] = "";
	struct upstream *up = upstream_new(loop, &t_local_opts, err, sizeof(err));
	struct t_lookup l = {0};
	(void)state;

	assert_non_null(up);
	assert_non_null(t_resolve_name(up, "nothere.mxtest", WIRE_T_A, RESOLVER_MAIN, &l));
	t_wait(loop, &l);
	assert_true(l.res.ok);
	assert_int_equal(WIRE_RCODE(wire_get16(l.pkt + 2)), WIRE_NXDOMAIN);
	upstream_free(up);
	ev_loop_destroy(loop);
}

/* A cancelled lookup never calls back; the others do, each once. */
static void
cancel_and_count(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char err[512] = "";
	struct upstream *up = upstream_new(loop, &t_local_opts, err, sizeof(err));
	struct t_lookup gone = {0}, a = {0}, b = {0};
	struct resolver_req *req;
	(void)state;

	assert_non_null(up);
	assert_non_null(req = t_resolve_name(up, "mail.mxtest", WIRE_T_A, RESOLVER_MAIN, &gone));
	assert_non_null(t_resolve_name(up, "mail.mxtest", WIRE_T_A, RESOLVER_MAIN, &a));
	assert_non_null(t_resolve_name(up, "mx.mxtest", WIRE_T_MX, RESOLVER_SPARE, &b));
	assert_int_equal(upstream_in_flight(up), 3);
	resolver_cancel(upstream_resolver(up), req);
	resolver_cancel(upstream_resolver(up), NULL);
	assert_int_equal(upstream_in_flight(up), 2);
	t_wait(loop, &a);
	t_wait(loop, &b);
	for (int i = 0; i < 8; i++)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(gone.calls, 0);
	assert_int_equal(upstream_in_flight(up), 0);
	assert_int_equal(b.res.lane, RESOLVER_SPARE);
	upstream_free(up);
	ev_loop_destroy(loop);
}

/* Freed with a lookup in flight: no callback afterwards, nothing leaks
 * (ASan checks the latter). */
static void
free_with_lookup_in_flight(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char err[512] = "";
	struct upstream *up = upstream_new(loop, &t_local_opts, err, sizeof(err));
	struct t_lookup l = {0};
	struct resolver_req *req;
	(void)state;

	assert_non_null(up);
	assert_non_null(req = t_resolve_name(up, "mx.mxtest", WIRE_T_MX, RESOLVER_MAIN, &l));
	resolver_cancel(upstream_resolver(up), req);
	upstream_free(up);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(l.calls, 0);
	ev_loop_destroy(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(option_errors),
	    cmocka_unit_test(file_errors),
	    cmocka_unit_test(anchor_choice),
	    cmocka_unit_test(local_data_lookup_on_the_loop),
	    cmocka_unit_test(local_zone_nxdomain),
	    cmocka_unit_test(cancel_and_count),
	    cmocka_unit_test(free_with_lookup_in_flight),
	};

	t_net_enter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
