/*
 * ratelimit: queries per second per client address, over UDP (where the
 * source can be forged and a flood costs nothing to send). A fixed table
 * of counters: memory does not grow with the number of clients. A slot
 * counts for one client at a time; another client hashing to it takes it
 * over and starts from zero, so a collision can let queries through but
 * never holds a client below its limit.
 */
#ifndef MXCACHE_RATELIMIT_H
#define MXCACHE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct ratelimit;

/* qps per client: an IPv4 address, or an IPv6 /64. */
struct ratelimit *ratelimit_new(unsigned qps, const uint8_t seed[16]);
void ratelimit_free(struct ratelimit *rl);
void ratelimit_set_qps(struct ratelimit *rl, unsigned qps);

/* Counts one query from sa; false when it is over the limit. */
bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *sa, uint64_t now_ms);

#endif
