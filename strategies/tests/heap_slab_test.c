/* heap_slab_test.c: the slab heap's policies, step by step, each with the heap's
 * full invariant check after every call (MM_DEBUG):
 *
 * - sleep/wake: a full slab leaves avail asleep and comes back after
 *   slab_wake(cap) frees; out of frames, an asleep slab's room is still used;
 * - hysteresis: alloc/free pairs on a fresh heap stay on the fast paths (one slow
 *   path, one commit in all); with keep_empty_chunks 0 every pair refills;
 *   one parked slab per class at most, the others go EMPTY; flush unparks;
 * - idle chunks: a kept idle chunk is cleared for a span no chunk has room for,
 *   not a new chunk taken and released on every alloc/free pair;
 * - lazy commit: a fresh slab commits one page, then doubles up to 64 KiB a step;
 *   a medium object commits its own pages; EMPTY slabs keep at most keep_pages;
 * - large cache: a freed large object is kept mapped and handed out again without
 *   mapping; its frames go before new ones are mapped (a large miss, a slab
 *   commit) and before an allocation would fail;
 * - realloc: in place while the new size is within [room / 2, room];
 * - remote frees: a message goes home once it holds SLAB_BATCH_BYTES bytes (with
 *   every message in transit, a batch linked through the objects takes over); a
 *   producer/consumer pair on two CPUs (xmalloc) keeps a bounded footprint.
 * MTB_SEED reproduces the random frees.
 */
#include "testlib.h"

#include "slab_testutil.h"

#define OBJ 1024u /* one class: 64 objects per slab, wake after 8 frees */

/* ---- sleep and wake ------------------------------------------------------------ */

/* Frees n distinct random objects of slab k (objects k*cap .. k*cap+cap-1);
 * returns the index of the last one freed and its address in *lastp. */
static unsigned free_some(struct slt *t, struct rng *r, unsigned k, uint32_t cap, uint32_t n,
			  void **lastp)
{
	unsigned last = 0;
	for (uint32_t done = 0; done < n;) {
		unsigned i = k * cap + (unsigned)rng_below(r, cap);
		if (!t->p[i])
			continue;
		last = i;
		*lastp = t->p[i];
		slt_free(t, 0, t->p[i], OBJ);
		t->p[i] = NULL;
		done++;
	}
	return last;
}

/* Fills three slabs of OBJ; each falls asleep (off avail) when full. Slab 0 gets
 * wake - 1 frees (stays asleep), slab 1 gets wake (wakes, and hands out the
 * object freed last); then with frames refused the rest of slab 1 and then slab
 * 0's room must still be usable. */
static void test_sleep_wake(struct slt *t, struct rng *r)
{
	slt_fresh(t, 1);
	unsigned cls = slab_class_of(OBJ, 16);
	uint32_t cap = SLAB_SLOT / slab_class_size(cls), wake = slab_wake(cap);
	CHECK(slab_class_size(cls) == OBJ && 3 * cap <= SLT_MAX_OBJS && wake >= 2,
	      "test needs an exact class with a wake threshold of 2 or more");
	CHECK(slab_wake(4) == 1 && slab_wake(64) == 8 && slab_wake(256) == 32 &&
		      slab_wake(4096) == 32,
	      "slab_wake is not cap / 8 in [1, 32]");
	for (unsigned i = 0; i < 3 * cap; i++) {
		CHECK((t->p[i] = slt_alloc(t, 0, OBJ)), "alloc %u failed", i);
		if (i % cap == cap - 1) {
			struct slab *s = slt_slab_at(t->p[i]);
			CHECK(s->used == cap && s->asleep && s->low == cap - wake &&
				      !slt_on_avail(t->c, s),
			      "a full slab is not asleep");
		}
	}
	CHECK(!t->c->avail[cls], "avail not empty with every slab full");
	struct slab *s0 = slt_slab_at(t->p[0]), *s1 = slt_slab_at(t->p[cap]);
	CHECK(s0 != s1 && s1 != slt_slab_at(t->p[2 * cap]), "objects of three slabs share a slab");
	void *lastp = NULL;
	free_some(t, r, 0, cap, wake - 1, &lastp);
	CHECK(s0->asleep && !slt_on_avail(t->c, s0) && s0->used == cap - (wake - 1),
	      "slab woke before slab_wake frees");
	unsigned last = free_some(t, r, 1, cap, wake, &lastp);
	CHECK(!s1->asleep && slt_on_avail(t->c, s1) && s1->used == cap - wake, "slab did not wake");
	CHECK((t->p[last] = slt_alloc(t, 0, OBJ)) == lastp,
	      "the woken slab's last free did not come back");
	faulty_frame_set_budget(&t->fx.faulty, 0);
	for (unsigned i = cap; i < 2 * cap; i++)
		if (!t->p[i])
			CHECK((t->p[i] = slt_alloc(t, 0, OBJ)) && slt_slab_at(t->p[i]) == s1,
			      "the woken slab's room is not used first");
	CHECK(s1->asleep, "a refilled slab stayed awake");
	for (unsigned i = 0; i < cap; i++)
		if (!t->p[i])
			CHECK((t->p[i] = slt_alloc(t, 0, OBJ)) && slt_slab_at(t->p[i]) == s0,
			      "out of frames, an asleep slab's room was not used");
	CHECK(t->fx.faulty.refusals > 0, "the frame allocator never refused");
	CHECK(!slt_alloc(t, 0, OBJ), "alloc succeeded with every slab full and no frames");
	faulty_frame_set_budget(&t->fx.faulty, FAULTY_UNLIMITED);
	struct slab *s2 = slt_slab_at(t->p[2 * cap]);
	for (unsigned i = 0; i < 3 * cap; i++)
		slt_free(t, 0, t->p[i], OBJ);
	CHECK(slt_on_avail(t->c, s0) && s0->used == 0 && s1->state == SLAB_EMPTY &&
		      s2->state == SLAB_EMPTY,
	      "the class's last slab was not parked, or the others not EMPTY");
	printf("  sleep/wake: cap %u, wake %u: ok\n", cap, wake);
}

/* ---- hysteresis ---------------------------------------------------------------- */

/* Hermit's loop on a fresh heap: with keep 1 the first pair takes the slow path
 * and commits one page, the other pairs stay on the fast paths (the emptied slab
 * stays parked); with keep 0 every pair takes a slab and gives it back. */
static void test_hysteresis(struct slt *t)
{
	for (unsigned keep = 0; keep < 2; keep++) {
		slt_fresh(t, keep);
		for (int i = 0; i < 1000; i++) {
			void *p = slt_alloc(t, 0, 64);
			CHECK(p, "alloc");
			slt_free(t, 0, p, 64);
		}
		uint64_t refills = t->c->refills, commits = t->c->commits;
		printf("  hysteresis, keep %u: 1000 pairs: %llu slow paths, %llu commits, %llu maps\n",
		       keep, (unsigned long long)refills, (unsigned long long)commits,
		       (unsigned long long)t->maps);
		if (keep)
			CHECK(refills == 1 && commits == 1 && t->maps == 2 &&
				      slt_frames(t) == t->c->hdr_pages + 1,
			      "keep 1: alloc/free pairs left the fast paths");
		else
			CHECK(refills == 1000 && slt_frames(t) == 0, "keep 0: a slab stayed");
	}
	/* Two slabs of one class emptied one after the other: the first stays parked,
	 * the second goes EMPTY; one allocation per class parks one slab per class of
	 * span 1; flush unparks them all. */
	slt_fresh(t, 1);
	unsigned cap = SLAB_SLOT / OBJ;
	for (unsigned i = 0; i < 2 * cap; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, OBJ)), "alloc");
	struct slab *a = slt_slab_at(t->p[0]), *b = slt_slab_at(t->p[cap]);
	for (unsigned i = 0; i < 2 * cap; i++)
		slt_free(t, 0, t->p[i], OBJ);
	CHECK(a->state == SLAB_ACTIVE && slt_on_avail(t->c, a) && a->used == 0 &&
		      b->state == SLAB_EMPTY && t->c->empty[1] == b,
	      "one slab parked, the other EMPTY");
	for (unsigned k = 0; k < SLAB_NCLASSES; k++) {
		void *p = slt_alloc(t, 0, slab_class_size(k));
		CHECK(p, "alloc class %u", k);
		slt_free(t, 0, p, slab_class_size(k));
	}
	unsigned parked = 0;
	for (unsigned k = 0; k < SLAB_NCLASSES; k++)
		parked += t->c->avail[k] != NULL;
	CHECK(parked == slab_class_of(8192, 16) + 1,
	      "parked %u slabs: not one per class of span 1", parked);
	slt_flush_all(t);
	for (unsigned k = 0; k < SLAB_NCLASSES; k++)
		CHECK(!t->c->avail[k], "flush left a parked slab");
	CHECK(slt_frames(t) * PAGE_SIZE <= SLAB_KEEP_BYTES(1), "flushed heap holds too much");
	printf("  hysteresis: %u classes parked, flushed to %llu frames: ok\n", parked,
	       (unsigned long long)slt_frames(t));
}

/* ---- lazy commit ----------------------------------------------------------------- */

static void test_commit(struct slt *t)
{
	slt_fresh(t, 1);
	/* A sparse CPU commits a page at a time (heap_slab_fp_test): two slabs of 128 B
	 * objects, SLAB_SPARSE_PAGES pages, take it out of that mode. */
	unsigned n128 = 2 * (SLAB_SLOT / 128), cap = SLAB_SLOT / 256, o = n128 + cap;
	for (unsigned i = 0; i < n128; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, 128)), "alloc 128");
	CHECK(!t->c->sparse && t->c->commits == SLAB_SPARSE_PAGES,
	      "%u pages in %llu commits: still sparse", SLAB_SPARSE_PAGES,
	      (unsigned long long)t->c->commits);
	uint64_t base = slt_frames(t), commits = t->c->commits;
	for (unsigned i = 0; i < cap; i++) {
		CHECK((t->p[n128 + i] = slt_alloc(t, 0, 256)), "alloc");
		if (i == 0)
			CHECK(slt_frames(t) == base + 1, "a fresh slab committed %llu pages, not 1",
			      (unsigned long long)(slt_frames(t) - base));
	}
	struct slab *s = slt_slab_at(t->p[n128]);
	CHECK(s->npages == SLAB_SLOT_PAGES && t->c->commits - commits == 5 &&
		      slt_frames(t) == base + 16,
	      "filling a slab: %u pages in %llu commits (1, 1, 2, 4, 8 expected)", s->npages,
	      (unsigned long long)(t->c->commits - commits));
	/* A 160 KiB class (span 20, 8 objects): each object commits its own pages and
	 * nothing past them (SLAB_COMMIT_BIG). */
	size_t big = 160u << 10;
	unsigned cls = slab_class_of(big, 16);
	CHECK(slab_class_size(cls) == big && slab_class_span(cls) == 20, "160 KiB class");
	for (unsigned i = 0; i < 8; i++) {
		CHECK((t->p[o + i] = slt_alloc(t, 0, big)), "alloc 160 KiB");
		uint64_t got = slt_slab_at(t->p[o])->npages, need = (i + 1) * (big / PAGE_SIZE);
		CHECK(got == need, "%u objects of 160 KiB: %llu pages committed", i + 1,
		      (unsigned long long)got);
	}
	CHECK(slt_slab_at(t->p[o]) == slt_slab_at(t->p[o + 7]),
	      "8 objects of 160 KiB in two slabs");
	for (unsigned i = 0; i < o + 8; i++)
		slt_free(t, 0, t->p[i], i < n128 ? 128 : i < o ? 256 : big);
	/* EMPTY slabs keep at most keep_pages committed pages: fill 80 slabs of 8 KiB
	 * objects (16 pages each, 31 slabs a chunk), free all but the first slab of
	 * each chunk (so no chunk goes idle and takes its EMPTY slabs along). */
	slt_fresh(t, 1);
	struct frame_stats fs;
	t->fx.env.frames->stats(t->fx.env.frame_st, &fs);
	uint64_t share = (fs.total_frames >> SLAB_KEEP_MACHINE_SHIFT) / t->fx.env.ncpus;
	CHECK(t->h->keep_pages == MM_MIN((uint64_t)SLAB_KEEP_PAGES, share),
	      "keep_pages %u: not min(SLAB_KEEP_PAGES, 1/8 of %llu frames over %u CPUs)",
	      t->h->keep_pages, (unsigned long long)fs.total_frames, t->fx.env.ncpus);
	t->h->keep_pages = 1024; /* 80 slabs of 16 pages overflow it */
	unsigned n = 80 * 8;
	for (unsigned i = 0; i < n; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, 8192)), "alloc 8 KiB");
	for (unsigned i = 0; i < n; i++)
		if ((i / 8) % SLAB_MAX_SPAN != 0)
			slt_free(t, 0, t->p[i], 8192);
	CHECK(t->c->empty_pages <= t->h->keep_pages && t->c->empty_pages + 16 > t->h->keep_pages &&
		      t->unmaps > 0,
	      "EMPTY slabs hold %u pages (keep %u)", t->c->empty_pages, t->h->keep_pages);
	uint32_t kept = t->c->empty_pages;
	for (unsigned i = 0; i < n; i++)
		if ((i / 8) % SLAB_MAX_SPAN == 0)
			slt_free(t, 0, t->p[i], 8192);
	printf("  commit: ok (EMPTY slabs keep %u pages)\n", kept);
}

/* ---- large objects --------------------------------------------------------------- */

/* Fragmented physical memory (order-0 frames only): a 5 MiB object needs 1,280
 * blocks, more than its header page holds; the list spills into list frames, the
 * object is whole, and freeing it gives every frame back. Fails without frames. */
static void test_large_fragmented(struct slt *t)
{
	size_t big = 5u << 20;
	slt_flush_all(t);
	uint64_t used = heap_fixture_frames_used(&t->fx), base = slt_frames(t);
	uint64_t large = t->h->large_frames;
	faulty_frame_set_max_order(&t->fx.faulty, 0);
	uint8_t *p = slt_alloc(t, 0, big);
	CHECK(p, "5 MiB in order-0 frames was refused");
	uint64_t pages = big / PAGE_SIZE + 1;
	CHECK(t->h->large_frames == large + pages + 2,
	      "5 MiB: %llu frames, not the object, its header and 2 list frames",
	      (unsigned long long)(t->h->large_frames - large));
	CHECK(heap_fixture_frames_used(&t->fx) - used == slt_frames(t) - base,
	      "5 MiB: the heap counts %lld frames more, the frame allocator %lld",
	      (long long)(slt_frames(t) - base), (long long)(heap_fixture_frames_used(&t->fx) - used));
	for (size_t i = 0; i < big; i += PAGE_SIZE)
		p[i] = (uint8_t)(i >> 12);
	for (size_t i = 0; i < big; i += PAGE_SIZE)
		CHECK(p[i] == (uint8_t)(i >> 12), "5 MiB: page %zu lost its byte", i >> 12);
	/* Out of frames while the list grows: nothing stays allocated. */
	faulty_frame_set_budget(&t->fx.faulty, 700);
	CHECK(!slt_alloc(t, 0, big), "5 MiB on a 700-frame budget");
	faulty_frame_set_budget(&t->fx.faulty, FAULTY_UNLIMITED);
	slt_free(t, 0, p, big);
	slt_flush_all(t);
	faulty_frame_set_max_order(&t->fx.faulty, 63);
	CHECK(slt_frames(t) <= base &&
		  heap_fixture_frames_used(&t->fx) + (base - slt_frames(t)) == used,
	      "5 MiB freed: %llu heap frames (%llu before), %llu frames used (%llu before)",
	      (unsigned long long)slt_frames(t), (unsigned long long)base,
	      (unsigned long long)heap_fixture_frames_used(&t->fx), (unsigned long long)used);
}

static void test_large(struct slt *t)
{
	slt_fresh(t, 1);
	size_t big = 3u << 20;
	CHECK(slab_class_of(big, 16) == SLAB_LARGE && slab_class_of(SLAB_CLASS_MAX, 16) != SLAB_LARGE,
	      "3 MiB is large, 1 MiB is not");
	void *p = slt_alloc(t, 0, big);
	CHECK(p, "alloc 3 MiB");
	uint64_t f = slt_frames(t), maps = t->maps;
	for (int i = 0; i < 50; i++) {
		slt_free(t, 0, p, big);
		CHECK(slt_frames(t) == f && t->c->nlcache == 1,
		      "a freed large object was not cached");
		void *q = slt_alloc(t, 0, big - 4096 * (size_t)i);
		CHECK(q == p && t->maps == maps && t->unmaps == 0,
		      "a cached large object was not handed out again without mapping");
	}
	slt_free(t, 0, p, big - 4096 * 49);
	/* Cached frames yield to growth: a large miss, then a slab's first page, each
	 * unmap the cache first, so the footprint is what the live objects need. */
	void *q = slt_alloc(t, 0, 2u << 20);
	CHECK(q && t->c->nlcache == 0 && slt_frames(t) == (2u << 20) / PAGE_SIZE + 1,
	      "a large miss kept the cache: %llu frames", (unsigned long long)slt_frames(t));
	slt_free(t, 0, q, 2u << 20);
	void *small = slt_alloc(t, 0, 64);
	CHECK(small && t->c->nlcache == 0 && slt_frames(t) == t->c->hdr_pages + 1,
	      "a slab commit kept the cache: %llu frames", (unsigned long long)slt_frames(t));
	slt_free(t, 0, small, 64);
	/* Out of frames: the cache goes before an allocation fails. */
	CHECK((p = slt_alloc(t, 0, big)), "alloc 3 MiB");
	slt_free(t, 0, p, big);
	faulty_frame_set_budget(&t->fx.faulty, 64);
	q = slt_alloc(t, 0, 2u << 20);
	CHECK(q && t->c->nlcache == 0, "the large cache was not dropped before failing");
	faulty_frame_set_budget(&t->fx.faulty, FAULTY_UNLIMITED);
	slt_free(t, 0, q, 2u << 20);
	slt_flush_all(t);
	CHECK(t->c->nlcache == 0, "flush left cached objects");
	test_large_fragmented(t);
	printf("  large: cached, reused, dropped under pressure, on fragmented memory: ok\n");
}

/* ---- realloc ------------------------------------------------------------------- */

/* In place while the new size fits the object and uses at least half of it. */
static void test_realloc(struct slt *t)
{
	slt_fresh(t, 1);
	const struct heap_ops *h = t->fx.hops;
	uint8_t *p = slt_alloc(t, 0, 1000); /* class 1024 */
	CHECK(p, "alloc");
	memset(p, 7, 1000);
	CHECK(h->realloc(t->fx.heap_st, 0, p, 1000, 16, 1024) == p &&
		      h->realloc(t->fx.heap_st, 0, p, 1024, 16, 512) == p,
	      "realloc within the object's room moved it");
	uint8_t *q = h->realloc(t->fx.heap_st, 0, p, 512, 16, 511);
	CHECK(q && q != p && q[0] == 7 && q[510] == 7, "realloc under half the room stayed");
	uint8_t *r = h->realloc(t->fx.heap_st, 0, q, 511, 16, 513); /* q: class 512 */
	CHECK(r && r != q && r[510] == 7, "realloc past the room stayed");
	slt_free(t, 0, r, 513);
	size_t big = (2u << 20) + 5000;
	p = slt_alloc(t, 0, big);
	CHECK(p && h->realloc(t->fx.heap_st, 0, p, big, 16, big + 3000) == p &&
		      h->realloc(t->fx.heap_st, 0, p, big + 3000, 16, (1u << 20) + 8192) == p,
	      "large realloc within its pages moved it");
	q = h->realloc(t->fx.heap_st, 0, p, (1u << 20) + 8192, 16, 1u << 20);
	CHECK(q && q != p && slab_of(slab_chunk_of(q), q)->size == 1u << 20,
	      "large to 1 MiB did not move into the 1 MiB class");
	slt_free(t, 0, q, 1u << 20);
	slt_check(t);
	printf("  realloc: in place within [room / 2, room]: ok\n");
}

/* ---- remote frees ----------------------------------------------------------------- */

/* With all of CPU 1's messages in transit (CPU 0 does not drain), its remote frees
 * go into a batch linked through the objects, and both come home on a flush. */
static void test_remote_fallback(struct slt *t)
{
	unsigned n = SLAB_MSGS * SLAB_MSG_CAP + 3;
	void **v = calloc(n, sizeof(*v));
	CHECK(v, "calloc");
	for (unsigned i = 0; i < n; i++)
		CHECK((v[i] = slt_alloc(t, 0, 64)), "alloc");
	for (unsigned i = 0; i < n; i++)
		slt_free(t, 1, v[i], 64);
	const struct slab_cpu *c1 = &t->h->cpu[1];
	CHECK(!c1->msg_idle && !c1->msg_out[0] && c1->out[0].n == 3,
	      "fallback: %u objects batched", c1->out[0].n);
	slt_check(t);
	slt_flush_all(t);
	CHECK(!t->c->msg_inbox && !t->c->inbox && c1->msg_ret, "messages not handed back");
	slt_check(t);
	free(v);
}

static void test_remote(struct slt *t)
{
	slt_fresh(t, 1);
	size_t med = 20000; /* 4 of them pass SLAB_BATCH_BYTES */
	for (unsigned i = 0; i < 8; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, med)), "alloc");
	for (unsigned i = 0; i < 8; i++) {
		slt_free(t, 1, t->p[i], med);
		const struct slab_msg *m = t->h->cpu[1].msg_out[0];
		uint32_t n = m ? m->n : 0;
		CHECK((!m || m->bytes < SLAB_BATCH_BYTES) && n == (i + 1) % 4,
		      "remote message of %u objects after %u frees", n, i + 1);
		CHECK(!t->c->msg_inbox == (i < 3), "the message was not sent at %u frees", i + 1);
		CHECK(!t->h->cpu[1].out[0].n, "a batch while messages were idle");
	}
	slt_check(t);
	slt_flush_all(t);
	test_remote_fallback(t);
	/* xmalloc: CPU 0 makes batches of 64 objects of 8..256 B, CPU 1 frees them
	 * (and the other way round); live stays at two batches per CPU, and so must the
	 * footprint: frees sent home are reused before new slabs are taken. */
	struct rng r = {99};
	size_t sz[4][64];
	void *b[4][64];
	uint64_t peak = 0;
	for (int round = 0; round < 2000; round++) {
		for (unsigned cpu = 0; cpu < 2; cpu++) {
			unsigned mine = cpu * 2 + round % 2, old = cpu * 2 + (round + 1) % 2;
			for (int i = 0; i < 64; i++) {
				sz[mine][i] = 8 + rng_below(&r, 249);
				b[mine][i] = t->fx.hops->alloc(t->fx.heap_st, cpu, sz[mine][i], 8);
				CHECK(b[mine][i], "xmalloc alloc");
			}
			if (round > 0)
				for (int i = 0; i < 64; i++)
					t->fx.hops->free(t->fx.heap_st, 1 - cpu, b[old][i], sz[old][i], 8);
		}
		if (round % 100 == 0)
			slt_check(t);
		peak = MM_MAX(peak, slt_frames(t));
	}
	/* Per CPU and class (12 classes from 16 to 256 B): one slab's pages, the two
	 * batches in flight and the ones on their way back: 2 chunk headers and
	 * 2 * 12 slabs of 64 KiB at most; lazily committed, far less. */
	uint64_t bound = 2 * (SLAB_HDR_BYTES / PAGE_SIZE + 12 * SLAB_SLOT_PAGES);
	printf("  remote: batches by bytes ok; xmalloc on 2 CPUs: peak %llu frames (bound %llu)\n",
	       (unsigned long long)peak, (unsigned long long)bound);
	CHECK(peak <= bound, "xmalloc strands memory: %llu frames", (unsigned long long)peak);
	for (unsigned k = 0; k < 4; k++)
		if (k % 2 == 1999 % 2)
			for (int i = 0; i < 64; i++)
				t->fx.hops->free(t->fx.heap_st, 0, b[k][i], sz[k][i], 8);
	slt_flush_all(t);
	CHECK(slt_frames(t) * PAGE_SIZE <= 2 * SLAB_KEEP_BYTES(1), "xmalloc: kept too much");
}

/* ---- idle chunks ------------------------------------------------------------------ */

/* A kept idle chunk full of EMPTY slabs of one span, and alloc/free pairs of a
 * span it has no room for: the kept chunk is cleared and reused, not a new
 * chunk taken and released on every pair (seen replaying git pack-objects on
 * two CPUs: 1791 chunks returned, half the time in page-table edits). */
static void test_idle_chunk(struct slt *t)
{
	slt_fresh(t, 1);
	slab_sparse_end(t->c); /* full chunks from the start (small ones: heap_slab_fp_test) */
	unsigned c2 = slab_class_of(16u << 10, 16), c4 = slab_class_of(32u << 10, 16);
	CHECK(slab_class_span(c2) == 2 && slab_class_span(c4) == 4, "spans of 16 and 32 KiB");
	unsigned n = (SLAB_MAX_SPAN / 2) * (2 * SLAB_SLOT / (16u << 10));
	CHECK(n <= SLT_MAX_OBJS, "test size");
	for (unsigned i = 0; i < n; i++)
		CHECK((t->p[i] = slt_alloc(t, 0, 16u << 10)), "alloc");
	CHECK(t->c->nchunks == 1, "%u objects of 16 KiB fill one chunk", n);
	for (unsigned i = 0; i < n; i++)
		slt_free(t, 0, t->p[i], 16u << 10);
	CHECK(t->c->nempty_chunks == 1 && t->c->empty[2], "the chunk is kept idle, EMPTY slabs in it");
	for (int i = 0; i < 100; i++) {
		void *p = slt_alloc(t, 0, 32u << 10);
		CHECK(p, "alloc");
		slt_free(t, 0, p, 32u << 10);
	}
	printf("  idle chunk: 100 pairs of a new span: %u chunks, %llu returned, %llu maps\n",
	       (unsigned)t->c->nchunks, (unsigned long long)t->h->chunks_returned,
	       (unsigned long long)t->maps);
	CHECK(t->c->nchunks == 1 && t->h->chunks_returned == 0,
	      "pairs of a new span took new chunks beside the kept one");
	CHECK(t->c->empty[4] && !t->c->empty[2], "the kept chunk holds the new span's slab");
}

int main(void)
{
	uint64_t seed = test_seed("heap_slab_test", 3);
	struct rng r = {seed};
	struct slt *t = calloc(1, sizeof(*t));
	CHECK(t, "calloc");
	int rc = heap_fixture_init(&t->fx, &test_frame_simple_ops, &test_va_simple_ops,
				   &heap_slab_ops, 2, 128ull << 20, 4ull << 30, 0, 1);
	CHECK(rc == 0, "fixture: %d", rc);
	test_sleep_wake(t, &r);
	test_hysteresis(t);
	test_idle_chunk(t);
	test_commit(t);
	test_large(t);
	test_realloc(t);
	test_remote(t);
	heap_fixture_fini(&t->fx);
	free(t);
	printf("heap_slab_test: ok\n");
	return 0;
}
