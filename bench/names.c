/*
 * names: the input files of mxbench.
 */
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
names_push(struct names_list *l, const struct names_entry *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct names_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return false;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return true;
}

/* Parses one line into e; false with a reason if it is malformed. */
static bool
names_parse_line(char *line, bool with_type, struct names_entry *e, const char **why)
{
	char *save = NULL;
	char *name = strtok_r(line, " \t\r\n", &save);
	char *type = strtok_r(NULL, " \t\r\n", &save);
	size_t len;
	int t = 0;

	if (with_type && !type) {
		*why = "expected \"name type\"";
		return false;
	}
	if (with_type && (t = wire_type_from_name(type)) < 0) {
		*why = "unknown type";
		return false;
	}
	if (strtok_r(NULL, " \t\r\n", &save) || (!with_type && type)) {
		*why = "too many fields";
		return false;
	}
	len = wire_name_from_text(name, e->name);
	if (len == 0) {
		*why = "bad name";
		return false;
	}
	e->len = (uint8_t)len;
	e->type = (uint16_t)t;
	return true;
}

bool
names_load(const char *path, bool with_type, struct names_list *out)
{
	char line[WIRE_NAME_TEXT_MAX + 64];
	struct names_entry e;
	const char *why = NULL;
	size_t lineno = 0;
	bool ok = false;
	FILE *f = fopen(path, "r");

	memset(out, 0, sizeof(*out));
	if (!f) {
		perror(path);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t skip = strspn(line, " \t\r\n");
		if (line[skip] == '\0' || line[skip] == '#')
			continue;
		if (!names_parse_line(line, with_type, &e, &why))
			goto out;
		if (!names_push(out, &e)) {
			why = "out of memory";
			goto out;
		}
	}
	if (out->n == 0)
		why = "no names";
	else
		ok = true;
out:
	if (!ok)
		fprintf(stderr, "%s:%zu: %s\n", path, lineno, why);
	fclose(f);
	if (!ok)
		names_free(out);
	return ok;
}

void
names_free(struct names_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
names_text(const struct names_entry *e, char *out)
{
	if (!wire_name_to_text(e->name, e->len, out, WIRE_NAME_TEXT_MAX))
		snprintf(out, WIRE_NAME_TEXT_MAX, "?");
}
