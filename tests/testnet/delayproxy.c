/*
 * delayproxy: adds latency in front of DNS servers, over UDP and TCP.
 *
 *   delayproxy [--seed N] LISTEN=BACKEND/MIN[-MAX] ...
 *   e.g.  delayproxy 127.0.0.2@53=127.0.0.2@5300/20-40
 *
 * Each query (a UDP datagram, or a chunk of a TCP stream from the client)
 * is held MIN..MAX ms (uniform, from a seeded generator) before it goes to
 * the backend; answers come back at once. So every round trip through the
 * proxy costs the delay once, as a distant authoritative server would.
 * The kernel of the benchmark machines has no netem, hence this program.
 *
 * UDP queries go to the backend from one socket per proxy with their IDs
 * rewritten, so the answer finds its client without a socket per client.
 * TCP streams keep their byte order: a chunk never overtakes the previous
 * one. The TCP handshake itself is not delayed.
 *
 * IPv4 only. Prints "delayproxy ready" on stderr once listening; on
 * SIGTERM/SIGINT prints its counters and exits. Built by `make` as
 * build/delayproxy (bench/compare.sh, the chaser latency tests).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define DP_IDS 65536
#define DP_ID_STALE_NS (10 * 1000000000LL) /* an unanswered UDP query's ID is free again */
#define DP_READ 65536
#define DP_EVENTS 64

enum dp_kind { DP_UDP, DP_UP, DP_TCP, DP_CLIENT, DP_BACKEND, DP_TIMER };

struct dp_watch {
	enum dp_kind kind;
	void *obj;
};

struct dp_pending {
	bool used;
	uint16_t id;
	struct sockaddr_in client;
	int64_t t;
};

struct dp_proxy {
	struct sockaddr_in listen;
	struct sockaddr_in backend;
	int64_t dmin_us, dmax_us;
	int udp_fd, up_fd, tcp_fd;
	struct dp_watch w_udp, w_up, w_tcp;
	struct dp_pending ids[DP_IDS];
	uint32_t next_id;
	uint64_t udp_queries, udp_answers, udp_dropped, tcp_conns;
};

struct dp_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

struct dp_conn {
	struct dp_proxy *px;
	int cfd, ufd;
	struct dp_watch wc, wu;
	struct dp_buf to_up, to_client;
	bool connected;
	bool client_eof; /* read from the client; still to be passed on */
	bool eof_to_up;	 /* passed on: shut the backend's side once flushed */
	bool up_eof;
	bool closed;
	int64_t last_due;
	unsigned pending; /* items in the heap that point here */
};

/* A delayed UDP datagram or TCP chunk (len 0 on TCP: the client's EOF). */
struct dp_item {
	int64_t due;
	uint64_t seq;
	struct dp_proxy *px;
	struct dp_conn *conn; /* NULL for UDP */
	struct sockaddr_in client;
	size_t len;
	uint8_t data[];
};

static struct {
	int epfd, timerfd;
	struct dp_watch w_timer;
	struct dp_item **heap;
	size_t nheap, capheap;
	uint64_t seq;
	uint64_t rng;
	volatile sig_atomic_t stop;
} dp;

static int64_t
dp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
dp_delay_ns(const struct dp_proxy *px)
{
	uint64_t span = (uint64_t)(px->dmax_us - px->dmin_us) + 1;

	/* xorshift64: reproducible from --seed, good enough for jitter. */
	dp.rng ^= dp.rng << 13;
	dp.rng ^= dp.rng >> 7;
	dp.rng ^= dp.rng << 17;
	return (px->dmin_us + (int64_t)(dp.rng % span)) * 1000;
}

/* ---------------------------------------------------------------- heap */

static bool
dp_before(const struct dp_item *a, const struct dp_item *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
dp_heap_push(struct dp_item *it)
{
	size_t i;

	if (dp.nheap == dp.capheap) {
		dp.capheap = dp.capheap ? dp.capheap * 2 : 1024;
		dp.heap = realloc(dp.heap, dp.capheap * sizeof(*dp.heap));
		if (!dp.heap) {
			perror("delayproxy");
			exit(1);
		}
	}
	it->seq = dp.seq++;
	for (i = dp.nheap++; i > 0 && dp_before(it, dp.heap[(i - 1) / 2]); i = (i - 1) / 2)
		dp.heap[i] = dp.heap[(i - 1) / 2];
	dp.heap[i] = it;
}

static struct dp_item *
dp_heap_pop(void)
{
	struct dp_item *top = dp.heap[0], *last = dp.heap[--dp.nheap];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < dp.nheap) {
		if (c + 1 < dp.nheap && dp_before(dp.heap[c + 1], dp.heap[c]))
			c++;
		if (!dp_before(dp.heap[c], last))
			break;
		dp.heap[i] = dp.heap[c];
		i = c;
	}
	dp.heap[i] = last;
	return top;
}

static struct dp_item *
dp_item_new(struct dp_proxy *px, const uint8_t *data, size_t len)
{
	struct dp_item *it = malloc(sizeof(*it) + len);

	if (!it) {
		perror("delayproxy");
		exit(1);
	}
	memset(it, 0, sizeof(*it));
	it->px = px;
	it->len = len;
	memcpy(it->data, data, len);
	return it;
}

/* ---------------------------------------------------------------- UDP */

static void
dp_udp_read(struct dp_proxy *px)
{
	uint8_t buf[DP_READ];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;

	while ((n = recvfrom(px->udp_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen)) >=
	       0) {
		flen = sizeof(from);
		if (n < 12)
			continue;
		struct dp_item *it = dp_item_new(px, buf, (size_t)n);
		it->client = from;
		it->due = dp_now() + dp_delay_ns(px);
		dp_heap_push(it);
	}
}

/* A free ID for the backend side, or -1 if 65536 queries are pending. */
static int
dp_udp_id(struct dp_proxy *px, int64_t now)
{
	for (uint32_t k = 0; k < DP_IDS; k++) {
		uint32_t id = (px->next_id + k) % DP_IDS;
		if (!px->ids[id].used || now - px->ids[id].t > DP_ID_STALE_NS) {
			px->next_id = id + 1;
			return (int)id;
		}
	}
	return -1;
}

static void
dp_udp_forward(struct dp_item *it, int64_t now)
{
	struct dp_proxy *px = it->px;
	int id = dp_udp_id(px, now);

	if (id < 0) {
		px->udp_dropped++;
		return;
	}
	px->ids[id] = (struct dp_pending){.used = true,
					  .id = (uint16_t)((it->data[0] << 8) | it->data[1]),
					  .client = it->client,
					  .t = now};
	it->data[0] = (uint8_t)(id >> 8);
	it->data[1] = (uint8_t)id;
	if (send(px->up_fd, it->data, it->len, 0) < 0)
		px->udp_dropped++;
	else
		px->udp_queries++;
}

static void
dp_up_read(struct dp_proxy *px)
{
	uint8_t buf[DP_READ];
	ssize_t n;

	while ((n = recv(px->up_fd, buf, sizeof(buf), 0)) >= 0 || errno == ECONNREFUSED) {
		if (n < 12)
			continue;
		struct dp_pending *p = &px->ids[(buf[0] << 8) | buf[1]];
		if (!p->used)
			continue;
		p->used = false;
		buf[0] = (uint8_t)(p->id >> 8);
		buf[1] = (uint8_t)p->id;
		if (sendto(px->udp_fd, buf, (size_t)n, 0, (struct sockaddr *)&p->client,
			   sizeof(p->client)) >= 0)
			px->udp_answers++;
	}
}

/* ---------------------------------------------------------------- TCP */

static void
dp_buf_append(struct dp_buf *b, const uint8_t *data, size_t len)
{
	if (len == 0)
		return;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			perror("delayproxy");
			exit(1);
		}
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

/* Writes what it can; false on a write error. */
static bool
dp_buf_flush(struct dp_buf *b, int fd)
{
	size_t off = 0;

	while (off < b->len) {
		ssize_t n = write(fd, b->p + off, b->len - off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return false;
		}
		off += (size_t)n;
	}
	memmove(b->p, b->p + off, b->len - off);
	b->len -= off;
	return true;
}

static void
dp_conn_close(struct dp_conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	close(c->cfd);
	close(c->ufd);
	free(c->to_up.p);
	free(c->to_client.p);
	if (c->pending == 0)
		free(c);
}

static void
dp_conn_flush(struct dp_conn *c)
{
	if (c->closed)
		return;
	if (!dp_buf_flush(&c->to_client, c->cfd) ||
	    (c->connected && !dp_buf_flush(&c->to_up, c->ufd))) {
		dp_conn_close(c);
		return;
	}
	if (c->connected && c->eof_to_up && c->to_up.len == 0)
		shutdown(c->ufd, SHUT_WR);
	if (c->up_eof && c->to_client.len == 0)
		dp_conn_close(c);
}

static int
dp_watch_fd(int fd, struct dp_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(dp.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
dp_tcp_accept(struct dp_proxy *px)
{
	int fd;

	while ((fd = accept4(px->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct dp_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->px = px;
		c->cfd = fd;
		c->ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		c->wc = (struct dp_watch){DP_CLIENT, c};
		c->wu = (struct dp_watch){DP_BACKEND, c};
		px->tcp_conns++;
		if (c->ufd < 0 ||
		    (connect(c->ufd, (struct sockaddr *)&px->backend, sizeof(px->backend)) < 0 &&
		     errno != EINPROGRESS) ||
		    dp_watch_fd(c->cfd, &c->wc, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0 ||
		    dp_watch_fd(c->ufd, &c->wu, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0)
			dp_conn_close(c);
	}
}

static void
dp_client_read(struct dp_conn *c)
{
	uint8_t buf[DP_READ];
	ssize_t n;

	while (!c->closed && !c->client_eof) {
		n = read(c->cfd, buf, sizeof(buf));
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				dp_conn_close(c);
			return;
		}
		struct dp_item *it = dp_item_new(c->px, buf, (size_t)n);
		it->conn = c;
		/* Never before the previous chunk: the stream keeps its order. */
		it->due = dp_now() + dp_delay_ns(c->px);
		if (it->due < c->last_due)
			it->due = c->last_due;
		c->last_due = it->due;
		c->pending++;
		dp_heap_push(it);
		if (n == 0)
			c->client_eof = true;
	}
}

static void
dp_backend_event(struct dp_conn *c, uint32_t events)
{
	uint8_t buf[DP_READ];
	ssize_t n;
	int err = 0;
	socklen_t elen = sizeof(err);

	if (!c->connected && (events & (EPOLLOUT | EPOLLERR))) {
		if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
			dp_conn_close(c);
			return;
		}
		c->connected = true;
	}
	while (!c->up_eof) {
		n = read(c->ufd, buf, sizeof(buf));
		if (n > 0) {
			dp_buf_append(&c->to_client, buf, (size_t)n);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			c->up_eof = true;
		break;
	}
	dp_conn_flush(c);
}

static void
dp_tcp_forward(struct dp_item *it)
{
	struct dp_conn *c = it->conn;

	c->pending--;
	if (c->closed) {
		if (c->pending == 0)
			free(c);
		return;
	}
	if (it->len == 0)
		c->eof_to_up = true;
	dp_buf_append(&c->to_up, it->data, it->len);
	dp_conn_flush(c);
}

/* ---------------------------------------------------------------- main */

static void
dp_fire_due(void)
{
	int64_t now = dp_now();
	struct itimerspec its = {0};

	while (dp.nheap > 0 && dp.heap[0]->due <= now) {
		struct dp_item *it = dp_heap_pop();
		if (it->conn)
			dp_tcp_forward(it);
		else
			dp_udp_forward(it, now);
		free(it);
	}
	if (dp.nheap > 0) {
		its.it_value.tv_sec = dp.heap[0]->due / 1000000000;
		its.it_value.tv_nsec = dp.heap[0]->due % 1000000000;
	}
	timerfd_settime(dp.timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void
dp_dispatch(struct dp_watch *w, uint32_t events)
{
	uint64_t ticks;

	switch (w->kind) {
	case DP_UDP:
		dp_udp_read(w->obj);
		break;
	case DP_UP:
		dp_up_read(w->obj);
		break;
	case DP_TCP:
		dp_tcp_accept(w->obj);
		break;
	case DP_CLIENT:
		dp_client_read(w->obj);
		dp_conn_flush(w->obj);
		break;
	case DP_BACKEND:
		dp_backend_event(w->obj, events);
		break;
	case DP_TIMER:
		if (read(dp.timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			perror("delayproxy: timer");
		break;
	}
}

static bool
dp_parse_addr(const char *text, size_t len, struct sockaddr_in *sa)
{
	char buf[64];
	const char *at = memchr(text, '@', len);

	if (!at || len >= sizeof(buf))
		return false;
	memcpy(buf, text, (size_t)(at - text));
	buf[at - text] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(at + 1));
	return inet_pton(AF_INET, buf, &sa->sin_addr) == 1 && sa->sin_port != 0;
}

/* LISTEN=BACKEND/MIN[-MAX] */
static bool
dp_parse_spec(const char *spec, struct dp_proxy *px)
{
	const char *eq = strchr(spec, '='), *slash = strchr(spec, '/');
	char *end;
	double lo, hi;

	if (!eq || !slash || slash < eq || !dp_parse_addr(spec, (size_t)(eq - spec), &px->listen) ||
	    !dp_parse_addr(eq + 1, (size_t)(slash - eq - 1), &px->backend))
		return false;
	lo = hi = strtod(slash + 1, &end);
	if (*end == '-')
		hi = strtod(end + 1, &end);
	if (*end || lo < 0 || hi < lo)
		return false;
	px->dmin_us = (int64_t)(lo * 1000);
	px->dmax_us = (int64_t)(hi * 1000);
	return true;
}

static int
dp_socket(int type, const struct sockaddr_in *bind_to, const struct sockaddr_in *connect_to)
{
	int one = 1, fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((bind_to && bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) < 0) ||
	    (connect_to &&
	     connect(fd, (const struct sockaddr *)connect_to, sizeof(*connect_to)) < 0) ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
dp_proxy_open(struct dp_proxy *px)
{
	px->udp_fd = dp_socket(SOCK_DGRAM, &px->listen, NULL);
	px->up_fd = dp_socket(SOCK_DGRAM, NULL, &px->backend);
	px->tcp_fd = dp_socket(SOCK_STREAM, &px->listen, NULL);
	px->w_udp = (struct dp_watch){DP_UDP, px};
	px->w_up = (struct dp_watch){DP_UP, px};
	px->w_tcp = (struct dp_watch){DP_TCP, px};
	return px->udp_fd >= 0 && px->up_fd >= 0 && px->tcp_fd >= 0 &&
	       dp_watch_fd(px->udp_fd, &px->w_udp, EPOLLIN) == 0 &&
	       dp_watch_fd(px->up_fd, &px->w_up, EPOLLIN) == 0 &&
	       dp_watch_fd(px->tcp_fd, &px->w_tcp, EPOLLIN) == 0;
}

static void
dp_on_signal(int sig)
{
	(void)sig;
	dp.stop = 1;
}

static void
dp_report(struct dp_proxy *px, int n)
{
	char a[INET_ADDRSTRLEN];

	for (int i = 0; i < n; i++) {
		inet_ntop(AF_INET, &px[i].listen.sin_addr, a, sizeof(a));
		fprintf(stderr,
			"delayproxy: %s: %llu UDP queries, %llu answers, %llu dropped; %llu TCP "
			"connections\n",
			a, (unsigned long long)px[i].udp_queries,
			(unsigned long long)px[i].udp_answers,
			(unsigned long long)px[i].udp_dropped, (unsigned long long)px[i].tcp_conns);
	}
}

static void
dp_loop(void)
{
	struct epoll_event ev[DP_EVENTS];

	while (!dp.stop) {
		int n = epoll_wait(dp.epfd, ev, DP_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			perror("delayproxy: epoll_wait");
			return;
		}
		for (int i = 0; i < n; i++)
			dp_dispatch(ev[i].data.ptr, ev[i].events);
		dp_fire_due();
	}
}

int
main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = dp_on_signal};
	struct dp_proxy *px;
	int first = 1, n;

	dp.rng = 0x9e3779b97f4a7c15ULL;
	if (argc > 2 && strcmp(argv[1], "--seed") == 0) {
		dp.rng ^= strtoull(argv[2], NULL, 10) * 0xbf58476d1ce4e5b9ULL;
		first = 3;
	}
	n = argc - first;
	px = calloc((size_t)(n > 0 ? n : 1), sizeof(*px));
	dp.epfd = epoll_create1(EPOLL_CLOEXEC);
	dp.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	dp.w_timer = (struct dp_watch){DP_TIMER, NULL};
	if (n < 1 || !px || dp.epfd < 0 || dp.timerfd < 0 ||
	    dp_watch_fd(dp.timerfd, &dp.w_timer, EPOLLIN) < 0) {
		fprintf(stderr,
			"usage: delayproxy [--seed N] LISTEN@PORT=BACKEND@PORT/MIN[-MAX]_MS ...\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		if (!dp_parse_spec(argv[first + i], &px[i]) || !dp_proxy_open(&px[i])) {
			fprintf(stderr, "delayproxy: cannot set up %s: %s\n", argv[first + i],
				strerror(errno));
			return 1;
		}
	}
	/* A client gone before its answer must not kill the proxy. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "delayproxy ready\n");
	dp_loop();
	dp_report(px, n);
	return 0;
}
