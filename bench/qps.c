/*
 * qps: dnsperf-like load. The input's queries are sent in order, over and
 * over, for -d seconds: at a fixed rate (-r), or keeping -c queries
 * outstanding (a new one as each answer comes). Then the run waits for the
 * last answers (or their timeouts) and reports the answered rate and the
 * latency of every answer.
 */
#include <stdlib.h>

#include "mxbench.h"
#include "names.h"
#include "report.h"

#define QPS_NS_PER_US 1e3
#define QPS_TICK_NS 1000000000LL /* wake at least this often, for progress */

struct qps_run {
	const struct mxbench_opts *o;
	struct dnsc *dnsc;
	struct names_list queries;
	size_t next;
	uint64_t completed;
	uint64_t failed;
	int64_t last_answer_ns;
	struct sample_set latency;
	struct report_tally tally;
	bool out_of_memory;
};

static void
qps_csv(FILE *csv, const struct dnsc_result *r, enum report_outcome o)
{
	char text[WIRE_NAME_TEXT_MAX];
	const char *type = wire_type_name(r->qtype);

	if (!wire_name_to_text(r->qname, r->qname_len, text, sizeof(text)))
		text[0] = '\0';
	fprintf(csv, "%s,%s,", text, type ? type : "?");
	if (r->status == DNSC_ANSWER)
		fprintf(csv, "%.1f", (double)r->latency_ns / QPS_NS_PER_US);
	fprintf(csv, ",%s\n", report_outcome_name(o));
}

static void
qps_on_answer(void *arg, const struct dnsc_result *r)
{
	struct qps_run *run = arg;
	enum report_outcome o = report_outcome(r);

	run->tally.n[o]++;
	if (report_is_definitive(o))
		run->completed++;
	else
		run->failed++;
	if (r->status == DNSC_ANSWER) {
		run->last_answer_ns = dnsc_now_ns();
		if (!sample_add(&run->latency, r->latency_ns))
			run->out_of_memory = true;
	}
	if (run->o->csv)
		qps_csv(run->o->csv, r, o);
}

/* Sends until `due` queries have gone out in all or the window is full. */
static void
qps_send(struct qps_run *run, uint64_t due)
{
	while (dnsc_counters(run->dnsc)->sent < due) {
		const struct names_entry *q = &run->queries.v[run->next];

		if (!dnsc_query(run->dnsc, q->name, q->len, q->type, qps_on_answer, run))
			return;
		run->next = (run->next + 1) % run->queries.n;
	}
}

static int
qps_loop(struct qps_run *run, int64_t start)
{
	const struct mxbench_opts *o = run->o;
	int64_t end = start + (int64_t)(o->duration_s * 1e9);
	struct report_progress progress;
	int64_t now;

	report_progress_init(&progress);
	while ((now = dnsc_now_ns()) < end || dnsc_inflight(run->dnsc) > 0) {
		int64_t until = now + QPS_TICK_NS;

		if (now < end && o->rate > 0) {
			qps_send(run, (uint64_t)((double)(now - start) * o->rate / 1e9) + 1);
			/* When the next query is due; if it is overdue, the
			 * window is full and an answer will wake us. */
			uint64_t sent = dnsc_counters(run->dnsc)->sent;
			int64_t next = start + (int64_t)((double)sent * 1e9 / o->rate);
			until = next > now ? next : now + 1000000;
		} else if (now < end) {
			qps_send(run, UINT64_MAX);
		}
		if (until > end && now < end)
			until = end;
		if (dnsc_wait(run->dnsc, until) < 0) {
			perror("mxbench: receive");
			return -1;
		}
		report_progress(&progress, run->completed + run->failed, 0,
				dnsc_inflight(run->dnsc), dnsc_counters(run->dnsc)->timeouts);
	}
	report_progress_end(&progress);
	return 0;
}

static void
qps_print(struct qps_run *run, int64_t start)
{
	const struct mxbench_opts *o = run->o;
	const struct dnsc_counters *c = dnsc_counters(run->dnsc);
	int64_t span = (run->last_answer_ns > start ? run->last_answer_ns : dnsc_now_ns()) - start;
	double qps = (double)c->answers / ((double)span / 1e9);
	struct sample_summary s;

	sample_summarize(&run->latency, QPS_NS_PER_US, &s);
	if (!o->json) {
		printf("qps: %zu queries cycled against %s for %.1f s, %s %g\n", run->queries.n,
		       o->server, o->duration_s, o->rate > 0 ? "rate" : "outstanding",
		       o->rate > 0 ? o->rate : (double)o->concurrency);
		printf("sent %llu, answered %llu, %.0f answers/s; %llu completed, %llu failed, "
		       "%llu timeouts\n",
		       (unsigned long long)c->sent, (unsigned long long)c->answers, qps,
		       (unsigned long long)run->completed, (unsigned long long)run->failed,
		       (unsigned long long)c->timeouts);
		report_text_summary(stdout, "latency", "us", &s);
		report_text_tally(stdout, "rcodes", &run->tally);
		return;
	}
	fputs("{\"mode\": \"qps\", \"server\": ", stdout);
	report_json_string(stdout, o->server);
	printf(", \"names\": %zu, \"duration_s\": %.3f, \"rate\": %.0f, \"concurrency\": %u, "
	       "\"timeout_ms\": %d, \"retries\": %d, \"elapsed_s\": %.3f, \"completed\": %llu, "
	       "\"failed\": %llu, \"timeouts\": %llu, \"qps\": %.1f, ",
	       run->queries.n, o->duration_s, o->rate, o->concurrency, o->dns.timeout_ms,
	       o->dns.retries, (double)span / 1e9, (unsigned long long)run->completed,
	       (unsigned long long)run->failed, (unsigned long long)c->timeouts, qps);
	report_json_summary(stdout, "latency_us", &s);
	fputs(", ", stdout);
	report_json_tally(stdout, "rcodes", &run->tally);
	fputs(", ", stdout);
	report_json_counters(stdout, c);
	fputs("}\n", stdout);
}

int
qps_run(const struct mxbench_opts *o, struct dnsc *c)
{
	struct qps_run run = {.o = o, .dnsc = c};
	int status = 1;
	int64_t start;

	sample_init(&run.latency);
	if (!names_load(o->file, true, &run.queries))
		goto out;
	if (o->csv)
		fputs("name,type,latency_us,status\n", o->csv);
	start = dnsc_now_ns();
	if (qps_loop(&run, start) < 0)
		goto out;
	if (run.out_of_memory) {
		fputs("mxbench: out of memory for samples\n", stderr);
		goto out;
	}
	qps_print(&run, start);
	status = 0;
out:
	names_free(&run.queries);
	sample_free(&run.latency);
	return status;
}
