/* mem_map_test.c: normalizing and editing memory maps (unsorted, overlapping,
 * zero-length entries as QEMU microvm produces them). */
#include "testlib.h"

#include "../mm_common.h"

static void check_sorted_disjoint(const struct mem_map *m)
{
	for (uint32_t i = 0; i < m->count; i++) {
		CHECK(m->r[i].len > 0, "empty region %u", i);
		if (i > 0) {
			CHECK(m->r[i - 1].base + m->r[i - 1].len <= m->r[i].base,
			      "regions %u and %u overlap or are unsorted", i - 1, i);
			CHECK(!(m->r[i - 1].type == m->r[i].type &&
				m->r[i - 1].base + m->r[i - 1].len == m->r[i].base),
			      "touching regions %u,%u of one type not merged", i - 1, i);
		}
	}
}

int main(void)
{
	struct mem_map m = {.count = 5,
			    .r = {{0x100000, 0x7ff00000, MEM_USABLE},
				  {0, 0x9fc00, MEM_USABLE},
				  {0x40000000, 0x1000, MEM_RESERVED}, /* overlaps usable */
				  {0xfeffc000, 0x4000, 4},
				  {0, 0, 0}}};
	CHECK(mem_map_normalize(&m) == 0, "normalize");
	check_sorted_disjoint(&m);
	CHECK(mem_map_bytes(&m, MEM_USABLE) == 0x9fc00 + 0x7ff00000 - 0x1000, "usable %llx",
	      (unsigned long long)mem_map_bytes(&m, MEM_USABLE));
	CHECK(mem_map_end(&m) == 0x80000000, "end");

	/* Carving out the kernel and a trace blob keeps the byte count exact. */
	uint64_t before = mem_map_bytes(&m, MEM_USABLE);
	CHECK(mem_map_set(&m, 0x100000, 0x200000, MEM_KERNEL) == 0, "set kernel");
	CHECK(mem_map_set(&m, 0x7fff0000, 0x10000, MEM_KERNEL) == 0, "set blob");
	check_sorted_disjoint(&m);
	CHECK(mem_map_bytes(&m, MEM_USABLE) == before - 0x210000, "after carve");
	CHECK(mem_map_bytes(&m, MEM_KERNEL) == 0x210000, "kernel bytes");

	/* Setting back to usable merges the pieces again. */
	CHECK(mem_map_set(&m, 0x100000, 0x200000, MEM_USABLE) == 0, "unset");
	check_sorted_disjoint(&m);

	/* Random edits against a byte-per-page reference model. */
	struct rng r = {test_seed("mem_map_test", 1)};
	enum { PAGES = 512 };
	for (int round = 0; round < 200; round++) {
		uint8_t ref[PAGES];
		struct mem_map mm = {.count = 1, .r = {{0, PAGES * 4096ull, MEM_USABLE}}};
		memset(ref, MEM_USABLE, sizeof(ref));
		for (int k = 0; k < 20; k++) {
			uint64_t b = rng_below(&r, PAGES), l = 1 + rng_below(&r, PAGES - b);
			uint8_t t = (uint8_t)(1 + rng_below(&r, 3));
			if (mem_map_set(&mm, b * 4096, l * 4096, t) != 0)
				break;
			memset(ref + b, t, l);
			check_sorted_disjoint(&mm);
			for (uint8_t ty = 1; ty <= 3; ty++) {
				uint64_t n = 0;
				for (int p = 0; p < PAGES; p++)
					n += ref[p] == ty;
				CHECK(mem_map_bytes(&mm, ty) == n * 4096, "round %d type %u", round, ty);
			}
		}
	}
	printf("mem_map_test: ok\n");
	return 0;
}
