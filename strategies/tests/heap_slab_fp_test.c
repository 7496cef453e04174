/* heap_slab_fp_test.c: the slab heap's footprint policies, each with the heap's full
 * invariant check after every call (MM_DEBUG):
 *
 * - EMPTY slabs never raise the peak: slabs of one span emptied and kept EMPTY,
 *   then as many bytes of a class of another span: the EMPTY slabs are decommitted
 *   before the heap maps frames above its high-water mark, so the peak stays what
 *   the live objects needed.
 */
#include "testlib.h"

#include "slab_testutil.h"

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
		 slack = SLAB_HDR_BYTES / PAGE_SIZE + 2 * SLAB_SLOT_PAGES;
	printf("  EMPTY slabs and the peak: %llu frames after span 1, %llu after span 2 (at most "
	       "%llu), %u EMPTY pages left\n",
	       (unsigned long long)peak1, (unsigned long long)peak2,
	       (unsigned long long)(peak1 + slack), t->c->empty_pages);
	CHECK(peak2 <= peak1 + slack, "EMPTY slabs raised the peak: %llu frames, was %llu",
	      (unsigned long long)peak2, (unsigned long long)peak1);
	for (unsigned i = 0; i < n16; i++)
		slt_free(t, 0, t->p[i], 16384);
	slt_free(t, 0, keep, 64);
	slt_flush_all(t);
}

int main(void)
{
	struct slt *t = calloc(1, sizeof(*t));
	CHECK(t, "calloc");
	int rc = heap_fixture_init(&t->fx, &test_frame_simple_ops, &test_va_simple_ops,
				   &heap_slab_ops, 2, 128ull << 20, 4ull << 30, 0, 1);
	CHECK(rc == 0, "fixture: %d", rc);
	test_empty_peak(t);
	heap_fixture_fini(&t->fx);
	free(t);
	printf("heap_slab_fp_test: ok\n");
	return 0;
}
