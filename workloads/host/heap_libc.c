/* heap_libc.c: heap_ops over the C library allocator (contract in heap_libc.h).
 * Thread-safe as the C library is; the CPU argument is ignored (libc picks arenas
 * per thread). Invariant: peak_footprint >= every footprint stats() returned. */
#define _GNU_SOURCE
#include "heap_libc.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

typedef int mallctl_fn(const char *, void *, size_t *, void *, size_t);
typedef int tc_prop_fn(const char *, size_t *);

/* Bytes held from the system (*held) and in use (*used) by whichever allocator serves
 * malloc: jemalloc (mallctl stats.mapped / stats.allocated), tcmalloc (generic.heap_size
 * / generic.current_allocated_bytes), else glibc (mallinfo2 arena + hblkhd / uordblks +
 * hblkhd). Peers are found with dlsym, so preloading one needs no rebuild. false when
 * the allocator has no such counters (mimalloc): footprint unknown. */
static bool libc_counters(uint64_t *held, uint64_t *used)
{
	mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT, "mallctl");
	tc_prop_fn *tc_prop = (tc_prop_fn *)dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty");
	size_t a = 0, b = 0, len = sizeof(a);
	uint64_t epoch = 1;
	if (mallctl) {
		mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
		if (mallctl("stats.mapped", &a, &len, NULL, 0) ||
		    mallctl("stats.allocated", &b, &len, NULL, 0))
			return false;
	} else if (tc_prop) {
		if (!tc_prop("generic.heap_size", &a) ||
		    !tc_prop("generic.current_allocated_bytes", &b))
			return false;
	} else if (dlsym(RTLD_DEFAULT, "mi_malloc")) {
		return false;
	} else {
		struct mallinfo2 mi = mallinfo2();
		a = mi.arena + mi.hblkhd;
		b = mi.uordblks + mi.hblkhd;
	}
	*held = a;
	*used = b;
	return true;
}

static int libc_init(void *st, const struct heap_env *env)
{
	struct heap_libc *h = st;
	memset(h, 0, sizeof(*h));
	uint64_t held;
	h->known = libc_counters(&held, &h->base);
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
	struct heap_libc *h = (struct heap_libc *)st; /* peak is a running max */
	uint64_t held = 0, used;
	memset(out, 0, sizeof(*out));
	if (!h->known || !libc_counters(&held, &used))
		return; /* footprint 0: unknown */
	uint64_t fp = held > h->base ? held - h->base : 0;
	uint64_t peak = __atomic_load_n(&h->peak_footprint, __ATOMIC_RELAXED);
	while (fp > peak && !__atomic_compare_exchange_n(&h->peak_footprint, &peak, fp, 0,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
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
