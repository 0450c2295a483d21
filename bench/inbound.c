/*
 * inbound: the lookups a receiving mail server makes for one message.
 *
 * Per message, strictly one after the other, as Postfix with SPF and
 * DMARC checks does: PTR of the client's address; A, then AAAA, of each
 * name it gives (forward-confirmed reverse DNS, at most INBOUND_MAX_PTR
 * names); `--pause` (the SMTP dialogue between the connection and MAIL
 * FROM, not part of any figure); the SPF record of the sender's domain
 * and every lookup its evaluation asks, in evaluation order (spf_walk,
 * as for a client only "-all" matches: the whole tree); the DMARC record.
 * `-c` messages go through this at once.
 *
 * The SPF evaluation is replayed: a walk over the answers known so far
 * stops being useful at the first question it has no answer for; that
 * question is asked, and the walk runs again once it is answered. So
 * the lookups are serial and in the evaluator's order, and the CPU cost
 * of the replays is not a DNS figure (it is microseconds).
 *
 * Figures per message: fcrdns = PTR + addresses, spf = the SPF lookups,
 * dmarc, total = their sum; lookups = how many the message asked.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxbench.h"
#include "pause.h"
#include "report.h"
#include "spf.h"
#include "wire.h"

#define INBOUND_MAX_PTR 4
#define INBOUND_NS_PER_MS 1e6

struct inbound_msg {
	uint8_t rev[WIRE_MAX_NAME]; /* the client address's reverse name */
	size_t rev_len;
	char domain[SPF_NAME_MAX]; /* MAIL FROM domain */
};

enum inbound_phase { INBOUND_PTR, INBOUND_ADDR, INBOUND_SPF, INBOUND_DMARC };

struct inbound_answer {
	char name[SPF_NAME_MAX];
	uint16_t qtype;
	uint8_t *pkt; /* NULL: timed out */
	size_t len;
};

struct inbound_run;

struct inbound_job {
	struct inbound_run *run;
	const struct inbound_msg *msg;
	enum inbound_phase phase;
	struct {
		uint8_t name[WIRE_MAX_NAME];
		size_t len;
	} ptr[INBOUND_MAX_PTR];
	size_t nptr, step;
	int64_t fcrdns_ns, spf_ns, dmarc_ns;
	unsigned lookups;
	bool timed_out;
	size_t nans;
	struct inbound_answer ans[SPF_WALK_MAX_LOOKUPS];
	int missing; /* during a walk: the first question without an answer */
	struct pause_item paused;
};

struct inbound_run {
	const struct mxbench_opts *o;
	struct dnsc *dnsc;
	struct inbound_msg *msgs;
	size_t nmsgs, next, running;
	uint64_t finished, timeouts;
	struct pause_queue paused;
	struct sample_set fcrdns, spf, dmarc, total, lookups;
	struct report_tally t_ptr, t_spf;
	struct spf_walk walk; /* walks run one at a time */
	struct spf_reply_scratch scratch;
	bool out_of_memory;
};

static void inbound_next_message(struct inbound_job *job);
static void inbound_step(struct inbound_job *job);

/* "192.0.2.1" -> 1.2.0.192.in-addr.arpa, IPv6 in nibbles (RFC 3596). */
static bool
inbound_reverse(const char *addr, struct inbound_msg *m)
{
	unsigned char a[16];
	char text[WIRE_NAME_TEXT_MAX], *p = text;

	if (inet_pton(AF_INET, addr, a) == 1) {
		snprintf(text, sizeof(text), "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		for (int i = 15; i >= 0; i--)
			p += snprintf(p, sizeof(text) - (size_t)(p - text), "%x.%x.", a[i] & 0xf,
				      a[i] >> 4);
		snprintf(p, sizeof(text) - (size_t)(p - text), "ip6.arpa");
	} else {
		return false;
	}
	return (m->rev_len = wire_name_from_text(text, m->rev)) != 0;
}

/* FILE: "ADDRESS DOMAIN" per line; blank lines and '#' comments skipped. */
static bool
inbound_load(const char *path, struct inbound_run *run)
{
	FILE *f = fopen(path, "r");
	char line[1024], addr[128], domain[512];
	size_t cap = 0, lineno = 0;

	if (!f) {
		perror(path);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || sscanf(line, "%127s %511s", addr, domain) < 1)
			continue;
		if (run->nmsgs == cap) {
			cap = cap ? 2 * cap : 256;
			struct inbound_msg *v = realloc(run->msgs, cap * sizeof(*v));
			if (!v)
				break;
			run->msgs = v;
		}
		struct inbound_msg *m = &run->msgs[run->nmsgs];
		if (!inbound_reverse(addr, m) ||
		    !spf_name_normalise(domain, strlen(domain), m->domain, sizeof(m->domain))) {
			fprintf(stderr, "%s:%zu: want \"ADDRESS DOMAIN\"\n", path, lineno);
			fclose(f);
			return false;
		}
		run->nmsgs++;
	}
	fclose(f);
	if (run->nmsgs == 0)
		fprintf(stderr, "%s: no messages\n", path);
	return run->nmsgs > 0;
}

static void
inbound_sample(struct inbound_run *run, struct sample_set *s, int64_t v)
{
	if (!sample_add(s, v))
		run->out_of_memory = true;
}

static void
inbound_csv(struct inbound_run *run, const struct inbound_job *job, const char *phase, int64_t ns)
{
	if (run->o->csv)
		fprintf(run->o->csv, "%s,%s,%.3f,%s\n", phase, job->msg->domain,
			(double)ns / INBOUND_NS_PER_MS, job->timed_out ? "timeout" : "ok");
}

static void
inbound_finish(struct inbound_job *job)
{
	struct inbound_run *run = job->run;

	run->finished++;
	if (job->timed_out) {
		run->timeouts++;
	} else {
		inbound_sample(run, &run->fcrdns, job->fcrdns_ns);
		inbound_sample(run, &run->spf, job->spf_ns);
		inbound_sample(run, &run->dmarc, job->dmarc_ns);
		inbound_sample(run, &run->total, job->fcrdns_ns + job->spf_ns + job->dmarc_ns);
		inbound_sample(run, &run->lookups, job->lookups);
		inbound_csv(run, job, "fcrdns", job->fcrdns_ns);
		inbound_csv(run, job, "spf", job->spf_ns);
		inbound_csv(run, job, "total", job->fcrdns_ns + job->spf_ns + job->dmarc_ns);
	}
	for (size_t i = 0; i < job->nans; i++)
		free(job->ans[i].pkt);
	inbound_next_message(job);
}

/* The PTR names, after a CNAME chain (RFC 2317). */
static void
inbound_read_ptr(struct inbound_job *job, const uint8_t *pkt, size_t len)
{
	uint8_t owner[WIRE_MAX_NAME];
	struct wire_iter it;
	struct wire_rr rr;
	size_t olen = wire_answer_owner(pkt, len, owner), off;

	if (!olen || !wire_iter_init(&it, pkt, len))
		return;
	while (job->nptr < INBOUND_MAX_PTR && wire_iter_next(&it, &rr) == 1 &&
	       rr.section == WIRE_ANSWER) {
		off = rr.rdata_off;
		if (rr.type == WIRE_T_PTR && wire_name_at(pkt, len, rr.name_off, owner, olen) &&
		    (job->ptr[job->nptr].len =
			 wire_name_read(pkt, len, &off, job->ptr[job->nptr].name)))
			job->nptr++;
	}
}

static void
inbound_walk_lookup(void *arg, const char *name, uint16_t qtype, struct spf_answer *out)
{
	struct inbound_job *job = arg;

	for (size_t i = 0; i < job->nans; i++)
		if (job->ans[i].qtype == qtype && strcmp(job->ans[i].name, name) == 0) {
			spf_answer_from_reply(job->ans[i].pkt, job->ans[i].len, qtype,
					      &job->run->scratch, out);
			return;
		}
	*out = (struct spf_answer){.rcode = WIRE_SERVFAIL};
	if (job->missing < 0 && job->nans < SPF_WALK_MAX_LOOKUPS) {
		job->missing = (int)job->nans;
		snprintf(job->ans[job->nans].name, SPF_NAME_MAX, "%s", name);
		job->ans[job->nans].qtype = qtype;
		job->ans[job->nans].pkt = NULL;
	}
}

static void
inbound_on_answer(void *arg, const struct dnsc_result *r)
{
	struct inbound_job *job = arg;
	struct inbound_run *run = job->run;
	enum report_outcome o = report_outcome(r);

	job->lookups++;
	if (r->status == DNSC_TIMEOUT) {
		job->timed_out = true;
		inbound_finish(job);
		return;
	}
	switch (job->phase) {
	case INBOUND_PTR:
		run->t_ptr.n[o]++;
		job->fcrdns_ns += r->latency_ns;
		if (o == REPORT_NOERROR)
			inbound_read_ptr(job, r->pkt, r->len);
		job->phase = INBOUND_ADDR;
		break;
	case INBOUND_ADDR:
		job->fcrdns_ns += r->latency_ns;
		job->step++;
		break;
	case INBOUND_SPF: {
		struct inbound_answer *a = &job->ans[job->nans++];
		job->spf_ns += r->latency_ns;
		if ((a->pkt = malloc(r->len))) {
			memcpy(a->pkt, r->pkt, r->len);
			a->len = r->len;
		} else {
			run->out_of_memory = true;
		}
		break;
	}
	case INBOUND_DMARC:
		job->dmarc_ns = r->latency_ns;
		inbound_finish(job);
		return;
	}
	inbound_step(job);
}

/* False if the name cannot be asked (too long as a DNS name). */
static bool
inbound_ask_text(struct inbound_job *job, const char *name, uint16_t qtype)
{
	uint8_t wire[WIRE_MAX_NAME];
	size_t len = wire_name_from_text(name, wire);

	return len && dnsc_query(job->run->dnsc, wire, len, qtype, inbound_on_answer, job);
}

/* The next lookup of the message, whatever its phase. */
static void
inbound_step(struct inbound_job *job)
{
	struct inbound_run *run = job->run;
	char dmarc[SPF_NAME_MAX + 8];

	if (job->phase == INBOUND_ADDR) {
		if (job->step < 2 * job->nptr) {
			dnsc_query(run->dnsc, job->ptr[job->step / 2].name,
				   job->ptr[job->step / 2].len,
				   job->step % 2 ? WIRE_T_AAAA : WIRE_T_A, inbound_on_answer, job);
			return;
		}
		job->phase = INBOUND_SPF;
		if (run->o->pause_ms > 0) {
			pause_push(&run->paused, &job->paused, run->o->pause_ms);
			return;
		}
	}
	if (job->phase == INBOUND_SPF) {
		for (;;) {
			job->missing = -1;
			spf_walk(job->msg->domain, 0, inbound_walk_lookup, job, &run->walk);
			if (job->missing < 0)
				break;
			if (inbound_ask_text(job, job->ans[job->missing].name,
					     job->ans[job->missing].qtype))
				return;
			job->nans++; /* unaskable: known as a failure from now on */
		}
		run->t_spf.n[run->walk.result == SPF_R_TEMPERROR   ? REPORT_SERVFAIL
			     : run->walk.result == SPF_R_PERMERROR ? REPORT_OTHER
								   : REPORT_NOERROR]++;
		job->phase = INBOUND_DMARC;
		snprintf(dmarc, sizeof(dmarc), "_dmarc.%s", job->msg->domain);
		if (!inbound_ask_text(job, dmarc, WIRE_T_TXT))
			inbound_finish(job);
	}
}

static void
inbound_next_message(struct inbound_job *job)
{
	struct inbound_run *run = job->run;

	if (run->next == run->nmsgs) {
		run->running--;
		return;
	}
	job->msg = &run->msgs[run->next++];
	job->phase = INBOUND_PTR;
	job->nptr = job->step = job->nans = 0;
	job->fcrdns_ns = job->spf_ns = job->dmarc_ns = 0;
	job->lookups = 0;
	job->timed_out = false;
	dnsc_query(run->dnsc, job->msg->rev, job->msg->rev_len, WIRE_T_PTR, inbound_on_answer, job);
}

static int
inbound_loop(struct inbound_run *run, struct inbound_job *jobs)
{
	struct report_progress progress;
	size_t n = run->o->concurrency < run->nmsgs ? run->o->concurrency : run->nmsgs;

	report_progress_init(&progress);
	run->running = n;
	for (size_t i = 0; i < n; i++) {
		jobs[i].run = run;
		inbound_next_message(&jobs[i]);
	}
	while (run->running > 0) {
		int64_t until = pause_until(&run->paused, dnsc_now_ns() + 1000000000);
		struct pause_item *it;
		if (dnsc_wait(run->dnsc, until) < 0) {
			perror("mxbench: receive");
			return -1;
		}
		for (int64_t now = dnsc_now_ns(); (it = pause_pop_due(&run->paused, now));)
			inbound_step(PAUSE_OWNER(it, struct inbound_job, paused));
		report_progress(&progress, run->finished, run->nmsgs, dnsc_inflight(run->dnsc),
				dnsc_counters(run->dnsc)->timeouts);
	}
	report_progress_end(&progress);
	return 0;
}

static void
inbound_print(struct inbound_run *run, double elapsed_s)
{
	static const struct {
		const char *key, *label;
		size_t off;
		double unit;
	} figures[] = {
	    {"total_ms", "total", offsetof(struct inbound_run, total), INBOUND_NS_PER_MS},
	    {"fcrdns_ms", "fcrdns", offsetof(struct inbound_run, fcrdns), INBOUND_NS_PER_MS},
	    {"spf_ms", "spf", offsetof(struct inbound_run, spf), INBOUND_NS_PER_MS},
	    {"dmarc_ms", "dmarc", offsetof(struct inbound_run, dmarc), INBOUND_NS_PER_MS},
	    {"lookups", "lookups", offsetof(struct inbound_run, lookups), 1},
	};
	const struct mxbench_opts *o = run->o;
	struct sample_summary s;
	FILE *f = stdout;

	if (o->json) {
		fputs("{\"mode\": \"inbound\", \"server\": ", f);
		report_json_string(f, o->server);
		fprintf(f,
			", \"messages\": %zu, \"concurrency\": %u, \"pause_ms\": %d, "
			"\"elapsed_s\": %.3f, \"completed\": %llu, \"failed\": %llu, "
			"\"timeouts\": %llu, ",
			run->nmsgs, o->concurrency, o->pause_ms, elapsed_s,
			(unsigned long long)(run->finished - run->timeouts),
			(unsigned long long)run->timeouts,
			(unsigned long long)dnsc_counters(run->dnsc)->timeouts);
	} else {
		printf("inbound: %zu messages against %s, %u in parallel, pause %d ms, %.3f s\n",
		       run->nmsgs, o->server, o->concurrency, o->pause_ms, elapsed_s);
		printf("messages: %llu completed, %llu timed out\n",
		       (unsigned long long)(run->finished - run->timeouts),
		       (unsigned long long)run->timeouts);
	}
	for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
		sample_summarize((struct sample_set *)((char *)run + figures[i].off),
				 figures[i].unit, &s);
		if (o->json) {
			report_json_summary(f, figures[i].key, &s);
			fputs(", ", f);
		} else {
			report_text_summary(f, figures[i].label, figures[i].unit == 1 ? "" : "ms",
					    &s);
		}
	}
	if (o->json) {
		fputs("\"rcodes\": {", f);
		report_json_tally(f, "ptr", &run->t_ptr);
		fputs(", ", f);
		report_json_tally(f, "spf", &run->t_spf);
		fputs("}, ", f);
		report_json_counters(f, dnsc_counters(run->dnsc));
		fputs("}\n", f);
	} else {
		report_text_tally(f, "ptr", &run->t_ptr);
		report_text_tally(f, "spf", &run->t_spf);
	}
}

int
inbound_run(const struct mxbench_opts *o, struct dnsc *c)
{
	struct inbound_run *run = calloc(1, sizeof(*run));
	struct inbound_job *jobs = NULL;
	struct sample_set *sets[5];
	int status = 1;
	int64_t start;

	if (!run)
		return 1;
	run->o = o;
	run->dnsc = c;
	sets[0] = &run->fcrdns, sets[1] = &run->spf, sets[2] = &run->dmarc;
	sets[3] = &run->total, sets[4] = &run->lookups;
	for (size_t i = 0; i < 5; i++)
		sample_init(sets[i]);
	if (!inbound_load(o->file, run) || !(jobs = calloc(o->concurrency, sizeof(*jobs))))
		goto out;
	if (o->csv)
		fputs("phase,domain,latency_ms,status\n", o->csv);
	start = dnsc_now_ns();
	if (inbound_loop(run, jobs) < 0)
		goto out;
	if (run->out_of_memory) {
		fputs("mxbench: out of memory\n", stderr);
		goto out;
	}
	inbound_print(run, (double)(dnsc_now_ns() - start) / 1e9);
	status = 0;
out:
	free(jobs);
	free(run->msgs);
	for (size_t i = 0; i < 5; i++)
		sample_free(sets[i]);
	free(run);
	return status;
}
