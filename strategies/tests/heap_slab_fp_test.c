/* heap_slab_fp_test.c: the slab heap's footprint policies, each with the heap's full
 * invariant check after every call (MM_DEBUG):
 *
 * - EMPTY slabs raise the peak by at most the grace: slabs of one span emptied and
 *   kept EMPTY, then as many bytes of a class of another span: the EMPTY slabs are
 *   decommitted before the heap maps frames above its high-water mark, except the
 *   grace (at most SLAB_GRACE_PAGES, 1/16 of the CPU's slab pages), so the peak
 *   stays what the live objects needed plus that bound.
 * - Hysteresis at the peak: alloc/free pairs of two classes of different spans,
 *   alternating at the heap's high-water mark, 10,000 rounds: the grace keeps both
 *   slabs committed, so a handful of map/unmap calls in all (before the grace:
 *   a decommit and a commit per pair, ~40,000 calls).
 * - Oldest first: once EMPTY slabs hold more than keep_pages pages, the slabs
 *   emptied longest ago are decommitted, not the one that just emptied.
 * - Sparse start: a fresh CPU puts requests up to 1024 B in the power-of-two
 *   classes and commits a page at a time, so one object of every size from 16 to
 *   1024 B costs its classes' pages and one header page, not a page per class;
 *   xmalloc's pattern (100 objects of 16..256 B made and freed in rounds) stays
 *   under frag4 2 (it was 3.58).
 * - The switch: at SLAB_SPARSE_PAGES committed pages the CPU takes the fine
 *   classes and full chunks, while objects it allocated sparse are freed remotely
 *   by another CPU before and after the switch; with keep 0 every frame goes back.
 * - Small chunks: a sparse CPU's chunks map one header page and offer slots
 *   1..SLAB_SMALL_SLOTS-1; a span that does not fit takes a full chunk; a full chunk
 *   going idle takes the place of a kept small one, so alloc/free pairs of such a
 *   span do not take and release a chunk each.
 * - Commits: an EMPTY slab of the span is taken before the head slab commits more
 *   (no map call); a fresh slab in a 16 MiB CPU heap commits at most 1/512 of it.
 * MTB_SEED reproduces the random sizes.
 */
#include "testlib.h"

#include "slab_testutil.h"
#include "../../workloads/core/gen.h"

/* 20 slabs of 8 KiB objects (span 1, 16 pages each) filled and freed (one 64 B object
 * keeps their chunk live, so they stay EMPTY), then the same bytes in 16 KiB objects
 * (span 2): the second phase may map its slabs' pages only in place of the EMPTY
 * ones (plus a chunk header and a commit step), not on top of them. */
static void test_empty_peak(struct slt *t)
{
	slt_fresh(t, 1);
	unsigned c8 = slab_class_of(8192, 16), c16 = slab_class_of(16384, 16);
	CHECK(slab_class_span(c8) == 1 && slab_class_span(c16) == 2, "spans of 8 and 16 KiB");
	void *keep = slt_alloc(t, 0, 64);
	CHECK(keep, "alloc 64");
	unsigned n8 = 20 * 8, n16 = n8 / 2;
	for (unsigned i = 0; i < n8; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, 8192)), "alloc 8 KiB");
	uint64_t peak1 = slt_peak_frames(t);
	for (unsigned i = 0; i < n8; i++)
		slt_free(t, 0, t->p[i], 8192);
	CHECK(t->c->empty_pages >= 19 * 16, "EMPTY slabs hold %u pages", t->c->empty_pages);
	for (unsigned i = 0; i < n16; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, 16384)), "alloc 16 KiB");
	uint64_t peak2 = slt_peak_frames(t),
		 slack = SLAB_HDR_BYTES / PAGE_SIZE + 2 * SLAB_SLOT_PAGES + SLAB_GRACE_PAGES;
	printf("  EMPTY slabs and the peak: %llu frames after span 1, %llu after span 2 (at most "
	       "%llu), %u EMPTY pages left\n",
	       (unsigned long long)peak1, (unsigned long long)peak2,
	       (unsigned long long)(peak1 + slack), t->c->empty_pages);
	CHECK(peak2 <= peak1 + slack && t->c->grace <= SLAB_GRACE_PAGES &&
		  t->c->grace <= t->c->slab_pages / 8 + SLAB_SLOT_PAGES,
	      "EMPTY slabs raised the peak: %llu frames, was %llu (grace %u)",
	      (unsigned long long)peak2, (unsigned long long)peak1, t->c->grace);
	for (unsigned i = 0; i < n16; i++)
		slt_free(t, 0, t->p[i], 16384);
	slt_free(t, 0, keep, 64);
	slt_flush_all(t);
}

/* 128 objects of 8 KiB stay live (16 slabs: the CPU's grace may reach 32 pages);
 * then 10,000 rounds of alloc/free of 10 KiB (span 2) and 24 KiB (span 3), each
 * pair at the high-water mark: each class's slab empties and waits EMPTY while the
 * other's is needed. Without hysteresis each pair decommits the other span's EMPTY
 * slab and commits its own (two maps and two unmaps per round). */
static void test_peak_hysteresis(struct slt *t)
{
	slt_fresh(t, 1);
	const struct heap_ops *o = t->fx.hops;
	unsigned ca = slab_class_of(10000, 16), cb = slab_class_of(24000, 16);
	CHECK(slab_class_span(ca) == 2 && slab_class_span(cb) == 3, "spans of 10 and 24 KiB");
	for (unsigned i = 0; i < 128; i++)
		CHECK((t->p[i] = o->alloc(t->fx.heap_st, 0, 8192, 16)), "alloc 8 KiB");
	uint64_t maps = t->maps, unmaps = t->unmaps, peak = slt_peak_frames(t);
	for (unsigned r = 0; r < 10000; r++) {
		void *a = o->alloc(t->fx.heap_st, 0, 10000, 16);
		CHECK(a, "alloc 10000");
		o->free(t->fx.heap_st, 0, a, 10000, 16);
		void *b = o->alloc(t->fx.heap_st, 0, 24000, 16);
		CHECK(b, "alloc 24000");
		o->free(t->fx.heap_st, 0, b, 24000, 16);
		if (r % 1000 == 0)
			slt_check(t);
	}
	uint64_t calls = t->maps - maps + t->unmaps - unmaps;
	printf("  hysteresis: 10,000 rounds of 10 KiB and 24 KiB pairs at the peak: %llu maps, "
	       "%llu unmaps, peak +%llu frames (grace %u pages)\n",
	       (unsigned long long)(t->maps - maps), (unsigned long long)(t->unmaps - unmaps),
	       (unsigned long long)(slt_peak_frames(t) - peak), t->c->grace);
	CHECK(calls <= 16, "pairs at the peak made %llu map/unmap calls",
	      (unsigned long long)calls);
	CHECK(slt_peak_frames(t) - peak <= 2 * (SLAB_HDR_PAGES + 3 * SLAB_SLOT_PAGES),
	      "pairs raised the peak by %llu frames",
	      (unsigned long long)(slt_peak_frames(t) - peak));
	for (unsigned i = 0; i < 128; i++)
		slt_free(t, 0, t->p[i], 8192);
}

/* keep_pages set to 1024: 70 slabs of 8 objects of 8 KiB (16 pages each) emptied
 * in the order they were filled; each chunk's last slab keeps one object (no chunk
 * goes idle) and is emptied to it first (so no emptied slab is parked). */
static void test_empty_oldest_first(struct slt *t)
{
	slt_fresh(t, 1);
	CHECK(t->h->keep_pages >= 1024, "keep_pages %u", t->h->keep_pages);
	t->h->keep_pages = 1024; /* 70 slabs of 16 pages overflow it */
	const struct heap_ops *o = t->fx.hops;
	enum { NS = 70 };
	struct slab *sl[NS];
	bool pin[NS];
	for (unsigned i = 0; i < NS * 8; i++)
		CHECK((t->p[i] = o->alloc(t->fx.heap_st, 0, 8192, 16)), "alloc 8 KiB");
	for (unsigned j = 0; j < NS; j++) {
		sl[j] = slt_slab_at(t->p[j * 8]);
		CHECK(sl[j]->cap == 8 && slt_slab_at(t->p[j * 8 + 7]) == sl[j], "slab %u", j);
	}
	for (unsigned j = 0; j < NS; j++)
		pin[j] = j == NS - 1 || slab_chunk_of(sl[j]) != slab_chunk_of(sl[j + 1]);
	for (unsigned j = 0; j < NS; j++)
		for (unsigned i = 1; pin[j] && i < 8; i++)
			o->free(t->fx.heap_st, 0, t->p[j * 8 + i], 8192, 16);
	unsigned first = NS, last = 0;
	for (unsigned j = 0; j < NS; j++) {
		if (pin[j])
			continue;
		for (unsigned i = 0; i < 8; i++)
			o->free(t->fx.heap_st, 0, t->p[j * 8 + i], 8192, 16);
		first = MM_MIN(first, j);
		last = j;
	}
	slt_check(t);
	printf("  oldest first: %u EMPTY pages kept (bound %u); first emptied slab %s, last %s\n",
	       t->c->empty_pages, t->h->keep_pages,
	       sl[first]->state == SLAB_EMPTY ? "EMPTY" : "decommitted",
	       sl[last]->state == SLAB_EMPTY ? "EMPTY" : "decommitted");
	CHECK(t->c->empty_pages <= t->h->keep_pages && t->c->empty_pages + 16 > t->h->keep_pages,
	      "EMPTY pages %u, keep %u", t->c->empty_pages, t->h->keep_pages);
	CHECK(sl[first]->state != SLAB_EMPTY && sl[last]->state == SLAB_EMPTY,
	      "over keep_pages: the newest EMPTY slab went, not the oldest");
	for (unsigned j = 0; j < NS; j++)
		if (pin[j])
			o->free(t->fx.heap_st, 0, t->p[j * 8], 8192, 16);
	slt_check(t);
}

/* Pages a slab of n objects of size bytes commits a page at a time. */
static uint64_t pages_for(uint64_t n, uint64_t size)
{
	return (n * size + PAGE_SIZE - 1) / PAGE_SIZE;
}

static void test_sparse_classes(struct slt *t)
{
	slt_fresh(t, 1);
	CHECK(t->c->sparse, "a fresh CPU is not sparse");
	uint64_t n[SLAB_NCLASSES] = {0};
	unsigned k = 0;
	for (size_t size = 16; size <= 1024; size += 16, k++) {
		CHECK((t->p[k] = slt_alloc(t, 0, size)), "alloc %zu", size);
		struct slab *s = slt_slab_at(t->p[k]);
		CHECK(MM_IS_POW2(s->size) && s->size >= size && s->size < 2 * size,
		      "sparse: %zu B in a class of %u B", size, s->size);
		n[s->cls]++;
	}
	uint64_t want = 1, classes = 0; /* the small chunk's header page */
	for (unsigned c = 0; c < SLAB_NCLASSES; c++)
		if (n[c]) {
			want += pages_for(n[c], slab_class_size(c));
			classes++;
		}
	printf("  sparse classes: %u sizes in %llu classes, %llu frames (%llu expected)\n", k,
	       (unsigned long long)classes, (unsigned long long)slt_frames(t),
	       (unsigned long long)want);
	CHECK(classes == 7 && slt_frames(t) == want && t->c->hdr_pages == 1,
	      "sparse: %llu frames in %llu classes", (unsigned long long)slt_frames(t),
	      (unsigned long long)classes);
	for (unsigned i = 0; i < k; i++)
		slt_free(t, 0, t->p[i], 16 + 16 * (size_t)i);
}

/* The xmalloc generator's trace as the sweeps make it (2 threads, 1,000,000 ops,
 * seed 1), replayed serially on one CPU as mtb_host --mode serial does: frag4 (peak
 * footprint / peak live - 1) below 2. */
static void test_xmalloc_frag(struct slt *t)
{
	slt_fresh(t, 1);
	struct gen_params gp = {.seed = 1, .nthreads = 2, .nops = 1000000};
	struct trace_op *ops = malloc(gp.nops * sizeof(*ops));
	uint64_t *scratch = malloc(gen_scratch_words(GEN_XMALLOC, &gp) * sizeof(uint64_t));
	struct trace tr;
	CHECK(ops && scratch && gen_run(GEN_XMALLOC, &gp, ops, scratch, &tr) == 0, "xmalloc trace");
	void **obj = calloc(tr.h.nids, sizeof(*obj));
	uint64_t *size = calloc(tr.h.nids, sizeof(*size));
	CHECK(obj && size, "calloc");
	for (uint64_t i = 0; i < tr.h.nops; i++) {
		const struct trace_op *op = &tr.ops[i];
		if (op->op == TOP_FREE) {
			t->fx.hops->free(t->fx.heap_st, 0, obj[op->id], size[op->id], 16);
		} else {
			CHECK(op->op == TOP_ALLOC, "xmalloc: op %u", op->op);
			obj[op->id] = t->fx.hops->alloc(t->fx.heap_st, 0, op->size, 16);
			size[op->id] = op->size;
			CHECK(obj[op->id], "alloc");
		}
		if (i % 4096 == 0)
			slt_check(t);
	}
	double frag4 = (double)(slt_peak_frames(t) * PAGE_SIZE) / (double)tr.h.peak_live - 1;
	printf("  xmalloc on one CPU: peak live %llu, peak footprint %llu: frag4 %.3f\n",
	       (unsigned long long)tr.h.peak_live,
	       (unsigned long long)(slt_peak_frames(t) * PAGE_SIZE), frag4);
	CHECK(slt_peak_frames(t) * PAGE_SIZE < 3 * tr.h.peak_live,
	      "xmalloc: frag4 %.3f, not below 2", frag4);
	free(obj);
	free(size);
	free(ops);
	free(scratch);
}

/* CPU 1 frees objects CPU 0 allocated sparse, half before CPU 0 leaves sparse mode
 * (in messages it drains later) and half after. keep 0: nothing stays. */
static void test_sparse_end(struct slt *t, struct rng *r)
{
	slt_fresh(t, 0);
	unsigned n = 60, m = 0;
	size_t sz[60];
	for (unsigned i = 0; i < n; i++) {
		sz[i] = 8 + rng_below(r, 1017);
		CHECK((t->p[i] = slt_alloc(t, 0, sz[i])), "alloc");
	}
	CHECK(t->c->sparse, "%u objects took the CPU out of sparse mode", n);
	for (unsigned i = 0; i < n; i += 2)
		slt_free(t, 1, t->p[i], sz[i]);
	while (t->c->sparse) { /* 64 B objects until the CPU leaves the mode */
		CHECK(n + m < SLT_MAX_OBJS && t->c->slab_pages < SLAB_SPARSE_PAGES,
		      "sparse past %u pages", SLAB_SPARSE_PAGES);
		CHECK((t->p[n + m++] = slt_alloc(t, 0, 64)), "alloc 64");
	}
	CHECK(t->c->slab_pages >= SLAB_SPARSE_PAGES &&
		  t->c->slab_pages < SLAB_SPARSE_PAGES + SLAB_SLOT_PAGES,
	      "left sparse mode at %llu pages", (unsigned long long)t->c->slab_pages);
	void *q = slt_alloc(t, 0, 48);
	CHECK(q && slt_slab_at(q)->size == 48, "after the switch 48 B is not in the 48 B class");
	for (unsigned i = 1; i < n; i += 2)
		slt_free(t, 1, t->p[i], sz[i]);
	slt_flush_all(t);
	for (unsigned i = 0; i < m; i++)
		slt_free(t, 0, t->p[n + i], 64);
	slt_free(t, 0, q, 48);
	slt_flush_all(t);
	printf("  sparse end: left at %u objects of 64 B, remote frees before and after: "
	       "%llu frames left\n",
	       m, (unsigned long long)slt_frames(t));
	CHECK(slt_frames(t) == 0, "keep 0: %llu frames stayed", (unsigned long long)slt_frames(t));
}

/* One object of each of 14 span-1 classes on a sparse CPU: two small chunks; freed
 * and flushed, one of them is kept idle. Then alloc/free pairs of 128 KiB (span 16,
 * too big for a small chunk) take a full chunk, which must take the kept small
 * one's place, not be taken and released on every pair. */
static void test_small_chunks(struct slt *t)
{
	slt_fresh(t, 1);
	static const size_t sizes[] = {16,   32,   64,	 128,  256,  512,  1024,
				       1280, 1536, 1792, 2048, 2560, 3072, 3584};
	unsigned n = sizeof(sizes) / sizeof(sizes[0]);
	for (unsigned i = 0; i < n; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, sizes[i])), "alloc %zu", sizes[i]);
	struct slab_chunk *a = slab_chunk_of(t->p[0]), *b = slab_chunk_of(t->p[n - 1]);
	CHECK(t->c->sparse && t->c->nchunks == 2 && a != b && a->hdr_pages == 1 &&
		  b->hdr_pages == 1 && slab_chunk_of(t->p[n - 2]) == a,
	      "14 span-1 slabs of a sparse CPU: not 13 in one small chunk and 1 in another");
	for (unsigned i = 0; i < n; i++)
		slt_free(t, 0, t->p[i], sizes[i]);
	slt_flush_all(t);
	CHECK(t->c->nchunks == 1 && t->c->nempty_chunks == 1 && t->c->hdr_pages == 1,
	      "flushed: not one small chunk kept idle");
	uint64_t returned = t->h->chunks_returned;
	size_t big = 128u << 10;
	CHECK(slab_class_span(slab_class_of(big, 16)) >= SLAB_SMALL_SLOTS, "128 KiB span");
	for (int i = 0; i < 50; i++) {
		void *p = slt_alloc(t, 0, big);
		CHECK(p && slab_chunk_of(p)->hdr_pages == SLAB_HDR_PAGES,
		      "a big span in a small chunk");
		slt_free(t, 0, p, big);
	}
	printf("  small chunks: 13 slots, then a new one; 50 pairs of 128 KiB: %llu chunks "
	       "returned\n",
	       (unsigned long long)(t->h->chunks_returned - returned));
	CHECK(t->h->chunks_returned <= returned + 1 && t->c->nchunks == 1 &&
		  t->c->hdr_pages == SLAB_HDR_PAGES,
	      "pairs of a big span took and released chunks: %llu returned",
	      (unsigned long long)(t->h->chunks_returned - returned));
}

/* Slab A1 (64 B) has used its one committed page; an EMPTY slab B1 of the same
 * span (8 KiB objects, emptied beside another slab of its class) holds pages: the
 * next 64 B object comes from B1, with no map call. */
static void test_empty_before_commit(struct slt *t)
{
	slt_fresh(t, 1);
	slab_sparse_end(t->c); /* the fine classes and commit steps from the start */
	CHECK((t->p[0] = slt_alloc(t, 0, 64)), "alloc 64");
	struct slab *a1 = slt_slab_at(t->p[0]);
	CHECK(a1->npages == 1, "a fresh slab committed %u pages", a1->npages);
	for (unsigned i = 0; i < 9; i++)
		CHECK((t->p[100 + i] = slt_alloc(t, 0, 8192)), "alloc 8 KiB");
	struct slab *b1 = slt_slab_at(t->p[100]);
	CHECK(slab_class_span(b1->cls) == 1 && slt_slab_at(t->p[108]) != b1, "two 8 KiB slabs");
	for (unsigned i = 0; i < 8; i++)
		slt_free(t, 0, t->p[100 + i], 8192);
	CHECK(b1->state == SLAB_EMPTY && t->c->empty[1] == b1, "the 8 KiB slab is not EMPTY");
	for (unsigned i = 1; i < PAGE_SIZE / 64; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, 64)) && slt_slab_at(t->p[i]) == a1, "alloc 64");
	uint64_t maps = t->maps;
	void *q = slt_alloc(t, 0, 64);
	printf("  EMPTY before commit: the 65th object of 64 B in %s, %llu map calls\n",
	       q && slt_slab_at(q) == b1 ? "the EMPTY slab" : "a commit",
	       (unsigned long long)(t->maps - maps));
	CHECK(q && slt_slab_at(q) == b1 && t->maps == maps && a1->npages == 1,
	      "a commit while an EMPTY slab of the span held pages");
}

/* 2048 objects of 8 KiB (16 MiB) on one CPU, then a fresh 64 B slab: its first
 * commit is at most max(1, slab pages / 512) pages. */
static void test_commit_step(struct slt *t)
{
	slt_fresh(t, 1);
	for (unsigned i = 0; i < SLT_MAX_OBJS; i++)
		CHECK((t->p[i] = t->fx.hops->alloc(t->fx.heap_st, 0, 8192, 16)), "alloc 8 KiB");
	slt_check(t);
	uint64_t pages = t->c->slab_pages, before = slt_frames(t);
	void *q = slt_alloc(t, 0, 64);
	uint64_t got = slt_frames(t) - before, bound = MM_MAX(pages >> 9, (uint64_t)1);
	printf("  commit step: a fresh slab in a CPU of %llu slab pages committed %llu (at most "
	       "%llu)\n",
	       (unsigned long long)pages, (unsigned long long)got, (unsigned long long)bound);
	CHECK(q && got <= bound, "a fresh slab committed %llu pages", (unsigned long long)got);
}

int main(void)
{
	struct rng r = {test_seed("heap_slab_fp_test", 5)};
	struct slt *t = calloc(1, sizeof(*t));
	CHECK(t, "calloc");
	int rc = heap_fixture_init(&t->fx, &test_frame_simple_ops, &test_va_simple_ops,
				   &heap_slab_ops, 2, 128ull << 20, 4ull << 30, 0, 1);
	CHECK(rc == 0, "fixture: %d", rc);
	test_empty_peak(t);
	test_peak_hysteresis(t);
	test_empty_oldest_first(t);
	test_sparse_classes(t);
	test_xmalloc_frag(t);
	test_sparse_end(t, &r);
	test_small_chunks(t);
	test_empty_before_commit(t);
	test_commit_step(t);
	heap_fixture_fini(&t->fx);
	free(t);
	printf("heap_slab_fp_test: ok\n");
	return 0;
}
