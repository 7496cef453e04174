/* frame_buddy_impl.h: the state of the bitmap buddy, private to frame_buddy*.c
 * (layout and invariants are described in frame_buddy.c), and its bottom layer.
 * Layers (a file calls only what is below it; scripts/tests/layers_test.sh checks):
 *   frame_buddy.c        frame_ops: small/large alloc and free, init, alloc_at
 *   frame_buddy_cache.c  per-CPU 2 MiB caches (calls only this header's inlines)
 *   frame_buddy_check.c  check and stats (the same)
 *   frame_buddy_runs.c   free runs for va_bitmap.c (the same)
 *   this header          state, node operations (chunk alloc/free/hint), sizes */
#ifndef MM_FRAME_BUDDY_IMPL_H
#define MM_FRAME_BUDDY_IMPL_H

#include "buddy_bitmap.h"
#include "frame.h"
#include "sync.h"

#define AREA_ORDER  9u
#define CHUNK_ORDER 18u
#define NO_AREA	    0xffffffffu

struct buddy_area {
	uint64_t w[BB_WORDS];
	struct spinlock lock;
	uint16_t free;	/* free frames while in lo mode */
	uint8_t owner;	/* CPU + 1 holding the reservation, 0 if none */
	uint8_t pad;
};

struct buddy_chunk {
	uint64_t w[BB_WORDS];
	struct spinlock lock;
	uint32_t orders; /* bb_order_mask(w), kept under the lock, read as a hint */
};

/* Per-CPU cache of free 2 MiB blocks (frame_buddy_cache.c): up to cache_cap
 * area numbers (a power of two, 2..CACHE_MAX, about a quarter of the areas over
 * the CPUs), refilled cache_cap / 2 at a time under one chunk lock and flushed
 * cache_cap / 2 at a time when full. The arrays are in the metadata. */
#define CACHE_MAX 64u

struct buddy_cpu {
	uint32_t area;	/* reserved area or NO_AREA; only this CPU writes it */
	uint32_t chunk; /* where large requests start looking */
	struct spinlock lock; /* of the cache: n and blk */
	uint32_t n;	      /* cached blocks; written under lock, read as a hint */
	uint32_t *blk;	      /* blk[0..n): areas of free 2 MiB blocks (lo, free 0) */
	uint32_t pad[10];
};
_Static_assert(sizeof(struct buddy_cpu) == 64, "one cache line per CPU");

struct buddy {
	/* first, so that each CPU's cache is one cache line when the state is
	 * 64-byte aligned (else only false sharing, no error) */
	struct buddy_cpu cpu[FRAME_MAX_CPUS];
	uint64_t total;
	uint32_t nareas, nchunks;
	unsigned ncpus;
	uint32_t cache_cap; /* per CPU */
	struct buddy_area *areas;
	struct buddy_chunk *chunks;
	uint64_t *avail; /* summary: bit i set <=> area i is lo with free > 0 */
	struct mem_map map;
};

/* ---- bottom layer: node operations and sizes, inline (every file uses them) ---- */
/* True if frames [pfn, pfn+n) all lie in one usable region. */
static inline bool buddy_usable(const struct buddy *b, uint64_t pfn, uint64_t n)
{
	return mem_map_covers(&b->map, pfn << PAGE_SHIFT, n << PAGE_SHIFT, MEM_USABLE);
}

/* Per-CPU 2 MiB cache capacity: about a quarter of the areas over the CPUs, a
 * power of two in [2, CACHE_MAX]. */
static inline uint32_t buddy_cache_cap(uint64_t nareas, unsigned ncpus)
{
	uint64_t q = nareas / 4 / (ncpus ? ncpus : 1);
	return q >= CACHE_MAX ? CACHE_MAX : q < 2 ? 2 : 1u << mm_log2_floor(q);
}

/* Bytes of areas, chunks and summary, then (64-aligned) the per-CPU cache arrays. */
static inline size_t buddy_meta_core(uint64_t nareas)
{
	uint64_t nchunks = (nareas + BB_UNITS - 1) / BB_UNITS;
	return (size_t)MM_ALIGN_UP(nareas * sizeof(struct buddy_area) +
				       nchunks * sizeof(struct buddy_chunk) +
				       (nareas + 63) / 64 * 8,
				   64);
}

/* The bytes of metadata for map (frame_ops.meta_size). */
static inline size_t buddy_meta_size(const struct mem_map *map, unsigned ncpus)
{
	uint64_t frames = mem_map_end(map) >> PAGE_SHIFT;
	uint64_t nareas = (frames + BB_UNITS - 1) / BB_UNITS;
	return buddy_meta_core(nareas) + (size_t)ncpus * buddy_cache_cap(nareas, ncpus) * 4;
}

/* Chunk lock held: refreshes the hint of which orders the chunk has free, for the
 * orders lo..hi that an operation touched. */
static inline void buddy_chunk_hint(struct buddy_chunk *c, unsigned lo, unsigned hi)
{
	unsigned m = (c->orders & ~bb_orders(lo, hi)) | bb_order_mask_range(c->w, lo, hi);
	__atomic_store_n(&c->orders, m, __ATOMIC_RELAXED);
}

/* Chunk lock held: bb_alloc on the chunk's node, keeping its hint; unit or -1. */
static inline int buddy_chunk_alloc(struct buddy_chunk *c, unsigned order)
{
	unsigned from;
	int u = bb_alloc_masked(c->w, order, c->orders, &from);
	if (u >= 0)
		buddy_chunk_hint(c, order, from);
	return u;
}

/* Chunk lock held: bb_free on the chunk's node, keeping its hint. */
static inline void buddy_chunk_free(struct buddy_chunk *c, unsigned unit, unsigned order)
{
	buddy_chunk_hint(c, order, bb_free(c->w, unit, order));
}

/* frame_buddy_check.c: frame_ops.check and frame_ops.stats (quiescent). */
bool buddy_check(const void *st);
void buddy_stats(const void *st, struct frame_stats *out);

/* frame_buddy_cache.c. Lock order: a CPU's cache, then a chunk, then an area. */
/* A free 2 MiB block from cpu's cache (refilled from the chunks) into *area; false if
 * none is cached and the chunks have no free area. */
bool buddy_cache_pop(struct buddy *b, unsigned cpu, uint32_t *area);
/* Puts the allocated 2 MiB block of area into cpu's cache (flushing if full). */
void buddy_cache_push(struct buddy *b, unsigned cpu, uint32_t area);
/* Takes one block from another CPU's cache; false if all are empty (each is
 * locked, so with no concurrent free it fails only when all are). */
bool buddy_cache_steal(struct buddy *b, unsigned cpu, uint32_t *area);
/* Returns every cached block in areas [a0, a0+n) to its chunk; true if any was. */
bool buddy_cache_flush(struct buddy *b, uint32_t a0, uint32_t n);
/* True if some cache holds an area in [a0, a0+n) (takes the locks of non-empty
 * caches; a block that a refill took from its chunk before the caller last held
 * that chunk's lock is seen). */
bool buddy_cache_holds(struct buddy *b, uint32_t a0, uint32_t n);
/* Quiescent: true if some cache holds area ai. */
bool buddy_cache_has(const struct buddy *b, uint32_t ai);
/* Blocks in all caches (exact when quiescent; no lock, no check). */
uint64_t buddy_cache_count(const struct buddy *b);
/* Quiescent: panics on a bad cache (count, duplicate, area not lo-allocated);
 * returns the number of cached blocks. */
uint64_t buddy_cache_check(const struct buddy *b);

#endif
