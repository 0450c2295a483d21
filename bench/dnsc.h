/*
 * dnsc: a non-blocking DNS client over UDP for load generation.
 *
 * Many queries in flight, each with a per-try timeout and a fixed number of
 * retries. Answers are matched by ID and question; anything else is counted
 * and dropped. A query ends exactly once: with the server's answer or with a
 * timeout after its last try, never with a made-up result.
 */
#ifndef MXBENCH_DNSC_H
#define MXBENCH_DNSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct dnsc_config {
	struct sockaddr_storage server;
	socklen_t server_len;
	int timeout_ms;	     /* per try */
	int retries;	     /* further tries after a timeout */
	size_t max_inflight; /* queries in flight at most */
	bool dnssec_ok;	     /* set DO in the queries */
};

enum dnsc_status { DNSC_ANSWER, DNSC_TIMEOUT };

struct dnsc_result {
	enum dnsc_status status;
	unsigned rcode;
	bool truncated;
	const uint8_t *pkt; /* the answer, valid during the callback only */
	size_t len;
	int64_t latency_ns; /* from the first try's send to the answer */
	unsigned tries;
	const uint8_t *qname; /* the question, valid during the callback only */
	size_t qname_len;
	uint16_t qtype;
};

typedef void dnsc_done_fn(void *arg, const struct dnsc_result *r);

struct dnsc_counters {
	uint64_t sent;	  /* queries, first tries only */
	uint64_t retries; /* further tries */
	uint64_t answers;
	uint64_t timeouts;    /* queries that got no answer after every try */
	uint64_t unmatched;   /* packets that answer no query in flight */
	uint64_t send_errors; /* the query stays in flight and may time out */
};

struct dnsc;

struct dnsc *dnsc_new(const struct dnsc_config *cfg);
void dnsc_free(struct dnsc *c);

/* Sends a query; fn is called once when it ends. False if max_inflight
 * queries are in flight already or the name is too long. */
bool dnsc_query(struct dnsc *c, const uint8_t *qname, size_t qlen, uint16_t qtype, dnsc_done_fn *fn,
		void *arg);

size_t dnsc_inflight(const struct dnsc *c);

/* Waits for answers until until_ns at the latest, handles what arrived and
 * what timed out, and returns (possibly early). -1 on a socket error. */
int dnsc_wait(struct dnsc *c, int64_t until_ns);

const struct dnsc_counters *dnsc_counters(const struct dnsc *c);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t dnsc_now_ns(void);

/* "127.0.0.1", "127.0.0.1@5300", "::1@53"; the port defaults to 53. */
bool dnsc_parse_server(const char *text, struct sockaddr_storage *ss, socklen_t *len);

#endif
