/*
 * names: the input files of mxbench, parsed into wire-form names.
 *
 *   mta: one domain per line
 *   qps: "name type" per line, as dnsperf reads them
 *
 * Blank lines and lines starting with '#' are skipped.
 */
#ifndef MXBENCH_NAMES_H
#define MXBENCH_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct names_entry {
	uint16_t type; /* 0 when the file has no types */
	uint8_t len;
	uint8_t name[WIRE_MAX_NAME];
};

struct names_list {
	struct names_entry *v;
	size_t n;
	size_t cap;
};

/* Fails with a message on stderr naming the file and line. */
bool names_load(const char *path, bool with_type, struct names_list *out);
void names_free(struct names_list *l);

/* Presentation form of entry e into out (WIRE_NAME_TEXT_MAX bytes). */
void names_text(const struct names_entry *e, char *out);

#endif
