/*
 * stream: the part every stream-socket server of the daemon shares (the
 * control socket, DNS over TCP, the metrics endpoint): accepting, backing
 * off while descriptors run out, the list of connections, a deadline and
 * a bounded output queue per connection. What a connection reads and
 * answers is the caller's, through stream_ops.
 *
 * Both structures are embedded in the caller's own (container_of style):
 * no allocation here, and a caller may keep its connection alive past
 * the socket (listen_tcp does, for queries still in the engine). Nothing
 * here logs; errors are returned.
 */
#ifndef MXCACHE_STREAM_H
#define MXCACHE_STREAM_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "buf.h"

struct stream_server;
struct stream_conn;

struct stream_ops {
	/* A connection from peer: take it with stream_open and return true,
	 * or return false and it is closed unread. */
	bool (*accept)(struct stream_server *srv, int fd, const struct sockaddr *peer,
		       socklen_t peerlen);
	void (*readable)(struct stream_conn *sc);
	/* Output went out (written bytes of it); the watcher stops once the
	 * queue is empty. NULL: nothing to do. */
	void (*writable)(struct stream_conn *sc, size_t written);
	/* The deadline set with stream_deadline passed. */
	void (*expired)(struct stream_conn *sc);
	/* The socket is closed and sc unlinked: free what embeds it. */
	void (*closed)(struct stream_conn *sc);
};

struct stream_server {
	struct ev_loop *loop;
	const struct stream_ops *ops;
	ev_io io;
	ev_timer backoff; /* accepting again after running out of descriptors */
	int fd;
	bool paused;
	struct stream_conn *conns;
	unsigned nconns;
};

struct stream_conn {
	struct stream_server *srv;
	struct stream_conn *prev;
	struct stream_conn *next;
	int fd; /* -1 once closed */
	ev_io rio;
	ev_io wio;
	ev_timer deadline;
	struct buf out;
};

/* The caller's structure that embeds p as member. */
#define STREAM_OWNER(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))

enum stream_read { STREAM_DATA, STREAM_AGAIN, STREAM_EOF, STREAM_ERROR };

/* Starts accepting on the listening socket fd, which srv then owns. */
void stream_start(struct stream_server *srv, struct ev_loop *loop, int fd,
		  const struct stream_ops *ops);

/* Stops accepting for good; connections carry on. */
void stream_pause(struct stream_server *srv);

/* Stops accepting, closes the listening socket and every connection. */
void stream_stop(struct stream_server *srv);

/* From ops->accept: links sc, reading on, output bounded by max_output. */
void stream_open(struct stream_server *srv, struct stream_conn *sc, int fd, size_t max_output);

/* Reads into p; *got is set for STREAM_DATA. */
enum stream_read stream_read(struct stream_conn *sc, void *p, size_t room, size_t *got);

/* Whether the read watcher runs. */
void stream_reading(struct stream_conn *sc, bool on);

/* Queues output and asks to be told when the socket takes it; false when
 * it would pass the bound (or memory runs out). */
bool stream_queue(struct stream_conn *sc, const void *p, size_t n);

/* Writes what the socket takes; the write watcher runs while output is
 * left. Bytes written, or -1 on a real error (the caller closes). */
ssize_t stream_flush(struct stream_conn *sc);

/* (Re)arms the one deadline, seconds from now; ops->expired then. */
void stream_deadline(struct stream_conn *sc, double seconds);

/* Closes the socket (reset: abortively, dropping the kernel's copy of
 * unsent output), unlinks sc, then ops->closed. Once only. */
void stream_close(struct stream_conn *sc, bool reset);

#endif
