/* va_strategies.c: the table of VA strategies under test and their setup (see
 * va_strategies.h). Add a strategy here and every VA test runs it. */
#include "va_strategies.h"

#include "../va_bitmap.h"
#include "../va_btree.h"

#define BITMAP_G (1ull << VA_BITMAP_GRANULE_SHIFT)
const struct va_strategy va_strategies[] = {
	{&va_bitmap_ops, BITMAP_G, true, BITMAP_G << VA_BITMAP_MAX_ORDER},
	{&va_bitmap_64k_ops, 1ull << VA_BITMAP_64K_SHIFT, true,
	 (1ull << VA_BITMAP_64K_SHIFT) << VA_BITMAP_MAX_ORDER},
	{&va_freelist_ops, PAGE_SIZE, false, 0},
	{&va_btree_ops, PAGE_SIZE, false, 0},
	{&va_btree_bare_ops, PAGE_SIZE, false, 0},
	{&va_btree_best_ops, PAGE_SIZE, false, 0},
	{&va_btree_bare_best_ops, PAGE_SIZE, false, 0},
};
const unsigned va_nstrategies = sizeof(va_strategies) / sizeof(va_strategies[0]);

uint64_t va_strategy_round(const struct va_strategy *s, uint64_t size)
{
	uint64_t g = MM_ALIGN_UP(size, s->granule);
	if (!s->pow2)
		return g;
	return s->granule << mm_log2_ceil(g / s->granule);
}

void va_inst_init(struct va_inst *vi, const struct va_strategy *s, uint64_t base,
		  uint64_t size)
{
	memset(vi, 0, sizeof(*vi));
	vi->s = s;
	vi->ops = s->ops;
	vi->base = base;
	vi->size = size;
	CHECK(s->ops != &va_bitmap_64k_ops || va_bitmap_64k_ops.state_size >= va_bitmap_ops.state_size,
	      "b64k state");
	int rc = va_host_init(&vi->vh, vi->ops, base, size);
	CHECK(rc == MM_OK, "%s: init(%#" PRIx64 ", %#" PRIx64 ") = %d", vi->ops->name, base, size,
	      rc);
	vi->st = vi->vh.st;
}

void va_inst_fini(struct va_inst *vi)
{
	va_host_fini(&vi->vh);
}
