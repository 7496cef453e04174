/* simple_alloc.c: reference-model frame and VA allocators for heap tests.
 *
 * test_frame_simple_ops: one bit per frame of [0, end) (1 = free), set only for
 * MEM_USABLE frames; alloc scans for the first naturally aligned run of 2^order
 * free bits (next-fit from a cursor), all under one mutex. Invariant:
 *     popcount(bitmap) == free_frames,  free_frames + allocated == total_frames.
 * test_va_simple_ops: sorted, disjoint, non-touching array of free ranges;
 * alloc is first fit with alignment, free merges with both neighbours. Invariant:
 *     sum(free range lengths) + reserved_bytes == size.
 * Both are obviously correct and slow on purpose; they stand in for the real
 * strategies (branches phys and virt) in heap tests and the heap benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_support.h"

/* ---- frames ------------------------------------------------------------- */

struct frame_simple {
	pthread_mutex_t lock;
	uint64_t nframes, total, nfree, cursor;
	uint64_t *bits; /* meta */
};

static bool fs_bit(const struct frame_simple *f, uint64_t i)
{
	return (f->bits[i / 64] >> (i % 64)) & 1;
}

static void fs_set(struct frame_simple *f, uint64_t pfn, uint64_t n, bool v)
{
	for (uint64_t i = pfn; i < pfn + n; i++) {
		if (v)
			f->bits[i / 64] |= 1ull << (i % 64);
		else
			f->bits[i / 64] &= ~(1ull << (i % 64));
	}
}

static bool fs_all_free(const struct frame_simple *f, uint64_t pfn, uint64_t n)
{
	for (uint64_t i = pfn; i < pfn + n; i++)
		if (!fs_bit(f, i))
			return false;
	return true;
}

static size_t fs_meta_size(const struct mem_map *map, unsigned ncpus)
{
	return (mem_map_end(map) / PAGE_SIZE + 63) / 64 * 8;
}

static int fs_init(void *st, const struct mem_map *map, unsigned ncpus, void *meta,
		   size_t meta_len)
{
	struct frame_simple *f = st;
	if (ncpus < 1 || ncpus > FRAME_MAX_CPUS || meta_len < fs_meta_size(map, ncpus))
		return MM_EINVAL;
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->bits = meta;
	f->nframes = mem_map_end(map) / PAGE_SIZE;
	for (uint32_t i = 0; i < map->count; i++) {
		const struct mem_region *r = &map->r[i];
		if (r->type != MEM_USABLE)
			continue;
		uint64_t lo = MM_ALIGN_UP(r->base, PAGE_SIZE) / PAGE_SIZE;
		uint64_t hi = MM_ALIGN_DOWN(r->base + r->len, PAGE_SIZE) / PAGE_SIZE;
		if (hi > lo) {
			fs_set(f, lo, hi - lo, true);
			f->total += hi - lo;
		}
	}
	f->nfree = f->total;
	return MM_OK;
}

static int fs_alloc(void *st, unsigned cpu, unsigned order, uint64_t *pfn)
{
	struct frame_simple *f = st;
	if (order > FRAME_MAX_ORDER)
		return MM_EINVAL;
	uint64_t n = 1ull << order, steps = f->nframes / n + 1;
	int rc = MM_ENOMEM;
	pthread_mutex_lock(&f->lock);
	uint64_t p = MM_ALIGN_DOWN(f->cursor, n);
	for (uint64_t k = 0; k < steps && f->nfree >= n; k++, p += n) {
		if (p + n > f->nframes)
			p = 0;
		if (order == 0 && f->bits[p / 64] == 0) { /* skip a full word quickly */
			p = MM_ALIGN_DOWN(p, 64) + 63;
			continue;
		}
		if (fs_all_free(f, p, n)) {
			fs_set(f, p, n, false);
			f->nfree -= n;
			f->cursor = p + n;
			*pfn = p;
			rc = MM_OK;
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static void fs_free(void *st, unsigned cpu, uint64_t pfn, unsigned order)
{
	struct frame_simple *f = st;
	uint64_t n = 1ull << order;
	pthread_mutex_lock(&f->lock);
	if (pfn % n || pfn + n > f->nframes)
		mm_panic("frame_simple: free of a misaligned or foreign block");
	for (uint64_t i = pfn; i < pfn + n; i++)
		if (fs_bit(f, i))
			mm_panic("frame_simple: double free");
	fs_set(f, pfn, n, true);
	f->nfree += n;
	pthread_mutex_unlock(&f->lock);
}

static int fs_alloc_at(void *st, uint64_t pfn, unsigned order)
{
	struct frame_simple *f = st;
	uint64_t n = 1ull << order;
	if (order > FRAME_MAX_ORDER || pfn % n || pfn + n > f->nframes)
		return MM_EINVAL;
	pthread_mutex_lock(&f->lock);
	int rc = fs_all_free(f, pfn, n) ? MM_OK : MM_EBUSY;
	if (rc == MM_OK) {
		fs_set(f, pfn, n, false);
		f->nfree -= n;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static bool fs_check(const void *st)
{
	struct frame_simple *f = (struct frame_simple *)st;
	pthread_mutex_lock(&f->lock);
	uint64_t n = 0;
	for (uint64_t i = 0; i < f->nframes; i++)
		n += fs_bit(f, i);
	pthread_mutex_unlock(&f->lock);
	MM_ASSERT(n == f->nfree, "frame_simple: free count does not match the bitmap");
	return true;
}

static void fs_stats(const void *st, struct frame_stats *out)
{
	struct frame_simple *f = (struct frame_simple *)st;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&f->lock);
	out->total_frames = f->total;
	out->free_frames = f->nfree;
	out->meta_bytes = sizeof(*f) + (f->nframes + 63) / 64 * 8;
	pthread_mutex_unlock(&f->lock);
}

const struct frame_ops test_frame_simple_ops = {
	.name = "simple",
	.state_size = sizeof(struct frame_simple),
	.meta_size = fs_meta_size,
	.init = fs_init,
	.alloc = fs_alloc,
	.free = fs_free,
	.alloc_at = fs_alloc_at,
	.check = fs_check,
	.stats = fs_stats,
};

/* ---- virtual ranges ----------------------------------------------------- */

#define VS_MAX 8192

struct va_range {
	uint64_t base, len;
};

struct va_simple {
	pthread_mutex_t lock;
	uint64_t base, size, reserved;
	uint32_t n;
	struct va_range r[VS_MAX]; /* free ranges, sorted */
};

static size_t vs_meta_size(uint64_t base, uint64_t size)
{
	return 0;
}

static int vs_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		   const struct page_source *ps)
{
	struct va_simple *v = st;
	if (size == 0 || (base | size) & (PAGE_SIZE - 1))
		return MM_EINVAL;
	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->lock, NULL);
	v->base = base;
	v->size = size;
	v->n = 1;
	v->r[0] = (struct va_range){base, size};
	return MM_OK;
}

/* Removes [a, a+len) from free range i (which contains it). */
static int vs_carve(struct va_simple *v, uint32_t i, uint64_t a, uint64_t len)
{
	struct va_range *r = &v->r[i];
	uint64_t end = r->base + r->len;
	bool left = a > r->base, right = a + len < end;
	if (left && right) {
		if (v->n == VS_MAX)
			return MM_ENOMEM;
		memmove(&v->r[i + 2], &v->r[i + 1], (v->n - i - 1) * sizeof(*r));
		v->n++;
		v->r[i + 1] = (struct va_range){a + len, end - a - len};
		r->len = a - r->base;
	} else if (left) {
		r->len = a - r->base;
	} else if (right) {
		r->base = a + len;
		r->len = end - a - len;
	} else {
		memmove(&v->r[i], &v->r[i + 1], (v->n - i - 1) * sizeof(*r));
		v->n--;
	}
	v->reserved += len;
	return MM_OK;
}

static int vs_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_simple *v = st;
	if (size == 0 || (align && !MM_IS_POW2(align)))
		return MM_EINVAL;
	size = MM_ALIGN_UP(size, PAGE_SIZE);
	align = MM_MAX(align, PAGE_SIZE);
	int rc = MM_ENOMEM;
	pthread_mutex_lock(&v->lock);
	for (uint32_t i = 0; i < v->n; i++) {
		uint64_t a = MM_ALIGN_UP(v->r[i].base, align);
		if (a + size <= v->r[i].base + v->r[i].len) {
			rc = vs_carve(v, i, a, size);
			*addr = a;
			break;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static void vs_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_simple *v = st;
	size = MM_ALIGN_UP(size, PAGE_SIZE);
	pthread_mutex_lock(&v->lock);
	uint32_t i = 0;
	while (i < v->n && v->r[i].base < addr)
		i++;
	bool bad = addr < v->base || addr + size > v->base + v->size ||
		   (i > 0 && v->r[i - 1].base + v->r[i - 1].len > addr) ||
		   (i < v->n && addr + size > v->r[i].base);
	if (bad)
		mm_panic("va_simple: free of a range that is not allocated");
	bool ml = i > 0 && v->r[i - 1].base + v->r[i - 1].len == addr;
	bool mr = i < v->n && addr + size == v->r[i].base;
	if (ml && mr) {
		v->r[i - 1].len += size + v->r[i].len;
		memmove(&v->r[i], &v->r[i + 1], (v->n - i - 1) * sizeof(v->r[0]));
		v->n--;
	} else if (ml) {
		v->r[i - 1].len += size;
	} else if (mr) {
		v->r[i].base = addr;
		v->r[i].len += size;
	} else {
		if (v->n == VS_MAX)
			mm_panic("va_simple: out of range slots");
		memmove(&v->r[i + 1], &v->r[i], (v->n - i) * sizeof(v->r[0]));
		v->n++;
		v->r[i] = (struct va_range){addr, size};
	}
	v->reserved -= size;
	pthread_mutex_unlock(&v->lock);
}

static int vs_reserve(void *st, uint64_t addr, uint64_t size)
{
	struct va_simple *v = st;
	uint64_t a = MM_ALIGN_DOWN(addr, PAGE_SIZE);
	size = MM_ALIGN_UP(addr + size, PAGE_SIZE) - a;
	if (a < v->base || a + size > v->base + v->size)
		return MM_EINVAL;
	int rc = MM_EBUSY;
	pthread_mutex_lock(&v->lock);
	for (uint32_t i = 0; i < v->n; i++)
		if (v->r[i].base <= a && a + size <= v->r[i].base + v->r[i].len) {
			rc = vs_carve(v, i, a, size);
			break;
		}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static bool vs_check(const void *st)
{
	struct va_simple *v = (struct va_simple *)st;
	pthread_mutex_lock(&v->lock);
	uint64_t sum = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		MM_ASSERT(v->r[i].len > 0, "va_simple: empty free range");
		MM_ASSERT(i == 0 || v->r[i - 1].base + v->r[i - 1].len < v->r[i].base,
			  "va_simple: free ranges unsorted, overlapping or touching");
		sum += v->r[i].len;
	}
	MM_ASSERT(sum + v->reserved == v->size, "va_simple: accounting");
	pthread_mutex_unlock(&v->lock);
	return true;
}

static void vs_stats(const void *st, struct va_stats *out)
{
	struct va_simple *v = (struct va_simple *)st;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&v->lock);
	out->size = v->size;
	out->reserved_bytes = v->reserved;
	out->free_bytes = v->size - v->reserved;
	out->free_ranges = v->n;
	for (uint32_t i = 0; i < v->n; i++)
		out->largest_free = MM_MAX(out->largest_free, v->r[i].len);
	out->meta_bytes = sizeof(*v);
	out->granule = PAGE_SIZE;
	pthread_mutex_unlock(&v->lock);
}

const struct va_ops test_va_simple_ops = {
	.name = "simple",
	.state_size = sizeof(struct va_simple),
	.meta_size = vs_meta_size,
	.init = vs_init,
	.alloc = vs_alloc,
	.free = vs_free,
	.reserve = vs_reserve,
	.check = vs_check,
	.stats = vs_stats,
};
