/*
 * listen_udp: a UDP socket on the loop, feeding datagrams to the query
 * engine. Replies leave from the address the query came to, also on a
 * wildcard bind (IP_PKTINFO). Datagrams are read in batches of up to 32
 * with recvmmsg, and the replies ready at once go out with one sendmmsg
 * per batch; replies after an upstream lookup are sent on their own.
 */
#ifndef MXCACHE_LISTEN_UDP_H
#define MXCACHE_LISTEN_UDP_H

#include <stddef.h>

struct ev_loop;
struct query_engine;
struct sock_addr;
struct stats;
struct listen_udp;

struct listen_udp *listen_udp_new(struct ev_loop *loop, const struct sock_addr *addr,
				  struct query_engine *qe, struct stats *stats, char *err,
				  size_t errlen);
void listen_udp_free(struct listen_udp *lu);

/* Stops reading queries (shutting down); answers still go out. */
void listen_udp_pause(struct listen_udp *lu);

#endif
