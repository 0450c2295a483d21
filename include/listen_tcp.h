/*
 * listen_tcp: DNS over TCP (RFC 7766). Two-byte length framing, several
 * queries per connection answered as each is ready (out of order), an idle
 * timeout, a write deadline, a cap on connections and on queries pending
 * per connection, optionally on connections per client. Clients outside
 * the allow list are closed on accept, before anything is read from them.
 */
#ifndef MXCACHE_LISTEN_TCP_H
#define MXCACHE_LISTEN_TCP_H

#include <stddef.h>

struct ev_loop;
struct query_engine;
struct sock_addr;
struct stats;
struct listen_tcp;

struct listen_tcp_options {
	unsigned max_conns;	 /* per listener; new connections beyond are closed */
	unsigned max_per_client; /* the same from one client (sock_client_key); 0: no cap */
	unsigned idle_ms;	 /* close a connection quiet this long */
	unsigned write_ms;	 /* reset one whose pending output is not taken this long */
	unsigned max_pending;	 /* queries of one connection in flight at most */
};

struct listen_tcp *listen_tcp_new(struct ev_loop *loop, const struct sock_addr *addr,
				  const struct listen_tcp_options *opts, struct query_engine *qe,
				  struct stats *stats, char *err, size_t errlen);

/* Stops accepting and closes every connection; pending answers are dropped. */
void listen_tcp_free(struct listen_tcp *lt);

/* Stops accepting connections and reading queries (shutting down);
 * answers to queries already read still go out. */
void listen_tcp_pause(struct listen_tcp *lt);

#endif
