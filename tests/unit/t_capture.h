/*
 * What a module writes on stderr, captured for a test (test_log.c,
 * test_servfail.c): t_capture_start points descriptor 2 at a temporary
 * file, t_capture_end puts it back and returns what was written.
 */
#ifndef MXCACHE_T_CAPTURE_H
#define MXCACHE_T_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* assert_true: include <cmocka.h> first. */

struct t_capture {
	FILE *file;
	int saved;
	char text[8192];
};

static inline void
t_capture_start(struct t_capture *c)
{
	fflush(stderr);
	assert_non_null(c->file = tmpfile());
	assert_true((c->saved = dup(2)) >= 0);
	assert_true(dup2(fileno(c->file), 2) == 2);
}

static inline const char *
t_capture_end(struct t_capture *c)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(c->saved, 2) == 2);
	close(c->saved);
	rewind(c->file);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
	c->text[n] = '\0';
	fclose(c->file);
	return c->text;
}

#endif
