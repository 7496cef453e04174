/* heap_back.c: backs a heap's virtual range with frames, block by block.
 *
 * Blocks are taken greedily, largest order first (capped at 2 MiB and at what is
 * left of the range), falling back to smaller orders when the frame allocator is
 * out of large blocks, so fragmented physical memory still backs a contiguous
 * virtual range (the point of mapping on demand). Invariant on success:
 *     sum over blocks of 2^order * PAGE_SIZE == len,  each block mapped at
 *     va + (sum of the sizes of the blocks before it).
 */
#include "heap_back.h"

static unsigned hb_order_for(uint64_t pages)
{
	unsigned o = mm_log2_floor(pages);
	return o > HEAP_BACK_MAX_ORDER ? HEAP_BACK_MAX_ORDER : o;
}

int heap_back_part(const struct heap_env *env, unsigned cpu, uint64_t va, uint64_t len,
		   uint64_t *blocks, unsigned max_blocks, unsigned *nblocks, uint64_t *done)
{
	uint64_t at = 0;
	unsigned n = 0;
	unsigned order = hb_order_for(len / PAGE_SIZE);
	while (at < len && n < max_blocks) {
		uint64_t pfn, left = (len - at) / PAGE_SIZE;
		if ((1ull << order) > left)
			order = hb_order_for(left);
		int rc = env->frames->alloc(env->frame_st, cpu, order, &pfn);
		if (rc == MM_ENOMEM && order > 0) {
			order--;
			continue;
		}
		uint64_t sz = PAGE_SIZE << order;
		if (rc == MM_OK) {
			rc = env->mmu->map(env->mmu->ctx, cpu, va + at, pfn << PAGE_SHIFT, sz,
					   MMU_WRITE);
			if (rc != MM_OK)
				env->frames->free(env->frame_st, cpu, pfn, order);
		}
		if (rc != MM_OK) {
			heap_unback_range(env, cpu, va, at, blocks, n);
			return MM_ENOMEM;
		}
		blocks[n++] = HEAP_BLOCK(pfn, order);
		at += sz;
	}
	*nblocks = n;
	*done = at;
	return MM_OK;
}

int heap_back_range(const struct heap_env *env, unsigned cpu, uint64_t va, uint64_t len,
		    uint64_t *blocks, unsigned max_blocks, unsigned *nblocks)
{
	uint64_t done;
	if (heap_back_part(env, cpu, va, len, blocks, max_blocks, nblocks, &done) != MM_OK)
		return MM_ENOMEM;
	if (done < len) { /* more than max_blocks blocks needed */
		heap_unback_range(env, cpu, va, done, blocks, *nblocks);
		return MM_ENOMEM;
	}
	return MM_OK;
}

void heap_unback_range(const struct heap_env *env, unsigned cpu, uint64_t va, uint64_t len,
		       const uint64_t *blocks, unsigned nblocks)
{
	if (len)
		env->mmu->unmap(env->mmu->ctx, cpu, va, len);
	for (unsigned i = 0; i < nblocks; i++)
		env->frames->free(env->frame_st, cpu, HEAP_BLOCK_PFN(blocks[i]),
				  HEAP_BLOCK_ORDER(blocks[i]));
}
