/* slab_testutil.h: a slab heap on the test fixture, its mmu's map and unmap calls
 * counted, and the calls the slab tests make after every step (the heap's full
 * invariant check runs after each alloc and free). Shared by heap_slab_test.c and
 * heap_slab_fp_test.c (strategies/tests/slab_testutil.c). */
#ifndef SLAB_TESTUTIL_H
#define SLAB_TESTUTIL_H

#include "heap_support.h"
#include "../heap_slab.h"

#define SLT_MAX_OBJS 2048u

struct slt {
	struct heap_fixture fx;
	struct slab_heap *h;
	struct slab_cpu *c; /* CPU 0's */
	void *p[SLT_MAX_OBJS];
	struct mmu mmu; /* counts the heap's map and unmap calls */
	const struct mmu *inner;
	uint64_t maps, unmaps;
};

/* A fresh heap (reinit of t->fx, 0 on success) with keep_empty_chunks keep, its mmu
 * counted, t->p cleared; exits the test on failure. */
void slt_fresh(struct slt *t, unsigned keep);
/* The heap's full invariant check; exits the test when it fails. */
void slt_check(struct slt *t);
/* Frames the heap has mapped now / at its peak (heap_stats). */
uint64_t slt_frames(struct slt *t);
uint64_t slt_peak_frames(struct slt *t);
/* alloc / free of size bytes (align 16) on cpu, then slt_check. */
void *slt_alloc(struct slt *t, unsigned cpu, size_t size);
void slt_free(struct slt *t, unsigned cpu, void *p, size_t size);
/* heap_slab_flush on every CPU, twice, then slt_check. */
void slt_flush_all(struct slt *t);
/* The slab holding object p. */
struct slab *slt_slab_at(void *p);
/* s is on c's avail list of its class. */
bool slt_on_avail(const struct slab_cpu *c, const struct slab *s);

#endif
