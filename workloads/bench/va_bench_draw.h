/* va_bench_draw.h: va_bench's random draws, shared with the tests that replay its
 * workload (va_btree_best_test): splitmix64, and range sizes of 4 KiB .. 2 MiB,
 * log-uniform over the 10 octaves of page counts 1..512. */
#ifndef VA_BENCH_DRAW_H
#define VA_BENCH_DRAW_H

#include <stdint.h>

#include "../../strategies/mm_common.h"

/* The next splitmix64 value of the stream *s. */
static inline uint64_t vb_rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A range size in bytes: 1..512 pages, log-uniform. */
static inline uint64_t vb_rand_size(uint64_t *s)
{
	unsigned e = (unsigned)(vb_rnd(s) % 10);
	uint64_t pages = (1ull << e) + vb_rnd(s) % (1ull << e);
	return (pages > 512 ? 512 : pages) << PAGE_SHIFT;
}

#endif
