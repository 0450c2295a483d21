/*
 * Unit tests for listen_udp (include/listen_udp.h), over loopback
 * sockets, with the query engine in front of a fake resolver (t_engine.h):
 * an answer after a lookup, a burst of cache hits (more than one batch)
 * all answered in order, truncation to what a plain DNS client takes, a
 * datagram too long to be a query dropped, pause, REFUSED outside the
 * allow list, and, on a wildcard bind, the reply leaving from the address
 * the query came to.
 */
#include "listen_udp.h"

#include "t_engine.h"

#include "t_net.h"

struct t_udp {
	struct t_env *t;
	struct listen_udp *lu;
	struct sock_addr addr;
	int fd; /* the client */
};

static struct t_udp *
t_udp_new(const char *bind_host, const char *client_host)
{
	struct t_udp *u = calloc(1, sizeof(*u));
	char err[256] = "";

	assert_non_null(u);
	u->t = t_env_new(NULL);
	u->addr = t_net_addr(bind_host, SOCK_DGRAM);
	u->lu = listen_udp_new(u->t->loop, &u->addr, u->t->qe, &u->t->stats, err, sizeof(err));
	if (!u->lu)
		fail_msg("listen_udp_new: %s", err);
	u->fd = t_net_connect(client_host, &u->addr, SOCK_DGRAM);
	return u;
}

static void
t_udp_free(struct t_udp *u)
{
	close(u->fd);
	listen_udp_free(u->lu);
	t_env_free(u->t);
	free(u);
}

static void
t_send_query(struct t_udp *u, uint16_t id, const char *name, bool edns)
{
	uint8_t pkt[512], w[WIRE_MAX_NAME];
	size_t nlen = t_dns_name(name, w);
	size_t len =
	    wire_build_query(pkt, sizeof(pkt), id, WIRE_RD, w, nlen, WIRE_T_MX, edns, 4096, false);

	assert_true(len > 0);
	assert_int_equal(send(u->fd, pkt, len, 0), (ssize_t)len);
}

/* Runs the loop until nothing more is ready: loopback datagrams are
 * queued by the time send returns, and one iteration reads one batch. */
static void
t_pump(struct t_udp *u)
{
	for (int i = 0; i < 8; i++)
		ev_run(u->t->loop, EVRUN_NOWAIT);
}

static ssize_t
t_recv(struct t_udp *u, uint8_t *buf, size_t cap)
{
	return recv(u->fd, buf, cap, MSG_DONTWAIT);
}

/* name/MX in the cache, as a lookup by an engine client left it. */
static void
t_cached(struct t_udp *u, const char *name, const char *const *mx)
{
	struct t_dns_msg m;
	size_t before = u->t->fake.n;

	t_ask(u->t, 3, 1, name, WIRE_T_MX, WIRE_RD);
	assert_int_equal(u->t->fake.n, before + 1);
	t_dns_mx(&m, name, 300, mx);
	t_resolve(u->t, before, &m, false, false);
}

static const char *const t_two_mx[] = {"mx1.example.com", "mx2.example.com", NULL};

/* The reply answers name with exactly the exchanges mx, in order. */
static void
t_assert_mx(const uint8_t *pkt, size_t len, const char *name, const char *const *mx)
{
	struct wire_mx list[WIRE_MX_MAX];
	uint8_t owner[WIRE_MAX_NAME], w[WIRE_MAX_NAME];
	size_t olen = t_dns_name(name, owner),
	       n = wire_mx_list(pkt, len, owner, olen, list, WIRE_MX_MAX);

	size_t i = 0;

	for (; mx[i]; i++) {
		size_t wl = t_dns_name(mx[i], w);
		assert_true(i < n);
		assert_true(wire_name_equal(list[i].name, list[i].name_len, w, wl));
	}
	assert_int_equal(i, n);
}

static void
answer_after_lookup(void **state)
{
	struct t_udp *u = t_udp_new("127.0.0.1", "127.0.0.1");
	struct t_dns_msg m;
	uint8_t buf[4096];
	ssize_t n;
	(void)state;

	t_send_query(u, 0x1234, "example.com", false);
	t_pump(u);
	assert_int_equal(u->t->fake.n, 1);
	assert_true(t_recv(u, buf, sizeof(buf)) < 0); /* nothing before the answer */
	t_dns_mx(&m, "example.com", 300, t_two_mx);
	t_resolve(u->t, 0, &m, false, false);
	n = t_recv(u, buf, sizeof(buf));
	assert_true(n > WIRE_HEADER_LEN);
	assert_int_equal(wire_get16(buf), 0x1234);
	assert_int_equal(WIRE_RCODE(wire_get16(buf + 2)), WIRE_NOERROR);
	t_assert_mx(buf, (size_t)n, "example.com", t_two_mx);
	t_udp_free(u);
}

/* 70 hits sent at once (three batches): every one answered, in order. */
static void
burst_of_hits(void **state)
{
	struct t_udp *u = t_udp_new("127.0.0.1", "127.0.0.1");
	uint8_t buf[4096];
	char name[32];
	(void)state;

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "d%d.example", i);
		t_cached(u, name, t_two_mx);
	}
	for (uint16_t id = 0; id < 70; id++) {
		snprintf(name, sizeof(name), "d%d.example", id % 5);
		t_send_query(u, id, name, id % 2 == 0);
	}
	/* One loop iteration reads one batch and answers it. */
	ev_run(u->t->loop, EVRUN_NOWAIT);
	for (uint16_t id = 0; id < 32; id++) {
		assert_true(t_recv(u, buf, sizeof(buf)) > WIRE_HEADER_LEN);
		assert_int_equal(wire_get16(buf), id);
	}
	assert_true(t_recv(u, buf, sizeof(buf)) < 0);
	t_pump(u);
	for (uint16_t id = 32; id < 70; id++) {
		ssize_t n = t_recv(u, buf, sizeof(buf));
		assert_true(n > WIRE_HEADER_LEN);
		assert_int_equal(wire_get16(buf), id);
		assert_int_equal(wire_get16(buf + 6), 2);
		snprintf(name, sizeof(name), "d%d.example", id % 5);
		uint8_t w[WIRE_MAX_NAME];
		size_t wl = t_dns_name(name, w);
		assert_memory_equal(buf + WIRE_HEADER_LEN, w, wl);
	}
	assert_true(t_recv(u, buf, sizeof(buf)) < 0);
	assert_int_equal(u->t->fake.n, 5); /* no lookup for a hit */
	assert_int_equal(u->t->stats.udp_send_errors, 0);
	t_udp_free(u);
}

/* An answer of 30 MX: cut to 512 bytes with TC for a plain DNS client,
 * whole within its size for an EDNS one. */
static void
truncated_for_plain_dns(void **state)
{
	struct t_udp *u = t_udp_new("127.0.0.1", "127.0.0.1");
	const char *mx[31];
	char names[30][64];
	uint8_t buf[4096];
	ssize_t n;
	(void)state;

	for (int i = 0; i < 30; i++) {
		snprintf(names[i], sizeof(names[i]), "mail-exchanger-%02d.big.example", i);
		mx[i] = names[i];
	}
	mx[30] = NULL;
	t_cached(u, "big.example", mx);

	t_send_query(u, 1, "big.example", false);
	t_pump(u);
	n = t_recv(u, buf, sizeof(buf));
	assert_true(n > WIRE_HEADER_LEN && n <= WIRE_MIN_UDP);
	assert_true(wire_get16(buf + 2) & WIRE_TC);

	t_send_query(u, 2, "big.example", true);
	t_pump(u);
	n = t_recv(u, buf, sizeof(buf));
	assert_true(n > WIRE_MIN_UDP && n <= WIRE_MAX_UDP);
	assert_false(wire_get16(buf + 2) & WIRE_TC);
	assert_int_equal(wire_get16(buf + 6), 30);
	t_udp_free(u);
}

/* A datagram longer than any query is dropped unread; the next query
 * is answered as usual. */
static void
oversize_datagram_dropped(void **state)
{
	struct t_udp *u = t_udp_new("127.0.0.1", "127.0.0.1");
	uint8_t big[5000] = {0}, buf[4096];
	(void)state;

	t_cached(u, "example.com", t_two_mx);
	assert_int_equal(send(u->fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	t_send_query(u, 9, "example.com", false);
	t_pump(u);
	assert_int_equal(u->t->stats.dropped, 1);
	assert_true(t_recv(u, buf, sizeof(buf)) > 0);
	assert_int_equal(wire_get16(buf), 9);
	assert_true(t_recv(u, buf, sizeof(buf)) < 0);
	t_udp_free(u);
}

/* Paused, no query is read; an answer already on its way still goes out. */
static void
pause_stops_reading(void **state)
{
	struct t_udp *u = t_udp_new("127.0.0.1", "127.0.0.1");
	struct t_dns_msg m;
	uint8_t buf[4096];
	(void)state;

	t_send_query(u, 1, "example.com", false);
	t_pump(u);
	assert_int_equal(u->t->fake.n, 1);
	listen_udp_pause(u->lu);
	t_send_query(u, 2, "other.example", false);
	t_pump(u);
	assert_int_equal(u->t->fake.n, 1);
	t_dns_mx(&m, "example.com", 300, t_two_mx);
	t_resolve(u->t, 0, &m, false, false);
	assert_true(t_recv(u, buf, sizeof(buf)) > 0);
	assert_int_equal(wire_get16(buf), 1);
	assert_true(t_recv(u, buf, sizeof(buf)) < 0);
	t_udp_free(u);
}

/* Bound to 0.0.0.0, asked on 127.0.0.2: the reply comes from 127.0.0.2
 * (the client's socket, connected there, takes nothing else), for a hit
 * in the batch and for an answer after a lookup. */
static void
wildcard_replies_from_the_address_asked(void **state)
{
	struct t_udp *u;
	struct t_dns_msg m;
	uint8_t buf[4096];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	(void)state;

	if (!t_net_private)
		skip();
	u = t_udp_new("0.0.0.0", "127.0.0.2");
	t_cached(u, "example.com", t_two_mx);
	t_send_query(u, 1, "example.com", false);
	t_send_query(u, 2, "slow.example", false);
	t_pump(u);
	assert_true(
	    recvfrom(u->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen) > 0);
	assert_int_equal(wire_get16(buf), 1);
	assert_int_equal(ntohl(from.sin_addr.s_addr), 0x7f000002);
	t_dns_mx(&m, "slow.example", 300, t_two_mx);
	t_resolve(u->t, 1, &m, false, false);
	assert_true(t_recv(u, buf, sizeof(buf)) > 0);
	assert_int_equal(wire_get16(buf), 2);
	t_udp_free(u);
}

/* ::1 is outside the allow list (127.0.0.0/8): REFUSED, no lookup. */
static void
outside_allow_list_refused(void **state)
{
	struct sock_addr probe;
	struct t_udp *u;
	uint8_t buf[4096];
	(void)state;

	if (!t_net_try_addr("::1", SOCK_DGRAM, &probe))
		skip();
	u = t_udp_new("::1", "::1");
	t_send_query(u, 5, "example.com", false);
	t_pump(u);
	assert_true(t_recv(u, buf, sizeof(buf)) > WIRE_HEADER_LEN);
	assert_int_equal(wire_get16(buf), 5);
	assert_int_equal(WIRE_RCODE(wire_get16(buf + 2)), WIRE_REFUSED);
	assert_int_equal(u->t->stats.refused, 1);
	assert_int_equal(u->t->fake.n, 0);
	t_udp_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(answer_after_lookup),
	    cmocka_unit_test(burst_of_hits),
	    cmocka_unit_test(truncated_for_plain_dns),
	    cmocka_unit_test(oversize_datagram_dropped),
	    cmocka_unit_test(pause_stops_reading),
	    cmocka_unit_test(wildcard_replies_from_the_address_asked),
	    cmocka_unit_test(outside_allow_list_refused),
	};

	t_net_enter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
