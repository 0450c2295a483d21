/*
 * fuzz.h: what the libFuzzer harnesses share: a check that aborts (so
 * libFuzzer keeps the input) and the name invariant wire.h promises.
 */
#ifndef MXCACHE_FUZZ_H
#define MXCACHE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "wire.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The name is labels of 1..63 bytes ending in the root label, exactly len
 * bytes long, with no compression pointer. */
static inline void
check_name(const uint8_t *name, size_t len)
{
	size_t i = 0;

	CHECK(len >= 1 && len <= WIRE_MAX_NAME);
	while (name[i] != 0) {
		CHECK(name[i] <= WIRE_MAX_LABEL);
		i += (size_t)name[i] + 1;
		CHECK(i < len);
	}
	CHECK(i + 1 == len);
}

#endif
