/*
 * mxcached: wires the modules together and runs the loop.
 *
 *   listen_udp/listen_tcp -> query (acl, cache, upstream) -> client
 *                                  `-> chaser (MX answers) -> query_prefetch
 *   control (JSON socket) -> stats, cache
 */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "acl.h"
#include "cache.h"
#include "chaser.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "listen_tcp.h"
#include "listen_udp.h"
#include "log.h"
#include "query.h"
#include "stats.h"
#include "upstream.h"

#define MAIN_SWEEP_SECONDS 1.0

struct mxcached {
	struct config cfg;
	struct ev_loop *loop;
	struct stats stats;
	struct acl *acl;
	struct cache *cache;
	struct upstream *up;
	struct query_engine *qe;
	struct chaser *chaser;
	struct control *ctl;
	struct listen_udp **udp;
	struct listen_tcp **tcp;
	ev_timer sweep;
	ev_signal sigterm;
	ev_signal sigint;
};

static void mxcached_setup(struct mxcached *d);
static void mxcached_listen(struct mxcached *d);
static void mxcached_teardown(struct mxcached *d);
static void mxcached_sweep(struct ev_loop *loop, ev_timer *w, int revents);
static void mxcached_stop(struct ev_loop *loop, ev_signal *w, int revents);

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
	(void)revents;
	log_info("signal %d: shutting down", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void
mxcached_setup(struct mxcached *d)
{
	uint8_t seed[16];
	char err[512];

	if (!(d->loop = ev_default_loop(EVFLAG_AUTO)))
		log_fatal("cannot create the event loop");
	if (!(d->acl = acl_new()) || !acl_add(d->acl, "127.0.0.0/8") || !acl_add(d->acl, "::1"))
		log_fatal("out of memory");
	for (size_t i = 0; i < d->cfg.nallow; i++)
		if (!acl_add(d->acl, d->cfg.allow[i]))
			log_fatal("--allow: '%s' is not an address or CIDR", d->cfg.allow[i]);
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		log_fatal("getrandom: %s", strerror(errno));
	if (!(d->cache = cache_new(d->cfg.cache_size, seed)))
		log_fatal("out of memory");
	if (!(d->up = upstream_new(d->loop, &d->cfg.upstream, err, sizeof(err))))
		log_fatal("%s", err);
	if (!(d->qe = query_new(d->loop, &d->cfg.query, d->cache, d->up, d->acl, &d->stats)))
		log_fatal("out of memory");
	if (d->cfg.chase_tlsa < 0)
		d->cfg.chaser.tlsa = strcmp(upstream_anchor(d->up), "none") != 0;
	else
		d->cfg.chaser.tlsa = d->cfg.chase_tlsa;
	if (!(d->chaser = chaser_new(&d->cfg.chaser, d->qe, d->cache, &d->stats)))
		log_fatal("out of memory");
	query_set_hooks(d->qe, &(struct query_hooks){.answered = chaser_answered,
						     .additional = chaser_additional,
						     .arg = d->chaser});
	struct control_ctx cctx = {.loop = d->loop,
				   .stats = &d->stats,
				   .cache = d->cache,
				   .up = d->up,
				   .qe = d->qe,
				   .started_us = clock_us()};
	if (!(d->ctl = control_new(d->loop, d->cfg.control_path, &cctx, err, sizeof(err))))
		log_fatal("%s", err);
	mxcached_listen(d);

	ev_timer_init(&d->sweep, mxcached_sweep, MAIN_SWEEP_SECONDS, MAIN_SWEEP_SECONDS);
	d->sweep.data = d;
	ev_timer_start(d->loop, &d->sweep);
	ev_signal_init(&d->sigterm, mxcached_stop, SIGTERM);
	ev_signal_init(&d->sigint, mxcached_stop, SIGINT);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
}

static void
mxcached_listen(struct mxcached *d)
{
	char err[512], text[SOCK_ADDR_TEXT];

	d->udp = calloc(d->cfg.nlisten, sizeof(*d->udp));
	d->tcp = calloc(d->cfg.nlisten, sizeof(*d->tcp));
	if (!d->udp || !d->tcp)
		log_fatal("out of memory");
	for (size_t i = 0; i < d->cfg.nlisten; i++) {
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
	query_free(d->qe);
	chaser_free(d->chaser);
	for (size_t i = 0; i < d->cfg.nlisten; i++) {
		listen_udp_free(d->udp[i]);
		listen_tcp_free(d->tcp[i]);
	}
	free(d->udp);
	free(d->tcp);
	upstream_free(d->up);
	cache_free(d->cache);
	acl_free(d->acl);
	ev_loop_destroy(d->loop);
	config_free(&d->cfg);
}

int
main(int argc, char **argv)
{
	static struct mxcached d;
	char err[512];

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
	log_init("mxcached", false, d.cfg.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	mxcached_setup(&d);
	if (!d.cfg.foreground) {
		if (daemon(0, 0) != 0)
			log_fatal("daemon: %s", strerror(errno));
		log_init("mxcached", true, d.cfg.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
		ev_loop_fork(d.loop);
	}
	log_info("mxcached ready (trust anchor: %s, cache %zu bytes)", upstream_anchor(d.up),
		 d.cfg.cache_size);
	ev_run(d.loop, 0);
	mxcached_teardown(&d);
	log_info("stopped");
	return 0;
}
