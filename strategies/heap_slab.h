/* heap_slab.h: the slab heap's internal structures (heap_slab*.c) and its one
 * extra entry point. Layout of a 2 MiB chunk (VA from the VA allocator, 2 MiB
 * aligned, so chunk_of(p) = p & ~(2 MiB - 1)):
 *
 *   chunk: [slot 0: header (first pages mapped)][slot 1: slab]...[slot 31: slab]
 *   slab:  64 KiB, objects of one size class at base + i * size, backed on
 *          demand by frame blocks (not contiguous) when the slab is first used
 *
 * Large objects (more than SLAB_SMALL_MAX after alignment) get their own VA
 * range: [header page][object pages], the header listing the frame blocks.
 */
#ifndef MM_HEAP_SLAB_H
#define MM_HEAP_SLAB_H

#include "heap_back.h"
#include "sync.h"

#define SLAB_CHUNK	SIZE_2M
#define SLAB_SIZE	(64u << 10)
#define SLAB_SLOTS	((unsigned)(SLAB_CHUNK / SLAB_SIZE)) /* slot 0 is the header */
#define SLAB_PAGES	((unsigned)(SLAB_SIZE / PAGE_SIZE))
#define SLAB_NCLASSES	36u
#define SLAB_SMALL_MAX	16384u
#define SLAB_LARGE	SLAB_NCLASSES /* class number of a large object */
#define SLAB_BATCH	32u	      /* remote frees per message */
#define SLAB_LCACHE	8u	      /* freed large objects a CPU keeps mapped */
#define SLAB_LCACHE_PAGES 256u	      /* ... up to 1 MiB per kept chunk allowed */
/* Most frames a CPU keeps mapped with nothing live in them. */
#define SLAB_KEEP_BYTES(keep) ((uint64_t)(keep) * (SLAB_CHUNK + SLAB_LCACHE_PAGES * PAGE_SIZE))
#define SLAB_MAGIC	0x534c4142434b4e4bull
_Static_assert(SLAB_SIZE / SLAB_SMALL_MAX >= 2, "slab: an asleep slab needs cap > slab_wake(cap)");
#define SLAB_LARGE_MAGIC 0x4c41524745484452ull

enum slab_state { SLAB_UNUSED = 0, SLAB_EMPTY = 1, SLAB_ACTIVE = 2 };

/* Invariants (owner CPU's view, quiescent): UNUSED: unmapped, bit set in
 * chunk->unused. EMPTY: mapped, no objects, on cpu->empty. ACTIVE: class cls,
 *     used + |free list| == bump <= cap,  0 < used,
 *     awake (low == 0): on cpu->avail[cls] and used < cap,
 *     asleep (low == cap - slab_wake(cap) > 0): off avail and low < used <= cap,
 * where used counts objects handed out, including ones waiting in a remote
 * queue on their way back. A slab falls asleep when it fills and wakes when
 * slab_wake(cap) objects came back (snmalloc's waking threshold), so a nearly
 * full slab does not go on and off avail at every free and alloc. */
struct slab {
	struct slab *next, *prev;
	void *free;
	uint64_t base; /* address of object 0 */
	uint32_t used, bump, cap, size;
	uint8_t state, cls, nblocks, pad;
	uint32_t low; /* free slow path once used <= low: 0 awake, else asleep */
} __attribute__((aligned(64))); /* one cache line: the fast paths touch only this */
/* Frees an asleep slab of cap objects waits for: cap / 8, in [1, 32]. */
static inline uint32_t slab_wake(uint32_t cap)
{
	uint32_t t = cap / 8;
	return t < 1 ? 1 : t > 32 ? 32 : t;
}

/* chunk->live == number of ACTIVE slabs; a chunk with live == 0 is either kept
 * (counted in cpu->nempty_chunks, flag kept_empty) or returned at once. */
struct slab_chunk {
	uint64_t magic;
	uint32_t owner, live, unused, kept_empty, in_open, nhdr;
	struct slab_chunk *next, *prev;		/* cpu->chunks: every chunk owned */
	struct slab_chunk *open_next, *open_prev; /* cpu->open: chunks with UNUSED slots */
	uint64_t hdr_blocks[4];
	struct slab slabs[SLAB_SLOTS];
	uint64_t blocks[SLAB_SLOTS][SLAB_PAGES]; /* frame blocks backing each mapped slab */
};
#define SLAB_HDR_BYTES MM_ALIGN_UP((uint64_t)sizeof(struct slab_chunk), PAGE_SIZE)

struct slab_batch {
	void *head, *tail;
	uint32_t n;
};

/* Everything but inbox is touched by the owner CPU only (stats read relaxed). */
struct slab_cpu {
	struct slab *avail[SLAB_NCLASSES];
	struct slab *empty; /* EMPTY slabs, mapped and kept */
	struct slab_chunk *chunks, *open;
	uint32_t nempty, nempty_chunks, nchunks, out_n;
	uint64_t remote_frees;		    /* objects sent to other CPUs (relaxed) */
	struct slab_large *lcache[SLAB_LCACHE]; /* freed large objects, still mapped */
	uint32_t nlcache, lcache_pages;
	struct slab_batch out[HEAP_MAX_CPUS]; /* remote frees waiting to be sent */
	void *inbox __attribute__((aligned(64))); /* MPSC: objects freed by others */
} __attribute__((aligned(64)));

struct slab_heap {
	struct heap_env env;
	uint32_t keep_slabs; /* EMPTY slabs a CPU keeps mapped */
	uint64_t frames, peak_frames, va_bytes, chunks_returned, large_frames; /* atomic */
	struct slab_cpu cpu[HEAP_MAX_CPUS];
};

/* Sends cpu's pending remote frees to their owners, takes in the frees other
 * CPUs sent to cpu and unmaps the large objects cpu keeps cached. Call on cpu's own thread (or when no call is in flight);
 * after every CPU has flushed twice, no object is in transit. */
void heap_slab_flush(void *st, unsigned cpu);

/* heap_slab.c */
extern const uint8_t slab_small_class[65]; /* class by (size + 15) / 16, size <= 1024 */
/* slab_class_of for aligned or bigger requests. */
unsigned slab_class_slow(size_t size, size_t align);
/* Size class of a request, or SLAB_LARGE. */
static inline unsigned slab_class_of(size_t size, size_t align)
{
	if (__builtin_expect(align <= 16 && size <= 1024, 1))
		return slab_small_class[(size + 15) / 16];
	return slab_class_slow(size, align);
}
/* Object size of class cls (< SLAB_NCLASSES). */
uint32_t slab_class_size(unsigned cls);
/* Returns object p to its ACTIVE slab s on owner CPU c; a slab that wakes goes
 * back on avail, an emptied one to slab_put_empty. Panics if s has no object out. */
void slab_local_free(struct slab_heap *h, struct slab_cpu *c, struct slab *s, void *p);
/* The chunk, slab, and first object address of a small object or descriptor. */
static inline struct slab_chunk *slab_chunk_of(const void *p)
{
	return (struct slab_chunk *)(uintptr_t)MM_ALIGN_DOWN((uint64_t)(uintptr_t)p, SLAB_CHUNK);
}
static inline struct slab *slab_of(struct slab_chunk *ch, const void *p)
{
	return &ch->slabs[((uint64_t)(uintptr_t)p - (uint64_t)(uintptr_t)ch) / SLAB_SIZE];
}
static inline uint64_t *slab_blocks(struct slab_chunk *ch, const struct slab *s)
{
	return ch->blocks[s - ch->slabs];
}
static inline uint64_t slab_base(const struct slab_chunk *ch, const struct slab *s)
{
	return (uint64_t)(uintptr_t)ch + (uint64_t)(s - ch->slabs) * SLAB_SIZE;
}
/* Adds n (may be negative) to the mapped-frame count and raises the peak. */
static inline void slab_count_frames(struct slab_heap *h, int64_t n)
{
	uint64_t now = __atomic_add_fetch(&h->frames, (uint64_t)n, __ATOMIC_RELAXED);
	uint64_t peak = atomic_load_rlx(&h->peak_frames);
	while (n > 0 && now > peak && !atomic_cas(&h->peak_frames, &peak, now))
		;
}

/* heap_slab_chunk.c */
/* An ACTIVE, empty slab of class cls owned by cpu (not on avail); NULL when
 * out of frames or address space even after slab_reclaim. */
struct slab *slab_get(struct slab_heap *h, unsigned cpu, unsigned cls);
/* Slab s (off avail) has no object out: keep it mapped or unmap it, then apply
 * the chunk policy if its chunk has no ACTIVE slab left. */
void slab_put_empty(struct slab_heap *h, struct slab_cpu *c, struct slab *s);
/* An asleep slab of class cls owned by c that has room, woken (low = 0) but
 * not on avail; NULL if none. Walks every chunk of c: out-of-memory path only. */
struct slab *slab_wake_any(struct slab_cpu *c, unsigned cls);
/* Out of frames: unmaps cpu's EMPTY slabs and cached large objects; true if
 * that gave anything back. */
bool slab_reclaim(struct slab_heap *h, unsigned cpu);

/* heap_slab_remote.c */
/* Queues p (owned by owner != cpu) for its owner; sends a full batch. */
void slab_remote_free(struct slab_heap *h, unsigned cpu, unsigned owner, void *p);
/* Frees locally every object other CPUs sent to cpu (cpu's thread only). */
void slab_remote_drain(struct slab_heap *h, unsigned cpu);
/* Sends every non-empty batch cpu holds, whatever its length. */
void slab_remote_send_all(struct slab_heap *h, unsigned cpu);

/* heap_slab_large.c */
struct slab_large;
/* A large object (own range and frames, or from cpu's cache); NULL when out of
 * frames or address space, or size/align above 2^46. */
void *slab_large_alloc(struct slab_heap *h, unsigned cpu, size_t size, size_t align);
/* Caches or unmaps large object p; panics on a bad header (double free). */
void slab_large_free(struct slab_heap *h, unsigned cpu, void *p);
/* Unmaps every large object in cpu's cache; returns the frames the cache held. */
uint64_t slab_large_cache_drop(struct slab_heap *h, unsigned cpu);
/* Frames held by cpu's cache, after checking each entry. */
uint64_t slab_large_cache_check(const struct slab_heap *h, unsigned cpu);

/* heap_slab_check.c */
/* heap_ops check and stats (check only while no call is in flight). */
bool slab_check(const void *st);
void slab_stats(const void *st, struct heap_stats *out);

#endif
