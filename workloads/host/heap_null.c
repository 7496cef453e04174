/* heap_null.c: per-CPU bump + free lists with remote-free stacks (contract in
 * heap_null.h). Invariant: a block of class c lies in exactly one of: handed out, a
 * local list of its owner, the owner's remote list of class c; owner = the region it
 * was bumped from.
 */
#define _GNU_SOURCE
#include "heap_null.h"

#include <string.h>
#include <sys/mman.h>

static unsigned null_class(size_t size, size_t align)
{
	size_t s = size > align ? size : align;
	s = s > 16 ? s : 16;
	return (unsigned)(64 - __builtin_clzll((unsigned long long)s - 1)) - 4;
}

static int null_init(void *st, const struct heap_env *env)
{
	struct heap_null *h = st;
	memset(h, 0, sizeof(*h));
	h->ncpus = env->ncpus ? env->ncpus : 1;
	if (h->ncpus > HEAP_MAX_CPUS)
		return MM_EINVAL;
	void *b = mmap(NULL, h->ncpus * HEAP_NULL_REGION, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b == MAP_FAILED)
		return MM_ENOMEM;
	h->base = b;
	for (unsigned c = 0; c < h->ncpus; c++) {
		h->cpu[c].bump = h->base + c * HEAP_NULL_REGION;
		h->cpu[c].end = h->cpu[c].bump + HEAP_NULL_REGION;
	}
	return MM_OK;
}

void heap_null_fini(void *st)
{
	struct heap_null *h = st;
	if (h->base)
		munmap(h->base, h->ncpus * HEAP_NULL_REGION);
	h->base = NULL;
}

static void *null_bump(struct heap_null_cpu *c, unsigned cls)
{
	uintptr_t sz = (uintptr_t)16 << cls;
	uintptr_t p = ((uintptr_t)c->bump + sz - 1) & ~(sz - 1);
	if (p + sz > (uintptr_t)c->end || p + sz < p)
		return NULL;
	c->bump = (uint8_t *)(p + sz);
	return (void *)p;
}

static void *null_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	struct heap_null *h = st;
	unsigned cls = null_class(size, align);
	if (cls >= HEAP_NULL_CLASSES)
		return NULL;
	struct heap_null_cpu *c = &h->cpu[cpu];
	void *p = c->local[cls];
	if (!p && __atomic_load_n(&h->remote[cpu].head[cls], __ATOMIC_RELAXED))
		p = __atomic_exchange_n(&h->remote[cpu].head[cls], NULL, __ATOMIC_ACQUIRE);
	if (!p)
		return null_bump(c, cls);
	c->local[cls] = *(void **)p;
	return p;
}

static void null_free(void *st, unsigned cpu, void *p, size_t size, size_t align)
{
	struct heap_null *h = st;
	unsigned cls = null_class(size, align);
	unsigned owner = (unsigned)(((uint8_t *)p - h->base) / HEAP_NULL_REGION);
	if (owner == cpu) {
		*(void **)p = h->cpu[cpu].local[cls];
		h->cpu[cpu].local[cls] = p;
		return;
	}
	void **head = &h->remote[owner].head[cls];
	void *old = __atomic_load_n(head, __ATOMIC_RELAXED);
	do
		*(void **)p = old;
	while (
	    !__atomic_compare_exchange_n(head, &old, p, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

static void *null_realloc(void *st, unsigned cpu, void *p, size_t old_size, size_t align,
			  size_t new_size)
{
	if (null_class(old_size, align) == null_class(new_size, align))
		return p;
	void *q = null_alloc(st, cpu, new_size, align);
	if (q) {
		memcpy(q, p, old_size < new_size ? old_size : new_size);
		null_free(st, cpu, p, old_size, align);
	}
	return q;
}

static bool null_check(const void *st)
{
	return true;
}

static void null_stats(const void *st, struct heap_stats *out)
{
	const struct heap_null *h = st;
	memset(out, 0, sizeof(*out));
	for (unsigned c = 0; c < h->ncpus; c++)
		out->footprint += (uint64_t)(h->cpu[c].bump - (h->base + c * HEAP_NULL_REGION));
	out->peak_footprint = out->footprint;
	out->va_bytes = h->ncpus * HEAP_NULL_REGION;
	out->meta_bytes = sizeof(*h);
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
