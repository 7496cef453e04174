/* mm_early.c: planning the Early region (see mm.h and the proposal's "Physical
 * Memory Space Allocation"): how many frames the frame allocator's metadata and
 * its page tables need, and carving them from the start of usable memory.
 *
 * Invariant after mm_early_carve(map, n, taken):
 *   usable_after == usable_before - n * 4 KiB,  sum(taken) == n * 4 KiB,
 *   and every frame in taken was usable before and lies below every frame still usable
 *   that was usable before (taken is a prefix of usable memory in address order).
 */
#include "mm.h"

uint64_t mm_early_frames(uint64_t bytes)
{
	uint64_t n = MM_ALIGN_UP(bytes, PAGE_SIZE) >> PAGE_SHIFT;
	uint64_t pts = (n + 511) / 512, pds = (n + (1u << 18) - 1) >> 18;
	return n + pts + pds + 1;
}

int mm_early_carve(struct mem_map *map, uint64_t frames, struct mem_map *taken)
{
	struct mem_map m = *map;
	uint64_t left = frames;
	taken->count = 0;
	for (uint32_t i = 0; i < map->count && left; i++) {
		const struct mem_region *r = &map->r[i];
		if (r->type != MEM_USABLE)
			continue;
		uint64_t base = MM_ALIGN_UP(r->base, PAGE_SIZE);
		uint64_t end = MM_ALIGN_DOWN(r->base + r->len, PAGE_SIZE);
		if (end <= base)
			continue;
		uint64_t n = MM_MIN(left, (end - base) >> PAGE_SHIFT);
		if (taken->count == MEM_MAP_MAX)
			return MM_ENOMEM;
		taken->r[taken->count++] = (struct mem_region){base, n << PAGE_SHIFT, MEM_KERNEL};
		left -= n;
	}
	if (left)
		return MM_ENOMEM;
	for (uint32_t i = 0; i < taken->count; i++)
		if (mem_map_set(&m, taken->r[i].base, taken->r[i].len, MEM_KERNEL) != MM_OK)
			return MM_ENOMEM;
	*map = m;
	return MM_OK;
}
