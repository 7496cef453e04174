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
};
const unsigned va_nstrategies = sizeof(va_strategies) / sizeof(va_strategies[0]);

uint64_t va_strategy_round(const struct va_strategy *s, uint64_t size)
{
	uint64_t g = MM_ALIGN_UP(size, s->granule);
	if (!s->pow2)
		return g;
	return s->granule << mm_log2_ceil(g / s->granule);
}

static int tps_alloc(void *ctx, uint64_t *pa)
{
	struct test_page_source *t = ctx;
	void *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!p)
		return MM_ENOMEM;
	memset(p, 0, PAGE_SIZE);
	pthread_mutex_lock(&t->mu);
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->pages = realloc(t->pages, t->cap * sizeof(*t->pages));
		CHECK(t->pages, "out of memory");
	}
	t->pages[t->n++] = p;
	pthread_mutex_unlock(&t->mu);
	*pa = (uint64_t)(uintptr_t)p;
	return MM_OK;
}

static void *tps_to_virt(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

void va_inst_init(struct va_inst *vi, const struct va_strategy *s, uint64_t base,
		  uint64_t size)
{
	memset(vi, 0, sizeof(*vi));
	vi->s = s;
	vi->ops = s->ops;
	vi->base = base;
	vi->size = size;
	pthread_mutex_init(&vi->tps.mu, NULL);
	vi->tps.ps = (struct page_source){&vi->tps, tps_alloc, tps_to_virt};
	CHECK(s->ops != &va_bitmap_64k_ops || va_bitmap_64k_ops.state_size >= va_bitmap_ops.state_size,
	      "b64k state");
	vi->st = aligned_alloc(64, (vi->ops->state_size + 63) / 64 * 64);
	vi->meta_len = vi->ops->meta_size(base, size);
	vi->meta = aligned_alloc(64, (vi->meta_len + 64) / 64 * 64);
	CHECK(vi->st && vi->meta, "out of memory");
	memset(vi->meta, 0, vi->meta_len);
	int rc = vi->ops->init(vi->st, base, size, vi->meta, vi->meta_len, &vi->tps.ps);
	CHECK(rc == MM_OK, "%s: init(%#" PRIx64 ", %#" PRIx64 ") = %d", vi->ops->name, base, size,
	      rc);
}

void va_inst_fini(struct va_inst *vi)
{
	for (size_t i = 0; i < vi->tps.n; i++)
		free(vi->tps.pages[i]);
	free(vi->tps.pages);
	pthread_mutex_destroy(&vi->tps.mu);
	free(vi->st);
	free(vi->meta);
}
