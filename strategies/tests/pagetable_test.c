/* pagetable_test.c: strategies/pagetable.c (hosted, tables in host
 * memory, "physical" table addresses = host pointers) against a reference model
 * of one translation per 4 KiB virtual page, over seeded random map/unmap
 * sequences with 4K/2M/1G-friendly sizes and alignments, with and without 1 GiB
 * pages, and with frame allocation failing after N frames (OOM paths):
 *   pt_map succeeds iff no page of the range is mapped and frames suffice; on
 *   failure the model (and the tables) are unchanged;
 *   pt_lookup(va) == model[va] for every page, checked over the touched range after
 *   each step and over the whole space every 64 steps.
 */
#include "../../strategies/tests/testlib.h"
#include "../pagetable.h"

#define SPACE	(8 * SIZE_1G)  /* virtual space under test, from VA_BASE */
#define VA_BASE (510ull << 30) /* crosses a PML4 boundary at 512 GiB */
#define NPAGES	(SPACE / PAGE_SIZE)
#define NONE	(~0ull)

struct frames {
	void **list;
	size_t n, cap, limit; /* limit: fail when n reaches it */
};

static int frame_alloc(void *ctx, uint64_t *pa)
{
	struct frames *f = ctx;
	if (f->n == f->limit)
		return MM_ENOMEM;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->list = realloc(f->list, f->cap * sizeof(void *));
		CHECK(f->list, "out of host memory");
	}
	void *p = aligned_alloc(4096, 4096);
	CHECK(p, "out of host memory");
	memset(p, 0, 4096);
	f->list[f->n++] = p;
	*pa = (uintptr_t)p;
	return MM_OK;
}

static void *host_virt(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static uint64_t *model;

static void check_page(struct pagetable *pt, uint64_t i)
{
	uint64_t pa, size, flags;
	int rc = pt_lookup(pt, VA_BASE + i * PAGE_SIZE, &pa, &size, &flags);
	if (model[i] == NONE) {
		CHECK(rc == MM_EINVAL, "page %#" PRIx64 " should be unmapped", i);
		return;
	}
	CHECK(rc == MM_OK && pa == model[i],
	      "page %#" PRIx64 ": rc %d pa %#" PRIx64 " want %#" PRIx64, i, rc, pa, model[i]);
	CHECK(flags == PTE_W, "page %#" PRIx64 ": flags %#" PRIx64, i, flags);
}

static void check_range(struct pagetable *pt, uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n && i < NPAGES; i++)
		check_page(pt, i);
}

/* A random page count: small, 2 MiB or 1 GiB flavoured. */
static uint64_t rand_pages(struct rng *r)
{
	switch (rng_next(r) % 4) {
	case 0:
		return 1 + rng_next(r) % 16;
	case 1:
		return (1 + rng_next(r) % 4) * 512;
	case 2:
		return 1 + rng_next(r) % 2048;
	default:
		return rng_next(r) % 8 == 0 ? 262144 * (1 + rng_next(r) % 2) : 512;
	}
}

static uint64_t rand_first(struct rng *r, uint64_t n)
{
	uint64_t align = rng_next(r) % 3 == 0 ? 262144 : rng_next(r) % 2 ? 512 : 1;
	uint64_t first = (rng_next(r) % NPAGES) & ~(align - 1);
	return first + n <= NPAGES ? first : NPAGES - n;
}

static void step_map(struct pagetable *pt, struct frames *f, struct rng *r)
{
	uint64_t n = rand_pages(r), first = rand_first(r, n);
	uint64_t pa = (rng_next(r) % 64) << 30 | ((rng_next(r) % 2 ? first : rng_next(r)) % 262144)
						     << 12;
	bool busy = false;
	for (uint64_t i = first; i < first + n; i++)
		busy |= model[i] != NONE;
	f->limit = rng_next(r) % 8 == 0 ? f->n + rng_next(r) % 3 : SIZE_MAX;
	int rc = pt_map(pt, VA_BASE + first * PAGE_SIZE, pa, n * PAGE_SIZE, PTE_W);
	f->limit = SIZE_MAX;
	if (busy)
		CHECK(rc == MM_EBUSY || rc == MM_ENOMEM, "map over mapped pages gave %d", rc);
	else
		CHECK(rc == MM_OK || rc == MM_ENOMEM, "map of a free range gave %d", rc);
	if (rc == MM_OK)
		for (uint64_t i = 0; i < n; i++)
			model[first + i] = pa + i * PAGE_SIZE;
	check_range(pt, first > 600 ? first - 600 : 0, n + 1200);
}

static void step_unmap(struct pagetable *pt, struct frames *f, struct rng *r)
{
	uint64_t n = rand_pages(r), first = rand_first(r, n);
	int rc = pt_unmap(pt, VA_BASE + first * PAGE_SIZE, n * PAGE_SIZE);
	CHECK(rc == MM_OK, "unmap gave %d", rc);
	for (uint64_t i = 0; i < n; i++)
		model[first + i] = NONE;
	check_range(pt, first > 600 ? first - 600 : 0, n + 1200);
}

static void run(uint64_t seed, bool has_1g, int steps)
{
	struct frames f = {.limit = SIZE_MAX};
	struct pagetable pt = {
	    .has_1g = has_1g, .ctx = &f, .alloc_frame = frame_alloc, .to_virt = host_virt};
	struct rng r = {seed};
	CHECK(pt_init(&pt) == MM_OK, "pt_init");
	for (uint64_t i = 0; i < NPAGES; i++)
		model[i] = NONE;
	CHECK(pt_map(&pt, 1, 0, PAGE_SIZE, 0) == MM_EINVAL, "misaligned va accepted");
	CHECK(pt_map(&pt, 0, 0, PAGE_SIZE, PTE_PS) == MM_EINVAL, "bad flags accepted");
	for (int s = 0; s < steps; s++) {
		if (rng_next(&r) % 5 < 3)
			step_map(&pt, &f, &r);
		else
			step_unmap(&pt, &f, &r);
		if (s % 64 == 63)
			check_range(&pt, 0, NPAGES);
	}
	check_range(&pt, 0, NPAGES);
	printf("has_1g=%d: %d steps, %zu table frames\n", has_1g, steps, f.n);
	for (size_t i = 0; i < f.n; i++)
		free(f.list[i]);
	free(f.list);
}

int main(void)
{
	uint64_t seed = getenv("MTB_SEED") ? strtoull(getenv("MTB_SEED"), NULL, 0) : 1125;
	printf("seed %" PRIu64 "\n", seed);
	model = malloc(NPAGES * sizeof(uint64_t));
	CHECK(model, "out of host memory");
	run(seed, false, 600);
	run(seed + 1, true, 600);
	free(model);
	puts("pagetable_test: ok");
	return 0;
}
