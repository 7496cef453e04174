/* heap_fixture.c: one hosted machine for a heap (hostmem + frame allocator behind
 * the fault injector + VA allocator over the Managed window + heap_env), so heap
 * tests and the heap benchmark run any (frame_ops, va_ops, heap_ops) triple.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_support.h"
#include "../../workloads/core/heap_null.h"

static void *fx_zalloc(size_t n)
{
	void *p = aligned_alloc(64, MM_ALIGN_UP(MM_MAX(n, (size_t)64), (size_t)64));
	if (p)
		memset(p, 0, MM_MAX(n, (size_t)64));
	return p;
}

/* (Re)initialises the frame and VA allocators; state is allocated on first use. */
static int fx_lower(struct heap_fixture *fx, unsigned ncpus)
{
	size_t fm = fx->fops->meta_size(&fx->hm.map, ncpus);
	if (!fx->frame_st) {
		fx->frame_st = fx_zalloc(fx->fops->state_size);
		fx->frame_meta = fx_zalloc(fm);
	}
	if (!fx->frame_st || !fx->frame_meta)
		return MM_ENOMEM;
	memset(fx->frame_st, 0, fx->fops->state_size);
	memset(fx->frame_meta, 0, fm);
	int rc = fx->fops->init(fx->frame_st, &fx->hm.map, ncpus, fx->frame_meta, fm);
	if (rc != MM_OK)
		return rc;
	spill_heap_attach_frames(&fx->spill, fx->fops, fx->frame_st);
	faulty_frame_wrap(&fx->faulty, fx->fops, fx->frame_st, FAULTY_UNLIMITED);
	frame_page_source_init(&fx->fps, &faulty_frame_ops, &fx->faulty, &fx->hm.mmu);
	uint64_t base = (uint64_t)(uintptr_t)fx->hm.va_base;
	size_t vm = fx->vops->meta_size(base, fx->hm.va_size);
	if (!fx->va_st) {
		fx->va_st = fx_zalloc(fx->vops->state_size);
		fx->va_meta = vm ? fx_zalloc(vm) : NULL;
	}
	if (!fx->va_st || (vm && !fx->va_meta))
		return MM_ENOMEM;
	memset(fx->va_st, 0, fx->vops->state_size);
	if (vm)
		memset(fx->va_meta, 0, vm);
	rc = fx->vops->init(fx->va_st, base, fx->hm.va_size, fx->va_meta, vm, &fx->fps.ps);
	if (rc == MM_OK)
		spill_heap_attach_va(&fx->spill, fx->vops, fx->va_st);
	return rc;
}

int heap_fixture_init(struct heap_fixture *fx, const struct frame_ops *fops,
		      const struct va_ops *vops, const struct heap_ops *hops, unsigned ncpus,
		      uint64_t phys_bytes, uint64_t va_bytes, uint64_t fixed_heap_bytes,
		      uint32_t keep_empty_chunks)
{
	memset(fx, 0, sizeof(*fx));
	fx->fops = fops;
	fx->vops = vops;
	fx->hops = hops;
	spill_heap_init(&fx->spill);
	int rc = hostmem_init(&fx->hm, phys_bytes, HOSTMEM_HOLES, va_bytes);
	if (rc != 0)
		return rc;
	rc = fx_lower(fx, ncpus);
	if (rc != MM_OK) {
		fprintf(stderr, "heap_fixture: setting up %s/%s failed (%d)\n", fops->name,
			vops->name, rc);
		return rc;
	}
	fx->env = (struct heap_env){.ncpus = ncpus,
				    .frames = &faulty_frame_ops,
				    .frame_st = &fx->faulty,
				    .va = vops,
				    .va_st = fx->va_st,
				    .mmu = &fx->hm.mmu,
				    .fixed_heap_bytes = fixed_heap_bytes,
				    .keep_empty_chunks = keep_empty_chunks};
	fx->heap_st = fx_zalloc(hops->state_size);
	if (!fx->heap_st)
		return MM_ENOMEM;
	rc = hops->init(fx->heap_st, &fx->env);
	if (rc != MM_OK)
		fprintf(stderr, "heap_fixture: %s init failed (%d)\n", hops->name, rc);
	return rc;
}

int heap_fixture_reinit(struct heap_fixture *fx, uint64_t fixed_heap_bytes,
			uint32_t keep_empty_chunks)
{
	int rc = fx_lower(fx, fx->env.ncpus);
	if (rc != MM_OK)
		return rc;
	fx->env.fixed_heap_bytes = fixed_heap_bytes;
	fx->env.keep_empty_chunks = keep_empty_chunks;
	memset(fx->heap_st, 0, fx->hops->state_size);
	return fx->hops->init(fx->heap_st, &fx->env);
}

void heap_fixture_fini(struct heap_fixture *fx)
{
	hostmem_fini(&fx->hm);
	free(fx->frame_st);
	free(fx->frame_meta);
	free(fx->va_st);
	free(fx->va_meta);
	free(fx->heap_st);
	spill_heap_fini(&fx->spill);
	memset(fx, 0, sizeof(*fx));
}

uint64_t heap_fixture_frames_used(const struct heap_fixture *fx)
{
	struct frame_stats s;
	fx->fops->stats(fx->frame_st, &s);
	return s.total_frames - s.free_frames;
}

/* The strategy tables by layer. VA strategies are weak references: a table is
 * present once its strategy is merged (the Makefile forces the definitions of the
 * defined ones into programs that list them, -Wl,-u). */
extern const struct va_ops va_bitmap_ops __attribute__((weak));
extern const struct va_ops va_btree_ops __attribute__((weak));
extern const struct va_ops va_freelist_ops __attribute__((weak));

static const void *fx_table(int layer, unsigned i)
{
	static const struct frame_ops *const f[] = {&frame_buddy_ops, &frame_freelist_ops,
						    &test_frame_simple_ops};
	const struct va_ops *const v[] = {&va_bitmap_ops, &va_btree_ops, &va_freelist_ops,
					  &test_va_simple_ops};
	static const struct heap_ops *const h[] = {&heap_talc_ops, &heap_slab_ops, &heap_null_ops,
						   &heap_talc_grow_ops};
	if (layer == HEAP_FX_FRAME)
		return i < 3 ? f[i] : NULL;
	if (layer == HEAP_FX_VA)
		return i < 4 ? (const void *)v[i] : NULL;
	return i < 4 ? h[i] : NULL;
}

/* Every table's first member is its name. */
static const char *fx_name(int layer, const void *t)
{
	return layer == HEAP_FX_FRAME ? ((const struct frame_ops *)t)->name
	       : layer == HEAP_FX_VA  ? ((const struct va_ops *)t)->name
				      : ((const struct heap_ops *)t)->name;
}

unsigned heap_fixture_list(int layer, const char **names, unsigned cap)
{
	unsigned n = 0;
	for (unsigned i = 0; i < 4 && n < cap; i++) {
		const void *t = fx_table(layer, i);
		if (t)
			names[n++] = fx_name(layer, t);
	}
	return n;
}

static const void *fx_find(int layer, const char *name)
{
	for (unsigned i = 0; i < 4; i++) {
		const void *t = fx_table(layer, i);
		if (t && !strcmp(fx_name(layer, t), name))
			return t;
	}
	return NULL;
}

const struct frame_ops *heap_fixture_frame_ops(const char *name)
{
	return fx_find(HEAP_FX_FRAME, name);
}

const struct va_ops *heap_fixture_va_ops(const char *name)
{
	return fx_find(HEAP_FX_VA, name);
}

const struct heap_ops *heap_fixture_heap_ops(const char *name)
{
	return fx_find(HEAP_FX_HEAP, name);
}
