/* heap_slab_large.c: objects too big for a size class get their own address
 * range and frames:
 *
 *   va: [alignment padding, unmapped][header page][object pages]
 *                                                ^ returned pointer (aligned)
 *
 * The header page records the range and the frame blocks (block 0 backs the
 * header itself). Free unmaps the header and the object with one unmap, reads
 * the block list through the mmu's identity map (to_virt of block 0), frees
 * the blocks and returns the range. Limit: at most SLAB_LARGE_BLOCKS blocks
 * (about 1 GiB in 2 MiB blocks; less when physical memory is fragmented),
 * beyond which the allocation fails with NULL.
 */
#include "heap_slab.h"

struct slab_large {
	uint64_t magic;
	uint64_t va, va_len; /* the whole reserved range */
	uint64_t len;	     /* mapped bytes from the header page on */
	uint64_t nblocks;
	uint64_t blocks[];
};
#define SLAB_LARGE_BLOCKS ((unsigned)((PAGE_SIZE - sizeof(struct slab_large)) / 8))

void *slab_large_alloc(struct slab_heap *h, unsigned cpu, size_t size, size_t align)
{
	const struct heap_env *env = &h->env;
	uint64_t body = MM_ALIGN_UP(MM_MAX((uint64_t)size, (uint64_t)1), PAGE_SIZE);
	uint64_t a = MM_MAX((uint64_t)align, PAGE_SIZE), va, hb;
	unsigned n;
	if (body > ((uint64_t)1 << 46) || env->va->alloc(env->va_st, cpu, a + body, a, &va) != MM_OK)
		return NULL;
	uint64_t user = va + a, hva = user - PAGE_SIZE;
	if (heap_back_range(env, cpu, hva, PAGE_SIZE, &hb, 1, &n) != MM_OK)
		goto fail_va;
	struct slab_large *l = (struct slab_large *)(uintptr_t)hva;
	if (heap_back_range(env, cpu, user, body, l->blocks + 1, SLAB_LARGE_BLOCKS - 1, &n) != MM_OK)
		goto fail_hdr;
	l->magic = SLAB_LARGE_MAGIC;
	l->va = va;
	l->va_len = a + body;
	l->len = PAGE_SIZE + body;
	l->nblocks = n + 1;
	l->blocks[0] = hb;
	slab_count_frames(h, (int64_t)(l->len / PAGE_SIZE));
	__atomic_add_fetch(&h->large_frames, l->len / PAGE_SIZE, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->va_bytes, l->va_len, __ATOMIC_RELAXED);
	return (void *)(uintptr_t)user;
fail_hdr:
	heap_unback_range(env, cpu, hva, PAGE_SIZE, &hb, 1);
fail_va:
	env->va->free(env->va_st, cpu, va, a + body);
	return NULL;
}

void slab_large_free(struct slab_heap *h, unsigned cpu, void *p)
{
	const struct heap_env *env = &h->env;
	uint64_t hva = (uint64_t)(uintptr_t)p - PAGE_SIZE;
	struct slab_large *l = (struct slab_large *)(uintptr_t)hva;
	MM_ASSERT((hva & (PAGE_SIZE - 1)) == 0 && l->magic == SLAB_LARGE_MAGIC,
		  "slab: free of a large object with a bad header");
	l->magic = 0;
	uint64_t va = l->va, va_len = l->va_len, len = l->len, hb = l->blocks[0];
	env->mmu->unmap(env->mmu->ctx, hva, len);
	/* The header frame is still ours: read the block list through the identity map. */
	const struct slab_large *pl =
		env->mmu->to_virt(env->mmu->ctx, HEAP_BLOCK_PFN(hb) << PAGE_SHIFT);
	for (uint64_t i = 1; i < pl->nblocks; i++)
		env->frames->free(env->frame_st, cpu, HEAP_BLOCK_PFN(pl->blocks[i]),
				  HEAP_BLOCK_ORDER(pl->blocks[i]));
	env->frames->free(env->frame_st, cpu, HEAP_BLOCK_PFN(hb), HEAP_BLOCK_ORDER(hb));
	env->va->free(env->va_st, cpu, va, va_len);
	slab_count_frames(h, -(int64_t)(len / PAGE_SIZE));
	__atomic_sub_fetch(&h->large_frames, len / PAGE_SIZE, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&h->va_bytes, va_len, __ATOMIC_RELAXED);
}
