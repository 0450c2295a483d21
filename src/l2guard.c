/*
 * l2guard: what a Redis server can make hiredis keep. See include/l2guard.h.
 */
#include "l2guard.h"

#include <ev.h>

#include <hiredis/hiredis.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <hiredis/adapters/libev.h>
#pragma GCC diagnostic pop

static bool l2guard_wanted(const redisReadTask *t, bool array);
static void *l2guard_string(const redisReadTask *t, char *str, size_t len);
static void *l2guard_array(const redisReadTask *t, int elements);
static void *l2guard_integer(const redisReadTask *t, long long value);
static void *l2guard_nil(const redisReadTask *t);
static void l2guard_read(struct ev_loop *loop, ev_io *w, int revents);

/* hiredis's reply builders, and ours in front of them. */
static const redisReplyObjectFunctions *l2guard_hiredis;
static redisReplyObjectFunctions l2guard_fns = {
    .createString = l2guard_string,
    .createArray = l2guard_array,
    .createInteger = l2guard_integer,
    .createNil = l2guard_nil,
};
static l2guard_cut l2guard_cb;
static size_t l2guard_max_buf;

void
l2guard_attach(redisAsyncContext *ac, size_t max_buf, l2guard_cut cut)
{
	redisLibevEvents *e = ac->ev.data;

	if (!l2guard_hiredis) {
		l2guard_hiredis = ac->c.reader->fn;
		l2guard_fns.freeObject = l2guard_hiredis->freeObject;
	}
	l2guard_cb = cut;
	l2guard_max_buf = max_buf;
	ac->c.reader->fn = &l2guard_fns;
	ac->c.reader->privdata = ac;
	ev_set_cb(&e->rev, l2guard_read);
}

/* No command of ours is answered with an array; a top-level reply with no
 * callback waiting is one nobody asked for (errors excepted: hiredis
 * handles those, "max clients reached" and the like). */
static bool
l2guard_wanted(const redisReadTask *t, bool array)
{
	redisAsyncContext *ac = t->privdata;
	const char *why;

	if (array)
		why = "an array reply";
	else if (!t->parent && !ac->replies.head && t->type != REDIS_REPLY_ERROR)
		why = "a reply to no request";
	else
		return true;
	l2guard_cb(ac, why, false);
	return false;
}

static void *
l2guard_string(const redisReadTask *t, char *str, size_t len)
{
	return l2guard_wanted(t, false) ? l2guard_hiredis->createString(t, str, len) : NULL;
}

static void *
l2guard_array(const redisReadTask *t, int elements)
{
	return l2guard_wanted(t, true) ? l2guard_hiredis->createArray(t, elements) : NULL;
}

static void *
l2guard_integer(const redisReadTask *t, long long value)
{
	return l2guard_wanted(t, false) ? l2guard_hiredis->createInteger(t, value) : NULL;
}

static void *
l2guard_nil(const redisReadTask *t)
{
	return l2guard_wanted(t, false) ? l2guard_hiredis->createNil(t) : NULL;
}

/* The bound is checked before each read (the context is alive while its
 * watcher is): hiredis reads 16 KiB at a time, so a reply that never
 * ends is cut off with little more than the bound in memory. */
static void
l2guard_read(struct ev_loop *loop, ev_io *w, int revents)
{
	const redisLibevEvents *e = w->data;
	redisAsyncContext *ac = e->context;
	const redisReader *r = ac->c.reader;

	if (r->len - r->pos > l2guard_max_buf) {
		l2guard_cb(ac, "a reply larger than any value", true);
		return;
	}
	redisLibevReadEvent(loop, w, revents);
}
