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

struct upstream {
	struct ub_ctx *ctx;
	struct ev_loop *loop;
	ev_io io;
	size_t in_flight;
	char *anchor;
	struct upstream_req *priming; /* ours, not a caller's: cancelled at free */
};

struct upstream_req {
	struct upstream *up;
	upstream_cb cb;
	void *arg;
	int async_id;
};

/* Defaults a busy resolver needs; user options are applied after these. */
static const char *const upstream_defaults[][2] = {
    {"outgoing-range:", "4096"},
    {"num-queries-per-thread:", "2048"},
    {"infra-cache-max-rtt:", "3000"},
    {"msg-cache-size:", "8m"},
    {"rrset-cache-size:", "16m"},
    /* A lookup in the last tenth of a TTL refreshes libunbound's cache in
     * the background: what makes our own near-expiry refresh pay off. */
    {"prefetch:", "yes"},
    /* With minimisation, a cold AAAA lookup below a known zone cut first
     * asks the full name with type A (one more round trip), so exchangers'
     * AAAA records would arrive a round trip after their A; the full name
     * only ever reaches the zone's own servers there. See README. */
    {"qname-minimisation:", "no"},
};

static int upstream_configure(struct upstream *up, const struct upstream_options *opts, char *err,
			      size_t errlen);
static int upstream_set(struct upstream *up, const char *name, const char *value, char *err,
			size_t errlen);
static int upstream_add_stub(struct upstream *up, const char *spec, char *err, size_t errlen);
static int upstream_set_anchor(struct upstream *up, const struct upstream_options *opts, char *err,
			       size_t errlen);
static bool upstream_check_file(const char *path, const char *what, char *err, size_t errlen);
static void upstream_primed(void *arg, const struct upstream_result *res);
static void upstream_readable(struct ev_loop *loop, ev_io *w, int revents);
static void upstream_done(void *arg, int err, struct ub_result *result);

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
upstream_set(struct upstream *up, const char *name, const char *value, char *err, size_t errlen)
{
	int r = ub_ctx_set_option(up->ctx, name, value);

	if (r != 0)
		snprintf(err, errlen, "unbound option %s %s: %s", name, value, ub_strerror(r));
	return r;
}

static int
upstream_add_stub(struct upstream *up, const char *spec, char *err, size_t errlen)
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
	if ((r = ub_ctx_set_stub(up->ctx, zone, eq + 1, 0)) != 0) {
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
upstream_set_anchor(struct upstream *up, const struct upstream_options *opts, char *err,
		    size_t errlen)
{
	const char *ta = opts->trust_anchor;
	int r;

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
	if (strcmp(ta, "none") == 0)
		return 0;
	if (!upstream_check_file(ta, "trust anchor", err, errlen))
		return -1;
	if ((r = ub_ctx_add_ta_file(up->ctx, ta)) != 0) {
		snprintf(err, errlen, "trust anchor %s: %s", ta, ub_strerror(r));
		return -1;
	}
	return 0;
}

static int
upstream_configure(struct upstream *up, const struct upstream_options *opts, char *err,
		   size_t errlen)
{
	bool local_servers = opts->root_hints || opts->nstubs || opts->nforwards;

	for (size_t i = 0; i < sizeof(upstream_defaults) / sizeof(upstream_defaults[0]); i++)
		if (upstream_set(up, upstream_defaults[i][0], upstream_defaults[i][1], err,
				 errlen) != 0)
			return -1;
	/* Servers the operator named may live on loopback (tests, a local
	 * authoritative server); for the real root, keep unbound's guard. */
	if (local_servers && upstream_set(up, "do-not-query-localhost:", "no", err, errlen) != 0)
		return -1;
	if (opts->root_hints) {
		if (!upstream_check_file(opts->root_hints, "root hints", err, errlen))
			return -1;
		if (upstream_set(up, "root-hints:", opts->root_hints, err, errlen) != 0)
			return -1;
	}
	for (size_t i = 0; i < opts->nstubs; i++)
		if (upstream_add_stub(up, opts->stubs[i], err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < opts->nforwards; i++) {
		int r = ub_ctx_set_fwd(up->ctx, opts->forwards[i]);
		if (r != 0) {
			snprintf(err, errlen, "forward %s: %s", opts->forwards[i], ub_strerror(r));
			return -1;
		}
	}
	if (upstream_set_anchor(up, opts, err, errlen) != 0)
		return -1;
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
		if (upstream_set(up, name, colon + 1, err, errlen) != 0)
			return -1;
	}
	return 0;
}

struct upstream *
upstream_new(struct ev_loop *loop, const struct upstream_options *opts, char *err, size_t errlen)
{
	struct upstream *up = calloc(1, sizeof(*up));
	int r;

	if (!up || !(up->ctx = ub_ctx_create())) {
		snprintf(err, errlen, "cannot create the libunbound context");
		free(up);
		return NULL;
	}
	up->loop = loop;
	if (upstream_configure(up, opts, err, errlen) != 0)
		goto fail;
	if ((r = ub_ctx_async(up->ctx, 1)) != 0) {
		snprintf(err, errlen, "libunbound threads: %s", ub_strerror(r));
		goto fail;
	}
	/* libunbound reads root hints and trust anchors when it finalizes its
	 * context, normally at the first lookup: after privileges are dropped.
	 * Removing local data (none) finalizes it now, still as root, without
	 * starting its thread, and reports broken files at startup. */
	if ((r = ub_ctx_data_remove(up->ctx, "mxcache.invalid.")) != 0) {
		snprintf(err, errlen, "libunbound setup: %s", ub_strerror(r));
		goto fail;
	}
	ev_io_init(&up->io, upstream_readable, ub_fd(up->ctx), EV_READ);
	up->io.data = up;
	ev_io_start(loop, &up->io);
	return up;
fail:
	ub_ctx_delete(up->ctx);
	free(up->anchor);
	free(up);
	return NULL;
}

void
upstream_free(struct upstream *up)
{
	if (!up)
		return;
	if (up->priming)
		upstream_cancel(up, up->priming);
	ev_io_stop(up->loop, &up->io);
	ub_ctx_delete(up->ctx);
	free(up->anchor);
	free(up);
}

static void
upstream_primed(void *arg, const struct upstream_result *res)
{
	struct upstream *up = arg;

	(void)res;
	up->priming = NULL;
}

bool
upstream_start(struct upstream *up, char *err, size_t errlen)
{
	if (!(up->priming =
		  upstream_resolve(up, ".", 2 /* NS */, 1 /* IN */, upstream_primed, up))) {
		snprintf(err, errlen, "libunbound: cannot start its resolver thread");
		return false;
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

static void
upstream_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct upstream *up = w->data;

	(void)loop;
	(void)revents;
	ub_process(up->ctx);
}

static void
upstream_done(void *arg, int err, struct ub_result *result)
{
	struct upstream_req *req = arg;
	struct upstream_result res = {.ok = false};

	if (err == 0 && result && result->answer_packet && result->answer_len > 12) {
		res.ok = true;
		res.pkt = result->answer_packet;
		res.len = (size_t)result->answer_len;
		res.secure = result->secure != 0;
		res.bogus = result->bogus != 0;
		res.why_bogus = result->why_bogus;
	}
	req->up->in_flight--;
	req->cb(req->arg, &res);
	if (result)
		ub_resolve_free(result);
	free(req);
}

struct upstream_req *
upstream_resolve(struct upstream *up, const char *name, uint16_t qtype, uint16_t qclass,
		 upstream_cb cb, void *arg)
{
	struct upstream_req *req = malloc(sizeof(*req));

	if (!req)
		return NULL;
	req->up = up;
	req->cb = cb;
	req->arg = arg;
	if (ub_resolve_async(up->ctx, name, qtype, qclass, req, upstream_done, &req->async_id) !=
	    0) {
		free(req);
		return NULL;
	}
	up->in_flight++;
	return req;
}

void
upstream_cancel(struct upstream *up, struct upstream_req *req)
{
	/* Whether or not libunbound still knew the id, it will not call back
	 * for it once ub_cancel returns: the request is ours to free. */
	(void)ub_cancel(up->ctx, req->async_id);
	up->in_flight--;
	free(req);
}
