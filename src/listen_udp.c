/*
 * listen_udp: see include/listen_udp.h.
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

/* Datagrams read per wakeup before giving other watchers a turn. */
#define LISTEN_UDP_BATCH 64
#define LISTEN_UDP_RCVBUF (4 * 1024 * 1024)

struct listen_udp {
	struct ev_loop *loop;
	ev_io io;
	int fd;
	struct query_engine *qe;
	struct stats *stats;
	uint8_t buf[WIRE_MAX_MSG];
};

union listen_udp_dst {
	struct in_pktinfo v4;
	struct in6_pktinfo v6;
};

struct udp_client {
	struct query_client base;
	struct listen_udp *lu;
	struct sock_addr peer;
	int dst_family; /* 0: the socket's own address */
	union listen_udp_dst dst;
};

static void udp_deliver(struct query_client *c, const uint8_t *pkt, size_t len);
static struct query_client *udp_hold(struct query_client *c);
static void udp_release(struct query_client *c);
static void listen_udp_readable(struct ev_loop *loop, ev_io *w, int revents);
static void udp_take_dst(struct udp_client *uc, struct msghdr *msg);

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

static void
listen_udp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listen_udp *lu = w->data;
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(union listen_udp_dst))];
	} control;

	(void)loop;
	(void)revents;
	for (int i = 0; i < LISTEN_UDP_BATCH; i++) {
		struct udp_client uc = {.base = {.ops = &udp_ops, .tcp = false}, .lu = lu};
		struct iovec iov = {.iov_base = lu->buf, .iov_len = sizeof(lu->buf)};
		struct msghdr msg = {.msg_name = &uc.peer.ss,
				     .msg_namelen = sizeof(uc.peer.ss),
				     .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control.buf,
				     .msg_controllen = sizeof(control.buf)};
		ssize_t n = recvmsg(lu->fd, &msg, 0);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error queued on the socket */
		uc.peer.len = msg.msg_namelen;
		udp_take_dst(&uc, &msg);
		query_handle(lu->qe, &uc.base, (const struct sockaddr *)&uc.peer.ss, lu->buf,
			     (size_t)n);
	}
}

static void
udp_deliver(struct query_client *c, const uint8_t *pkt, size_t len)
{
	struct udp_client *uc = (struct udp_client *)c;
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(union listen_udp_dst))];
	} control;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)pkt, .iov_len = len};
	struct msghdr msg = {.msg_name = &uc->peer.ss,
			     .msg_namelen = uc->peer.len,
			     .msg_iov = &iov,
			     .msg_iovlen = 1};

	if (uc->dst_family) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		struct cmsghdr *cm = (struct cmsghdr *)(void *)control.buf;
		if (uc->dst_family == AF_INET) {
			cm->cmsg_level = IPPROTO_IP;
			cm->cmsg_type = IP_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(uc->dst.v4));
			memcpy(CMSG_DATA(cm), &uc->dst.v4, sizeof(uc->dst.v4));
			msg.msg_controllen = CMSG_SPACE(sizeof(uc->dst.v4));
		} else {
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(uc->dst.v6));
			memcpy(CMSG_DATA(cm), &uc->dst.v6, sizeof(uc->dst.v6));
			msg.msg_controllen = CMSG_SPACE(sizeof(uc->dst.v6));
		}
	}
	if (sendmsg(uc->lu->fd, &msg, 0) < 0)
		uc->lu->stats->udp_send_errors++;
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
