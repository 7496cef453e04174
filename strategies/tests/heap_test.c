/* heap_test.c: both heaps against a reference model, single-threaded.
 *
 * For each (frame_ops, va_ops, heap) triple: seeded random alloc/free/realloc
 * sequences with per-object byte patterns (checked on free and realloc),
 * alignment checks, an interval set proving no overlap, and the heap's full
 * invariant check after every step (MM_DEBUG); in-place realloc growth keeping
 * contents; out-of-memory via the fault-injecting frame allocator (NULL, the
 * heap stays consistent and usable, no frame leaks); slab returns every frame
 * after a peak when keep_empty_chunks == 0.
 * MTB_HEAP_STEPS overrides the number of random steps per heap; MTB_FRAME_OPS and
 * MTB_VA_OPS pick the lower allocators by name (heap_fixture_frame_ops), "simple"
 * by default; heap_lower_test.sh runs heap_test with the real frame strategies.
 */
#include "testlib.h"

#include "heap_support.h"
#include "../heap_slab.h"

#define PHYS_BYTES  (192ull << 20)
#define VA_BYTES    (8ull << 30)
#define FIXED_BYTES (24ull << 20)
#define SLOTS	    1500

struct obj {
	uint8_t *p;
	size_t size, align;
	uint64_t tag;
};

struct model {
	struct heap_fixture *fx;
	struct obj o[SLOTS];
	struct heap_ref_set set;
	struct rng r;
	uint64_t tags;
};

/* Mostly small, some medium classes; for slab also 1 in 400 past its last class
 * (large objects: talc's fixed heap of FIXED_BYTES could not hold many). */
static size_t pick_size(struct model *m)
{
	struct rng *r = &m->r;
	uint64_t k = rng_below(r, 400);
	if (k < 240)
		return rng_below(r, 129);
	if (k < 360)
		return rng_below(r, 2049);
	if (k < 396)
		return rng_below(r, 40000);
	if (k < 399 || m->fx->hops != &heap_slab_ops)
		return rng_below(r, 300000);
	return SLAB_CLASS_MAX + rng_below(r, 2 * SLAB_CLASS_MAX);
}

static size_t pick_align(struct rng *r)
{
	static const size_t al[] = {1, 8, 16, 16, 16, 32, 64, 128, 4096, 8192};
	return al[rng_below(r, rng_below(r, 4) ? 5 : 10)];
}

/* Calls go to a random one of the two CPUs (serially): slab then frees many
 * objects remotely, through the batches and inboxes. */
static unsigned m_cpu(struct model *m)
{
	return (unsigned)rng_below(&m->r, 2);
}

static void *m_alloc(struct model *m, size_t size, size_t align)
{
	return m->fx->hops->alloc(m->fx->heap_st, m_cpu(m), size, align);
}

/* Every object in transit between CPUs goes home (slab only). */
static void m_flush(struct model *m)
{
	if (m->fx->hops == &heap_slab_ops)
		for (int round = 0; round < 2; round++)
			for (unsigned c = 0; c < 2; c++)
				heap_slab_flush(m->fx->heap_st, c);
}

/* Registers o as live: alignment, no overlap, fresh pattern. */
static void m_adopt(struct model *m, struct obj *o)
{
	uint64_t lo = (uint64_t)(uintptr_t)o->p;
	CHECK(lo % o->align == 0, "%p not aligned to %zu", (void *)o->p, o->align);
	CHECK(heap_ref_set_insert(&m->set, lo, lo + MM_MAX(o->size, (size_t)1)),
	      "object %p+%zu overlaps a live object", (void *)o->p, o->size);
	o->tag = ++m->tags * 0x9e3779b97f4a7c15ull;
	heap_ref_fill(o->p, o->size, o->tag);
}

static void m_verify(struct obj *o, size_t n)
{
	size_t bad = heap_ref_verify(o->p, n, o->tag);
	CHECK(bad == n, "object %p (size %zu) corrupt at offset %zu", (void *)o->p, o->size, bad);
}

static void m_drop(struct model *m, struct obj *o)
{
	m_verify(o, o->size);
	CHECK(heap_ref_set_remove(&m->set, (uint64_t)(uintptr_t)o->p), "lost interval");
	m->fx->hops->free(m->fx->heap_st, m_cpu(m), o->p, o->size, o->align);
	o->p = NULL;
}

/* Reallocs o to size n; returns false (o untouched and still valid) on NULL. */
static bool m_realloc(struct model *m, struct obj *o, size_t n)
{
	m_verify(o, o->size);
	uint8_t *q = m->fx->hops->realloc(m->fx->heap_st, m_cpu(m), o->p, o->size, o->align, n);
	if (!q)
		return false;
	CHECK(heap_ref_set_remove(&m->set, (uint64_t)(uintptr_t)o->p), "lost interval");
	size_t keep = MM_MIN(o->size, n);
	o->p = q;
	size_t bad = heap_ref_verify(q, keep, o->tag);
	CHECK(bad == keep, "realloc %zu -> %zu lost contents at %zu", o->size, n, bad);
	o->size = n;
	m_adopt(m, o);
	return true;
}

static void m_step(struct model *m)
{
	struct obj *o = &m->o[rng_below(&m->r, SLOTS)];
	if (!o->p) {
		o->size = pick_size(m);
		o->align = pick_align(&m->r);
		o->p = m_alloc(m, o->size, o->align);
		CHECK(o->p, "alloc(%zu, %zu) failed with plenty of memory", o->size, o->align);
		m_adopt(m, o);
	} else if (rng_below(&m->r, 3) == 0) {
		size_t n = rng_below(&m->r, 2) ? o->size + rng_below(&m->r, 3000) : pick_size(m);
		CHECK(m_realloc(m, o, n), "realloc to %zu failed with plenty of memory", n);
	} else {
		m_drop(m, o);
	}
}

static void m_free_all(struct model *m)
{
	for (int i = 0; i < SLOTS; i++)
		if (m->o[i].p)
			m_drop(m, &m->o[i]);
	CHECK(m->set.n == 0, "interval set not empty");
	m_flush(m);
}

static void heap_check(struct heap_fixture *fx)
{
	CHECK(fx->hops->check(fx->heap_st), "%s: check failed", fx->hops->name);
}

static void test_random(struct model *m, long steps)
{
	for (long s = 0; s < steps; s++) {
		m_step(m);
		if (MM_DEBUG && (s % 4 == 0 || s < 2000))
			heap_check(m->fx);
	}
	heap_check(m->fx);
	m_free_all(m);
	heap_check(m->fx);
}

/* Growing one object step by step keeps its contents (in place when possible). */
static void test_realloc_grow(struct model *m)
{
	struct obj *o = &m->o[0];
	o->size = 24;
	o->align = 16;
	o->p = m_alloc(m, o->size, o->align);
	CHECK(o->p, "alloc");
	m_adopt(m, o);
	for (size_t n = 40; n < 200000; n = n * 3 / 2) {
		CHECK(m_realloc(m, o, n), "grow to %zu", n);
		heap_check(m->fx);
	}
	for (size_t n = o->size; n > 16; n /= 3) {
		CHECK(m_realloc(m, o, n), "shrink to %zu", n);
		heap_check(m->fx);
	}
	m_drop(m, o);
	m_flush(m);
}

/* Out of memory: with no frames left the heap fills, fails with NULL, stays
 * consistent, frees back, and serves again once frames are given back. talc (Hermit's
 * fixed heap) runs out of its heap without asking the frame allocator. */
static void test_oom(struct model *m)
{
	struct heap_fixture *fx = m->fx;
	struct heap_stats hs;
	fx->hops->stats(fx->heap_st, &hs);
	uint64_t before = heap_fixture_frames_used(fx), held_before = hs.frames;
	faulty_frame_set_budget(&fx->faulty, 300); /* ~1.2 MiB more, then refuse */
	int n = 0, fails = 0;
	for (int i = 0; i < SLOTS && fails < 40; i++) {
		struct obj *o = &m->o[i];
		o->size = 500 + rng_below(&m->r, 200000);
		o->align = pick_align(&m->r);
		o->p = m_alloc(m, o->size, o->align);
		if (!o->p) {
			fails++;
			continue;
		}
		m_adopt(m, o);
		n++;
		if (i % 8 == 0 && o->size > 1000 && !m_realloc(m, o, o->size * 3))
			fails++;
	}
	CHECK(fails > 0, "never ran out of memory (%d objects)", n);
	if (fx->hops == &heap_talc_ops) /* Hermit's fixed heap: full, never asks for frames */
		CHECK(fx->faulty.refusals == 0, "fixed talc asked for frames after init");
	else
		CHECK(fx->faulty.refusals > 0, "the frame allocator never refused");
	heap_check(fx);
	for (int i = 0; i < SLOTS; i += 2) /* free half, then small ones must fit again */
		if (m->o[i].p)
			m_drop(m, &m->o[i]);
	heap_check(fx);
	m_flush(m); /* (slab) frees sent to another CPU are back once it has run */
	for (int i = 0; i < SLOTS && n > 0; i += 2) {
		struct obj *o = &m->o[i];
		o->size = 1 + rng_below(&m->r, 64);
		o->align = 8;
		o->p = m_alloc(m, o->size, o->align);
		CHECK(o->p, "small alloc after freeing half failed");
		m_adopt(m, o);
	}
	m_free_all(m);
	heap_check(fx);
	faulty_frame_set_budget(&fx->faulty, FAULTY_UNLIMITED);
	uint64_t after = heap_fixture_frames_used(fx);
	printf("  oom: %d objects, %d failures, frames used %llu -> %llu\n", n, fails,
	       (unsigned long long)before, (unsigned long long)after);
	fx->hops->stats(fx->heap_st, &hs);
	CHECK(after - hs.frames == before - held_before, "frames leaked: %llu used, heap holds %llu",
	      (unsigned long long)after, (unsigned long long)hs.frames);
	CHECK(fx->env.keep_empty_chunks || after == before, "frames kept with keep_empty_chunks 0");
}

/* slab with keep_empty_chunks == 0: after a peak, every frame goes back. */
static void test_shrink(struct model *m)
{
	struct heap_stats hs;
	m_flush(m);
	m->fx->hops->stats(m->fx->heap_st, &hs);
	uint64_t base = heap_fixture_frames_used(m->fx) - hs.frames; /* frames not the heap's */
	for (int i = 0; i < SLOTS; i++) {
		struct obj *o = &m->o[i];
		o->size = pick_size(m);
		o->align = pick_align(&m->r);
		o->p = m_alloc(m, o->size, o->align);
		CHECK(o->p, "alloc");
		m_adopt(m, o);
	}
	m->fx->hops->stats(m->fx->heap_st, &hs);
	uint64_t peak = hs.footprint;
	CHECK(hs.footprint == hs.frames * PAGE_SIZE &&
		      hs.frames == heap_fixture_frames_used(m->fx) - base,
	      "footprint %llu is not the %llu frames mapped", (unsigned long long)hs.footprint,
	      (unsigned long long)(heap_fixture_frames_used(m->fx) - base));
	m_free_all(m);
	m->fx->hops->stats(m->fx->heap_st, &hs);
	printf("  shrink: footprint %llu at peak, %llu after, %llu chunks returned\n",
	       (unsigned long long)peak, (unsigned long long)hs.footprint,
	       (unsigned long long)hs.chunks_returned);
	uint64_t keep = 2 * SLAB_KEEP_BYTES(m->fx->env.keep_empty_chunks); /* 2 CPUs */
	CHECK(hs.footprint <= keep && (keep || hs.frames == 0),
	      "footprint %llu after freeing everything", (unsigned long long)hs.footprint);
	CHECK(heap_fixture_frames_used(m->fx) == base + hs.frames, "frames not returned");
	CHECK(hs.remote_frees > 0, "no remote free was exercised");
	CHECK(hs.peak_footprint >= peak && hs.chunks_returned > 0, "peak or chunk accounting");
}

/* Absurd requests fail cleanly instead of wrapping around. */
static void test_huge(struct model *m)
{
	static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 4095, (size_t)1 << 50, (size_t)1 << 40};
	for (int i = 0; i < 4; i++) {
		CHECK(m_alloc(m, sizes[i], 16) == NULL, "alloc(%zu) did not fail", sizes[i]);
		CHECK(m_alloc(m, 64, (size_t)1 << 60) == NULL, "alignment 2^60 did not fail");
	}
	struct obj *o = &m->o[0];
	*o = (struct obj){m_alloc(m, 100, 16), 100, 16, 0};
	CHECK(o->p, "alloc");
	m_adopt(m, o);
	CHECK(!m_realloc(m, o, SIZE_MAX - 8), "realloc to SIZE_MAX - 8 did not fail");
	m_drop(m, o);
	m_flush(m);
	heap_check(m->fx);
}

static void run_heap(const char *fname, const char *vname, const char *hname, uint32_t keep,
		     long steps, uint64_t seed)
{
	struct heap_fixture *fx = calloc(1, sizeof(*fx));
	struct model *m = calloc(1, sizeof(*m));
	CHECK(fx && m, "calloc");
	bool slab = !strcmp(hname, "slab");
	if (!heap_fixture_frame_ops(fname) || !heap_fixture_va_ops(vname))
		test_skip("unknown MTB_FRAME_OPS or MTB_VA_OPS");
	int rc = heap_fixture_init(fx, heap_fixture_frame_ops(fname), heap_fixture_va_ops(vname),
				   heap_fixture_heap_ops(hname), 2, PHYS_BYTES, VA_BYTES,
				   FIXED_BYTES, keep);
	CHECK(rc == 0, "fixture %s/%s/%s: %d", fname, vname, hname, rc);
	printf("%s on %s/%s, keep_empty_chunks %u\n", hname, fname, vname, keep);
	m->fx = fx;
	m->r.s = seed;
	heap_ref_set_init(&m->set, SLOTS + 1);
	test_random(m, steps);
	test_realloc_grow(m);
	test_huge(m);
	if (slab)
		test_shrink(m);
	test_oom(m);
	fx->fops->check(fx->frame_st);
	fx->vops->check(fx->va_st);
	heap_ref_set_fini(&m->set);
	heap_fixture_fini(fx);
	free(fx);
	free(m);
}

/* One request against the class rules: the smallest class that holds it and keeps
 * the alignment, large beyond SLAB_CLASS_MAX or aligned above a slot; waste under
 * 16 B up to 128 B, else at most 1/4 of the request (unaligned). */
static void check_class(size_t n, size_t align)
{
	unsigned c = slab_class_of(n, align);
	size_t need = MM_MAX(MM_MAX(n, align), (size_t)1);
	if (need > SLAB_CLASS_MAX || align > SLAB_SLOT) {
		CHECK(c == SLAB_LARGE, "size %zu align %zu not large", n, align);
		return;
	}
	CHECK(c < SLAB_NCLASSES && slab_class_size(c) >= need,
	      "size %zu align %zu: class %u too small", n, align, c);
	CHECK(align <= 16 || slab_class_size(c) % align == 0, "class not aligned");
	CHECK(align > 16 || (need <= 128 ? slab_class_size(c) - need < 16
					 : slab_class_size(c) - need <= need / 4),
	      "size %zu: class %u wastes %u bytes", n, c, (unsigned)(slab_class_size(c) - need));
	if (c > 0)
		CHECK(slab_class_size(c - 1) < need || (align > 16 && slab_class_size(c - 1) % align),
		      "size %zu align %zu: class %u fits better than %u", n, align, c - 1, c);
}

/* Size classes (check_class) up to 1 MiB and past it, every alignment up to 128 KiB;
 * slab spans: one slot up to 8 KiB, SLAB_MIN_CAP objects where 31 slots allow, no
 * slot without an object. */
static void test_slab_classes(void)
{
	for (size_t align = 1; align <= 131072; align *= 2) {
		for (size_t n = 0; n <= 20000; n++)
			check_class(n, align);
		for (size_t n = 20001; n <= SLAB_CLASS_MAX + 70000; n += 97)
			check_class(n, align);
		for (unsigned c = 8; c < SLAB_NCLASSES; c++)
			for (int d = -1; d <= 1; d++)
				check_class((size_t)((int64_t)slab_class_size(c) + d), align);
	}
	CHECK(slab_class_size(SLAB_NCLASSES - 1) == SLAB_CLASS_MAX, "last class is not 1 MiB");
	for (unsigned c = 0; c < SLAB_NCLASSES; c++) {
		uint32_t size = slab_class_size(c), k = slab_class_span(c);
		uint32_t cap = k * SLAB_SLOT / size, most = SLAB_MAX_SPAN * SLAB_SLOT / size;
		CHECK(c == 0 || (size > slab_class_size(c - 1) && size % 16 == 0),
		      "class sizes not increasing multiples of 16");
		CHECK(k >= 1 && k <= SLAB_MAX_SPAN && cap >= MM_MIN(SLAB_MIN_CAP, most) && cap >= 1,
		      "class %u (%u B): span %u holds %u objects", c, size, k, cap);
		CHECK((uint64_t)(k - 1) * SLAB_SLOT < (uint64_t)cap * size,
		      "class %u: a slot of its slab holds no object", c);
		CHECK(size > SLAB_SLOT / SLAB_MIN_CAP || k == 1, "class %u: span %u > 1", c, k);
	}
}

/* name is one of the comma-separated words of list. */
static bool has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

int main(void)
{
	uint64_t seed = test_seed("heap_test", 5);
	const char *e = getenv("MTB_HEAP_STEPS");
	long steps = e ? atol(e) : 40000;
	const char *heaps = getenv("MTB_HEAPS") ? getenv("MTB_HEAPS") : "talc,talc-grow,slab";
	const char *fo = getenv("MTB_FRAME_OPS") ? getenv("MTB_FRAME_OPS") : "simple";
	const char *vo = getenv("MTB_VA_OPS") ? getenv("MTB_VA_OPS") : "simple";
	if (has(heaps, "talc"))
		run_heap(fo, vo, "talc", 0, steps, seed);
	if (has(heaps, "talc-grow"))
		run_heap(fo, vo, "talc-grow", 0, steps / 2, seed + 2);
	if (has(heaps, "slab")) {
		test_slab_classes();
		run_heap(fo, vo, "slab", 0, steps, seed);
		run_heap(fo, vo, "slab", 1, steps / 2, seed + 1);
	}
	printf("heap_test: ok\n");
	return 0;
}
