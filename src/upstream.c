/*
 * upstream: see include/upstream.h.
 */
#include "upstream.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unbound.h>
#include <unistd.h>

#include "wire.h"

struct upstream_ctx {
	struct ub_ctx *ctx;
	ev_io io;
	struct upstream_req *priming; /* ours, not a caller's: cancelled at free */
};

struct upstream {
	struct resolver base; /* first: the engine sees only this */
	struct upstream_ctx lanes[RESOLVER_LANES];
	struct ev_loop *loop;
	size_t in_flight;
	uint64_t queries; /* lookups the engine started here ("upstream.queries") */
	char *anchor;
};

/* The resolver's handle (struct resolver_req) is this. */
struct upstream_req {
	struct upstream *up;
	enum resolver_lane lane;
	resolver_cb cb;
	void *arg;
	int async_id;
};

/* Defaults a busy resolver needs, for both lanes; user options are
 * applied after these. libunbound's library worker never prefetches
 * (only the daemon's does), so "prefetch" would do nothing here. */
static const char *const upstream_defaults[][2] = {
    {"outgoing-range:", "4096"},
    {"infra-cache-max-rtt:", "3000"},
    /* With minimisation, a cold AAAA lookup below a known zone cut first
     * asks the full name with type A (one more round trip), so exchangers'
     * AAAA records would arrive a round trip after their A; the full name
     * only ever reaches the zone's own servers there. See README. */
    {"qname-minimisation:", "no"},
};

/*
 * libunbound's caches, each a share of --cache-size, so that one number
 * bounds the memory of all of them. Our own cache holds the answers, so
 * libunbound's message cache mostly duplicates it and stays small; its
 * RRset cache keeps the delegations (and the records CNAME chains and
 * validation need), the key cache the DNSSEC keys. The spare lane only
 * refreshes names in use: smaller shares.
 */
static const struct upstream_share {
	const char *option;
	unsigned main_div, spare_div;
	size_t min;
} upstream_shares[] = {
    {"rrset-cache-size:", 4, 16, 512u << 10},
    {"msg-cache-size:", 16, 64, 128u << 10},
    {"key-cache-size:", 16, 32, 128u << 10},
    {"neg-cache-size:", 64, 64, 64u << 10},
};

static int upstream_configure(struct upstream *up, struct ub_ctx *ctx, enum resolver_lane lane,
			      const struct upstream_options *opts, char *err, size_t errlen);
static int upstream_set(struct ub_ctx *ctx, const char *name, const char *value, char *err,
			size_t errlen);
static int upstream_set_table(struct ub_ctx *ctx, const char *const table[][2], size_t n, char *err,
			      size_t errlen);
static int upstream_set_sizes(struct ub_ctx *ctx, enum resolver_lane lane,
			      const struct upstream_options *opts, char *err, size_t errlen);
static int upstream_add_stub(struct ub_ctx *ctx, const char *spec, char *err, size_t errlen);
static int upstream_choose_anchor(struct upstream *up, const struct upstream_options *opts,
				  char *err, size_t errlen);
static int upstream_lane_new(struct upstream *up, enum resolver_lane lane,
			     const struct upstream_options *opts, char *err, size_t errlen);
static bool upstream_check_file(const char *path, const char *what, char *err, size_t errlen);
static void upstream_primed(void *arg, const struct resolver_result *res);
static void upstream_readable(struct ev_loop *loop, ev_io *w, int revents);
static void upstream_done(void *arg, int err, struct ub_result *result);
static struct upstream_req *upstream_resolve(struct upstream *up, enum resolver_lane lane,
					     const char *name, uint16_t qtype, uint16_t qclass,
					     resolver_cb cb, void *arg);
static void upstream_cancel(struct upstream *up, struct upstream_req *req);
static struct resolver_req *upstream_ops_resolve(struct resolver *r,
						 const struct resolver_question *q, resolver_cb cb,
						 void *arg);
static void upstream_ops_cancel(struct resolver *r, struct resolver_req *req);

static const struct resolver_ops upstream_ops = {
    .resolve = upstream_ops_resolve,
    .cancel = upstream_ops_cancel,
};

/* libunbound reads these files at the first lookup and does not cope with
 * a directory or a FIFO there: check now, while errors can be reported. */
static bool
upstream_check_file(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);

	if (!ok)
		snprintf(err, errlen, "%s %s: %s", what, path,
			 fd < 0 ? strerror(errno) : "not a regular file");
	if (fd >= 0)
		close(fd);
	return ok;
}

static int
upstream_set(struct ub_ctx *ctx, const char *name, const char *value, char *err, size_t errlen)
{
	int r = ub_ctx_set_option(ctx, name, value);

	if (r != 0)
		snprintf(err, errlen, "unbound option %s %s: %s", name, value, ub_strerror(r));
	return r;
}

static int
upstream_set_table(struct ub_ctx *ctx, const char *const table[][2], size_t n, char *err,
		   size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (upstream_set(ctx, table[i][0], table[i][1], err, errlen) != 0)
			return -1;
	return 0;
}

/* The cache shares, and room in libunbound's query list for every
 * lookup we may have in flight (each may need a few of its own for
 * delegations and keys). */
static int
upstream_set_sizes(struct ub_ctx *ctx, enum resolver_lane lane, const struct upstream_options *opts,
		   char *err, size_t errlen)
{
	char value[32];

	for (size_t i = 0; i < sizeof(upstream_shares) / sizeof(upstream_shares[0]); i++) {
		const struct upstream_share *sh = &upstream_shares[i];
		size_t bytes =
		    opts->cache_bytes / (lane == RESOLVER_SPARE ? sh->spare_div : sh->main_div);
		snprintf(value, sizeof(value), "%zu", bytes > sh->min ? bytes : sh->min);
		if (upstream_set(ctx, sh->option, value, err, errlen) != 0)
			return -1;
	}
	snprintf(value, sizeof(value), "%zu", 2 * (opts->max_lookups ? opts->max_lookups : 1024));
	return upstream_set(ctx, "num-queries-per-thread:", value, err, errlen);
}

static int
upstream_add_stub(struct ub_ctx *ctx, const char *spec, char *err, size_t errlen)
{
	char zone[256];
	const char *eq = strchr(spec, '=');
	int r;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(zone) || eq[1] == '\0') {
		snprintf(err, errlen, "stub '%s': expected ZONE=ADDR[@PORT]", spec);
		return -1;
	}
	memcpy(zone, spec, (size_t)(eq - spec));
	zone[eq - spec] = '\0';
	if ((r = ub_ctx_set_stub(ctx, zone, eq + 1, 0)) != 0) {
		snprintf(err, errlen, "stub '%s': %s", spec, ub_strerror(r));
		return -1;
	}
	return 0;
}

/*
 * The system root key only vouches for the real root: with other root
 * hints or a stub for ".", the default is no validation rather than
 * every answer bogus.
 */
static int
upstream_choose_anchor(struct upstream *up, const struct upstream_options *opts, char *err,
		       size_t errlen)
{
	const char *ta = opts->trust_anchor;

	if (!ta) {
		bool own_root = opts->root_hints != NULL;
		for (size_t i = 0; i < opts->nstubs; i++)
			own_root |= strncmp(opts->stubs[i], ".=", 2) == 0;
		ta = (!own_root && access(UPSTREAM_SYSTEM_ANCHOR, R_OK) == 0)
			 ? UPSTREAM_SYSTEM_ANCHOR
			 : "none";
	}
	if (!(up->anchor = strdup(ta))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strcmp(ta, "none") != 0 && !upstream_check_file(ta, "trust anchor", err, errlen))
		return -1;
	return 0;
}

static int
upstream_configure(struct upstream *up, struct ub_ctx *ctx, enum resolver_lane lane,
		   const struct upstream_options *opts, char *err, size_t errlen)
{
	bool local_servers = opts->root_hints || opts->nstubs || opts->nforwards;
	int r;

	if (upstream_set_table(ctx, upstream_defaults,
			       sizeof(upstream_defaults) / sizeof(upstream_defaults[0]), err,
			       errlen) != 0 ||
	    upstream_set_sizes(ctx, lane, opts, err, errlen) != 0)
		return -1;
	/* Servers the operator named may live on loopback (tests, a local
	 * authoritative server); for the real root, keep unbound's guard. */
	if (local_servers && upstream_set(ctx, "do-not-query-localhost:", "no", err, errlen) != 0)
		return -1;
	if (opts->root_hints) {
		if (!upstream_check_file(opts->root_hints, "root hints", err, errlen))
			return -1;
		if (upstream_set(ctx, "root-hints:", opts->root_hints, err, errlen) != 0)
			return -1;
	}
	for (size_t i = 0; i < opts->nstubs; i++)
		if (upstream_add_stub(ctx, opts->stubs[i], err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < opts->nforwards; i++) {
		r = ub_ctx_set_fwd(ctx, opts->forwards[i]);
		if (r != 0) {
			snprintf(err, errlen, "forward %s: %s", opts->forwards[i], ub_strerror(r));
			return -1;
		}
	}
	if (strcmp(up->anchor, "none") != 0 && (r = ub_ctx_add_ta_file(ctx, up->anchor)) != 0) {
		snprintf(err, errlen, "trust anchor %s: %s", up->anchor, ub_strerror(r));
		return -1;
	}
	for (size_t i = 0; i < opts->noptions; i++) {
		char name[128];
		const char *colon = strchr(opts->options[i], ':');
		size_t n = colon ? (size_t)(colon - opts->options[i]) + 1 : 0;
		if (n < 2 || n >= sizeof(name)) {
			snprintf(err, errlen, "unbound option '%s': expected NAME:VALUE",
				 opts->options[i]);
			return -1;
		}
		memcpy(name, opts->options[i], n);
		name[n] = '\0';
		if (upstream_set(ctx, name, colon + 1, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static int
upstream_lane_new(struct upstream *up, enum resolver_lane lane, const struct upstream_options *opts,
		  char *err, size_t errlen)
{
	struct upstream_ctx *l = &up->lanes[lane];
	int r;

	if (!(l->ctx = ub_ctx_create())) {
		snprintf(err, errlen, "cannot create the libunbound context");
		return -1;
	}
	if (upstream_configure(up, l->ctx, lane, opts, err, errlen) != 0)
		return -1;
	if ((r = ub_ctx_async(l->ctx, 1)) != 0) {
		snprintf(err, errlen, "libunbound threads: %s", ub_strerror(r));
		return -1;
	}
	/* libunbound reads root hints and trust anchors when it finalizes its
	 * context, normally at the first lookup: after privileges are dropped.
	 * Removing local data (none) finalizes it now, still as root, without
	 * starting its thread, and reports broken files at startup. */
	if ((r = ub_ctx_data_remove(l->ctx, "mxcache.invalid.")) != 0) {
		snprintf(err, errlen, "libunbound setup: %s", ub_strerror(r));
		return -1;
	}
	ev_io_init(&l->io, upstream_readable, ub_fd(l->ctx), EV_READ);
	l->io.data = l->ctx;
	ev_io_start(up->loop, &l->io);
	return 0;
}

struct upstream *
upstream_new(struct ev_loop *loop, const struct upstream_options *opts, char *err, size_t errlen)
{
	struct upstream *up = calloc(1, sizeof(*up));

	if (!up) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	up->base.ops = &upstream_ops;
	up->loop = loop;
	if (upstream_choose_anchor(up, opts, err, errlen) != 0)
		goto fail;
	for (int lane = 0; lane < RESOLVER_LANES; lane++)
		if (upstream_lane_new(up, (enum resolver_lane)lane, opts, err, errlen) != 0)
			goto fail;
	return up;
fail:
	upstream_free(up);
	return NULL;
}

void
upstream_free(struct upstream *up)
{
	if (!up)
		return;
	for (int lane = 0; lane < RESOLVER_LANES; lane++) {
		struct upstream_ctx *l = &up->lanes[lane];
		if (l->priming)
			upstream_cancel(up, l->priming);
		if (l->ctx) {
			ev_io_stop(up->loop, &l->io);
			ub_ctx_delete(l->ctx);
		}
	}
	free(up->anchor);
	free(up);
}

static void
upstream_primed(void *arg, const struct resolver_result *res)
{
	struct upstream_req **slot = arg;

	(void)res;
	*slot = NULL;
}

bool
upstream_start(struct upstream *up, char *err, size_t errlen)
{
	for (int lane = 0; lane < RESOLVER_LANES; lane++) {
		struct upstream_ctx *l = &up->lanes[lane];
		if (!(l->priming = upstream_resolve(up, (enum resolver_lane)lane, ".", 2 /* NS */,
						    1 /* IN */, upstream_primed, &l->priming))) {
			snprintf(err, errlen, "libunbound: cannot start its resolver thread");
			return false;
		}
	}
	return true;
}

const char *
upstream_anchor(const struct upstream *up)
{
	return up->anchor;
}

size_t
upstream_in_flight(const struct upstream *up)
{
	return up->in_flight;
}

uint64_t
upstream_queries(const struct upstream *up)
{
	return up->queries;
}

void
upstream_reset_stats(struct upstream *up)
{
	up->queries = 0;
}

static void
upstream_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	ub_process(w->data);
}

static void
upstream_done(void *arg, int err, struct ub_result *result)
{
	struct upstream_req *req = arg;
	struct resolver_result res = {.ok = false};

	if (err == 0 && result && result->answer_packet && result->answer_len > 12) {
		res.ok = true;
		res.pkt = result->answer_packet;
		res.len = (size_t)result->answer_len;
		res.secure = result->secure != 0;
		res.bogus = result->bogus != 0;
		res.why_bogus = result->why_bogus;
	}
	res.lane = req->lane;
	req->up->in_flight--;
	req->cb(req->arg, &res);
	if (result)
		ub_resolve_free(result);
	free(req);
}

static struct upstream_req *
upstream_resolve(struct upstream *up, enum resolver_lane lane, const char *name, uint16_t qtype,
		 uint16_t qclass, resolver_cb cb, void *arg)
{
	struct upstream_req *req = malloc(sizeof(*req));

	if (!req)
		return NULL;
	req->up = up;
	req->lane = lane;
	req->cb = cb;
	req->arg = arg;
	if (ub_resolve_async(up->lanes[lane].ctx, name, qtype, qclass, req, upstream_done,
			     &req->async_id) != 0) {
		free(req);
		return NULL;
	}
	up->in_flight++;
	return req;
}

static void
upstream_cancel(struct upstream *up, struct upstream_req *req)
{
	if (!req)
		return;
	/* Whether or not libunbound still knew the id, it will not call back
	 * for it once ub_cancel returns: the request is ours to free. */
	(void)ub_cancel(up->lanes[req->lane].ctx, req->async_id);
	up->in_flight--;
	free(req);
}

struct resolver *
upstream_resolver(struct upstream *up)
{
	return &up->base;
}

/* libunbound takes names as text. */
static struct resolver_req *
upstream_ops_resolve(struct resolver *r, const struct resolver_question *q, resolver_cb cb,
		     void *arg)
{
	struct upstream *up = (struct upstream *)r;
	struct upstream_req *req;
	char text[WIRE_NAME_TEXT_MAX];

	if (!wire_name_to_text(q->name, q->name_len, text, sizeof(text)) ||
	    !(req = upstream_resolve(up, q->lane, text, q->qtype, q->qclass, cb, arg)))
		return NULL;
	up->queries++;
	return (struct resolver_req *)req;
}

static void
upstream_ops_cancel(struct resolver *r, struct resolver_req *req)
{
	upstream_cancel((struct upstream *)r, (struct upstream_req *)req);
}
