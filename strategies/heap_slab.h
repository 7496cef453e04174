/* heap_slab.h: the slab heap's internal structures (heap_slab*.c) and its one
 * extra entry point. Layout of a 2 MiB chunk (VA from the VA allocator, 2 MiB
 * aligned, so chunk_of(p) = p & ~(2 MiB - 1)):
 *
 *   chunk: [slot 0: header][slot 1][slot 2] ... [slot 31]     (64 KiB slots)
 *          (a small chunk maps 1 of the header's 2 pages: slots 1..13 only)
 *   slab:  span consecutive slots (1 for classes <= 8 KiB, up to 31), objects of
 *          one size class at base + i * size; its descriptor is slabs[first slot]
 *          and head[i] names the first slot of the slab slot i belongs to
 *   commit: a slab's first npages pages are backed by frame blocks (not
 *          contiguous), the rest is address space only; it grows on demand
 *          (heap_slab_chunk.c, slab_commit), so an idle class costs a page, not
 *          a slab
 *
 * Objects above SLAB_CLASS_MAX (or aligned above SLAB_SLOT) are large: their own
 * VA range, [header page][object pages], the header listing the frame blocks.
 *
 * Layers (a file calls only files below it; scripts/tests/layers_test.sh checks):
 *   heap_slab.c         heap_ops entry points, refill, reclaim and flush policy
 *   heap_slab_check.c   check and stats
 *   heap_slab_large.c   large objects: allocation (their ranges, frames, block lists)
 *   heap_slab_remote.c  frees sent home to the owner CPU
 *   heap_slab_free.c    an object back to its slab: waking, parking, emptying
 *   heap_slab_chunk.c   slabs and their pages: chunks, commit, EMPTY slabs
 *   heap_slab_lcache.c  large objects' release and the per-CPU large cache
 *   heap_slab_class.c   size classes and the sparse tables
 */
#ifndef MM_HEAP_SLAB_H
#define MM_HEAP_SLAB_H

#include "heap_back.h"
#include "sync.h"

#define SLAB_CHUNK	SIZE_2M
#define SLAB_SLOT	(64u << 10)
#define SLAB_SLOTS	((unsigned)(SLAB_CHUNK / SLAB_SLOT)) /* slot 0 is the header */
#define SLAB_SLOT_PAGES ((unsigned)(SLAB_SLOT / PAGE_SIZE))
#define SLAB_MAX_SPAN	(SLAB_SLOTS - 1)
#define SLAB_NCLASSES	60u	       /* 16..128 by 16, then 4 per power of two */
#define SLAB_CLASS_MAX	(1u << 20)     /* size of the last class */
#define SLAB_MIN_CAP	8u	       /* objects per slab, where 31 slots allow */
#define SLAB_LARGE	SLAB_NCLASSES  /* class number of a large object */
#define SLAB_COMMIT_MAX 64u	       /* pages a commit step adds at most (unless one object needs more) */
#define SLAB_COMMIT_SHIFT 9u	       /* ... and at least 1/512 of the CPU's slab pages */
#define SLAB_COMMIT_BIG (32u << 10)    /* objects this big commit one at a time */
#define SLAB_SPARSE_PAGES 32u	       /* a CPU is sparse until its slabs commit this many */
#define SLAB_PARK_SPAN	1u	       /* a class's last slab stays when it empties: span <= this */
#define SLAB_BATCH	32u	       /* remote frees per message */
#define SLAB_BATCH_BYTES (64u << 10)   /* ... or this many requested bytes, whichever first */
#define SLAB_MSG_CAP	61u	       /* object pointers per remote-free message */
#define SLAB_MSGS	32u	       /* messages a CPU owns for sending */
#define SLAB_LCACHE	8u	       /* freed large objects a CPU keeps mapped */
#define SLAB_LCACHE_PAGES 1024u	       /* ... in pages, per kept chunk allowed (4 MiB) */
#define SLAB_KEEP_PAGES 4096u	       /* EMPTY slab pages a CPU keeps, per kept chunk (16 MiB), */
#define SLAB_KEEP_MACHINE_SHIFT 3u     /* ... all CPUs together at most 1/8 of the machine's frames */
#define SLAB_GRACE_SHIFT 4u	       /* EMPTY pages kept above the peak: 1/16 of the CPU's slab pages, */
#define SLAB_GRACE_PAGES 512u	       /* ... at most this many (2 MiB; heap_slab_chunk.c) */
/* Most frames a CPU keeps mapped with nothing live in them (heap_slab_flush'ed):
 * EMPTY slabs, idle chunks' headers, the large cache. Parked slabs (one per class
 * of span SLAB_PARK_SPAN, heap_slab_free.c) come on top until a flush. */
#define SLAB_KEEP_BYTES(keep) \
	((uint64_t)(keep) * ((SLAB_KEEP_PAGES + SLAB_LCACHE_PAGES) * PAGE_SIZE + SLAB_HDR_BYTES))
#define SLAB_PARK_BYTES ((uint64_t)SLAB_NCLASSES * SLAB_SLOT) /* bound on parked slabs per CPU */
#define SLAB_MAGIC	0x534c4142434b4e4bull
#define SLAB_LARGE_MAGIC 0x4c41524745484452ull

/* LEAVING: being decommitted, off every list; its slots are not yet UNUSED, so the
 * heap calls the frame allocator may make meanwhile (a free list that spills into
 * this heap) cannot see or reuse it. */
enum slab_state { SLAB_UNUSED = 0, SLAB_EMPTY = 1, SLAB_ACTIVE = 2, SLAB_LEAVING = 3 };

/* Invariants (owner CPU's view, quiescent), for a slab's descriptor (its first slot):
 *   blocks back exactly pages [0, npages) of the slab, npages <= span * 16;
 *   EMPTY: no class, on cpu->empty[span], npages > 0, bump its age stamp;
 *   ACTIVE: class cls, cap = span * SLAB_SLOT / size >= 1,
 *     used + |free list| == bump <= limit == min(cap, npages * PAGE_SIZE / size),
 *     awake (asleep == 0, low == 0): on cpu->avail[cls] and used < cap; used == 0
 *       only for a parked slab (at most one per class),
 *     asleep (asleep == 1, low == cap - slab_wake(cap)): off avail, low < used <= cap,
 * where used counts objects handed out, including ones waiting in a remote
 * queue on their way back. A slab falls asleep when it fills and wakes when
 * slab_wake(cap) objects came back (snmalloc's waking threshold), so a nearly
 * full slab does not go on and off avail at every free and alloc. */
struct slab {
	struct slab *next, *prev;
	void *free;
	uint64_t base; /* address of object 0: the first slot's */
	uint32_t used, bump, cap, size;
	uint32_t limit; /* objects [0, limit) lie in committed pages */
	uint32_t low;	/* free slow path once used <= low */
	uint16_t npages, nblocks;
	uint8_t state, cls, span, asleep;
} __attribute__((aligned(64))); /* one cache line: the fast paths touch only this */
_Static_assert(sizeof(struct slab) == 64, "slab: descriptor is one cache line");
/* Frees an asleep slab of cap objects waits for: cap / 8, in [1, 32]. */
static inline uint32_t slab_wake(uint32_t cap)
{
	uint32_t t = cap / 8;
	return t < 1 ? 1 : t > 32 ? 32 : t;
}

/* chunk->live == number of ACTIVE slabs; a chunk with live == 0 is either kept
 * (counted in cpu->nempty_chunks, flag kept_empty) or returned at once. The first
 * cache line holds what a free reads: magic, owner, head. */
struct slab_chunk {
	uint64_t magic;
	uint32_t owner, live, unused, kept_empty, in_open, leaving; /* leaving: being released */
	uint16_t nhdr, hdr_pages; /* hdr_blocks used; header pages mapped (1: a small chunk) */
	uint8_t head[SLAB_SLOTS];			/* slot -> first slot of its slab */
	struct slab_chunk *next, *prev;		/* cpu->chunks: every chunk owned */
	struct slab_chunk *open_next, *open_prev; /* cpu->open: chunks with UNUSED slots */
	uint64_t hdr_blocks[4];
	struct slab slabs[SLAB_SLOTS];
	uint64_t blocks[SLAB_SLOTS * SLAB_SLOT_PAGES]; /* a slab's from its first slot's row on */
};
#define SLAB_HDR_BYTES MM_ALIGN_UP((uint64_t)sizeof(struct slab_chunk), PAGE_SIZE)
#define SLAB_HDR_PAGES ((unsigned)(SLAB_HDR_BYTES / PAGE_SIZE))
/* A small chunk maps only its header's first page: slots [1, SLAB_SMALL_SLOTS),
 * whose descriptors and block rows lie in that page. */
#define SLAB_SMALL_SLOTS                                                                    \
	((unsigned)((PAGE_SIZE - __builtin_offsetof(struct slab_chunk, blocks)) /          \
		    (SLAB_SLOT_PAGES * sizeof(uint64_t))))
_Static_assert(SLAB_HDR_PAGES == 2 && SLAB_SMALL_SLOTS >= 8 &&
		       __builtin_offsetof(struct slab_chunk, blocks) <= PAGE_SIZE,
	       "slab: a small chunk's first header page holds every descriptor and 8 block rows");
/* The slots a chunk with hdr_pages header pages can use (bit i: slot i). */
static inline uint32_t slab_chunk_slots(unsigned hdr_pages)
{
	return hdr_pages == SLAB_HDR_PAGES ? ~1u : ((1u << SLAB_SMALL_SLOTS) - 1) & ~1u;
}

struct slab_batch {
	void *head, *tail;
	uint32_t n, bytes;
};

/* A message of remote frees: the objects' addresses, so that neither the sender
 * nor the owner writes into an object's line before it is home (the owner wrote it
 * last when it handed the object out). Owned by its sender (slab_cpu.msgs); lent to
 * the owner while in transit, handed back on the sender's ret stack. */
struct slab_msg {
	struct slab_msg *next; /* inbox, ret or idle stack link */
	uint32_t n, from;      /* objects; the sender */
	uint64_t bytes;	       /* requested bytes of the objects */
	void *p[SLAB_MSG_CAP];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct slab_msg) == 512, "slab_msg: eight cache lines");

/* Everything but inbox is touched by the owner CPU only (stats read relaxed). */
struct slab_cpu {
	uint8_t small_class[65];	/* class by (size + 15) / 16: sparse table, then fine */
	uint8_t sparse;			/* small_class is slab_sparse_class */
	struct slab *avail[SLAB_NCLASSES];
	struct slab *empty[SLAB_SLOTS];	/* EMPTY slabs by span, committed pages kept */
	struct slab_chunk *chunks, *open;
	uint32_t empty_pages;		/* committed pages of the EMPTY slabs */
	uint32_t grace;			/* EMPTY pages exempt from the peak rule (slab_before_map) */
	uint32_t empty_seq;		/* stamps EMPTY slabs (in their bump field): oldest go first */
	uint64_t slab_pages;		/* committed pages of all its slabs */
	uint32_t nempty_chunks, nchunks, hdr_pages; /* hdr_pages: of its chunks (relaxed) */
	uint64_t remote_frees;		    /* objects sent to other CPUs (relaxed) */
	uint64_t refills, commits;	    /* allocation slow paths, commit steps (relaxed) */
	struct slab_large *lcache[SLAB_LCACHE]; /* freed large objects, still mapped */
	uint32_t nlcache, lcache_pages;
	struct slab_batch out[HEAP_MAX_CPUS]; /* remote frees waiting to be sent (no message free) */
	struct slab_msg *msg_out[HEAP_MAX_CPUS]; /* messages being filled, per destination */
	struct slab_msg *msg_idle;		 /* this CPU's messages not in use */
	struct slab_msg msgs[SLAB_MSGS];
	void *inbox __attribute__((aligned(64))); /* MPSC: objects freed by others */
	struct slab_msg *msg_inbox __attribute__((aligned(64))); /* MPSC: messages to this CPU */
	struct slab_msg *msg_ret __attribute__((aligned(64)));	 /* MPSC: its messages, back */
} __attribute__((aligned(64)));

struct slab_heap {
	struct heap_env env;
	uint32_t keep_pages; /* EMPTY slab pages a CPU keeps committed (slab_init) */
	bool park;	     /* a class's last small slab stays when it empties */
	uint64_t frames, peak_frames, va_bytes, chunks_returned, large_frames; /* atomic */
	struct slab_cpu cpu[HEAP_MAX_CPUS];
};

/* Sends cpu's pending remote frees to their owners, takes in the frees other
 * CPUs sent to cpu, hands its parked slabs to the EMPTY policy and unmaps the
 * large objects cpu keeps cached. Call on cpu's own thread (or when no call is
 * in flight); after every CPU has flushed twice, no object is in transit and each
 * CPU holds at most SLAB_KEEP_BYTES(keep_empty_chunks) with nothing live. */
void heap_slab_flush(void *st, unsigned cpu);

/* Doubly linked slab lists (avail, empty). */
static inline void slab_list_remove(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static inline void slab_list_push(struct slab **head, struct slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

/* heap_slab_class.c */
extern const uint8_t slab_small_class[65]; /* class by (size + 15) / 16, size <= 1024 */
extern const uint8_t slab_sparse_class[65]; /* the same, powers of two only (a sparse CPU's) */
/* c leaves sparse mode for good: its small requests take the fine classes. */
void slab_sparse_end(struct slab_cpu *c);
/* A request that no class holds: a large object (heap_slab_large.c). */
static inline bool slab_is_large(size_t size, size_t align)
{
	return size > SLAB_CLASS_MAX || align > SLAB_SLOT;
}
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
static inline uint32_t slab_class_size(unsigned cls)
{
	if (cls < 8)
		return 16 * (cls + 1);
	unsigned e = 7 + (cls - 8) / 4, k = (cls - 8) % 4;
	return (uint32_t)(4 + k + 1) << (e - 2);
}
/* Slots a slab of class cls spans: the fewest that hold SLAB_MIN_CAP objects
 * (at most SLAB_MAX_SPAN), trimmed to the objects they hold. */
unsigned slab_class_span(unsigned cls);
/* The chunk, slab, and first object address of a slab object or descriptor. */
static inline struct slab_chunk *slab_chunk_of(const void *p)
{
	return (struct slab_chunk *)(uintptr_t)MM_ALIGN_DOWN((uint64_t)(uintptr_t)p, SLAB_CHUNK);
}
static inline unsigned slab_slot_of(const struct slab_chunk *ch, const void *p)
{
	return (unsigned)(((uint64_t)(uintptr_t)p - (uint64_t)(uintptr_t)ch) / SLAB_SLOT);
}
static inline struct slab *slab_of(struct slab_chunk *ch, const void *p)
{
	return &ch->slabs[ch->head[slab_slot_of(ch, p)]];
}
static inline uint64_t *slab_blocks(struct slab_chunk *ch, const struct slab *s)
{
	return &ch->blocks[(s - ch->slabs) * SLAB_SLOT_PAGES];
}
static inline uint64_t slab_base(const struct slab_chunk *ch, const struct slab *s)
{
	return (uint64_t)(uintptr_t)ch + (uint64_t)(s - ch->slabs) * SLAB_SLOT;
}
/* Object slots of s that lie in its committed pages. */
static inline uint32_t slab_limit(const struct slab *s)
{
	uint64_t n = (uint64_t)s->npages * PAGE_SIZE / s->size;
	return n < s->cap ? (uint32_t)n : s->cap;
}
/* s can hand out an object without committing more. */
static inline bool slab_room(const struct slab *s)
{
	return s->free || s->bump < s->limit;
}
/* Adds n (may be negative) to the mapped-frame count and raises the peak. */
static inline void slab_count_frames(struct slab_heap *h, int64_t n)
{
	uint64_t now = __atomic_add_fetch(&h->frames, (uint64_t)n, __ATOMIC_RELAXED);
	uint64_t peak = atomic_load_rlx(&h->peak_frames);
	while (n > 0 && now > peak && !atomic_cas(&h->peak_frames, &peak, now))
		;
}

/* heap_slab_large.c's objects. The header page of a large object: */
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

/* Frames large object l holds: header, body and list frames. */
static inline uint64_t slab_large_frames(const struct slab_large *l)
{
	return l->len / PAGE_SIZE + l->nlist;
}

/* Pages of l's body. */
static inline uint64_t slab_large_pages(const struct slab_large *l)
{
	return l->len / PAGE_SIZE - 1;
}

/* heap_slab_lcache.c */
/* A cached object of cpu whose body has pages in [need, need + need/4], taken out
 * of the cache (its user pointer), or NULL. */
void *slab_large_cache_take(struct slab_cpu *c, uint64_t need);
/* Frees the body blocks that l records (l read through any mapping of its header
 * frame) and the list frames holding them; the header block stays. */
void slab_large_free_blocks(const struct heap_env *env, unsigned cpu, const struct slab_large *l);
/* Bytes large object p may hold in place: its mapped pages. */
uint64_t slab_large_room(const void *p);
/* Caches or unmaps large object p; panics on a bad header (double free). */
void slab_large_free(struct slab_heap *h, unsigned cpu, void *p);
/* Unmaps cached large objects of cpu, oldest first, until at least frames frames
 * were freed or the cache is empty: called before cpu maps new frames. */
void slab_large_cache_trim(struct slab_heap *h, unsigned cpu, uint64_t frames);
/* Unmaps every large object in cpu's cache; returns the frames the cache held. */
uint64_t slab_large_cache_drop(struct slab_heap *h, unsigned cpu);
/* Frames held by cpu's cache, after checking each entry. */
uint64_t slab_large_cache_check(const struct slab_heap *h, unsigned cpu);

/* heap_slab_chunk.c */
/* An ACTIVE slab of class cls owned by cpu with no object out and room for one
 * (not on avail): an EMPTY one of the class's span, else fresh slots; NULL when
 * out of frames or address space (the caller may reclaim and retry). */
struct slab *slab_get_room(struct slab_heap *h, unsigned cpu, unsigned cls);
/* Backs more of ACTIVE slab s (bump == limit < cap): the next object, and a step
 * of max(npages, slab_pages >> SLAB_COMMIT_SHIFT, 1) pages capped at
 * SLAB_COMMIT_MAX, rounded up to a power of two pages (one frame block, one map
 * call) where the slab has them, at most the rest of its objects; just the next
 * object when frames are short, cpu is sparse or objects are SLAB_COMMIT_BIG or
 * more. false when out of frames (nothing changed). */
bool slab_commit(struct slab_heap *h, unsigned cpu, struct slab *s);
/* Slab s (off avail) has no object out: keep it EMPTY (decommitted at once if it
 * has no page or more than keep_pages), apply the chunk policy if its chunk has no
 * ACTIVE slab left, then decommit cpu's oldest EMPTY slabs while they hold more
 * than keep_pages pages. */
void slab_put_empty(struct slab_heap *h, struct slab_cpu *c, struct slab *s);
/* A slab of class cls owned by c with room, on avail at its head (an awake one
 * moved there, or an asleep one woken); NULL if none. Walks every chunk of c:
 * out-of-memory path only. */
struct slab *slab_find_room(struct slab_cpu *c, unsigned cls);
/* cpu is about to map `frames` new frames: its large cache yields them first
 * (slab_large_cache_trim), then, where the heap would rise above its peak, its
 * EMPTY slabs of any span are decommitted (largest span first) until it would not
 * or only c->grace pages of them are left; each decommit raises the grace by its
 * pages, up to min(slab_pages >> SLAB_GRACE_SHIFT, SLAB_GRACE_PAGES): cached
 * frames raise the high-water mark by at most the grace. */
void slab_before_map(struct slab_heap *h, unsigned cpu, uint64_t frames);
/* Decommits every EMPTY slab of cpu (smallest span first); true if there was one. */
bool slab_drop_empty(struct slab_heap *h, unsigned cpu);

/* heap_slab_free.c */
/* slab_local_free's slow path: used fell to s->low: an asleep slab wakes (back on
 * avail); an awake one is empty: parked (stays on avail) or off avail to
 * slab_put_empty. */
void slab_free_slow(struct slab_heap *h, struct slab_cpu *c, struct slab *s);
/* Returns object p to its ACTIVE slab s on owner CPU c; a slab that wakes goes
 * back on avail, an emptied one is parked or goes to slab_put_empty. Panics if s
 * has no object out. Inline: the owner's free fast path. */
static inline void slab_local_free(struct slab_heap *h, struct slab_cpu *c, struct slab *s, void *p)
{
	MM_ASSERT(s->state == SLAB_ACTIVE && s->used > s->low,
		  "slab: free into a slab with no objects");
	if (MM_DEBUG) {
		uint64_t off = (uint64_t)(uintptr_t)p - s->base;
		MM_ASSERT(off % s->size == 0 && off < (uint64_t)s->bump * s->size,
			  "slab: free of a pointer that is not an object start");
	}
	*(void **)p = s->free;
	s->free = p;
	if (__builtin_expect(--s->used <= s->low, 0))
		slab_free_slow(h, c, s);
}
/* Unparks: every awake slab of c with no object out leaves avail for slab_put_empty. */
void slab_unpark_all(struct slab_heap *h, struct slab_cpu *c);

/* heap_slab_remote.c */
/* Gives cpu its SLAB_MSGS messages (at init). */
void slab_remote_init(struct slab_heap *h, unsigned cpu);
/* Queues p (owned by owner != cpu, size bytes requested) for its owner: in a
 * message, sent once it holds SLAB_MSG_CAP objects or SLAB_BATCH_BYTES bytes; if
 * every message of cpu is in transit, in a batch linked through the objects, sent
 * at SLAB_BATCH objects or SLAB_BATCH_BYTES bytes. */
void slab_remote_free(struct slab_heap *h, unsigned cpu, unsigned owner, void *p, size_t size);
/* Frees locally every object other CPUs sent to cpu (cpu's thread only). */
void slab_remote_drain(struct slab_heap *h, unsigned cpu);
/* Sends every non-empty batch cpu holds, whatever its length. */
void slab_remote_send_all(struct slab_heap *h, unsigned cpu);

/* heap_slab_large.c */
/* A large object (own range and frames, or from cpu's cache); NULL when out of
 * frames or address space (the caller may reclaim and retry), or size/align
 * above 2^46. */
void *slab_large_alloc(struct slab_heap *h, unsigned cpu, size_t size, size_t align);

/* heap_slab_check.c */
/* heap_ops check and stats (check only while no call is in flight). */
bool slab_check(const void *st);
void slab_stats(const void *st, struct heap_stats *out);

#endif
