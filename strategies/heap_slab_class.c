/* heap_slab_class.c: the slab heap's size classes (the bottom layer, heap_slab.h):
 * 60 classes, 16..128 B in steps of 16, then 4 per power of two up to 1 MiB;
 * the table a CPU's small requests read (fine, or sparse: powers of two only,
 * heap_slab.c) and the span of a class's slabs. Pure functions of their
 * arguments and two const tables; calls no other slab file.
 */
#include "heap_slab.h"

/* Class of an unaligned request of n bytes (1 <= n <= SLAB_CLASS_MAX). */
static inline unsigned slab_class_calc(size_t n)
{
	if (n <= 128)
		return (unsigned)((n + 15) / 16) - 1;
	unsigned e = mm_log2_floor(n - 1);
	return 8 + (e - 7) * 4 + (unsigned)((n - 1) >> (e - 2)) - 4;
}

/* slab_class_calc for n <= 1024, by (n + 15) / 16: one load on the fast path. */
const uint8_t slab_small_class[65] = {
    0,	0,  1,	2,  3,	4,  5,	6,  7,				    /* 0..128 */
    8,	8,  9,	9,  10, 10, 11, 11,				    /* ..256 */
    12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15, /* ..512 */
    16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, /* ..768 */
    18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19, /* ..1024 */
};
_Static_assert(8 + (20 - 7) * 4 == SLAB_NCLASSES, "slab: classes end at 1 MiB");

/* A sparse CPU's classes for size <= 1024: 16, 32, 64, ... 1024 B (classes 0, 1, 3,
 * 7, 11, 15, 19), so a small heap of many sizes fills a few slabs, not a page per class. */
const uint8_t slab_sparse_class[65] = {
    0,	0,  1,	3,  3,	7,  7,	7,  7,				    /* 0..128 */
    11, 11, 11, 11, 11, 11, 11, 11,				    /* ..256 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, /* ..512 */
    19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, /* ..768 */
    19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, /* ..1024 */
};

void slab_sparse_end(struct slab_cpu *c)
{
	__builtin_memcpy(c->small_class, slab_small_class, sizeof(c->small_class));
	c->sparse = 0;
}

unsigned slab_class_slow(size_t size, size_t align)
{
	if (slab_is_large(size, align))
		return SLAB_LARGE;
	unsigned c = slab_class_calc(MM_MAX(MM_MAX(size, align), (size_t)1));
	if (align > 16) /* ends at 1 MiB at the latest: a multiple of any align <= 64 KiB */
		while (slab_class_size(c) % align)
			c++;
	return c;
}

unsigned slab_class_span(unsigned cls)
{
	uint64_t size = slab_class_size(cls);
	uint64_t span = MM_MIN(MM_ALIGN_UP(SLAB_MIN_CAP * size, SLAB_SLOT) / SLAB_SLOT,
			       (uint64_t)SLAB_MAX_SPAN);
	uint64_t cap = span * SLAB_SLOT / size;
	return (unsigned)(MM_ALIGN_UP(cap * size, SLAB_SLOT) / SLAB_SLOT);
}
