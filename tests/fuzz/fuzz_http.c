/*
 * libFuzzer harness: the scrape endpoint's request-head parser
 * (metrics_parse_request), one connection's input per fuzz input.
 *
 * Checked: the verdict is one of the enum's; an incomplete input is
 * shorter than the cap; a bad one's head_len is within the input and the
 * cap; a complete head (200/404/405) ends with its blank line, gives the
 * same verdict on its own (what follows a head is never part of it), and
 * one byte short of its end is incomplete (no verdict from bytes not read
 * yet). The parser reads no byte past len: the copy is exactly len bytes,
 * for ASan to see.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "metrics.h"

static enum metrics_verdict
fz_parse(const uint8_t *data, size_t size, struct metrics_request *req)
{
	/* An exact-size heap copy, so ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);
	enum metrics_verdict v;

	CHECK(buf != NULL);
	if (size)
		memcpy(buf, data, size);
	v = metrics_parse_request(buf, size, req);
	free(buf);
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_request req, again;
	enum metrics_verdict v = fz_parse(data, size, &req);

	CHECK(v == METRICS_INCOMPLETE || v == METRICS_OK || v == METRICS_BAD ||
	      v == METRICS_METHOD || v == METRICS_NOT_FOUND);
	if (v == METRICS_INCOMPLETE) {
		CHECK(size < METRICS_MAX_HEAD);
		return 0;
	}
	CHECK(req.head_len <= size && req.head_len <= METRICS_MAX_HEAD);
	CHECK(req.head_only == 0 || req.head_only == 1);
	if (v == METRICS_BAD)
		return 0;
	CHECK(req.head_len >= 2 && data[req.head_len - 1] == '\n');
	CHECK(data[req.head_len - 2] == '\n' ||
	      (req.head_len >= 3 && data[req.head_len - 2] == '\r' &&
	       data[req.head_len - 3] == '\n'));
	/* The head alone: the same answer. */
	CHECK(fz_parse(data, req.head_len, &again) == v);
	CHECK(again.head_len == req.head_len && again.head_only == req.head_only);
	CHECK(fz_parse(data, req.head_len - 1, &again) == METRICS_INCOMPLETE);
	return 0;
}
