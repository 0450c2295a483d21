/*
 * wire_worst: times what the daemon does to one upstream answer, on
 * messages given as files (tests/fuzz/regressions/response/hostile-*.bin).
 * Prints microseconds per answer for each step and in all; the daemon's
 * loop waits that long while it handles the answer.
 *
 *   build/wire_worst [-n RUNS] FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire.h"
#include "wire_write.h"

#define WORST_MAX_MX 64

enum worst_step { STEP_COPY, STEP_TTLS, STEP_MX, STEP_AGE, STEP_TRUNCATE, STEP_COUNT };

static const char *const worst_step_names[STEP_COUNT] = {"copy", "ttls", "mx", "age", "truncate"};

static double worst_now_us(void);
static void worst_run(const uint8_t *in, size_t len, double us[STEP_COUNT]);
static int worst_file(const char *path, unsigned runs);

static double
worst_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One answer through every step the daemon takes: stored (copied, TTLs
 * read), chased (owner, MX list), served (aged, cut to a UDP size). */
static void
worst_run(const uint8_t *in, size_t len, double us[STEP_COUNT])
{
	static uint8_t out[WIRE_MAX_MSG], reply[WIRE_MAX_MSG];
	static struct wire_mx mx[WORST_MAX_MX];
	uint8_t owner[WIRE_MAX_NAME];
	uint32_t ttl;
	double t0 = worst_now_us(), t;
	size_t n = wire_copy(in, len, WIRE_DROP_OPT | WIRE_DROP_DNSSEC, out, sizeof(out));

	t = worst_now_us();
	us[STEP_COPY] += t - t0;
	t0 = t;
	if (n == 0) {
		memcpy(out, in, len);
		n = len;
	}
	(void)wire_min_ttl(out, n, &ttl);
	(void)wire_negative_ttl(out, n, &ttl);
	t = worst_now_us();
	us[STEP_TTLS] += t - t0;
	t0 = t;
	size_t olen = wire_answer_owner(out, n, owner);
	if (olen)
		(void)wire_mx_list(out, n, owner, olen, mx, WORST_MAX_MX);
	t = worst_now_us();
	us[STEP_MX] += t - t0;
	t0 = t;
	memcpy(reply, out, n);
	(void)wire_age_ttls(reply, n, 1);
	t = worst_now_us();
	us[STEP_AGE] += t - t0;
	t0 = t;
	(void)wire_truncate(reply, n, WIRE_MAX_UDP - WIRE_OPT_LEN);
	us[STEP_TRUNCATE] += worst_now_us() - t0;
}

static int
worst_file(const char *path, unsigned runs)
{
	static uint8_t in[WIRE_MAX_MSG + 1];
	double us[STEP_COUNT] = {0}, total = 0;
	FILE *f = fopen(path, "rb");
	size_t len;

	if (!f) {
		perror(path);
		return 1;
	}
	len = fread(in, 1, sizeof(in), f);
	fclose(f);
	if (len > WIRE_MAX_MSG) {
		fprintf(stderr, "%s: longer than a DNS message\n", path);
		return 1;
	}
	for (unsigned r = 0; r < runs; r++)
		worst_run(in, len, us);
	printf("%-40s %6zu B", strrchr(path, '/') ? strrchr(path, '/') + 1 : path, len);
	for (int s = 0; s < STEP_COUNT; s++) {
		printf("  %s %8.1f", worst_step_names[s], us[s] / runs);
		total += us[s] / runs;
	}
	struct wire_work work = {0};
	static uint8_t out[WIRE_MAX_MSG];
	(void)wire_copy_work(in, len, WIRE_DROP_OPT | WIRE_DROP_DNSSEC, out, sizeof(out), &work);
	printf("  total %8.1f us/answer  names %zu labels %zu probes %zu\n", total, work.names,
	       work.labels, work.probes);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned runs = 20;
	int i = 1, rc = 0;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		runs = (unsigned)strtoul(argv[2], NULL, 10);
		i = 3;
	}
	if (i >= argc || runs == 0) {
		fprintf(stderr, "usage: %s [-n RUNS] FILE...\n", argv[0]);
		return 2;
	}
	for (; i < argc; i++)
		rc |= worst_file(argv[i], runs);
	return rc;
}
