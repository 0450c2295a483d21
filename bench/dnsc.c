/*
 * dnsc: a non-blocking DNS client over UDP for load generation.
 *
 * A query lives in a slot; the slot number is the query ID (low 16 bits)
 * and the socket (high bits), so matching an answer is an array index.
 * Slots in flight sit on a list in send order: every try has the same
 * timeout, so the head is always the next to expire. Freed slots go to the
 * back of a FIFO, so a late answer to an expired query is very unlikely to
 * find its slot reused (and the question check catches the rest).
 */
#include "dnsc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"
#include "wire_write.h"

#define DNSC_IDS 65536u
#define DNSC_QUERY_MAX (WIRE_HEADER_LEN + WIRE_MAX_NAME + 4 + WIRE_OPT_LEN)
#define DNSC_BATCH 64
#define DNSC_BUF 4096
#define DNSC_SOCKBUF (4 << 20) /* room for bursts at high rates */
#define DNSC_NONE UINT32_MAX

struct dnsc_slot {
	uint8_t pkt[DNSC_QUERY_MAX]; /* kept for retries and answer checks */
	uint16_t len;
	bool busy;
	unsigned tries;
	int64_t first_ns;
	int64_t sent_ns;
	uint32_t prev;
	uint32_t next;
	dnsc_done_fn *fn;
	void *arg;
};

struct dnsc {
	struct dnsc_config cfg;
	int *fds;
	struct pollfd *pfds;
	size_t nfds;
	struct dnsc_slot *slots;
	uint32_t nslots;
	uint32_t *free_ring; /* FIFO of free slot numbers */
	uint32_t free_head;
	uint32_t free_count;
	uint32_t head; /* oldest try in flight, DNSC_NONE if none */
	uint32_t tail;
	size_t inflight;
	struct dnsc_counters counters;
	uint8_t bufs[DNSC_BATCH][DNSC_BUF];
};

int64_t
dnsc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool
dnsc_parse_server(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *at = strrchr(text, '@');
	size_t alen = at ? (size_t)(at - text) : strlen(text);
	long port = 53;
	char *end;

	if (alen == 0 || alen >= sizeof(addr))
		return false;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (at) {
		port = strtol(at + 1, &end, 10);
		if (*end || port < 1 || port > 65535)
			return false;
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		return true;
	}
	if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return true;
	}
	return false;
}

static int
dnsc_open_socket(const struct dnsc_config *cfg)
{
	int size = DNSC_SOCKBUF;
	int fd = socket(cfg->server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* Best effort: the kernel caps these at net.core.*mem_max. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (connect(fd, (const struct sockaddr *)&cfg->server, cfg->server_len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct dnsc *
dnsc_new(const struct dnsc_config *cfg)
{
	struct dnsc *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg = *cfg;
	/* Twice the IDs needed, so that freed slots rest a while (see above). */
	c->nfds = (cfg->max_inflight * 2 + DNSC_IDS - 1) / DNSC_IDS;
	if (c->nfds == 0)
		c->nfds = 1;
	c->nslots = (uint32_t)(c->nfds * DNSC_IDS);
	c->fds = calloc(c->nfds, sizeof(*c->fds));
	c->pfds = calloc(c->nfds, sizeof(*c->pfds));
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->free_ring = calloc(c->nslots, sizeof(*c->free_ring));
	if (!c->fds || !c->pfds || !c->slots || !c->free_ring)
		goto fail;
	for (size_t i = 0; i < c->nfds; i++)
		c->fds[i] = -1;
	for (size_t i = 0; i < c->nfds; i++) {
		c->fds[i] = dnsc_open_socket(cfg);
		if (c->fds[i] < 0)
			goto fail;
		c->pfds[i].fd = c->fds[i];
		c->pfds[i].events = POLLIN;
	}
	for (uint32_t i = 0; i < c->nslots; i++)
		c->free_ring[i] = i;
	c->free_count = c->nslots;
	c->head = c->tail = DNSC_NONE;
	return c;
fail:
	dnsc_free(c);
	return NULL;
}

void
dnsc_free(struct dnsc *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->fds && i < c->nfds; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	free(c->fds);
	free(c->pfds);
	free(c->slots);
	free(c->free_ring);
	free(c);
}

size_t
dnsc_inflight(const struct dnsc *c)
{
	return c->inflight;
}

const struct dnsc_counters *
dnsc_counters(const struct dnsc *c)
{
	return &c->counters;
}

static void
dnsc_list_append(struct dnsc *c, uint32_t i)
{
	c->slots[i].prev = c->tail;
	c->slots[i].next = DNSC_NONE;
	if (c->tail != DNSC_NONE)
		c->slots[c->tail].next = i;
	else
		c->head = i;
	c->tail = i;
}

static void
dnsc_list_remove(struct dnsc *c, uint32_t i)
{
	struct dnsc_slot *s = &c->slots[i];

	if (s->prev != DNSC_NONE)
		c->slots[s->prev].next = s->next;
	else
		c->head = s->next;
	if (s->next != DNSC_NONE)
		c->slots[s->next].prev = s->prev;
	else
		c->tail = s->prev;
}

static void
dnsc_transmit(struct dnsc *c, uint32_t i)
{
	struct dnsc_slot *s = &c->slots[i];

	s->sent_ns = dnsc_now_ns();
	s->tries++;
	/* A failed send (full buffer, ICMP error) leaves the query to time
	 * out: it has not been answered. */
	if (send(c->fds[i / DNSC_IDS], s->pkt, s->len, 0) < 0)
		c->counters.send_errors++;
	dnsc_list_append(c, i);
}

static size_t
dnsc_build(uint8_t *p, uint16_t id, const uint8_t *qname, size_t qlen, uint16_t qtype,
	   bool dnssec_ok)
{
	size_t len = WIRE_HEADER_LEN;

	memset(p, 0, WIRE_HEADER_LEN);
	wire_put16(p, id);
	/* RD, and AD as glibc sends it with "options trust-ad". */
	wire_put16(p + 2, WIRE_RD | WIRE_AD);
	wire_put16(p + 4, 1);
	memcpy(p + len, qname, qlen);
	len += qlen;
	wire_put16(p + len, qtype);
	wire_put16(p + len + 2, WIRE_CLASS_IN);
	len += 4;
	return wire_add_opt(p, len, DNSC_QUERY_MAX, WIRE_MAX_UDP, dnssec_ok, 0);
}

bool
dnsc_query(struct dnsc *c, const uint8_t *qname, size_t qlen, uint16_t qtype, dnsc_done_fn *fn,
	   void *arg)
{
	uint32_t i;
	struct dnsc_slot *s;

	if (c->inflight >= c->cfg.max_inflight || qlen == 0 || qlen > WIRE_MAX_NAME)
		return false;
	i = c->free_ring[c->free_head];
	c->free_head = (c->free_head + 1) % c->nslots;
	c->free_count--;
	s = &c->slots[i];
	s->len = (uint16_t)dnsc_build(s->pkt, (uint16_t)(i % DNSC_IDS), qname, qlen, qtype,
				      c->cfg.dnssec_ok);
	s->busy = true;
	s->tries = 0;
	s->fn = fn;
	s->arg = arg;
	c->inflight++;
	c->counters.sent++;
	dnsc_transmit(c, i);
	s->first_ns = s->sent_ns;
	return true;
}

/* Copies the question of slot s into r: the slot may be reused as soon as
 * the callback sends a new query. */
static void
dnsc_question(const struct dnsc_slot *s, struct dnsc_result *r, uint8_t *qname)
{
	size_t qlen = s->len - WIRE_HEADER_LEN - 4u - WIRE_OPT_LEN;

	memcpy(qname, s->pkt + WIRE_HEADER_LEN, qlen);
	r->qname = qname;
	r->qname_len = qlen;
	r->qtype = wire_get16(s->pkt + WIRE_HEADER_LEN + qlen);
}

/* Takes slot i out of flight; the caller then reports its end. */
static void
dnsc_release(struct dnsc *c, uint32_t i)
{
	dnsc_list_remove(c, i);
	c->slots[i].busy = false;
	c->free_ring[(c->free_head + c->free_count) % c->nslots] = i;
	c->free_count++;
	c->inflight--;
}

/* True if pkt is a response to the question of query q. */
static bool
dnsc_matches(const uint8_t *pkt, size_t len, const uint8_t *q, size_t qlen)
{
	uint8_t name[WIRE_MAX_NAME];
	size_t off = WIRE_HEADER_LEN, nlen;
	size_t qnlen = qlen - WIRE_HEADER_LEN - 4 - WIRE_OPT_LEN;

	if (len < WIRE_HEADER_LEN || !(wire_get16(pkt + 2) & WIRE_QR) || wire_get16(pkt + 4) != 1)
		return false;
	nlen = wire_name_read(pkt, len, &off, name);
	if (nlen == 0 || off + 4 > len)
		return false;
	return wire_name_equal(name, nlen, q + WIRE_HEADER_LEN, qnlen) &&
	       memcmp(pkt + off, q + WIRE_HEADER_LEN + qnlen, 4) == 0;
}

static void
dnsc_handle_packet(struct dnsc *c, size_t fd_index, const uint8_t *pkt, size_t len, int64_t now)
{
	uint32_t i;
	struct dnsc_slot *s;
	struct dnsc_result r = {.status = DNSC_ANSWER, .pkt = pkt, .len = len};
	uint8_t qname[WIRE_MAX_NAME];

	if (len < WIRE_HEADER_LEN) {
		c->counters.unmatched++;
		return;
	}
	i = (uint32_t)(fd_index * DNSC_IDS + wire_get16(pkt));
	s = &c->slots[i];
	if (!s->busy || !dnsc_matches(pkt, len, s->pkt, s->len)) {
		c->counters.unmatched++;
		return;
	}
	r.rcode = WIRE_RCODE(wire_get16(pkt + 2));
	r.truncated = (wire_get16(pkt + 2) & WIRE_TC) != 0;
	r.latency_ns = now - s->first_ns;
	r.tries = s->tries;
	dnsc_question(s, &r, qname);
	dnsc_release(c, i);
	c->counters.answers++;
	s->fn(s->arg, &r);
}

static int
dnsc_receive(struct dnsc *c, size_t fd_index)
{
	struct mmsghdr msgs[DNSC_BATCH];
	struct iovec iov[DNSC_BATCH];
	int n;

	memset(msgs, 0, sizeof(msgs));
	for (size_t k = 0; k < DNSC_BATCH; k++) {
		iov[k].iov_base = c->bufs[k];
		iov[k].iov_len = DNSC_BUF;
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		n = recvmmsg(c->fds[fd_index], msgs, DNSC_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0)
			/* ECONNREFUSED reports an earlier ICMP error: no
			 * answer, the query will time out. */
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED
				   ? 0
				   : -1;
		int64_t now = dnsc_now_ns();
		for (int k = 0; k < n; k++)
			dnsc_handle_packet(c, fd_index, c->bufs[k], msgs[k].msg_len, now);
		if (n < DNSC_BATCH)
			return 0;
	}
}

static void
dnsc_expire(struct dnsc *c, int64_t now)
{
	int64_t timeout = (int64_t)c->cfg.timeout_ms * 1000000;

	while (c->head != DNSC_NONE && c->slots[c->head].sent_ns + timeout <= now) {
		uint32_t i = c->head;
		struct dnsc_slot *s = &c->slots[i];

		if (s->tries <= (unsigned)c->cfg.retries) {
			dnsc_list_remove(c, i);
			c->counters.retries++;
			dnsc_transmit(c, i);
			continue;
		}
		struct dnsc_result r = {.status = DNSC_TIMEOUT, .tries = s->tries};
		uint8_t qname[WIRE_MAX_NAME];

		dnsc_question(s, &r, qname);
		dnsc_release(c, i);
		c->counters.timeouts++;
		s->fn(s->arg, &r);
	}
}

int
dnsc_wait(struct dnsc *c, int64_t until_ns)
{
	int64_t now = dnsc_now_ns(), deadline = until_ns;
	struct timespec ts;
	int rc;

	if (c->head != DNSC_NONE) {
		int64_t expiry = c->slots[c->head].sent_ns + (int64_t)c->cfg.timeout_ms * 1000000;
		if (expiry < deadline)
			deadline = expiry;
	}
	if (deadline < now)
		deadline = now;
	ts.tv_sec = (deadline - now) / 1000000000;
	ts.tv_nsec = (deadline - now) % 1000000000;
	rc = ppoll(c->pfds, c->nfds, &ts, NULL);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	for (size_t i = 0; rc > 0 && i < c->nfds; i++)
		if ((c->pfds[i].revents & (POLLIN | POLLERR)) && dnsc_receive(c, i) < 0)
			return -1;
	dnsc_expire(c, dnsc_now_ns());
	return 0;
}
