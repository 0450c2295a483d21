/*
 * mta: the lookups a mail server makes before it can deliver to a domain.
 *
 * Per domain, strictly one after the other: MX; then, exchanger by
 * exchanger in preference order, A and then AAAA. `--pause` waits between
 * the MX answer and the first address lookup, as a queue manager does
 * between checking a recipient domain and delivering to it; the pause is
 * not part of any figure. `-c` domains go through this at once.
 *
 * Figures per domain: mx = the MX lookup, addr = the sum of the address
 * lookups, total = mx + addr (the time a sequential MTA waits on DNS).
 * A lookup that times out ends its domain: no figure is made up for it.
 */
#include <stdlib.h>
#include <string.h>

#include "mxbench.h"
#include "names.h"
#include "pause.h"
#include "report.h"
#include "wire.h"

/* More exchangers than any MTA tries (Postfix stops at 5 addresses). */
#define MTA_MAX_MX 32
#define MTA_NS_PER_MS 1e6

struct mta_mx {
	uint16_t pref;
	uint8_t len;
	uint8_t name[WIRE_MAX_NAME];
};

struct mta_run;

struct mta_job {
	struct mta_run *run;
	const struct names_entry *domain;
	struct mta_mx mx[MTA_MAX_MX];
	size_t nmx;
	size_t step; /* next address lookup: exchanger step / 2, A when even */
	int64_t mx_ns;
	int64_t addr_ns;
	enum report_outcome outcome; /* of the delivery so far */
	struct pause_item paused;
};

struct mta_run {
	const struct mxbench_opts *o;
	struct dnsc *dnsc;
	struct names_list domains;
	size_t next_domain;
	size_t running;
	uint64_t finished;
	uint64_t completed;
	uint64_t failed;
	struct pause_queue paused;
	struct sample_set mx, addr, total;
	struct report_tally t_mx, t_addr, t_total;
	bool out_of_memory;
};

static void mta_next_domain(struct mta_job *job);
static void mta_next_address(struct mta_job *job);

static void
mta_csv(struct mta_run *run, const char *phase, const struct names_entry *domain, int64_t ns,
	enum report_outcome o, bool has_latency)
{
	char text[WIRE_NAME_TEXT_MAX];

	if (!run->o->csv)
		return;
	names_text(domain, text);
	fprintf(run->o->csv, "%s,%s,", phase, text);
	if (has_latency)
		fprintf(run->o->csv, "%.3f", (double)ns / MTA_NS_PER_MS);
	fprintf(run->o->csv, ",%s\n", report_outcome_name(o));
}

static void
mta_sample(struct mta_run *run, struct sample_set *s, int64_t ns)
{
	if (!sample_add(s, ns))
		run->out_of_memory = true;
}

/* The delivery's outcome: its MX rcode, unless a later lookup failed. */
static void
mta_note(struct mta_job *job, enum report_outcome o)
{
	if (!report_is_definitive(o) && report_is_definitive(job->outcome))
		job->outcome = o;
}

static void
mta_finish(struct mta_job *job)
{
	struct mta_run *run = job->run;
	bool answered = job->outcome != REPORT_TIMEOUT;

	if (answered && job->step > 0) {
		mta_sample(run, &run->addr, job->addr_ns);
		mta_csv(run, "addr", job->domain, job->addr_ns, job->outcome, true);
	}
	if (answered)
		mta_sample(run, &run->total, job->mx_ns + job->addr_ns);
	mta_csv(run, "total", job->domain, job->mx_ns + job->addr_ns, job->outcome, answered);
	run->t_total.n[job->outcome]++;
	if (report_is_definitive(job->outcome))
		run->completed++;
	else
		run->failed++;
	run->finished++;
	mta_next_domain(job);
}

/* Inserts by preference, after equals: the server's order breaks ties. */
static void
mta_add_mx(struct mta_job *job, uint16_t pref, const uint8_t *name, size_t len)
{
	size_t i = job->nmx;

	if (job->nmx == MTA_MAX_MX)
		return;
	while (i > 0 && job->mx[i - 1].pref > pref) {
		job->mx[i] = job->mx[i - 1];
		i--;
	}
	job->mx[i].pref = pref;
	job->mx[i].len = (uint8_t)len;
	memcpy(job->mx[i].name, name, len);
	job->nmx++;
}

/* Collects the exchangers of an MX answer; a null MX (RFC 7505, ".")
 * adds none. False if the answer cannot be walked. */
static bool
mta_parse_mx(struct mta_job *job, const uint8_t *pkt, size_t len, bool *any)
{
	struct wire_iter it;
	struct wire_rr rr;
	uint8_t name[WIRE_MAX_NAME];
	int rc;

	*any = false;
	if (!wire_iter_init(&it, pkt, len))
		return false;
	while ((rc = wire_iter_next(&it, &rr)) == 1) {
		if (rr.section != WIRE_ANSWER || rr.type != WIRE_T_MX || rr.rdlen < 3)
			continue;
		size_t off = rr.rdata_off + 2;
		size_t nlen = wire_name_read(pkt, len, &off, name);
		if (nlen == 0)
			return false;
		*any = true;
		if (nlen > 1)
			mta_add_mx(job, wire_get16(pkt + rr.rdata_off), name, nlen);
	}
	return rc == 0;
}

static void
mta_on_mx(void *arg, const struct dnsc_result *r)
{
	struct mta_job *job = arg;
	struct mta_run *run = job->run;
	enum report_outcome o = report_outcome(r);
	bool any = false;

	if (o == REPORT_NOERROR && !mta_parse_mx(job, r->pkt, r->len, &any))
		o = REPORT_OTHER; /* a NOERROR we cannot read is no usable answer */
	run->t_mx.n[o]++;
	job->outcome = o;
	if (r->status == DNSC_ANSWER) {
		job->mx_ns = r->latency_ns;
		mta_sample(run, &run->mx, r->latency_ns);
	}
	mta_csv(run, "mx", job->domain, job->mx_ns, o, r->status == DNSC_ANSWER);
	if (o != REPORT_NOERROR) {
		mta_finish(job);
		return;
	}
	/* No MX at all: the domain is its own exchanger (RFC 5321 5.1). */
	if (!any)
		mta_add_mx(job, 0, job->domain->name, job->domain->len);
	if (run->o->pause_ms > 0 && job->nmx > 0)
		pause_push(&run->paused, &job->paused, run->o->pause_ms);
	else
		mta_next_address(job);
}

static void
mta_on_address(void *arg, const struct dnsc_result *r)
{
	struct mta_job *job = arg;
	enum report_outcome o = report_outcome(r);

	job->run->t_addr.n[o]++;
	mta_note(job, o);
	if (r->status == DNSC_TIMEOUT) {
		mta_finish(job);
		return;
	}
	job->addr_ns += r->latency_ns;
	job->step++;
	mta_next_address(job);
}

static void
mta_next_address(struct mta_job *job)
{
	const struct mta_mx *mx;
	uint16_t type = job->step % 2 == 0 ? WIRE_T_A : WIRE_T_AAAA;

	if (job->step == job->nmx * 2) {
		mta_finish(job);
		return;
	}
	mx = &job->mx[job->step / 2];
	/* Cannot fail: a job has at most one query in flight, and there
	 * are at least as many slots as jobs. */
	dnsc_query(job->run->dnsc, mx->name, mx->len, type, mta_on_address, job);
}

static void
mta_next_domain(struct mta_job *job)
{
	struct mta_run *run = job->run;

	if (run->next_domain == run->domains.n) {
		run->running--;
		return;
	}
	job->domain = &run->domains.v[run->next_domain++];
	job->nmx = job->step = 0;
	job->mx_ns = job->addr_ns = 0;
	dnsc_query(run->dnsc, job->domain->name, job->domain->len, WIRE_T_MX, mta_on_mx, job);
}

static void
mta_resume_paused(struct mta_run *run)
{
	int64_t now = dnsc_now_ns();
	struct pause_item *it;

	while ((it = pause_pop_due(&run->paused, now)))
		mta_next_address(PAUSE_OWNER(it, struct mta_job, paused));
}

static int
mta_loop(struct mta_run *run, struct mta_job *jobs)
{
	struct report_progress progress;

	report_progress_init(&progress);
	run->running = run->o->concurrency;
	for (size_t i = 0; i < run->o->concurrency; i++) {
		jobs[i].run = run;
		mta_next_domain(&jobs[i]);
	}
	while (run->running > 0) {
		int64_t until = pause_until(&run->paused, dnsc_now_ns() + 1000000000);

		if (dnsc_wait(run->dnsc, until) < 0) {
			perror("mxbench: receive");
			return -1;
		}
		mta_resume_paused(run);
		report_progress(&progress, run->finished, run->domains.n, dnsc_inflight(run->dnsc),
				dnsc_counters(run->dnsc)->timeouts);
	}
	report_progress_end(&progress);
	return 0;
}

static void
mta_print_json(struct mta_run *run, double elapsed_s)
{
	const struct mxbench_opts *o = run->o;
	struct sample_summary s;
	FILE *f = stdout;

	fputs("{\"mode\": \"mta\", \"server\": ", f);
	report_json_string(f, o->server);
	fprintf(f,
		", \"domains\": %zu, \"concurrency\": %u, \"pause_ms\": %d, "
		"\"timeout_ms\": %d, \"retries\": %d, \"elapsed_s\": %.3f, "
		"\"completed\": %llu, \"failed\": %llu, \"timeouts\": %llu, ",
		run->domains.n, o->concurrency, o->pause_ms, o->dns.timeout_ms, o->dns.retries,
		elapsed_s, (unsigned long long)run->completed, (unsigned long long)run->failed,
		(unsigned long long)dnsc_counters(run->dnsc)->timeouts);
	sample_summarize(&run->total, MTA_NS_PER_MS, &s);
	report_json_summary(f, "total_ms", &s);
	fputs(", ", f);
	sample_summarize(&run->mx, MTA_NS_PER_MS, &s);
	report_json_summary(f, "mx_ms", &s);
	fputs(", ", f);
	sample_summarize(&run->addr, MTA_NS_PER_MS, &s);
	report_json_summary(f, "addr_ms", &s);
	fputs(", \"rcodes\": {", f);
	report_json_tally(f, "mx", &run->t_mx);
	fputs(", ", f);
	report_json_tally(f, "addr", &run->t_addr);
	fputs(", ", f);
	report_json_tally(f, "total", &run->t_total);
	fputs("}, ", f);
	report_json_counters(f, dnsc_counters(run->dnsc));
	fputs("}\n", f);
}

static void
mta_print_text(struct mta_run *run, double elapsed_s)
{
	const struct mxbench_opts *o = run->o;
	struct sample_summary s;

	printf("mta: %zu domains against %s, %u in parallel, pause %d ms, %.3f s\n", run->domains.n,
	       o->server, o->concurrency, o->pause_ms, elapsed_s);
	printf("deliveries: %llu completed, %llu failed; %llu lookups timed out, %llu retries\n",
	       (unsigned long long)run->completed, (unsigned long long)run->failed,
	       (unsigned long long)dnsc_counters(run->dnsc)->timeouts,
	       (unsigned long long)dnsc_counters(run->dnsc)->retries);
	sample_summarize(&run->mx, MTA_NS_PER_MS, &s);
	report_text_summary(stdout, "mx", "ms", &s);
	sample_summarize(&run->addr, MTA_NS_PER_MS, &s);
	report_text_summary(stdout, "addr", "ms", &s);
	sample_summarize(&run->total, MTA_NS_PER_MS, &s);
	report_text_summary(stdout, "total", "ms", &s);
	report_text_tally(stdout, "mx", &run->t_mx);
	report_text_tally(stdout, "addr", &run->t_addr);
	report_text_tally(stdout, "total", &run->t_total);
}

int
mta_run(const struct mxbench_opts *o, struct dnsc *c)
{
	struct mta_run run = {.o = o, .dnsc = c};
	struct mta_job *jobs = NULL;
	int status = 1;
	int64_t start;

	sample_init(&run.mx);
	sample_init(&run.addr);
	sample_init(&run.total);
	if (!names_load(o->file, false, &run.domains))
		goto out;
	jobs = calloc(o->concurrency, sizeof(*jobs));
	if (!jobs)
		goto out;
	if (o->csv)
		fputs("phase,domain,latency_ms,status\n", o->csv);
	start = dnsc_now_ns();
	if (mta_loop(&run, jobs) < 0)
		goto out;
	if (run.out_of_memory) {
		fputs("mxbench: out of memory for samples\n", stderr);
		goto out;
	}
	double elapsed_s = (double)(dnsc_now_ns() - start) / 1e9;
	if (o->json)
		mta_print_json(&run, elapsed_s);
	else
		mta_print_text(&run, elapsed_s);
	status = 0;
out:
	free(jobs);
	names_free(&run.domains);
	sample_free(&run.mx);
	sample_free(&run.addr);
	sample_free(&run.total);
	return status;
}
