/* heap_slab.c: an snmalloc-like heap: one allocator per CPU, size classes,
 * slabs carved from 2 MiB chunks, remote frees sent home in batches.
 *
 * Design (after snmalloc, Lietar et al., ISMM 2019, and mimalloc's free lists):
 * - 60 size classes: 16..128 B in steps of 16, then 4 per power of two up to
 *   1 MiB, so a class wastes at most 1/5 of its size (1/8 of the request up to
 *   128 B... 15 B). A slab of a class spans the fewest 64 KiB slots that hold
 *   SLAB_MIN_CAP objects (one slot up to 8 KiB, 31 slots = 1984 KiB at most, where
 *   a 1 MiB class holds one object). An aligned request takes the first class
 *   whose size is a multiple of the alignment (objects sit at slab start + i *
 *   size, slabs are 64 KiB aligned); bigger requests, or aligned above 64 KiB,
 *   are large objects (heap_slab_large.c, heap_slab_lcache.c).
 * - Sparse start: a class's first slab costs at least a page, so a small heap of
 *   many sizes would pay a page per class (xmalloc: 100 objects of 16..256 B in
 *   12 classes, 16 KB live, 72 KB mapped). A CPU therefore starts sparse: requests
 *   up to 1024 B take the power-of-two classes (16, 32, 64 .. 1024: at most 7
 *   slabs, up to 1/2 of an object wasted instead of 1/5), its slabs commit one page
 *   at a time and its first chunk maps one header page (a small chunk,
 *   heap_slab_chunk.c). It leaves that mode for good once its slabs have
 *   committed SLAB_SPARSE_PAGES pages (128 KiB, where a page per class is under a
 *   fifth of the heap): then the fine classes and the commit steps below. The
 *   table is per CPU (slab_cpu.small_class), so the fast path reads it where it
 *   read the global one. Objects keep their slab: a free or realloc never asks
 *   which table gave the class.
 * - CPU c allocates only from slabs of chunks it owns, keeping per class a list
 *   of ACTIVE slabs that have room (avail); an object comes from the head slab's
 *   free list, else from its never-used tail (bump) while that lies in committed
 *   pages (limit), else the slow path commits more (heap_slab_chunk.c). A slab
 *   that fills leaves avail asleep and comes back only once slab_wake(cap) of its
 *   objects were freed (snmalloc's waking threshold), so in a steady state each
 *   list move pays for several objects instead of one.
 * - Free on the owner CPU pushes the object on its slab's free list. Free on
 *   another CPU writes its address into a per-destination message (the object's
 *   line stays where it is); a message of SLAB_MSG_CAP objects or SLAB_BATCH_BYTES
 *   bytes is pushed on the owner's inbox with one CAS (heap_slab_remote.c). Owners
 *   drain their inbox on the allocation slow path and in heap_slab_flush.
 * - Hysteresis and return policy, when a slab's last object comes back:
 *   1. parked: a slab of span SLAB_PARK_SPAN that is its class's only slab on
 *      avail stays there, ACTIVE and empty (h->park, i.e. keep_empty_chunks > 0),
 *      so an alloc/free pair at a class boundary stays on the fast paths. At most
 *      one per class and CPU (SLAB_PARK_BYTES), until it is used again, another
 *      slab of the class empties beside it, an allocation fails (slab_reclaim) or
 *      heap_slab_flush;
 *   2. else EMPTY: kept committed, for any class of the same span, while the
 *      CPU's EMPTY slabs hold at most keep_pages pages (keep_empty_chunks * 16 MiB,
 *      and all CPUs' together at most 1/8 of the machine's frames; over that its
 *      oldest EMPTY slabs are decommitted first), and below the
 *      heap's high-water mark but for a grace: before the CPU maps frames that
 *      would raise the peak footprint, its EMPTY slabs of any span are decommitted
 *      first (slab_before_map) until it would not, except up to c->grace pages of
 *      them. Each decommit the peak forces raises the grace by the slab's pages, up
 *      to min(1/16 of the CPU's committed slab pages, SLAB_GRACE_PAGES = 2 MiB).
 *      Why these sizes: random_actions with sizes up to 10,000 B (reallocs to
 *      30,000) walks its live set up and down by megabytes in slabs of 2-4 slots;
 *      with 4 MiB kept and 256 KiB of grace, slab unmapped and mapped again on
 *      every swing (0.48 map calls per 1,000 ops on 2 threads, 31% of its time in
 *      the host's mmap stand-ins, 1.9x mimalloc's time); with 16 MiB and 2 MiB,
 *      0.21 and 13% (heap_bench). The grace's 1/16 keeps small heaps' peaks where
 *      they were (python-compileall's frag4 0.34 -> 0.35; 1/8 took it to 0.38).
 *      Bound: EMPTY slabs add at most that grace to the peak footprint (per CPU),
 *      and at most keep_pages stay committed. The hysteresis: alloc/free pairs that
 *      alternate spans at the peak (each had decommitted the other span's EMPTY
 *      slab and committed its own: a map and an unmap per pair) keep both slabs
 *      after a few rounds (heap_slab_fp_test: 10,000 rounds, 10 calls; 59,999
 *      before);
 *   3. else decommitted: unmapped (the mmu invalidates the TLB) and its frames
 *      freed; a chunk without ACTIVE slabs is kept (up to env->keep_empty_chunks
 *      per CPU) or unmapped and its VA returned (heap_slab_chunk.c).
 *   With keep_empty_chunks == 0 nothing is parked or kept: every empty slab and
 *   chunk goes back at once.
 * This file is the top layer (heap_slab.h lists the others): the heap_ops entry
 * points, the allocation slow path and its out-of-memory policy (slab_reclaim,
 * then one retry, for slabs and large objects alike) and heap_slab_flush.
 * Footprint = bytes of frames mapped for the heap (chunk headers, committed slab
 * pages, large objects and the large cache): exact, counted on every map and unmap.
 */
#include "heap_slab.h"

/* Full slab s leaves avail asleep (out of line: keeps slab_alloc a leaf). */
static __attribute__((noinline)) void slab_sleep(struct slab_cpu *c, struct slab *s)
{
	slab_list_remove(&c->avail[s->cls], s);
	s->low = s->cap - slab_wake(s->cap);
	s->asleep = 1;
}

/* One object from ACTIVE, awake slab s, or NULL when s has no room (bump ==
 * limit, nothing freed): the caller commits or finds another slab. s falls
 * asleep (leaves avail) when full. */
static inline void *slab_take(struct slab_cpu *c, struct slab *s)
{
	void *p = s->free;
	if (__builtin_expect(p != NULL, 1)) {
		s->free = *(void **)p;
	} else if (__builtin_expect(s->bump < s->limit, 1)) {
		p = (void *)(uintptr_t)(s->base + (uint64_t)s->bump * s->size);
		s->bump++;
	} else {
		return NULL;
	}
	if (__builtin_expect(++s->used == s->cap, 0))
		slab_sleep(c, s);
	return p;
}

/* Out of frames: sends remote frees, unparks and decommits cpu's EMPTY slabs and
 * unmaps its cached large objects; true if that gave anything back. */
static bool slab_reclaim(struct slab_heap *h, unsigned cpu)
{
	slab_remote_send_all(h, cpu); /* let owners reuse what we hold for them */
	slab_unpark_all(h, &h->cpu[cpu]);
	bool any = slab_large_cache_drop(h, cpu) > 0;
	if (slab_drop_empty(h, cpu))
		any = true;
	return any;
}

/* An ACTIVE slab of class cls owned by cpu with no object out and room for one
 * (not on avail); NULL when out of frames or address space even after
 * slab_reclaim. */
static struct slab *slab_get(struct slab_heap *h, unsigned cpu, unsigned cls)
{
	struct slab *s = slab_get_room(h, cpu, cls);
	if (!s && slab_reclaim(h, cpu))
		s = slab_get_room(h, cpu, cls);
	return s;
}

/* Slow path (kept out of line so the fast path saves no registers): frees sent
 * home may give the head slab room; else it commits more pages, unless an EMPTY
 * slab of the class's span holds committed pages already (no map call, no new
 * frames); else a new or EMPTY slab; else (out of frames) any slab of the class
 * that has room, so sleeping and lazy commit never turn an allocation into a
 * failure. */
static __attribute__((noinline)) void *slab_alloc_refill(struct slab_heap *h, unsigned cpu,
							  unsigned cls)
{
	struct slab_cpu *c = &h->cpu[cpu];
	atomic_store_rlx(&c->refills, c->refills + 1);
	slab_remote_drain(h, cpu);
	struct slab *s = c->avail[cls];
	if (s && (slab_room(s) || (!c->empty[slab_class_span(cls)] && slab_commit(h, cpu, s))))
		return slab_take(c, s);
	if ((s = slab_get(h, cpu, cls))) {
		slab_list_push(&c->avail[cls], s);
		return slab_take(c, s);
	}
	s = slab_find_room(c, cls); /* out of memory: what other slabs hold */
	return s ? slab_take(c, s) : NULL;
}

static inline void *slab_alloc_small(struct slab_heap *h, unsigned cpu, unsigned cls)
{
	struct slab_cpu *c = &h->cpu[cpu];
	struct slab *s = c->avail[cls];
	void *p;
	if (__builtin_expect(s != NULL, 1) && __builtin_expect((p = slab_take(c, s)) != NULL, 1))
		return p;
	return slab_alloc_refill(h, cpu, cls);
}

static int slab_init(void *st, const struct heap_env *env)
{
	struct slab_heap *h = st;
	if (!env->frames || !env->va || !env->mmu || env->ncpus < 1 ||
	    env->ncpus > HEAP_MAX_CPUS)
		return MM_EINVAL;
	mm_zero(h, sizeof(*h));
	h->env = *env;
	struct frame_stats fs; /* the machine's frames bound what all CPUs keep EMPTY */
	env->frames->stats(env->frame_st, &fs);
	uint64_t share = (fs.total_frames >> SLAB_KEEP_MACHINE_SHIFT) / env->ncpus;
	h->keep_pages = (uint32_t)MM_MIN((uint64_t)env->keep_empty_chunks * SLAB_KEEP_PAGES, share);
	h->park = env->keep_empty_chunks > 0;
	for (unsigned cpu = 0; cpu < env->ncpus; cpu++) {
		__builtin_memcpy(h->cpu[cpu].small_class, slab_sparse_class,
				 sizeof(h->cpu[cpu].small_class));
		h->cpu[cpu].sparse = 1;
		slab_remote_init(h, cpu);
	}
	return MM_OK;
}

/* slab_alloc for aligned or bigger requests (out of line, see slab_sleep). */
static __attribute__((noinline)) void *slab_alloc_any(struct slab_heap *h, unsigned cpu,
						      size_t size, size_t align)
{
	unsigned cls = slab_class_slow(size, align);
	if (cls == SLAB_LARGE) {
		void *p = slab_large_alloc(h, cpu, size, align);
		if (!p && slab_reclaim(h, cpu))
			p = slab_large_alloc(h, cpu, size, align);
		return p;
	}
	return slab_alloc_small(h, cpu, cls);
}

static void *slab_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	struct slab_heap *h = st;
	if (MM_DEBUG)
		MM_ASSERT(cpu < h->env.ncpus && MM_IS_POW2(align), "slab: bad cpu or alignment");
	if (__builtin_expect(align <= 16 && size <= 1024, 1))
		return slab_alloc_small(h, cpu, h->cpu[cpu].small_class[(size + 15) / 16]);
	return slab_alloc_any(h, cpu, size, align);
}

static void slab_free(void *st, unsigned cpu, void *p, size_t size, size_t align)
{
	struct slab_heap *h = st;
	if (!p)
		return;
	if (__builtin_expect(slab_is_large(size, align), 0)) {
		slab_large_free(h, cpu, p);
		return;
	}
	struct slab_chunk *ch = slab_chunk_of(p);
	MM_ASSERT(ch->magic == SLAB_MAGIC, "slab: free of a pointer outside any chunk");
	if (__builtin_expect(ch->owner == cpu, 1))
		slab_local_free(h, &h->cpu[cpu], slab_of(ch, p), p);
	else
		slab_remote_free(h, cpu, ch->owner, p, size);
}

/* In place while the new size fits the object and uses at least half of it
 * (mimalloc's rule): a slab object's room is its slab's class size (the slab's
 * descriptor does not change while the object lives, so any CPU may read it), a
 * large object's its mapped pages; a move between slab and large always copies. */
static void *slab_realloc(void *st, unsigned cpu, void *p, size_t old_size, size_t align,
			  size_t new_size)
{
	bool large = slab_is_large(old_size, align);
	if (large == slab_is_large(new_size, align)) {
		uint64_t room = large ? slab_large_room(p) : slab_of(slab_chunk_of(p), p)->size;
		if (new_size <= room && new_size >= room / 2)
			return p;
	}
	void *q = slab_alloc(st, cpu, new_size, align);
	if (q) {
		__builtin_memcpy(q, p, MM_MIN(old_size, new_size));
		slab_free(st, cpu, p, old_size, align);
	}
	return q;
}

void heap_slab_flush(void *st, unsigned cpu)
{
	struct slab_heap *h = st;
	slab_remote_send_all(h, cpu);
	slab_remote_drain(h, cpu);
	slab_unpark_all(h, &h->cpu[cpu]);
	slab_large_cache_drop(h, cpu);
}

const struct heap_ops heap_slab_ops = {
	.name = "slab",
	.state_size = sizeof(struct slab_heap),
	.init = slab_init,
	.alloc = slab_alloc,
	.free = slab_free,
	.realloc = slab_realloc,
	.check = slab_check,
	.stats = slab_stats,
};
