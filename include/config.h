/*
 * config: the daemon's settings, from the command line and an optional
 * file (-c FILE) whose lines are "option value" with the long option names.
 * One table (config_options) describes every option: its type, field,
 * bounds, default, help, and whether SIGHUP applies it.
 */
#ifndef MXCACHE_CONFIG_H
#define MXCACHE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "budget.h"
#include "chaser.h"
#include "config_parse.h"
#include "l2.h"
#include "listen_tcp.h"
#include "query.h"
#include "sock.h"
#include "upstream.h"

#define CONFIG_DEFAULT_PORT 53
#define CONFIG_DEFAULT_CONTROL "/run/mxcache/mxcached.sock"

struct config {
	struct sock_addr *listen;
	size_t nlisten;
	char **allow;
	size_t nallow;
	char *control_path;
	bool control_default; /* control_path was not given: failing is not fatal */
	char *user;	      /* drop to this user after binding */
	char *cache_file;     /* cache saved here on shutdown, loaded on start */
	size_t cache_size;
	uint32_t stale_max_age; /* how long expired entries stay for serve-stale */
	unsigned ratelimit;	/* UDP queries per second per client, 0: off */
	struct sock_addr metrics;
	bool metrics_on; /* --metrics given: serve Prometheus there */
	struct upstream_options upstream;
	struct query_options query;
	struct listen_tcp_options tcp;
	struct chaser_options chaser;
	struct budget_options budget;
	struct l2_options l2; /* the shared tier: off without l2.addr */
	int chase_tlsa;	      /* -1: auto, on when validating */
	bool log_servfail;    /* explain each SERVFAIL in the log */
	bool foreground;
	int verbose;
};

enum config_result { CONFIG_OK, CONFIG_EXIT, CONFIG_ERROR };

/* Fills cfg from argv (and the file named by -c); CONFIG_EXIT after
 * --help or --version, CONFIG_ERROR with err set on bad input. Defaults
 * are those of the option table. */
enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_free(struct config *cfg);
void config_usage(FILE *out);

/* The option table: every option once, in --help order. */
const struct config_opt *config_options(size_t *n);

#endif
