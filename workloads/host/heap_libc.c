/* heap_libc.c: heap_ops over the C library allocator (contract in heap_libc.h).
 * Thread-safe as the C library is; the CPU argument is ignored (libc picks arenas
 * per thread). Invariant: peak_footprint >= every footprint stats() returned. */
#define _GNU_SOURCE
#include "heap_libc.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* Bytes the allocator holds from the system, from whichever allocator serves malloc:
 * jemalloc (mallctl stats.mapped), tcmalloc (generic.heap_size), mimalloc (committed
 * bytes), else glibc (mallinfo2 arena + hblkhd). Looked up with dlsym, so preloading
 * a peer needs no rebuild. */
static uint64_t libc_footprint(void)
{
	int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
		(int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
	int (*tc_prop)(const char *, size_t *) =
		(int (*)(const char *, size_t *))dlsym(RTLD_DEFAULT,
							"MallocExtension_GetNumericProperty");
	void (*mi_info)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *,
			size_t *) = (void (*)(size_t *, size_t *, size_t *, size_t *, size_t *,
					      size_t *, size_t *, size_t *))dlsym(RTLD_DEFAULT,
										 "mi_process_info");
	size_t v = 0, len = sizeof(v), x;
	uint64_t epoch = 1;
	if (mallctl && !mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch)) &&
	    !mallctl("stats.mapped", &v, &len, NULL, 0))
		return v;
	if (tc_prop && tc_prop("generic.heap_size", &v))
		return v;
	if (mi_info) {
		mi_info(&x, &x, &x, &x, &x, &v, &x, &x); /* current_commit */
		return v;
	}
	struct mallinfo2 mi = mallinfo2();
	return (uint64_t)mi.arena + (uint64_t)mi.hblkhd;
}

static int libc_init(void *st, const struct heap_env *env)
{
	struct heap_libc *h = st;
	memset(h, 0, sizeof(*h));
	struct mallinfo2 mi = mallinfo2(); /* zeros under a preloaded peer */
	h->base = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd; /* in use by the process */
	if (!h->base)
		h->base = libc_footprint(); /* a peer: all it holds now is the process's */
	return 0;
}

static void *libc_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	if (align <= 16)
		return malloc(size ? size : 1);
	void *p = NULL;
	return posix_memalign(&p, align, size ? size : 1) ? NULL : p;
}

static void libc_free(void *st, unsigned cpu, void *p, size_t size, size_t align)
{
	free(p);
}

static void *libc_realloc(void *st, unsigned cpu, void *p, size_t old, size_t align, size_t n)
{
	if (align <= 16)
		return realloc(p, n ? n : 1);
	void *q = libc_alloc(st, cpu, n, align);
	if (q) {
		memcpy(q, p, old < n ? old : n);
		free(p);
	}
	return q;
}

static bool libc_check(const void *st)
{
	return true; /* glibc checks itself (MALLOC_CHECK_) */
}

static void libc_stats(const void *st, struct heap_stats *out)
{
	struct heap_libc *h = (struct heap_libc *)st;
	uint64_t fp = libc_footprint();
	fp = fp > h->base ? fp - h->base : 0;
	uint64_t peak = __atomic_load_n(&h->peak_footprint, __ATOMIC_RELAXED);
	while (fp > peak && !__atomic_compare_exchange_n(&h->peak_footprint, &peak, fp, 0,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	memset(out, 0, sizeof(*out));
	out->footprint = fp;
	out->peak_footprint = fp > peak ? fp : peak;
}

const struct heap_ops heap_libc_ops = {
	.name = "libc",
	.state_size = sizeof(struct heap_libc),
	.init = libc_init,
	.alloc = libc_alloc,
	.free = libc_free,
	.realloc = libc_realloc,
	.check = libc_check,
	.stats = libc_stats,
};
