/*
 * mxcached: wires the modules together and runs the loop.
 *
 *   listen_udp/listen_tcp -> query (acl, ratelimit, cache, inflight) -> reply -> client
 *                                  `-> resolver: [l2 (Redis) ->] upstream (libunbound)
 *                                  `-> chaser (MX, PTR, SPF answers) -> query_prefetch
 *   control (JSON socket) -> stats, cache, route
 *
 * Signals: TERM/INT stop reading queries, let the lookups in flight finish
 * (clients' and the chaser's, at most one query timeout), save the cache
 * file, exit 0; a second one exits at once. HUP reloads the allow list, cache limits, TTL clamps,
 * stale and rate limit settings and the Redis addresses from the same command line and config
 * file.
 */
#include <errno.h>
#include <ev.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "acl.h"
#include "budget.h"
#include "cache.h"
#include "chaser.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "listen_tcp.h"
#include "l2.h"
#include "listen_udp.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "persist.h"
#include "proc.h"
#include "query.h"
#include "ratelimit.h"
#include "servfail.h"
#include "stats.h"
#include "stats_keys.h"
#include "upstream.h"

#define MAIN_SWEEP_SECONDS 1.0
#define MAIN_DRAIN_POLL_SECONDS 0.02

struct mxcached {
	int argc;
	char **argv;
	struct config cfg;
	struct ev_loop *loop;
	struct stats stats;
	struct acl *acl;
	struct ratelimit *rl;
	struct budget *budget;
	struct cache *cache;
	struct upstream *up;
	struct l2 *l2; /* NULL without --redis */
	struct query_engine *qe;
	struct chaser *chaser;
	struct control_ctx cctx; /* what the control socket and the status line read */
	struct control *ctl;
	struct metrics *metrics;
	struct notify *notify;
	struct servfail_log servfail;
	size_t nlisten;
	struct listen_udp **udp;
	struct listen_tcp **tcp;
	uint64_t anchor_id; /* persist_anchor_id of the trust anchor in force */
	bool anchor_known;
	bool validating; /* anchor known and not "none" */
	bool draining;
	uint64_t drain_deadline_ms;
	ev_timer sweep;
	ev_timer drain;
	ev_signal sigterm;
	ev_signal sigint;
	ev_signal sighup;
};

static struct acl *mxcached_acl(const struct config *cfg, char *err, size_t errlen);
static void mxcached_setup(struct mxcached *d);
static void mxcached_start(struct mxcached *d);
static void mxcached_status(void *arg, char *buf, size_t len);
static void mxcached_listen(struct mxcached *d);
static void mxcached_load_cache(struct mxcached *d);
static struct resolver *mxcached_resolver(struct mxcached *d);
static void mxcached_check_cache_dir(const struct mxcached *d);
static void mxcached_save_cache(struct mxcached *d);
static void mxcached_apply(struct mxcached *d, const struct config *cfg);
static void mxcached_teardown(struct mxcached *d);
static void mxcached_sweep(struct ev_loop *loop, ev_timer *w, int revents);
static void mxcached_stop(struct ev_loop *loop, ev_signal *w, int revents);
static void mxcached_drained(struct ev_loop *loop, ev_timer *w, int revents);
static void mxcached_reload(struct ev_loop *loop, ev_signal *w, int revents);

static void
mxcached_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mxcached *d = w->data;

	(void)loop;
	(void)revents;
	cache_expire(d->cache, clock_us() / 1000u);
}

static void
mxcached_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct mxcached *d = w->data;

	(void)revents;
	if (d->draining) {
		log_info("signal %d again: exiting now", w->signum);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("signal %d: finishing %zu queries in flight (%zu lookups), then exiting",
		 w->signum, query_waiting(d->qe), query_inflight(d->qe));
	(void)notify_send(d->notify, "STOPPING=1");
	d->draining = true;
	d->drain_deadline_ms = clock_us() / 1000u + d->cfg.query.timeout_ms;
	for (size_t i = 0; i < d->nlisten; i++) {
		listen_udp_pause(d->udp[i]);
		listen_tcp_pause(d->tcp[i]);
	}
	ev_timer_start(loop, &d->drain);
}

static void
mxcached_drained(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mxcached *d = w->data;

	(void)revents;
	/* Lookups no client waits for (the chaser's, refreshes) count too:
	 * their answers are what the cache file should keep. */
	if (query_inflight(d->qe) == 0 || clock_us() / 1000u >= d->drain_deadline_ms)
		ev_break(loop, EVBREAK_ALL);
}

static struct acl *
mxcached_acl(const struct config *cfg, char *err, size_t errlen)
{
	struct acl *acl = acl_new();

	if (!acl || !acl_add(acl, "127.0.0.0/8") || !acl_add(acl, "::1")) {
		snprintf(err, errlen, "out of memory");
		acl_free(acl);
		return NULL;
	}
	for (size_t i = 0; i < cfg->nallow; i++) {
		if (!acl_add(acl, cfg->allow[i])) {
			snprintf(err, errlen, "--allow: '%s' is not an address or CIDR",
				 cfg->allow[i]);
			acl_free(acl);
			return NULL;
		}
	}
	return acl;
}

/* What a reload may change; everything else needs a restart. */
static void
mxcached_apply(struct mxcached *d, const struct config *cfg)
{
	cache_set_max_bytes(d->cache, cfg->cache_size);
	cache_set_stale(d->cache, cfg->query.serve_stale ? cfg->stale_max_age : 0);
	query_set_options(d->qe, &cfg->query);
	if (cfg->ratelimit && !d->rl) {
		uint8_t seed[16];
		if (getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed))
			d->rl = ratelimit_new(cfg->ratelimit, seed);
	} else if (d->rl) {
		ratelimit_set_qps(d->rl, cfg->ratelimit);
	}
	query_set_ratelimit(d->qe, cfg->ratelimit ? d->rl : NULL);
	budget_set_options(d->budget, &cfg->budget);
	d->servfail.enabled = cfg->log_servfail;
	if (d->l2)
		l2_set_options(d->l2, &cfg->l2);
	else if (cfg->l2.addr)
		log_warn("reload: --redis %s takes effect on restart", cfg->l2.addr);
}

static void
mxcached_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct mxcached *d = w->data;
	struct config next;
	struct acl *acl;
	char err[512];

	(void)loop;
	(void)revents;
	log_reopen();
	(void)notify_send(d->notify, "RELOADING=1");
	if (config_load(&next, d->argc, d->argv, err, sizeof(err)) != CONFIG_OK ||
	    !(acl = mxcached_acl(&next, err, sizeof(err)))) {
		log_error("reload: %s; keeping the running configuration", err);
		config_free(&next);
		(void)notify_send(d->notify, "READY=1");
		return;
	}
	query_set_acl(d->qe, acl);
	metrics_set_acl(d->metrics, acl);
	acl_free(d->acl);
	d->acl = acl;
	mxcached_apply(d, &next);
	/* The cache file stays the one loaded at start (and checked then). */
	char *cache_file = next.cache_file;
	next.cache_file = d->cfg.cache_file;
	d->cfg.cache_file = cache_file;
	/* Every module keeps its own copy of what it was started with. */
	config_free(&d->cfg);
	d->cfg = next;
	log_info("reloaded: %zu allowed networks, cache %zu bytes, serve-stale %s, ratelimit %u "
		 "(listeners, upstream, control socket, cache file, user and --redis-secret change "
		 "on restart)",
		 d->cfg.nallow, d->cfg.cache_size, d->cfg.query.serve_stale ? "on" : "off",
		 d->cfg.ratelimit);
	(void)notify_send(d->notify, "READY=1");
}

/* The line `systemctl status` shows. */
static void
mxcached_status(void *arg, char *buf, size_t len)
{
	const struct mxcached *d = arg;
	struct stats_view *v = malloc(sizeof(*v));

	if (!v) {
		snprintf(buf, len, "running");
		return;
	}
	control_stats_view(&d->cctx, v);
	stats_summary(v, buf, len);
	free(v);
}

/* Runs as root, before the drop: the file is checked as hostile input
 * (see persist.h), and must belong to root or to the user we become. */
static void
mxcached_load_cache(struct mxcached *d)
{
	const struct query_options *q = &d->cfg.query;
	struct persist_policy policy = {.min_ttl = q->min_ttl,
					.max_ttl = q->max_ttl,
					.max_negative_ttl = q->max_negative_ttl,
					.owner = geteuid()};
	struct persist_report rep;
	char err[512];
	gid_t gid;

	if (!d->cfg.cache_file)
		return;
	if (!d->anchor_known)
		log_warn("cache file: secure status is not restored (trust anchor unknown)");
	policy.anchor_id = d->anchor_id;
	policy.validating = d->validating;
	if (d->cfg.user && !proc_lookup_user(d->cfg.user, &policy.owner, &gid, err, sizeof(err)))
		log_fatal("%s", err);
	switch (persist_load(d->cache, d->cfg.cache_file, &policy, clock_us() / 1000u,
			     clock_wall_ms(), &rep, err, sizeof(err))) {
	case PERSIST_LOADED:
		log_info("cache file %s: %zu entries loaded (%zu expired, %zu no longer secure)",
			 d->cfg.cache_file, rep.loaded, rep.expired, rep.unsecured);
		break;
	case PERSIST_ABSENT:
		log_debug("cache file %s: none yet", d->cfg.cache_file);
		break;
	case PERSIST_REJECTED:
		log_warn("cache file: %s; starting with an empty cache", err);
		break;
	}
}

/* Saving happens as --user: say now, not at shutdown, if it cannot be. */
static void
mxcached_check_cache_dir(const struct mxcached *d)
{
	char *dir;

	if (!d->cfg.cache_file || !(dir = strdup(d->cfg.cache_file)))
		return;
	if (access(dirname(dir), W_OK | X_OK) != 0)
		log_warn("cache file %s: its directory is not writable by %s (%s); the cache "
			 "will not be saved",
			 d->cfg.cache_file, d->cfg.user, strerror(errno));
	free(dir);
}

static void
mxcached_save_cache(struct mxcached *d)
{
	char err[512];
	size_t saved;

	if (!d->cfg.cache_file)
		return;
	/* An unknown anchor is saved as 0, which no anchor matches. */
	if (persist_save(d->cache, d->cfg.cache_file, d->anchor_known ? d->anchor_id : 0,
			 clock_us() / 1000u, clock_wall_ms(), &saved, err, sizeof(err)))
		log_info("cache file %s: %zu entries saved", d->cfg.cache_file, saved);
	else
		log_error("cache file: %s", err);
}

/* What the engine asks: upstream, behind the shared tier with --redis.
 * Both the cache file and the tier trust a secure status only under the
 * trust anchor it was validated with. */
static struct resolver *
mxcached_resolver(struct mxcached *d)
{
	char err[512];

	d->anchor_known =
	    persist_anchor_id(upstream_anchor(d->up), &d->anchor_id, err, sizeof(err));
	if (!d->anchor_known && (d->cfg.cache_file || d->cfg.l2.addr))
		log_warn("%s", err);
	d->validating = d->anchor_known && strcmp(upstream_anchor(d->up), "none") != 0;
	if (!d->cfg.l2.addr)
		return upstream_resolver(d->up);
	if (!(d->l2 = l2_new(d->loop, &d->cfg.l2, upstream_resolver(d->up), d->anchor_id,
			     d->validating, err, sizeof(err))))
		log_fatal("%s", err);
	return l2_resolver(d->l2);
}

static void
mxcached_setup(struct mxcached *d)
{
	uint8_t seed[16];
	char err[512];

	if (!(d->loop = ev_default_loop(EVFLAG_AUTO)))
		log_fatal("cannot create the event loop");
	if (!(d->acl = mxcached_acl(&d->cfg, err, sizeof(err))))
		log_fatal("%s", err);
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		log_fatal("getrandom: %s", strerror(errno));
	if (!(d->cache = cache_new(d->cfg.cache_size, seed)))
		log_fatal("out of memory");
	if (!(d->up = upstream_new(d->loop, &d->cfg.upstream, err, sizeof(err))))
		log_fatal("%s", err);
	if (!(d->qe = query_new(d->loop, &d->cfg.query, d->cache, mxcached_resolver(d), d->acl,
				&d->stats)))
		log_fatal("out of memory");
	/* Every lookup in flight pins at most one zone; a second's worth of
	 * background starts may pin more. */
	if (!(d->budget = budget_new(&d->cfg.budget, d->cfg.query.max_inflight +
							 d->cfg.query.max_background + 4096)))
		log_fatal("out of memory");
	query_set_budget(d->qe, d->budget);
	mxcached_apply(d, &d->cfg);
	mxcached_load_cache(d);
	if (d->cfg.chase_tlsa < 0)
		d->cfg.chaser.tlsa = strcmp(upstream_anchor(d->up), "none") != 0;
	else
		d->cfg.chaser.tlsa = d->cfg.chase_tlsa;
	if (!(d->chaser = chaser_new(&d->cfg.chaser, d->qe, d->cache, &d->stats)))
		log_fatal("out of memory");
	query_set_hooks(d->qe, &(struct query_hooks){.answered = chaser_answered,
						     .additional = chaser_additional,
						     .tagged_hit = chaser_tagged_hit,
						     .arg = d->chaser,
						     .servfail = servfail_note,
						     .servfail_arg = &d->servfail});
	d->cctx = (struct control_ctx){.loop = d->loop,
				       .stats = &d->stats,
				       .cache = d->cache,
				       .up = d->up,
				       .l2 = d->l2,
				       .qe = d->qe,
				       .chaser = d->chaser,
				       .started_us = clock_us()};
	/* Asked for by name, the socket must work; the default one is a
	 * convenience (another daemon may hold it): warn and run without. */
	if (!(d->ctl = control_new(d->loop, d->cfg.control_path, &d->cctx, err, sizeof(err)))) {
		if (!d->cfg.control_default)
			log_fatal("%s", err);
		log_warn("%s; running without a control socket (see -s)", err);
	}
	if (d->cfg.metrics_on && !(d->metrics = metrics_new(d->loop, &d->cfg.metrics, d->acl,
							    &d->cctx, err, sizeof(err))))
		log_fatal("--metrics: %s", err);
	mxcached_listen(d);

	ev_timer_init(&d->sweep, mxcached_sweep, MAIN_SWEEP_SECONDS, MAIN_SWEEP_SECONDS);
	ev_timer_init(&d->drain, mxcached_drained, 0.0, MAIN_DRAIN_POLL_SECONDS);
	ev_signal_init(&d->sigterm, mxcached_stop, SIGTERM);
	ev_signal_init(&d->sigint, mxcached_stop, SIGINT);
	ev_signal_init(&d->sighup, mxcached_reload, SIGHUP);
	d->sweep.data = d->drain.data = d->sigterm.data = d->sigint.data = d->sighup.data = d;
	ev_timer_start(d->loop, &d->sweep);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_signal_start(d->loop, &d->sighup);
}

/* What must happen in the process that will run, after daemonizing: the
 * resolver thread, then giving up root (its files read as root). */
static void
mxcached_start(struct mxcached *d)
{
	char err[512];

	if (!upstream_start(d->up, err, sizeof(err)))
		log_fatal("%s", err);
	if (d->cfg.user) {
		const char *own[2];
		size_t n = 0;
		if (d->ctl) {
			own[n++] = d->cfg.control_path;
			if (control_made_dir(d->ctl))
				own[n++] = control_made_dir(d->ctl);
		}
		if (!proc_drop_privileges(d->cfg.user, own, n, err, sizeof(err)))
			log_fatal("%s", err);
		log_info("running as %s", d->cfg.user);
		mxcached_check_cache_dir(d);
	}
	/* A broken $NOTIFY_SOCKET is the service manager's problem: run on. */
	if (!(d->notify = notify_new(d->loop, mxcached_status, d, err, sizeof(err)))) {
		log_warn("%s; not telling the service manager", err);
		unsetenv("NOTIFY_SOCKET");
		if (!(d->notify = notify_new(d->loop, NULL, NULL, err, sizeof(err))))
			log_fatal("%s", err);
	}
}

static void
mxcached_listen(struct mxcached *d)
{
	char err[512], text[SOCK_ADDR_TEXT];

	d->nlisten = d->cfg.nlisten;
	d->udp = calloc(d->nlisten, sizeof(*d->udp));
	d->tcp = calloc(d->nlisten, sizeof(*d->tcp));
	if (!d->udp || !d->tcp)
		log_fatal("out of memory");
	for (size_t i = 0; i < d->nlisten; i++) {
		const struct sock_addr *a = &d->cfg.listen[i];
		if (!(d->udp[i] = listen_udp_new(d->loop, a, d->qe, &d->stats, err, sizeof(err))) ||
		    !(d->tcp[i] = listen_tcp_new(d->loop, a, &d->cfg.tcp, d->qe, &d->stats, err,
						 sizeof(err))))
			log_fatal("%s", err);
		sock_addr_text((const struct sockaddr *)&a->ss, text, sizeof(text));
		log_info("listening on %s (udp, tcp)", text);
	}
}

static void
mxcached_teardown(struct mxcached *d)
{
	control_free(d->ctl);
	metrics_free(d->metrics);
	notify_free(d->notify);
	query_free(d->qe);
	chaser_free(d->chaser);
	l2_free(d->l2);
	for (size_t i = 0; i < d->nlisten; i++) {
		listen_udp_free(d->udp[i]);
		listen_tcp_free(d->tcp[i]);
	}
	free(d->udp);
	free(d->tcp);
	upstream_free(d->up);
	mxcached_save_cache(d);
	cache_free(d->cache);
	ratelimit_free(d->rl);
	budget_free(d->budget);
	acl_free(d->acl);
	ev_loop_destroy(d->loop);
	config_free(&d->cfg);
}

int
main(int argc, char **argv)
{
	static struct mxcached d;
	char err[512];

	d.argc = argc;
	d.argv = argv;
	switch (config_load(&d.cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_EXIT:
		config_free(&d.cfg);
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "mxcached: %s\n", err);
		config_free(&d.cfg);
		return 2;
	case CONFIG_OK:
		break;
	}
	/* As a daemon, messages go to syslog from the start; errors before
	 * detaching also to the terminal that started it. */
	log_init("mxcached", !d.cfg.foreground, d.cfg.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	log_errors_to_stderr(!d.cfg.foreground);
	signal(SIGPIPE, SIG_IGN);
	proc_raise_nofile();
	mxcached_setup(&d);
	if (!d.cfg.foreground) {
		if (daemon(0, 0) != 0)
			log_fatal("daemon: %s", strerror(errno));
		log_errors_to_stderr(false);
		ev_loop_fork(d.loop);
	}
	mxcached_start(&d);
	log_info("mxcached ready (trust anchor: %s, cache %zu bytes)", upstream_anchor(d.up),
		 d.cfg.cache_size);
	(void)notify_send(d.notify, "READY=1");
	log_debug(
	    "settings: query timeout %u ms, TTLs %u..%u s (negative %u s), chaser %s "
	    "(max %u, tlsa %s, additional %s), prefetch %s, serve-stale %s (client timer %u ms), "
	    "ratelimit %u",
	    d.cfg.query.timeout_ms, d.cfg.query.min_ttl, d.cfg.query.max_ttl,
	    d.cfg.query.max_negative_ttl, d.cfg.chaser.enabled ? "on" : "off",
	    d.cfg.chaser.max_exchangers, d.cfg.chaser.tlsa ? "on" : "off",
	    d.cfg.chaser.additional ? "on" : "off", d.cfg.query.refresh ? "on" : "off",
	    d.cfg.query.serve_stale ? "on" : "off", d.cfg.query.stale_client_ms, d.cfg.ratelimit);
	ev_run(d.loop, 0);
	mxcached_teardown(&d);
	log_info("stopped");
	return 0;
}
