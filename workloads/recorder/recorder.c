/* recorder.c: libmtbrec.so, an LD_PRELOAD recorder of malloc, calloc, realloc,
 * reallocarray, free, memalign, posix_memalign, aligned_alloc, valloc and pvalloc
 * into the mtbrec v2 binary format (rec_format.h; `workloads/trace` reads it).
 *
 *   LD_PRELOAD=build/lib/libmtbrec.so MTB_REC_OUT=/tmp/rec  prog args
 *   -> /tmp/rec.<pid>.rec (or .<pid>.<k>.rec if taken, e.g. after exec)
 *
 * Per call: the real function, one atomic sequence number, an uncontended lock of
 * the thread's own buffer and a few bytes appended to it; a full buffer (64 KiB) is
 * one write(2). Raw pointers are recorded; the reader gives objects their ids.
 * Order: a free takes its number before the real free, an allocation after the real
 * call returns, a realloc one on each side (holding its buffer's lock across the
 * call): a block's reuse, in any thread, is always numbered after its release, so
 * the records merged by number are one global order consistent with every object's
 * lifetime. Threads: numbered when they first allocate (0 = normally main); a thread
 * that exits and allocates again in later destructors gets a new number.
 * fork, exec, exit, crashes: rec_buf.c and rec_exit.c (what a crash loses: rec_buf.c).
 * dlsym recursion: while the real functions are being resolved (dlsym may call
 * calloc), allocations come from a static bootstrap arena and are not recorded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <unistd.h>

#include "rec_internal.h"

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

static int resolving;
static _Alignas(16) char arena[1 << 16];
static size_t arena_used;

/* One allocation record (p non-NULL). */
static void rec_alloc(unsigned op, void *p, uint64_t size, uint64_t align)
{
	struct rec_tbuf *b = p ? rec_begin() : NULL;
	if (!b)
		return;
	struct rec_rec r = {.op = op, .seq = rec_next_seq(), .ptr = (uintptr_t)p, .size = size};
	r.align_log2 = op == REC_MEMALIGN ? (unsigned)__builtin_ctzll(align) : 0;
	rec_put(b, &r);
	rec_end(b);
}

/* ---- bootstrap --------------------------------------------------------------- */
static void *arena_alloc(size_t n)
{
	size_t off = __atomic_fetch_add(&arena_used, (n + 15) & ~(size_t)15, __ATOMIC_RELAXED);
	return off + n <= sizeof(arena) ? arena + off : NULL;
}

static int in_arena(const void *p)
{
	return (const char *)p >= arena && (const char *)p < arena + sizeof(arena);
}

static void resolve(void)
{
	if (real_malloc)
		return;
	resolving = 1;
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_valloc = dlsym(RTLD_NEXT, "valloc");
	real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	__atomic_store_n(&real_malloc, dlsym(RTLD_NEXT, "malloc"), __ATOMIC_RELEASE);
	resolving = 0;
}

static uint64_t pow2_ceil(uint64_t a)
{
	return a <= 1 ? 1 : (uint64_t)1 << (64 - __builtin_clzll(a - 1));
}

/* ---- the interposed functions -------------------------------------------- */
EXPORT void *malloc(size_t n)
{
	if (!real_malloc) {
		if (resolving)
			return arena_alloc(n);
		resolve();
	}
	void *p = real_malloc(n);
	rec_alloc(REC_MALLOC, p, n, 0);
	return p;
}

EXPORT void *calloc(size_t a, size_t b)
{
	if (!real_malloc) {
		if (resolving)
			return arena_alloc(a * b); /* arena memory is zero */
		resolve();
	}
	void *p = real_calloc(a, b);
	rec_alloc(REC_CALLOC, p, (uint64_t)a * b, 0);
	return p;
}

EXPORT void free(void *p)
{
	if (!p || in_arena(p))
		return;
	resolve();
	struct rec_tbuf *b = rec_begin();
	if (b) {
		struct rec_rec r = {.op = REC_FREE, .seq = rec_next_seq(), .ptr = (uintptr_t)p};
		rec_put(b, &r);
		rec_end(b);
	}
	real_free(p);
}

/* realloc of a recorded block: numbers on both sides of the real call, the buffer
 * locked across it (a fork must not see the first number without the record). */
static void *realloc_recorded(struct rec_tbuf *b, void *p, size_t n)
{
	struct rec_rec r = {
	    .op = REC_REALLOC, .seq = rec_next_seq(), .ptr = (uintptr_t)p, .size = n};
	void *q = real_realloc(p, n);
	if (q) {
		r.seq2 = rec_next_seq();
		r.ptr2 = (uintptr_t)q;
	} else {
		/* glibc: realloc(p, 0) frees p and returns NULL; else p is unchanged */
		r.op = n == 0 ? REC_FREE : REC_NOP;
	}
	rec_put(b, &r);
	rec_end(b);
	return q;
}

EXPORT void *realloc(void *p, size_t n)
{
	if (!real_malloc) {
		if (resolving)
			return arena_alloc(n); /* only fresh blocks are asked for here */
		resolve();
	}
	if (p && in_arena(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, MIN(n, (size_t)(arena + sizeof(arena) - (char *)p)));
		return q;
	}
	if (!p) {
		void *q = real_realloc(NULL, n);
		rec_alloc(REC_MALLOC, q, n, 0);
		return q;
	}
	struct rec_tbuf *b = rec_begin();
	return b ? realloc_recorded(b, p, n) : real_realloc(p, n);
}

EXPORT void *reallocarray(void *p, size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, a * b);
}

EXPORT void *memalign(size_t al, size_t n)
{
	resolve();
	void *p = real_memalign(al, n);
	rec_alloc(REC_MEMALIGN, p, n, pow2_ceil(al));
	return p;
}

EXPORT int posix_memalign(void **out, size_t al, size_t n)
{
	resolve();
	int rc = real_posix_memalign(out, al, n);
	if (!rc)
		rec_alloc(REC_MEMALIGN, *out, n, al);
	return rc;
}

EXPORT void *aligned_alloc(size_t al, size_t n)
{
	resolve();
	void *p = real_aligned_alloc(al, n);
	rec_alloc(REC_MEMALIGN, p, n, pow2_ceil(al));
	return p;
}

EXPORT void *valloc(size_t n)
{
	resolve();
	void *p = real_valloc(n);
	rec_alloc(REC_MEMALIGN, p, n, (uint64_t)sysconf(_SC_PAGESIZE));
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	resolve();
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	void *p = real_pvalloc(n);
	rec_alloc(REC_MEMALIGN, p, (n + pg - 1) / pg * pg, pg);
	return p;
}

/* ---- process lifecycle ------------------------------------------------------- */
__attribute__((constructor)) static void rec_init(void)
{
	resolve();
	rec_in = 1;
	if (rec_start() == 0)
		rec_signals_init();
	rec_in = 0;
}

/* Normal exit: everything to the file and an END block; allocations made after this
 * (later destructors, other threads still running) are written one by one. */
__attribute__((destructor)) static void rec_fini(void)
{
	rec_flush_all(1, 1);
}
