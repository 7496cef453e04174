/* heap_null.c: the "null" heap, the harness ceiling (MEASUREMENT.md "Ceilings"):
 * the cheapest allocator a replay can run on, so the replay's throughput on it is
 * what the harness, the machine and touching memory allow, and its scaling is the
 * harness's own.
 *
 * Every allocation on CPU c returns the start of CPU c's scratch region (aligned as
 * asked): objects overlap, which the replay never notices (it writes into objects and
 * never reads them back), and the memory it touches stays hot in CPU c's cache. free
 * does nothing; realloc returns the scratch start too (no copy: the contents do not
 * matter). A CPU's region is the smallest power of two (at least 2 MiB) that holds the
 * largest request (size + alignment) it has seen: a larger request maps a larger
 * region from the VA and frame allocators (heap_back_range, never returned). Each CPU's
 * state has its own cache line; nothing is shared between CPUs but the rare region
 * mapping. Invariant: every pointer handed out lies in its CPU's region. Its footprint
 * is not a heap figure (objects overlap): stats() reports 0, so rows say null for
 * footprints and fragmentation, and heap_frames / heap_va_bytes = regions mapped.
 * Requests beyond 2^40 bytes fail (NULL).
 */
#include "heap_null.h"

#include "../../strategies/heap_back.h"
#include "../../strategies/sync.h"

#define NULL_MIN_REGION ((uint64_t)1 << 21)
#define NULL_MAX_REQ	((uint64_t)1 << 40)

struct null_cpu {
	_Alignas(64) uint64_t base; /* the region, 0 before the first allocation */
	uint64_t size;
	uint64_t mapped; /* bytes of regions this CPU mapped (read by stats) */
};

struct heap_null {
	struct heap_env env;
	struct null_cpu cpu[HEAP_MAX_CPUS];
};

_Static_assert(sizeof(struct heap_null) <= HEAP_NULL_STATE_SIZE, "HEAP_NULL_STATE_SIZE");

static int null_init(void *st, const struct heap_env *env)
{
	struct heap_null *h = st;
	if (!env->ncpus || env->ncpus > HEAP_MAX_CPUS || !env->va || !env->frames || !env->mmu)
		return MM_EINVAL;
	mm_zero(h, sizeof(*h));
	h->env = *env;
	return MM_OK;
}

/* Maps a region of len bytes (a power of two >= 2 MiB) for CPU c; 0 or MM_ENOMEM. */
static int null_region(struct heap_null *h, unsigned c, uint64_t len)
{
	uint64_t blocks[512], va;
	unsigned n;
	const struct heap_env *e = &h->env;
	if (e->va->alloc(e->va_st, c, len, NULL_MIN_REGION, &va) != MM_OK)
		return MM_ENOMEM;
	if (heap_back_range(e, c, va, len, blocks, 512, &n) != MM_OK) {
		e->va->free(e->va_st, c, va, len);
		return MM_ENOMEM;
	}
	h->cpu[c].base = va;
	h->cpu[c].size = len;
	atomic_store_rlx(&h->cpu[c].mapped, h->cpu[c].mapped + len);
	return MM_OK;
}

static void *null_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	struct heap_null *h = st;
	struct null_cpu *pc = &h->cpu[cpu];
	uint64_t need = (uint64_t)size + (align > 1 ? align : 0);
	if (size > NULL_MAX_REQ || align > NULL_MAX_REQ)
		return 0;
	if (need > pc->size) {
		uint64_t len = NULL_MIN_REGION;
		while (len < need)
			len <<= 1;
		if (null_region(h, cpu, len) != MM_OK)
			return 0;
	}
	return (void *)(uintptr_t)MM_ALIGN_UP(pc->base, align ? align : 1);
}

static void null_free(void *st, unsigned cpu, void *p, size_t size, size_t align)
{
}

static void *null_realloc(void *st, unsigned cpu, void *p, size_t old, size_t align, size_t n)
{
	return null_alloc(st, cpu, n, align);
}

static bool null_check(const void *st)
{
	const struct heap_null *h = st;
	for (unsigned c = 0; c < h->env.ncpus; c++)
		MM_ASSERT(!h->cpu[c].base == !h->cpu[c].size, "heap_null: a region without a size");
	return true;
}

static void null_stats(const void *st, struct heap_stats *out)
{
	const struct heap_null *h = st;
	mm_zero(out, sizeof(*out));
	for (unsigned c = 0; c < h->env.ncpus; c++) {
		out->va_bytes += atomic_load_rlx(&h->cpu[c].mapped);
		out->meta_bytes += sizeof(struct null_cpu);
	}
	out->frames = out->va_bytes / PAGE_SIZE; /* footprint 0: not a heap figure */
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
