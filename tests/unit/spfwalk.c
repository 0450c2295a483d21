/*
 * spfwalk: spf_walk over a fake zone read from standard input (the
 * format of spf_fakezone.h), for the pyspf cross-check
 * (tests/integration/test_spf_pyspf.py).
 *
 *     spfwalk DOMAIN [MAX_DEPTH] < zone
 *
 * Prints "result R", "reason ...", "dns_terms N", "voids N", then one
 * "node DEPTH KIND STATUS DNS_TERMS VOIDS TEXT" line per node and one
 * "lookup NAME QTYPE RCODE COUNT" line per lookup, in order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "spf.h"
#include "spf_fakezone.h"

int
main(int argc, char **argv)
{
	static struct fz_zone zone;
	static struct spf_walk w;
	static char text[FZ_MAX * (FZ_DATA + SPF_NAME_MAX)];
	size_t n;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: spfwalk DOMAIN [MAX_DEPTH] < zone\n");
		return 2;
	}
	n = fread(text, 1, sizeof(text) - 1, stdin);
	text[n] = '\0';
	if (!fz_load(&zone, text)) {
		fprintf(stderr, "spfwalk: bad zone\n");
		return 2;
	}
	spf_walk(argv[1], argc == 3 ? (unsigned)atoi(argv[2]) : 0, fz_lookup, &zone, &w);
	printf("result %s\nreason %s\ndns_terms %u\nvoids %u\n", spf_result_name(w.result),
	       w.reason ? w.reason : "-", w.dns_terms, w.voids);
	for (unsigned i = 0; i < w.n_nodes; i++) {
		const struct spf_node *nd = &w.nodes[i];
		printf("node %u %s %s %u %u %s\n", nd->depth, spf_kind_name(nd->kind),
		       spf_node_status_name(nd->status), nd->dns_terms, nd->voids, nd->text);
	}
	for (unsigned i = 0; i < w.n_lookups; i++) {
		const struct spf_lookup *l = &w.lookups[i];
		printf("lookup %s %u %u %u\n", l->name, l->qtype, l->rcode, l->count);
	}
	return 0;
}
