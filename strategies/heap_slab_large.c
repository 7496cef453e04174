/* heap_slab_large.c: objects too big for a size class (above SLAB_CLASS_MAX, or
 * aligned above SLAB_SLOT) get their own address range and frames:
 *
 *   va: [alignment padding, unmapped][header page][object pages]
 *                                                ^ returned pointer (aligned)
 *
 * The header page records the range and the frame blocks (block 0 backs the
 * header itself). Free unmaps the header and the object with one unmap, reads
 * the block list through the mmu's identity map (to_virt of block 0), frees
 * the blocks and returns the range. Mapping is costly (page-table updates,
 * TLB shootdowns, page faults), so with env->keep_empty_chunks > 0 the freeing
 * CPU keeps up to SLAB_LCACHE freed, page-aligned large objects mapped (at most
 * keep_empty_chunks * SLAB_LCACHE_PAGES pages, 4 MiB per kept chunk, oldest evicted
 * first) and hands one out again to a request of the same page count, or up
 * to 1/4 fewer. Cached frames yield to growth: before the CPU maps new frames
 * (a large object the cache cannot serve, a slab commit, a chunk header) it
 * unmaps cached objects, oldest first, until as many frames were given back
 * (slab_large_cache_trim), so the cache never raises the peak footprint; and
 * slab_reclaim (before an allocation fails) and heap_slab_flush drop it all.
 * Cached objects count in the footprint: their frames stay mapped.
 *
 * The block list has no size limit: the header page holds the first
 * SLAB_LARGE_BLOCKS entries; when fragmented physical memory backs the body with
 * more (a 4 MiB object in order-0 frames needs 1,024), the rest go to list frames
 * (order 0, reached through the identity map, never mapped in the heap's range),
 * chained from l->list; they count in the object's frames:
 *     frames(l) == l->len / PAGE_SIZE + l->nlist.
 */
#include "heap_slab.h"

struct slab_large {
	uint64_t magic;
	uint64_t va, va_len; /* the whole reserved range */
	uint64_t len;	     /* mapped bytes from the header page on */
	uint64_t nblocks;    /* in all: header block, then the body's */
	uint64_t nlist;	     /* list frames holding entries beyond SLAB_LARGE_BLOCKS */
	uint64_t list;	     /* pfn of the first list frame (when nlist > 0) */
	uint64_t blocks[];   /* the first SLAB_LARGE_BLOCKS entries */
};
#define SLAB_LARGE_BLOCKS ((unsigned)((PAGE_SIZE - sizeof(struct slab_large)) / 8))

/* A list frame: more body blocks, and the next list frame's pfn. */
struct slab_blist {
	uint64_t next;
	uint64_t blocks[PAGE_SIZE / 8 - 1];
};
#define SLAB_BLIST_BLOCKS ((unsigned)(PAGE_SIZE / 8 - 1))

static inline uint64_t large_frames_of(const struct slab_large *l)
{
	return l->len / PAGE_SIZE + l->nlist;
}

static inline uint64_t large_pages(const struct slab_large *l)
{
	return l->len / PAGE_SIZE - 1;
}

/* A cached object whose body has pages in [need, need + need/4], or NULL. */
static void *large_cache_take(struct slab_cpu *c, uint64_t need)
{
	for (uint32_t i = c->nlcache; i-- > 0;) {
		struct slab_large *l = c->lcache[i];
		uint64_t pages = large_pages(l);
		if (pages >= need && pages <= need + need / 4) {
			c->lcache[i] = c->lcache[--c->nlcache];
			c->lcache_pages -= (uint32_t)pages;
			l->magic = SLAB_LARGE_MAGIC;
			return (uint8_t *)l + PAGE_SIZE;
		}
	}
	return NULL;
}

/* Frees the body blocks that l records (l read through any mapping of its header
 * frame) and the list frames holding them; the header block stays. */
static void large_free_blocks(const struct heap_env *env, unsigned cpu, const struct slab_large *l)
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
	large_free_blocks(env, cpu, l);
	l->nblocks = 1;
	l->nlist = 0;
	return MM_ENOMEM;
}

static void *large_alloc_once(struct slab_heap *h, unsigned cpu, size_t size, size_t align)
{
	const struct heap_env *env = &h->env;
	if (size > ((uint64_t)1 << 46) || align > ((uint64_t)1 << 46))
		return NULL;
	uint64_t body = MM_ALIGN_UP(MM_MAX((uint64_t)size, (uint64_t)1), PAGE_SIZE);
	if (h->cpu[cpu].nlcache && align <= PAGE_SIZE) {
		void *p = large_cache_take(&h->cpu[cpu], body / PAGE_SIZE);
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
	slab_count_frames(h, (int64_t)large_frames_of(l));
	__atomic_add_fetch(&h->large_frames, large_frames_of(l), __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->va_bytes, l->va_len, __ATOMIC_RELAXED);
	return (void *)(uintptr_t)user;
fail_hdr:
	heap_unback_range(env, cpu, hva, PAGE_SIZE, &hb, 1);
fail_va:
	env->va->free(env->va_st, cpu, va, a + body);
	return NULL;
}

void *slab_large_alloc(struct slab_heap *h, unsigned cpu, size_t size, size_t align)
{
	void *p = large_alloc_once(h, cpu, size, align);
	if (!p && slab_reclaim(h, cpu))
		p = large_alloc_once(h, cpu, size, align);
	return p;
}

/* Unmaps large object l and gives back its frames and address range. */
static void large_release(struct slab_heap *h, unsigned cpu, struct slab_large *l)
{
	const struct heap_env *env = &h->env;
	uint64_t hva = (uint64_t)(uintptr_t)l;
	l->magic = 0;
	uint64_t va = l->va, va_len = l->va_len, len = l->len, hb = l->blocks[0];
	uint64_t frames = large_frames_of(l);
	env->mmu->unmap(env->mmu->ctx, cpu, hva, len);
	/* The header frame is still ours: read the block list through the identity map. */
	const struct slab_large *pl =
		env->mmu->to_virt(env->mmu->ctx, HEAP_BLOCK_PFN(hb) << PAGE_SHIFT);
	large_free_blocks(env, cpu, pl);
	env->frames->free(env->frame_st, cpu, HEAP_BLOCK_PFN(hb), HEAP_BLOCK_ORDER(hb));
	env->va->free(env->va_st, cpu, va, va_len);
	slab_count_frames(h, -(int64_t)frames);
	__atomic_sub_fetch(&h->large_frames, frames, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&h->va_bytes, va_len, __ATOMIC_RELAXED);
}

uint64_t slab_large_room(const void *p)
{
	const struct slab_large *l = (const struct slab_large *)((const uint8_t *)p - PAGE_SIZE);
	MM_ASSERT(l->magic == SLAB_LARGE_MAGIC, "slab: realloc of a large object with a bad header");
	return large_pages(l) * PAGE_SIZE;
}

/* Unmaps the oldest object in cpu's cache (not empty); returns its frames. */
static uint64_t large_evict_oldest(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	struct slab_large *old = c->lcache[0];
	uint64_t frames = large_frames_of(old);
	c->lcache_pages -= (uint32_t)large_pages(old);
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
	uint64_t pages = large_pages(l), budget = h->env.keep_empty_chunks * SLAB_LCACHE_PAGES;
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
		pages += large_pages(l);
	}
	MM_ASSERT(pages == c->lcache_pages &&
			  pages <= h->env.keep_empty_chunks * SLAB_LCACHE_PAGES,
		  "slab: large cache accounting");
	return pages;
}
