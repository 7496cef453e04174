/* frame_model.h: shared helpers of the frame allocator tests (header only):
 * hand-made memory maps with holes and reserved ranges, instance setup (the free
 * list spills into a malloc spill_heap, as Hermit's into its global allocator),
 * and a byte-per-frame reference model. */
#ifndef FRAME_MODEL_H
#define FRAME_MODEL_H

#include "testlib.h"

#include "../../workloads/host/spill_heap.h"
#include "../frame.h"

enum { FM_NONE = 0, FM_FREE = 1, FM_USED = 2 };

struct frame_inst {
	const struct frame_ops *ops;
	void *st, *meta;
	size_t meta_len;
	struct spill_heap spill; /* the free list's heap */
};

static inline void frame_inst_init(struct frame_inst *fi, const struct frame_ops *ops,
				   const struct mem_map *map, unsigned ncpus)
{
	fi->ops = ops;
	fi->st = aligned_alloc(64, (ops->state_size + 63) / 64 * 64);
	fi->meta_len = ops->meta_size(map, ncpus);
	fi->meta = aligned_alloc(64, (fi->meta_len + 64) / 64 * 64);
	CHECK(fi->st && fi->meta, "out of memory");
	memset(fi->meta, 0, fi->meta_len);
	CHECK(ops->init(fi->st, map, ncpus, fi->meta, fi->meta_len) == MM_OK, "%s init", ops->name);
	spill_heap_init(&fi->spill);
	spill_heap_attach_frames(&fi->spill, ops, fi->st);
}

static inline void frame_inst_fini(struct frame_inst *fi)
{
	spill_heap_fini(&fi->spill);
	free(fi->st);
	free(fi->meta);
}

/* `mib` MiB of RAM: [0,1M) firmware, a kernel image, an odd 3-frame hole, a 1 MiB
 * gap without any map entry, and an odd-sized end. */
static inline struct mem_map frame_map_holes(uint64_t mib)
{
	uint64_t top = mib << 20;
	struct mem_map m = {.count = 1, .r = {{0, top - 5 * PAGE_SIZE, MEM_USABLE}}};
	CHECK(mem_map_set(&m, 0, 1 << 20, MEM_RESERVED) == 0, "map");
	CHECK(mem_map_set(&m, 2 << 20, 10 * PAGE_SIZE, MEM_KERNEL) == 0, "map");
	CHECK(mem_map_set(&m, top / 2 + 7 * PAGE_SIZE, 3 * PAGE_SIZE, MEM_ACPI) == 0, "map");
	/* a gap: [top*3/4, top*3/4 + 1 MiB) is in no region at all */
	struct mem_map g = {0};
	for (uint32_t i = 0; i < m.count; i++) {
		struct mem_region r = m.r[i];
		uint64_t gs = top / 4 * 3, ge = gs + (1 << 20), e = r.base + r.len;
		if (r.base < gs && e > ge) {
			g.r[g.count++] = (struct mem_region){r.base, gs - r.base, r.type};
			g.r[g.count++] = (struct mem_region){ge, e - ge, r.type};
		} else {
			g.r[g.count++] = r;
		}
	}
	CHECK(mem_map_normalize(&g) == 0, "normalize");
	return g;
}

/* The model: one byte per frame of [0, nframes). */
struct frame_model {
	uint64_t n;
	uint8_t *s;
};

static inline void frame_model_init(struct frame_model *fm, const struct mem_map *map)
{
	fm->n = mem_map_end(map) >> PAGE_SHIFT;
	fm->s = calloc(fm->n + 1, 1);
	for (uint32_t i = 0; i < map->count; i++)
		if (map->r[i].type == MEM_USABLE)
			memset(fm->s + (map->r[i].base >> PAGE_SHIFT), FM_FREE,
			       map->r[i].len >> PAGE_SHIFT);
}

static inline uint64_t frame_model_count(const struct frame_model *fm, uint8_t v)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < fm->n; i++)
		n += fm->s[i] == v;
	return n;
}

/* True if [pfn, pfn+2^order) is entirely `v` in the model. */
static inline bool frame_model_all(const struct frame_model *fm, uint64_t pfn, unsigned order,
				   uint8_t v)
{
	if (pfn + (1ull << order) > fm->n)
		return false;
	for (uint64_t i = 0; i < (1ull << order); i++)
		if (fm->s[pfn + i] != v)
			return false;
	return true;
}

/* True if some aligned block of this order is entirely free in the model. */
static inline bool frame_model_has_block(const struct frame_model *fm, unsigned order)
{
	for (uint64_t p = 0; p + (1ull << order) <= fm->n; p += 1ull << order)
		if (frame_model_all(fm, p, order, FM_FREE))
			return true;
	return false;
}

static inline uint64_t frame_model_free_2m(const struct frame_model *fm)
{
	uint64_t n = 0;
	for (uint64_t p = 0; p + 512 <= fm->n; p += 512)
		n += frame_model_all(fm, p, 9, FM_FREE);
	return n;
}

#endif
