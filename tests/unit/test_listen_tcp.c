/*
 * Unit tests for listen_tcp (include/listen_tcp.h), over loopback
 * sockets, with the query engine in front of a fake resolver (t_engine.h):
 * a query split across reads, pipelined queries answered as each is ready
 * (out of order), frames too short or too long closing the connection,
 * the cap on queries in flight per connection, a half-closed client still
 * answered, the cap on connections, the idle timeout, the write deadline
 * for a client that does not read, and clients outside the allow list
 * closed on accept.
 */
#include "listen_tcp.h"

#include "t_engine.h"

#include <errno.h>
#include <netinet/tcp.h>

#include "t_net.h"

#define T_SPINS 2000 /* loop iterations a test waits for a timer, at most */

struct t_tcp {
	struct t_env *t;
	struct listen_tcp *lt;
	struct sock_addr addr;
};

static const struct listen_tcp_options t_opts = {
    .max_conns = 4, .max_per_client = 0, .idle_ms = 10000, .write_ms = 10000, .max_pending = 8};

static struct t_tcp *
t_tcp_new_on(const char *host, const struct listen_tcp_options *opts)
{
	struct t_tcp *tt = calloc(1, sizeof(*tt));
	char err[256] = "";

	assert_non_null(tt);
	tt->t = t_env_new(NULL);
	tt->addr = t_net_addr(host, SOCK_STREAM);
	tt->lt = listen_tcp_new(tt->t->loop, &tt->addr, opts ? opts : &t_opts, tt->t->qe,
				&tt->t->stats, err, sizeof(err));
	if (!tt->lt)
		fail_msg("listen_tcp_new: %s", err);
	return tt;
}

static struct t_tcp *
t_tcp_new(const struct listen_tcp_options *opts)
{
	return t_tcp_new_on("127.0.0.1", opts);
}

static void
t_tcp_free(struct t_tcp *tt)
{
	listen_tcp_free(tt->lt);
	t_env_free(tt->t);
	free(tt);
}

/* Loopback data is in the peer's buffer when send returns: a few
 * iterations see it accepted, read, answered. */
static void
t_pump(struct t_tcp *tt)
{
	for (int i = 0; i < 8; i++)
		ev_run(tt->t->loop, EVRUN_NOWAIT);
}

static int
t_connect(struct t_tcp *tt)
{
	int fd = t_net_connect("127.0.0.1", &tt->addr, SOCK_STREAM);

	t_pump(tt);
	return fd;
}

/* A framed query (length prefix and message) into buf; returns its size. */
static size_t
t_frame(uint8_t *buf, uint16_t id, const char *name)
{
	uint8_t w[WIRE_MAX_NAME];
	size_t nlen = t_dns_name(name, w);
	size_t len =
	    wire_build_query(buf + 2, 510, id, WIRE_RD, w, nlen, WIRE_T_MX, false, 0, false);

	assert_true(len > 0);
	wire_put16(buf, (uint16_t)len);
	return len + 2;
}

static void
t_send(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void
t_send_query(int fd, uint16_t id, const char *name)
{
	uint8_t buf[512];

	t_send(fd, buf, t_frame(buf, id, name));
}

/* The next framed answer, which must be there whole; returns its ID. */
static uint16_t
t_read_answer(int fd, uint8_t *msg, size_t *len)
{
	uint8_t prefix[2];

	assert_int_equal(recv(fd, prefix, 2, MSG_DONTWAIT | MSG_WAITALL), 2);
	*len = wire_get16(prefix);
	assert_true(*len >= WIRE_HEADER_LEN);
	assert_int_equal(recv(fd, msg, *len, MSG_DONTWAIT | MSG_WAITALL), (ssize_t)*len);
	return wire_get16(msg);
}

static bool
t_nothing_to_read(int fd)
{
	uint8_t b;

	return recv(fd, &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static bool
t_closed_by_server(int fd)
{
	uint8_t b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static const char *const t_two_mx[] = {"mx1.example.com", "mx2.example.com", NULL};

static void
t_answer(struct t_tcp *tt, size_t req, const char *name)
{
	struct t_dns_msg m;

	t_dns_mx(&m, name, 300, t_two_mx);
	t_resolve(tt->t, req, &m, false, false);
	t_pump(tt);
}

static void
query_split_across_reads(void **state)
{
	struct t_tcp *tt = t_tcp_new(NULL);
	int fd = t_connect(tt);
	uint8_t frame[512], msg[4096];
	size_t n = t_frame(frame, 0xabcd, "split.example"), len;
	(void)state;

	assert_int_equal(tt->t->stats.tcp_accepted, 1);
	t_send(fd, frame, 1); /* half the length */
	t_pump(tt);
	t_send(fd, frame + 1, 5);
	t_pump(tt);
	assert_int_equal(tt->t->fake.n, 0);
	t_send(fd, frame + 6, n - 7);
	t_pump(tt);
	assert_int_equal(tt->t->fake.n, 0); /* one byte short */
	t_send(fd, frame + n - 1, 1);
	t_pump(tt);
	assert_int_equal(tt->t->fake.n, 1);
	t_answer(tt, 0, "split.example");
	assert_int_equal(t_read_answer(fd, msg, &len), 0xabcd);
	assert_int_equal(wire_get16(msg + 6), 2);
	assert_true(t_nothing_to_read(fd));
	close(fd);
	t_tcp_free(tt);
}

/* Three queries in one segment: the cached one is answered at once, the
 * others as their lookups end, in that order. */
static void
pipelined_out_of_order(void **state)
{
	struct t_tcp *tt = t_tcp_new(NULL);
	int fd = t_connect(tt);
	uint8_t buf[1536], msg[4096];
	size_t n = 0, len;
	(void)state;

	t_ask(tt->t, 3, 1, "hit.example", WIRE_T_MX, WIRE_RD);
	t_answer(tt, 0, "hit.example");
	n += t_frame(buf + n, 1, "first.example");
	n += t_frame(buf + n, 2, "second.example");
	n += t_frame(buf + n, 3, "hit.example");
	t_send(fd, buf, n);
	t_pump(tt);
	assert_int_equal(tt->t->fake.n, 3);
	assert_int_equal(t_read_answer(fd, msg, &len), 3);
	assert_true(t_nothing_to_read(fd));
	t_answer(tt, 2, "second.example");
	assert_int_equal(t_read_answer(fd, msg, &len), 2);
	t_answer(tt, 1, "first.example");
	assert_int_equal(t_read_answer(fd, msg, &len), 1);
	assert_true(t_nothing_to_read(fd));
	close(fd);
	t_tcp_free(tt);
}

/* A length shorter than a header, or longer than any query: closed
 * without an answer. */
static void
bad_lengths_close(void **state)
{
	static const uint16_t lengths[] = {0, 5, WIRE_HEADER_LEN - 1, 4097, 65535};
	struct t_tcp *tt = t_tcp_new(NULL);
	(void)state;

	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		int fd = t_connect(tt);
		uint8_t frame[64] = {0};

		/* The whole frame when it is short: nothing after it that a
		 * second check could stumble on. */
		wire_put16(frame, lengths[i]);
		t_send(fd, frame, lengths[i] < 62 ? 2u + lengths[i] : sizeof(frame));
		t_pump(tt);
		if (!t_closed_by_server(fd))
			fail_msg("length %u: still open", lengths[i]);
		close(fd);
	}
	assert_int_equal(tt->t->fake.n, 0);
	t_tcp_free(tt);
}

/* With max_pending 2, four misses in one segment: two lookups, then one
 * more for each answer. */
static void
pending_cap(void **state)
{
	struct listen_tcp_options o = t_opts;
	struct t_tcp *tt;
	int fd;
	uint8_t buf[2048], msg[4096];
	size_t n = 0, len;
	char name[32];
	(void)state;

	o.max_pending = 2;
	tt = t_tcp_new(&o);
	fd = t_connect(tt);
	for (uint16_t i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "q%u.example", i);
		n += t_frame(buf + n, i, name);
	}
	t_send(fd, buf, n);
	t_pump(tt);
	assert_int_equal(tt->t->fake.n, 2);
	t_answer(tt, 0, "q0.example");
	assert_int_equal(t_read_answer(fd, msg, &len), 0);
	assert_int_equal(tt->t->fake.n, 3);
	t_answer(tt, 1, "q1.example");
	assert_int_equal(t_read_answer(fd, msg, &len), 1);
	assert_int_equal(tt->t->fake.n, 4);
	t_answer(tt, 3, "q3.example");
	t_answer(tt, 2, "q2.example");
	assert_int_equal(t_read_answer(fd, msg, &len), 3);
	assert_int_equal(t_read_answer(fd, msg, &len), 2);
	close(fd);
	t_tcp_free(tt);
}

/* RFC 7766 §6.2.4: a client that half-closes gets its answers, then the
 * server closes. */
static void
half_close_answered(void **state)
{
	struct t_tcp *tt = t_tcp_new(NULL);
	int fd = t_connect(tt);
	uint8_t msg[4096];
	size_t len;
	(void)state;

	t_send_query(fd, 7, "late.example");
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	t_pump(tt);
	assert_int_equal(tt->t->fake.n, 1);
	assert_true(t_nothing_to_read(fd));
	t_answer(tt, 0, "late.example");
	assert_int_equal(t_read_answer(fd, msg, &len), 7);
	assert_true(t_closed_by_server(fd));
	close(fd);
	t_tcp_free(tt);
}

static void
connection_cap(void **state)
{
	struct listen_tcp_options o = t_opts;
	struct t_tcp *tt;
	int fds[3];
	(void)state;

	o.max_conns = 2;
	tt = t_tcp_new(&o);
	for (int i = 0; i < 3; i++)
		fds[i] = t_connect(tt);
	assert_int_equal(tt->t->stats.tcp_accepted, 2);
	assert_int_equal(tt->t->stats.tcp_rejected, 1);
	assert_true(t_nothing_to_read(fds[0]));
	assert_true(t_nothing_to_read(fds[1]));
	assert_true(t_closed_by_server(fds[2]));
	/* A slot freed is a slot taken again. */
	close(fds[0]);
	t_pump(tt);
	fds[0] = t_connect(tt);
	assert_int_equal(tt->t->stats.tcp_accepted, 3);
	assert_true(t_nothing_to_read(fds[0]));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	t_tcp_free(tt);
}

/* Loop iterations until cond holds (each waits for the next event). */
#define T_RUN_UNTIL(tt, cond)                                                                      \
	do {                                                                                       \
		for (int spin_ = 0; !(cond); spin_++) {                                            \
			assert_true(spin_ < T_SPINS);                                              \
			ev_run((tt)->t->loop, EVRUN_ONCE);                                         \
		}                                                                                  \
	} while (0)

/* Quiet for idle_ms: closed; a connection waiting for an answer is not
 * idle. */
static void
idle_timeout(void **state)
{
	struct listen_tcp_options o = t_opts;
	struct t_tcp *tt;
	int quiet, waiting;
	uint8_t msg[4096];
	size_t len;
	(void)state;

	o.idle_ms = 5;
	tt = t_tcp_new(&o);
	quiet = t_connect(tt);
	waiting = t_connect(tt);
	t_send_query(waiting, 1, "slow.example");
	T_RUN_UNTIL(tt, tt->t->stats.tcp_timeouts == 1);
	assert_true(t_closed_by_server(quiet));
	assert_true(t_nothing_to_read(waiting));
	t_answer(tt, 0, "slow.example");
	assert_int_equal(t_read_answer(waiting, msg, &len), 1);
	T_RUN_UNTIL(tt, tt->t->stats.tcp_timeouts == 2);
	assert_true(t_closed_by_server(waiting));
	close(quiet);
	close(waiting);
	t_tcp_free(tt);
}

/* A client that asks for a large answer over and over and never reads:
 * reset once what was queued is not taken within write_ms. */
static void
write_deadline(void **state)
{
	struct listen_tcp_options o = t_opts;
	struct t_tcp *tt;
	const char *mx[41];
	char names[40][64];
	uint8_t buf[512];
	int fd, small = 4096;
	size_t n;
	(void)state;

	o.write_ms = 5;
	o.idle_ms = 60000;
	tt = t_tcp_new(&o);
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "mail-exchanger-%02d.big.example", i);
		mx[i] = names[i];
	}
	mx[40] = NULL;
	t_ask(tt->t, 3, 1, "big.example", WIRE_T_MX, WIRE_RD);
	struct t_dns_msg m;
	t_dns_mx(&m, "big.example", 300, mx);
	t_resolve(tt->t, 0, &m, false, false);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&tt->addr.ss, tt->addr.len), 0);
	t_pump(tt);
	n = t_frame(buf, 1, "big.example");
	for (int i = 0; i < 200; i++)
		t_send(fd, buf, n);
	T_RUN_UNTIL(tt, tt->t->stats.tcp_write_timeouts == 1);
	assert_int_equal(tt->t->stats.tcp_timeouts, 0);
	close(fd);
	t_tcp_free(tt);
}

/* ::1 is outside the allow list (127.0.0.0/8): closed on accept,
 * nothing read. */
static void
outside_allow_list_closed(void **state)
{
	struct sock_addr probe;
	struct t_tcp *tt;
	int fd;
	(void)state;

	if (!t_net_try_addr("::1", SOCK_STREAM, &probe))
		skip();
	tt = t_tcp_new_on("::1", NULL);
	fd = t_net_connect("::1", &tt->addr, SOCK_STREAM);
	t_send_query(fd, 1, "example.com");
	t_pump(tt);
	assert_true(t_closed_by_server(fd));
	assert_int_equal(tt->t->stats.tcp_refused, 1);
	assert_int_equal(tt->t->stats.tcp_accepted, 0);
	assert_int_equal(tt->t->fake.n, 0);
	close(fd);
	t_tcp_free(tt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(query_split_across_reads),
	    cmocka_unit_test(pipelined_out_of_order),
	    cmocka_unit_test(bad_lengths_close),
	    cmocka_unit_test(pending_cap),
	    cmocka_unit_test(half_close_answered),
	    cmocka_unit_test(connection_cap),
	    cmocka_unit_test(idle_timeout),
	    cmocka_unit_test(write_deadline),
	    cmocka_unit_test(outside_allow_list_closed),
	};

	t_net_enter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
