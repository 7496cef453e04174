/* heap_slab_lcache.c: the end of a large object (heap_slab_large.c) and the
 * per-CPU cache of freed ones (a layer below heap_slab_chunk.c, which trims the
 * cache before it maps frames; heap_slab.h). Release unmaps the header and the
 * object with one unmap, reads the block list through the mmu's identity map
 * (to_virt of block 0), frees the blocks and list frames and returns the range.
 * With env->keep_empty_chunks > 0 a freeing CPU keeps up to SLAB_LCACHE freed,
 * page-aligned large objects mapped (at most keep_empty_chunks * SLAB_LCACHE_PAGES
 * pages, oldest evicted first); a cached object's header has magic
 * SLAB_LARGE_MAGIC ^ 1 (a second free panics) and
 *     lcache_pages == sum of slab_large_pages over c->lcache[0 .. nlcache).
 * Cached objects count in the footprint: their frames stay mapped.
 */
#include "heap_slab.h"

void *slab_large_cache_take(struct slab_cpu *c, uint64_t need)
{
	for (uint32_t i = c->nlcache; i-- > 0;) {
		struct slab_large *l = c->lcache[i];
		uint64_t pages = slab_large_pages(l);
		if (pages >= need && pages <= need + need / 4) {
			c->lcache[i] = c->lcache[--c->nlcache];
			c->lcache_pages -= (uint32_t)pages;
			l->magic = SLAB_LARGE_MAGIC;
			return (uint8_t *)l + PAGE_SIZE;
		}
	}
	return NULL;
}

void slab_large_free_blocks(const struct heap_env *env, unsigned cpu, const struct slab_large *l)
{
	uint64_t left = l->nblocks - 1, list = l->list;
	uint64_t n = MM_MIN(left, (uint64_t)SLAB_LARGE_BLOCKS - 1);
	heap_unback_range(env, cpu, 0, 0, l->blocks + 1, (unsigned)n); /* len 0: frees only */
	left -= n;
	for (uint64_t k = 0; k < l->nlist; k++) {
		const struct slab_blist *bl = env->mmu->to_virt(env->mmu->ctx, list << PAGE_SHIFT);
		n = MM_MIN(left, (uint64_t)SLAB_BLIST_BLOCKS);
		heap_unback_range(env, cpu, 0, 0, bl->blocks, (unsigned)n);
		left -= n;
		uint64_t next = bl->next;
		env->frames->free(env->frame_st, cpu, list, 0);
		list = next;
	}
	MM_ASSERT(left == 0, "slab: a large object's block count");
}

/* Unmaps large object l and gives back its frames and address range. */
static void large_release(struct slab_heap *h, unsigned cpu, struct slab_large *l)
{
	const struct heap_env *env = &h->env;
	uint64_t hva = (uint64_t)(uintptr_t)l;
	l->magic = 0;
	uint64_t va = l->va, va_len = l->va_len, len = l->len, hb = l->blocks[0];
	uint64_t frames = slab_large_frames(l);
	env->mmu->unmap(env->mmu->ctx, cpu, hva, len);
	/* The header frame is still ours: read the block list through the identity map. */
	const struct slab_large *pl =
	    env->mmu->to_virt(env->mmu->ctx, HEAP_BLOCK_PFN(hb) << PAGE_SHIFT);
	slab_large_free_blocks(env, cpu, pl);
	env->frames->free(env->frame_st, cpu, HEAP_BLOCK_PFN(hb), HEAP_BLOCK_ORDER(hb));
	env->va->free(env->va_st, cpu, va, va_len);
	slab_count_frames(h, -(int64_t)frames);
	__atomic_sub_fetch(&h->large_frames, frames, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&h->va_bytes, va_len, __ATOMIC_RELAXED);
}

uint64_t slab_large_room(const void *p)
{
	const struct slab_large *l = (const struct slab_large *)((const uint8_t *)p - PAGE_SIZE);
	MM_ASSERT(l->magic == SLAB_LARGE_MAGIC,
		  "slab: realloc of a large object with a bad header");
	return slab_large_pages(l) * PAGE_SIZE;
}

/* Unmaps the oldest object in cpu's cache (not empty); returns its frames. */
static uint64_t large_evict_oldest(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	struct slab_large *old = c->lcache[0];
	uint64_t frames = slab_large_frames(old);
	c->lcache_pages -= (uint32_t)slab_large_pages(old);
	c->nlcache--;
	for (uint32_t i = 0; i < c->nlcache; i++)
		c->lcache[i] = c->lcache[i + 1];
	large_release(h, cpu, old);
	return frames;
}

void slab_large_cache_trim(struct slab_heap *h, unsigned cpu, uint64_t frames)
{
	for (uint64_t done = 0; done < frames && h->cpu[cpu].nlcache;)
		done += large_evict_oldest(h, cpu);
}

void slab_large_free(struct slab_heap *h, unsigned cpu, void *p)
{
	struct slab_large *l = (struct slab_large *)((uint8_t *)p - PAGE_SIZE);
	MM_ASSERT(((uintptr_t)l & (PAGE_SIZE - 1)) == 0 && l->magic == SLAB_LARGE_MAGIC,
		  "slab: free of a large object with a bad header");
	struct slab_cpu *c = &h->cpu[cpu];
	uint64_t pages = slab_large_pages(l), budget = h->env.keep_empty_chunks * SLAB_LCACHE_PAGES;
	if (l->va_len != l->len || pages > budget) { /* over-aligned or too big to keep */
		large_release(h, cpu, l);
		return;
	}
	while (c->nlcache && (c->nlcache == SLAB_LCACHE || c->lcache_pages + pages > budget))
		large_evict_oldest(h, cpu);
	l->magic = SLAB_LARGE_MAGIC ^ 1; /* cached: a second free of it panics */
	c->lcache[c->nlcache++] = l;
	c->lcache_pages += (uint32_t)pages;
}

uint64_t slab_large_cache_drop(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	uint64_t pages = c->lcache_pages;
	while (c->nlcache)
		large_release(h, cpu, c->lcache[--c->nlcache]);
	c->lcache_pages = 0;
	return pages;
}

uint64_t slab_large_cache_check(const struct slab_heap *h, unsigned cpu)
{
	const struct slab_cpu *c = &h->cpu[cpu];
	uint64_t pages = 0;
	MM_ASSERT(c->nlcache <= SLAB_LCACHE, "slab: large cache overfull");
	for (uint32_t i = 0; i < c->nlcache; i++) {
		const struct slab_large *l = c->lcache[i];
		MM_ASSERT(l->magic == (SLAB_LARGE_MAGIC ^ 1) && l->va_len == l->len,
			  "slab: bad entry in the large cache");
		pages += slab_large_pages(l);
	}
	MM_ASSERT(pages == c->lcache_pages && pages <= h->env.keep_empty_chunks * SLAB_LCACHE_PAGES,
		  "slab: large cache accounting");
	return pages;
}
