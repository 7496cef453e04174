/* va_ref.c: the reference VA allocator for tests (see va_ref.h). Slow on purpose:
 * alloc scans a byte map for the first aligned run of free pages. Invariant:
 * reserved pages == count of used bytes; free of a page not in use panics. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "va_ref.h"

struct va_ref {
	pthread_mutex_t mu;
	uint64_t base, pages, used;
	uint8_t *map; /* the meta area: one byte per page */
};

static size_t ref_meta_size(uint64_t base, uint64_t size)
{
	return (size_t)(size >> PAGE_SHIFT);
}

static int ref_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		    const struct page_source *ps)
{
	struct va_ref *v = st;
	if ((base | size) & (PAGE_SIZE - 1) || meta_len < ref_meta_size(base, size))
		return MM_EINVAL;
	pthread_mutex_init(&v->mu, NULL);
	v->base = base;
	v->pages = size >> PAGE_SHIFT;
	v->used = 0;
	v->map = meta;
	memset(v->map, 0, v->pages);
	return MM_OK;
}

static int ref_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_ref *v = st;
	uint64_t n = MM_ALIGN_UP(size, PAGE_SIZE) >> PAGE_SHIFT;
	align = MM_MAX(align, PAGE_SIZE);
	if (!size || !MM_IS_POW2(align))
		return MM_EINVAL;
	int rc = MM_ENOMEM;
	pthread_mutex_lock(&v->mu);
	for (uint64_t a = MM_ALIGN_UP(v->base, align); a + (n << PAGE_SHIFT) <= v->base + (v->pages << PAGE_SHIFT);
	     a += align) {
		uint64_t p = (a - v->base) >> PAGE_SHIFT, i = 0;
		while (i < n && !v->map[p + i])
			i++;
		if (i == n) {
			memset(v->map + p, 1, n);
			v->used += n;
			*addr = a;
			rc = MM_OK;
			break;
		}
	}
	pthread_mutex_unlock(&v->mu);
	return rc;
}

static void ref_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_ref *v = st;
	uint64_t n = MM_ALIGN_UP(size, PAGE_SIZE) >> PAGE_SHIFT, p = (addr - v->base) >> PAGE_SHIFT;
	MM_ASSERT(addr >= v->base && p + n <= v->pages, "va_ref: free outside the range");
	pthread_mutex_lock(&v->mu);
	for (uint64_t i = 0; i < n; i++)
		MM_ASSERT(v->map[p + i], "va_ref: free of a page not allocated");
	memset(v->map + p, 0, n);
	v->used -= n;
	pthread_mutex_unlock(&v->mu);
}

static int ref_reserve(void *st, uint64_t addr, uint64_t size)
{
	struct va_ref *v = st;
	uint64_t lo = MM_ALIGN_DOWN(addr, PAGE_SIZE), hi = MM_ALIGN_UP(addr + size, PAGE_SIZE);
	if (lo < v->base || hi > v->base + (v->pages << PAGE_SHIFT) || hi <= lo)
		return MM_EINVAL;
	uint64_t p = (lo - v->base) >> PAGE_SHIFT, n = (hi - lo) >> PAGE_SHIFT;
	int rc = MM_OK;
	pthread_mutex_lock(&v->mu);
	for (uint64_t i = 0; i < n; i++)
		if (v->map[p + i])
			rc = MM_EBUSY;
	if (rc == MM_OK) {
		memset(v->map + p, 1, n);
		v->used += n;
	}
	pthread_mutex_unlock(&v->mu);
	return rc;
}

static bool ref_check(const void *st)
{
	const struct va_ref *v = st;
	uint64_t n = 0;
	for (uint64_t i = 0; i < v->pages; i++)
		n += v->map[i];
	MM_ASSERT(n == v->used, "va_ref: used count differs from the map");
	return true;
}

static void ref_stats(const void *st, struct va_stats *out)
{
	const struct va_ref *v = st;
	memset(out, 0, sizeof(*out));
	out->size = v->pages << PAGE_SHIFT;
	out->reserved_bytes = v->used << PAGE_SHIFT;
	out->free_bytes = out->size - out->reserved_bytes;
	out->granule = PAGE_SIZE;
	out->meta_bytes = sizeof(*v) + v->pages;
	uint64_t run = 0;
	for (uint64_t i = 0; i <= v->pages; i++) {
		if (i < v->pages && !v->map[i]) {
			run++;
			continue;
		}
		if (run) {
			out->free_ranges++;
			out->largest_free = MM_MAX(out->largest_free, run << PAGE_SHIFT);
		}
		run = 0;
	}
}

const struct va_ops va_ref_ops = {
	.name = "va_ref",
	.state_size = sizeof(struct va_ref),
	.meta_size = ref_meta_size,
	.init = ref_init,
	.alloc = ref_alloc,
	.free = ref_free,
	.reserve = ref_reserve,
	.check = ref_check,
	.stats = ref_stats,
};
