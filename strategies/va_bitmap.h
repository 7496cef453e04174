/* va_bitmap.h: build-time granule of the bitmap buddy VA allocator (va_bitmap.c)
 * and entry points that take the granule at run time (for tests). */
#ifndef MM_VA_BITMAP_H
#define MM_VA_BITMAP_H

#include "va.h"

/* log2 of the granule in bytes: -DVA_BITMAP_GRANULE_SHIFT=N, 12 <= N <= 30. */
#ifndef VA_BITMAP_GRANULE_SHIFT
#define VA_BITMAP_GRANULE_SHIFT 21
#endif

/* The largest allocation: 2^VA_BITMAP_MAX_ORDER granules (2^18: 512 GiB at 2 MiB). */
#define VA_BITMAP_MAX_ORDER 18u

/* va_bitmap_ops.meta_size for a granule of 2^gshift bytes. */
size_t va_bitmap_meta_size_granule(uint64_t base, uint64_t size, unsigned gshift);
/* va_bitmap_ops.init for a granule of 2^gshift bytes (12..30); 0 or MM_EINVAL. */
int va_bitmap_init_granule(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
			   unsigned gshift);

/* va_bitmap_ops at a 64 KiB granule (name "bitmap-64k"), to compare and test a
 * granule other than the build's in one run. */
#define VA_BITMAP_64K_SHIFT 16
extern const struct va_ops va_bitmap_64k_ops;

#endif
