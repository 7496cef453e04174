/* heap_slab_large.c: objects too big for a size class (above SLAB_CLASS_MAX, or
 * aligned above SLAB_SLOT) get their own address range and frames:
 *
 *   va: [alignment padding, unmapped][header page][object pages]
 *                                                ^ returned pointer (aligned)
 *
 * The header page records the range and the frame blocks (block 0 backs the
 * header itself). Allocation (this file, a layer above heap_slab_chunk.c and
 * heap_slab_lcache.c; heap_slab.h) first takes a cached object of the same page
 * count, or up to 1/4 fewer, from the CPU's large cache; on a miss it calls
 * slab_before_map, which trims that cache and the EMPTY slabs so that cached
 * frames never raise the peak footprint, then maps a new range. Free, release
 * and the cache are heap_slab_lcache.c's; the retry after slab_reclaim when an
 * allocation fails is heap_slab.c's.
 *
 * The block list has no size limit: the header page holds the first
 * SLAB_LARGE_BLOCKS entries; when fragmented physical memory backs the body with
 * more (a 4 MiB object in order-0 frames needs 1,024), the rest go to list frames
 * (order 0, reached through the identity map, never mapped in the heap's range),
 * chained from l->list; they count in the object's frames:
 *     frames(l) == l->len / PAGE_SIZE + l->nlist.
 */
#include "heap_slab.h"

/* Backs the body [user, user+body) of l (header mapped, l->nblocks == 1), its
 * block list spilling into list frames as needed. MM_ENOMEM with nothing of the
 * body left mapped or allocated. */
static int large_back_body(const struct heap_env *env, unsigned cpu, struct slab_large *l,
			   uint64_t user, uint64_t body)
{
	uint64_t done = 0, *b = l->blocks + 1, *link = &l->list;
	unsigned cap = SLAB_LARGE_BLOCKS - 1;
	for (;;) {
		unsigned n;
		uint64_t got, pfn;
		if (heap_back_part(env, cpu, user + done, body - done, b, cap, &n, &got) != MM_OK)
			break;
		l->nblocks += n;
		done += got;
		if (done == body)
			return MM_OK;
		if (env->frames->alloc(env->frame_st, cpu, 0, &pfn) != MM_OK)
			break;
		struct slab_blist *bl = env->mmu->to_virt(env->mmu->ctx, pfn << PAGE_SHIFT);
		*link = pfn;
		link = &bl->next;
		l->nlist++;
		b = bl->blocks;
		cap = SLAB_BLIST_BLOCKS;
	}
	if (done)
		env->mmu->unmap(env->mmu->ctx, cpu, user, done);
	slab_large_free_blocks(env, cpu, l);
	l->nblocks = 1;
	l->nlist = 0;
	return MM_ENOMEM;
}

void *slab_large_alloc(struct slab_heap *h, unsigned cpu, size_t size, size_t align)
{
	const struct heap_env *env = &h->env;
	if (size > ((uint64_t)1 << 46) || align > ((uint64_t)1 << 46))
		return NULL;
	uint64_t body = MM_ALIGN_UP(MM_MAX((uint64_t)size, (uint64_t)1), PAGE_SIZE);
	if (h->cpu[cpu].nlcache && align <= PAGE_SIZE) {
		void *p = slab_large_cache_take(&h->cpu[cpu], body / PAGE_SIZE);
		if (p)
			return p;
	}
	slab_before_map(h, cpu, body / PAGE_SIZE + 1); /* a miss */
	uint64_t a = MM_MAX((uint64_t)align, PAGE_SIZE), va, hb;
	unsigned n;
	if (env->va->alloc(env->va_st, cpu, a + body, a, &va) != MM_OK)
		return NULL;
	uint64_t user = va + a, hva = user - PAGE_SIZE;
	if (heap_back_range(env, cpu, hva, PAGE_SIZE, &hb, 1, &n) != MM_OK)
		goto fail_va;
	struct slab_large *l = (struct slab_large *)(uintptr_t)hva;
	l->nblocks = 1;
	l->nlist = 0;
	l->blocks[0] = hb;
	if (large_back_body(env, cpu, l, user, body) != MM_OK)
		goto fail_hdr;
	l->magic = SLAB_LARGE_MAGIC;
	l->va = va;
	l->va_len = a + body;
	l->len = PAGE_SIZE + body;
	slab_count_frames(h, (int64_t)slab_large_frames(l));
	__atomic_add_fetch(&h->large_frames, slab_large_frames(l), __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->va_bytes, l->va_len, __ATOMIC_RELAXED);
	return (void *)(uintptr_t)user;
fail_hdr:
	heap_unback_range(env, cpu, hva, PAGE_SIZE, &hb, 1);
fail_va:
	env->va->free(env->va_st, cpu, va, a + body);
	return NULL;
}
