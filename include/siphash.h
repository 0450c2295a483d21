/*
 * siphash: SipHash-2-4 (Aumasson & Bernstein), a keyed hash for tables
 * whose keys come from the network, so collisions cannot be forced.
 */
#ifndef MXCACHE_SIPHASH_H
#define MXCACHE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
