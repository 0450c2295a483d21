/*
 * listen_udp: see include/listen_udp.h.
 *
 * Datagrams are read in batches with recvmmsg; the replies that are ready
 * at once (cache hits, errors) are queued and leave together with one
 * sendmmsg at the end of the batch. Under load that is well under one
 * system call per query; when idle, a batch is one query and one reply.
 * Replies that come later (after an upstream lookup) are sent on their own.
 */
#include "listen_udp.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "query.h"
#include "sock.h"
#include "stats.h"
#include "wire.h"

#define LISTEN_UDP_BATCH 32
/* Queries are small; a larger datagram is cut and dropped as malformed. */
#define LISTEN_UDP_MAX_QUERY 4096
#define LISTEN_UDP_RCVBUF (4 * 1024 * 1024)

union listen_udp_dst {
	struct in_pktinfo v4;
	struct in6_pktinfo v6;
};

struct listen_udp_control {
	_Alignas(struct cmsghdr) uint8_t buf[CMSG_SPACE(sizeof(union listen_udp_dst))];
};

struct udp_client {
	struct query_client base;
	struct listen_udp *lu;
	struct sock_addr peer;
	int dst_family; /* 0: the socket's own address */
	union listen_udp_dst dst;
};

/* One reply waiting for the end of the batch. */
struct udp_out {
	struct sock_addr peer;
	struct listen_udp_control control;
	uint8_t pkt[WIRE_MAX_UDP];
};

struct listen_udp {
	struct ev_loop *loop;
	ev_io io;
	int fd;
	struct query_engine *qe;
	struct stats *stats;
	bool batching;
	unsigned nout;
	struct mmsghdr in_msgs[LISTEN_UDP_BATCH];
	struct iovec in_iov[LISTEN_UDP_BATCH];
	struct sock_addr in_peer[LISTEN_UDP_BATCH];
	struct listen_udp_control in_control[LISTEN_UDP_BATCH];
	uint8_t in[LISTEN_UDP_BATCH][LISTEN_UDP_MAX_QUERY];
	struct mmsghdr out_msgs[LISTEN_UDP_BATCH];
	struct iovec out_iov[LISTEN_UDP_BATCH];
	struct udp_out out[LISTEN_UDP_BATCH];
};

static void udp_deliver(struct query_client *c, const uint8_t *pkt, size_t len);
static struct query_client *udp_hold(struct query_client *c);
static void udp_release(struct query_client *c);
static void listen_udp_readable(struct ev_loop *loop, ev_io *w, int revents);
static void udp_take_dst(struct udp_client *uc, struct msghdr *msg);
static size_t udp_put_dst(const struct udp_client *uc, struct listen_udp_control *control);
static void udp_flush(struct listen_udp *lu);

static const struct query_client_ops udp_ops = {udp_deliver, udp_hold, udp_release};

struct listen_udp *
listen_udp_new(struct ev_loop *loop, const struct sock_addr *addr, struct query_engine *qe,
	       struct stats *stats, char *err, size_t errlen)
{
	struct listen_udp *lu = calloc(1, sizeof(*lu));
	int one = 1, rcvbuf = LISTEN_UDP_RCVBUF;

	if (!lu)
		return NULL;
	if ((lu->fd = sock_bind(addr, SOCK_DGRAM, err, errlen)) < 0) {
		free(lu);
		return NULL;
	}
	setsockopt(lu->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (sock_is_wildcard((const struct sockaddr *)&addr->ss)) {
		if (addr->ss.ss_family == AF_INET)
			setsockopt(lu->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			setsockopt(lu->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	for (size_t i = 0; i < LISTEN_UDP_BATCH; i++) {
		lu->in_iov[i] = (struct iovec){.iov_base = lu->in[i], .iov_len = sizeof(lu->in[i])};
		lu->out_iov[i].iov_base = lu->out[i].pkt;
	}
	lu->loop = loop;
	lu->qe = qe;
	lu->stats = stats;
	ev_io_init(&lu->io, listen_udp_readable, lu->fd, EV_READ);
	lu->io.data = lu;
	ev_io_start(loop, &lu->io);
	return lu;
}

void
listen_udp_free(struct listen_udp *lu)
{
	if (!lu)
		return;
	ev_io_stop(lu->loop, &lu->io);
	close(lu->fd);
	free(lu);
}

void
listen_udp_pause(struct listen_udp *lu)
{
	ev_io_stop(lu->loop, &lu->io);
}

static void
udp_take_dst(struct udp_client *uc, struct msghdr *msg)
{
	uc->dst_family = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			memcpy(&uc->dst.v4, CMSG_DATA(cm), sizeof(uc->dst.v4));
			uc->dst.v4.ipi_spec_dst = uc->dst.v4.ipi_addr;
			uc->dst.v4.ipi_ifindex = 0;
			uc->dst_family = AF_INET;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			memcpy(&uc->dst.v6, CMSG_DATA(cm), sizeof(uc->dst.v6));
			uc->dst_family = AF_INET6;
		}
	}
}

/* The source address for a reply on a wildcard socket, as a control
 * message; returns its length (0: none needed). */
static size_t
udp_put_dst(const struct udp_client *uc, struct listen_udp_control *control)
{
	struct cmsghdr *cm = (struct cmsghdr *)(void *)control->buf;
	bool v4 = uc->dst_family == AF_INET;
	size_t size = v4 ? sizeof(uc->dst.v4) : sizeof(uc->dst.v6);

	if (!uc->dst_family)
		return 0;
	memset(control, 0, sizeof(*control));
	cm->cmsg_level = v4 ? IPPROTO_IP : IPPROTO_IPV6;
	cm->cmsg_type = v4 ? IP_PKTINFO : IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(size);
	memcpy(CMSG_DATA(cm), &uc->dst, size);
	return CMSG_SPACE(size);
}

static void
listen_udp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listen_udp *lu = w->data;

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < LISTEN_UDP_BATCH; i++) {
		lu->in_msgs[i].msg_hdr =
		    (struct msghdr){.msg_name = &lu->in_peer[i].ss,
				    .msg_namelen = sizeof(lu->in_peer[i].ss),
				    .msg_iov = &lu->in_iov[i],
				    .msg_iovlen = 1,
				    .msg_control = lu->in_control[i].buf,
				    .msg_controllen = sizeof(lu->in_control[i])};
	}
	int n = recvmmsg(lu->fd, lu->in_msgs, LISTEN_UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return; /* EAGAIN, or an ICMP error queued on the socket */
	lu->batching = true;
	for (int i = 0; i < n; i++) {
		struct msghdr *msg = &lu->in_msgs[i].msg_hdr;
		struct udp_client uc = {.base = {.ops = &udp_ops, .tcp = false}, .lu = lu};
		if (msg->msg_flags & MSG_TRUNC) {
			lu->stats->dropped++;
			continue;
		}
		uc.peer.ss = lu->in_peer[i].ss;
		uc.peer.len = msg->msg_namelen;
		udp_take_dst(&uc, msg);
		query_handle(lu->qe, &uc.base, (const struct sockaddr *)&uc.peer.ss, lu->in[i],
			     lu->in_msgs[i].msg_len);
	}
	lu->batching = false;
	udp_flush(lu);
}

/* Sends the replies queued during a batch. */
static void
udp_flush(struct listen_udp *lu)
{
	unsigned sent = 0;

	while (sent < lu->nout) {
		int n = sendmmsg(lu->fd, lu->out_msgs + sent, lu->nout - sent, 0);
		if (n <= 0) {
			/* A full socket buffer or an unreachable peer: skip that one. */
			lu->stats->udp_send_errors++;
			n = 1;
		}
		sent += (unsigned)n;
	}
	lu->nout = 0;
}

static void
udp_deliver(struct query_client *c, const uint8_t *pkt, size_t len)
{
	struct udp_client *uc = (struct udp_client *)c;
	struct listen_udp *lu = uc->lu;

	if (lu->batching && lu->nout < LISTEN_UDP_BATCH && len <= WIRE_MAX_UDP) {
		struct udp_out *o = &lu->out[lu->nout];
		struct msghdr *msg = &lu->out_msgs[lu->nout].msg_hdr;
		o->peer = uc->peer;
		memcpy(o->pkt, pkt, len);
		lu->out_iov[lu->nout].iov_len = len;
		*msg = (struct msghdr){.msg_name = &o->peer.ss,
				       .msg_namelen = o->peer.len,
				       .msg_iov = &lu->out_iov[lu->nout],
				       .msg_iovlen = 1};
		if ((msg->msg_controllen = udp_put_dst(uc, &o->control)) > 0)
			msg->msg_control = o->control.buf;
		lu->nout++;
		return;
	}

	struct listen_udp_control control;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)pkt, .iov_len = len};
	struct msghdr msg = {.msg_name = &uc->peer.ss,
			     .msg_namelen = uc->peer.len,
			     .msg_iov = &iov,
			     .msg_iovlen = 1};
	if ((msg.msg_controllen = udp_put_dst(uc, &control)) > 0)
		msg.msg_control = control.buf;
	if (sendmsg(lu->fd, &msg, 0) < 0)
		lu->stats->udp_send_errors++;
}

static struct query_client *
udp_hold(struct query_client *c)
{
	/* c is the first member of a udp_client on the reader's stack. */
	struct udp_client *copy = malloc(sizeof(*copy));

	if (!copy)
		return NULL;
	memcpy(copy, c, sizeof(*copy));
	return (struct query_client *)copy;
}

static void
udp_release(struct query_client *c)
{
	free(c);
}
