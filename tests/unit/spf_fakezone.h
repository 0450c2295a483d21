/*
 * spf_fakezone.h: a small in-memory zone behind spf_walk's lookup
 * callback, shared by test_spf_walk.c and the spfwalk driver (which the
 * pyspf cross-check runs). One record a line:
 *
 *     NAME TXT text         (character-strings split at '|')
 *     NAME MX exchanger     ("." is a null MX)
 *     NAME A address        (A and AAAA: only the count matters here)
 *     NAME AAAA address
 *     NAME NX               (the name does not exist)
 *     NAME FAIL             (every lookup of the name fails: SERVFAIL)
 *
 * A name the zone does not mention does not exist; a name it mentions
 * without the asked type answers NOERROR with no records. Every call is
 * counted, so tests can check what the walker asked.
 */
#ifndef MXCACHE_SPF_FAKEZONE_H
#define MXCACHE_SPF_FAKEZONE_H

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "wire.h"

#define FZ_MAX 128
#define FZ_DATA 1024

struct fz_entry {
	char name[SPF_NAME_MAX];
	uint16_t qtype; /* 0: NX or FAIL */
	int rcode;
	uint8_t data[FZ_DATA];
	size_t len;
};

struct fz_zone {
	size_t n;
	struct fz_entry e[FZ_MAX];
	struct spf_rr rr[FZ_MAX];
	unsigned calls;
};

static const struct {
	const char *word;
	uint16_t qtype;
	int rcode;
} fz_types[] = {
    {"TXT", WIRE_T_TXT, WIRE_NOERROR}, {"MX", WIRE_T_MX, WIRE_NOERROR},
    {"A", WIRE_T_A, WIRE_NOERROR},     {"AAAA", WIRE_T_AAAA, WIRE_NOERROR},
    {"NX", 0, WIRE_NXDOMAIN},	       {"FAIL", 0, WIRE_SERVFAIL},
};

/* TXT text to RDATA: '|' separates character-strings of at most 255. */
static inline bool
fz_txt(struct fz_entry *e, const char *text, size_t n)
{
	size_t start = 0;

	e->len = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && text[i] != '|')
			continue;
		size_t part = i - start;
		if (part > 255 || e->len + 1 + part > sizeof(e->data))
			return false;
		e->data[e->len++] = (uint8_t)part;
		memcpy(e->data + e->len, text + start, part);
		e->len += part;
		start = i + 1;
	}
	return true;
}

/* Loads the lines of text; false on a line it does not understand. */
static inline bool
fz_load(struct fz_zone *z, const char *text)
{
	z->n = 0;
	z->calls = 0;
	while (*text) {
		const char *eol = strchr(text, '\n');
		size_t len = eol ? (size_t)(eol - text) : strlen(text);
		char name[SPF_NAME_MAX], word[8];
		int used = 0;
		char line[FZ_DATA + SPF_NAME_MAX];

		if (len >= sizeof(line))
			return false;
		memcpy(line, text, len);
		line[len] = '\0';
		text += len + (eol ? 1 : 0);
		if (len == 0 || line[0] == '#')
			continue;
		if (sscanf(line, "%253s %7s %n", name, word, &used) < 2 || z->n >= FZ_MAX)
			return false;
		size_t t = 0;
		while (t < sizeof(fz_types) / sizeof(fz_types[0]) &&
		       strcasecmp(fz_types[t].word, word) != 0)
			t++;
		if (t == sizeof(fz_types) / sizeof(fz_types[0]))
			return false;
		struct fz_entry *e = &z->e[z->n++];
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->qtype = fz_types[t].qtype;
		e->rcode = fz_types[t].rcode;
		const char *data = line + used;
		if (e->qtype == WIRE_T_TXT) {
			if (!fz_txt(e, data, strlen(data)))
				return false;
		} else {
			e->len = strlen(data);
			if (e->len > sizeof(e->data))
				return false;
			memcpy(e->data, data, e->len);
		}
	}
	return true;
}

static inline void
fz_lookup(void *arg, const char *name, uint16_t qtype, struct spf_answer *ans)
{
	struct fz_zone *z = arg;
	bool exists = false;

	z->calls++;
	ans->rcode = WIRE_NOERROR;
	ans->count = 0;
	ans->rr = z->rr;
	for (size_t i = 0; i < z->n; i++) {
		const struct fz_entry *e = &z->e[i];
		if (strcasecmp(e->name, name) != 0)
			continue;
		exists = true;
		if (e->qtype == 0) {
			ans->rcode = e->rcode;
			ans->count = 0;
			return;
		}
		if (e->qtype == qtype) {
			z->rr[ans->count].data = e->data;
			z->rr[ans->count].len = e->len;
			ans->count++;
		}
	}
	if (!exists)
		ans->rcode = WIRE_NXDOMAIN;
}

#endif
