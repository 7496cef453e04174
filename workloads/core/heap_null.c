/* heap_null.c: the "null" heap, the harness ceiling (MEASUREMENT.md "Ceilings"):
 * a heap that shares nothing between CPUs, so a replay on it measures the
 * harness, the machine and touching memory, and how those scale.
 *
 * Per CPU, in its own cache lines: a stack of free pointers per power-of-two size
 * class (16 B .. 2^47 B) and a bump pointer into a 2 MiB chunk. alloc pops the
 * class's stack or bumps; free pushes the pointer on the freeing CPU's stack of
 * its class. The stacks live in 4 KiB segments outside the objects, so a free
 * never writes into the freed object: a cross-CPU free moves the memory to the
 * freeing CPU without touching it (no queue, no lock, no atomic, no line of the
 * object's former owner). Chunks (2 MiB; one per object for classes above 1 MiB;
 * segments are carved from chunks too) come from the VA allocator, are backed by
 * frames once (heap_back_range) and never returned: the only shared work is one
 * chunk per 2 MiB of bump space.
 *
 *   stack of class k on CPU c:  top -> [seg: prev, n, ptr[0..n)] -> [seg] -> ...
 *
 * Invariants: an object of class k is aligned to min(2^k, 2 MiB) (2^k above 2 MiB);
 * every segment but the top one of a stack is full; footprint == peak footprint ==
 * bytes of chunks mapped (never shrinks). Sizes or alignments beyond 2^47 B fail.
 */
#include "heap_null.h"

#include "../../strategies/heap_back.h"
#include "../../strategies/sync.h"

#define NULL_MIN_SHIFT	 4u
#define NULL_CLASSES	 44u /* 2^4 .. 2^47 */
#define NULL_CHUNK_SHIFT 21u
#define NULL_CHUNK	 ((uint64_t)1 << NULL_CHUNK_SHIFT)
#define NULL_BIG_SHIFT	 20u /* classes above 1 MiB get their own chunk */
#define NULL_SEG_PTRS	 ((PAGE_SIZE - 16) / 8)

struct null_seg {
	struct null_seg *prev;
	uint64_t n;
	void *ptr[NULL_SEG_PTRS];
};

struct null_cpu {
	_Alignas(64) struct null_seg *top[NULL_CLASSES];
	struct null_seg *spare;	 /* one empty segment kept for reuse */
	uint64_t bump, bump_end; /* [bump, bump_end) of the current chunk */
	uint64_t mapped;	 /* bytes of chunks this CPU mapped (read by stats) */
};

struct heap_null {
	struct heap_env env;
	struct null_cpu cpu[HEAP_MAX_CPUS];
};

_Static_assert(sizeof(struct heap_null) <= HEAP_NULL_STATE_SIZE, "HEAP_NULL_STATE_SIZE");
_Static_assert(sizeof(struct null_seg) == PAGE_SIZE, "a segment is one page");

static int null_init(void *st, const struct heap_env *env)
{
	struct heap_null *h = st;
	if (!env->ncpus || env->ncpus > HEAP_MAX_CPUS || !env->va || !env->frames || !env->mmu)
		return MM_EINVAL;
	mm_zero(h, sizeof(*h));
	h->env = *env;
	return MM_OK;
}

/* Size class of (size, align): the smallest k with 2^(k+4) >= both; NULL_CLASSES if none. */
static unsigned null_class(size_t size, size_t align)
{
	uint64_t need = size > align ? size : align;
	if (need <= (1u << NULL_MIN_SHIFT))
		return 0;
	unsigned k = 64u - (unsigned)__builtin_clzll(need - 1);
	return k - NULL_MIN_SHIFT < NULL_CLASSES ? k - NULL_MIN_SHIFT : NULL_CLASSES;
}

/* A mapped chunk of len bytes aligned to align into *va; 0 or MM_ENOMEM. */
static int null_chunk(struct heap_null *h, unsigned cpu, uint64_t len, uint64_t align, uint64_t *va)
{
	uint64_t blocks[512];
	unsigned n;
	const struct heap_env *e = &h->env;
	if (e->va->alloc(e->va_st, cpu, len, align, va) != MM_OK)
		return MM_ENOMEM;
	if (heap_back_range(e, cpu, *va, len, blocks, 512, &n) != MM_OK) {
		e->va->free(e->va_st, cpu, *va, len);
		return MM_ENOMEM;
	}
	atomic_store_rlx(&h->cpu[cpu].mapped, h->cpu[cpu].mapped + len);
	return MM_OK;
}

/* size bytes (a power of two up to 1 MiB) from CPU c's bump chunk, aligned to size. */
static void *null_bump_small(struct heap_null *h, unsigned c, uint64_t size)
{
	struct null_cpu *pc = &h->cpu[c];
	uint64_t at = MM_ALIGN_UP(pc->bump, size), va;
	if (!pc->bump || at + size > pc->bump_end) {
		if (null_chunk(h, c, NULL_CHUNK, NULL_CHUNK, &va) != MM_OK)
			return 0;
		pc->bump_end = va + NULL_CHUNK;
		at = va;
	}
	pc->bump = at + size;
	return (void *)(uintptr_t)at;
}

/* A new object of class k on CPU c; NULL when out of memory. */
static void *null_new(struct heap_null *h, unsigned c, unsigned k)
{
	unsigned shift = k + NULL_MIN_SHIFT;
	uint64_t size = (uint64_t)1 << shift, va;
	if (shift <= NULL_BIG_SHIFT)
		return null_bump_small(h, c, size);
	uint64_t align = shift > NULL_CHUNK_SHIFT ? size : NULL_CHUNK;
	return null_chunk(h, c, MM_ALIGN_UP(size, NULL_CHUNK), align, &va) == MM_OK
		   ? (void *)(uintptr_t)va
		   : 0;
}

static void *null_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	struct heap_null *h = st;
	unsigned k = null_class(size, align);
	if (k >= NULL_CLASSES)
		return 0;
	struct null_cpu *pc = &h->cpu[cpu];
	struct null_seg *s = pc->top[k];
	if (s && !s->n && s->prev) { /* empty top: step down, keep it as the spare */
		pc->top[k] = s->prev;
		pc->spare = s;
		s = s->prev;
	}
	if (s && s->n)
		return s->ptr[--s->n];
	return null_new(h, cpu, k);
}

static void null_free(void *st, unsigned cpu, void *p, size_t size, size_t align)
{
	struct heap_null *h = st;
	unsigned k = null_class(size, align);
	MM_ASSERT(k < NULL_CLASSES, "heap_null: free of a size no alloc could give");
	struct null_cpu *pc = &h->cpu[cpu];
	struct null_seg *s = pc->top[k];
	if (!s || s->n == NULL_SEG_PTRS) {
		struct null_seg *t = pc->spare;
		pc->spare = 0;
		if (!t && !(t = null_bump_small(h, cpu, PAGE_SIZE)))
			return; /* no memory for the stack: the object is dropped, not lost */
		t->prev = s;
		t->n = 0;
		pc->top[k] = s = t;
	}
	s->ptr[s->n++] = p;
}

static void *null_realloc(void *st, unsigned cpu, void *p, size_t old, size_t align, size_t n)
{
	if (null_class(old, align) == null_class(n, align))
		return p;
	void *q = null_alloc(st, cpu, n, align);
	if (q) {
		__builtin_memcpy(q, p, old < n ? old : n);
		null_free(st, cpu, p, old, align);
	}
	return q;
}

static bool null_check(const void *st)
{
	const struct heap_null *h = st;
	for (unsigned c = 0; c < h->env.ncpus; c++) {
		const struct null_cpu *pc = &h->cpu[c];
		MM_ASSERT(pc->bump <= pc->bump_end, "heap_null: bump past its chunk");
		for (unsigned k = 0; k < NULL_CLASSES; k++)
			for (const struct null_seg *s = pc->top[k]; s; s = s->prev)
				MM_ASSERT(s->n <= NULL_SEG_PTRS &&
					      (s == pc->top[k] || s->n == NULL_SEG_PTRS),
					  "heap_null: a stack segment below the top is not full");
	}
	return true;
}

static void null_stats(const void *st, struct heap_stats *out)
{
	const struct heap_null *h = st;
	mm_zero(out, sizeof(*out));
	for (unsigned c = 0; c < h->env.ncpus; c++) {
		out->footprint += atomic_load_rlx(&h->cpu[c].mapped);
		out->meta_bytes += sizeof(struct null_cpu);
	}
	out->peak_footprint = out->footprint;
	out->frames = out->footprint / PAGE_SIZE;
	out->va_bytes = out->footprint;
}

const struct heap_ops heap_null_ops = {
    .name = "null",
    .state_size = sizeof(struct heap_null),
    .init = null_init,
    .alloc = null_alloc,
    .free = null_free,
    .realloc = null_realloc,
    .check = null_check,
    .stats = null_stats,
};
