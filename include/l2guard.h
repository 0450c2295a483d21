/*
 * l2guard: bounds on what a Redis server can make hiredis 0.14 keep or
 * do, for the shared tier's connections (l2.h). hiredis asserts (and
 * aborts the daemon) on a reply to no request, builds an array's elements
 * however many are announced, and keeps a bulk reply in memory until its
 * last byte, however long (its reader has no limit). Attached to a
 * connection, the guard refuses the first two before they are built and
 * cuts off a reply whose buffered bytes pass a bound.
 */
#ifndef MXCACHE_L2GUARD_H
#define MXCACHE_L2GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/async.h>

/* Told why a reply was refused. drop false: from within hiredis, which
 * then drops the connection itself (as on a protocol error); drop true:
 * from the read event, outside hiredis, before anything more is read:
 * the callee must drop the connection. */
typedef void (*l2guard_cut)(redisAsyncContext *ac, const char *why, bool drop);

/* After redisLibevAttach: replies to ac are guarded, buffered replies at
 * most max_buf bytes (plus one read of 16 KiB). cut is the same for every
 * connection. */
void l2guard_attach(redisAsyncContext *ac, size_t max_buf, l2guard_cut cut);

#endif
