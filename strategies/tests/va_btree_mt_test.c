/* va_btree_mt_test.c: 2 and 8 threads hammer one B+-tree VA allocator, first
 * fit and best fit (whose size index the same lock-coupled edits keep, under
 * per-bin locks), with alloc/free/reserve (default fan-out and fan-out 4, so
 * splits, merges and
 * borrows race with each other and with optimistic readers and writers). Every
 * page of a live range is claimed in a shared byte map by atomic CAS, so two
 * live ranges that overlap fail the test at once. The threads run in PHASES
 * phases; between two, all wait at a barrier and one checks the quiescent tree:
 * check() (every invariant) and exact accounting against the threads'
 * holdings. Each run asserts, from the tree's per-CPU counters (thread i is CPU
 * i), that splits, merges and borrows happened in at least two threads (and
 * sheds, borrows instead of a split, at fan-out 4), that
 * some structure changes overlapped one in another thread (counted while both
 * held their locks); how many operations took the serialised path (t->slow:
 * first fit's guard against an operation restarting forever; with zones also
 * edits across two zones' trees and MM_ENOMEM) is printed, not bounded (it is
 * the scheduler's). First fit runs with one zone (one tree, many levels) and
 * with a tree per CPU zone.
 * At the end everything is freed back to one range. Also built under TSan
 * (fewer ops). Deterministic per-thread seeds; the interleaving is the
 * scheduler's, and every assertion holds for any interleaving except the
 * overlap count, which a run retries with the next seed (at most 8 runs) and
 * fails only if none overlapped. MTB_VA_OPS=<n> sets the operations per run. */
#include "va_btree_fixture.h"

#define BASE	 ((uint64_t)1 << 40)
#define MAX_HELD 96
#define PHASES	 8
#define TRIES	 8 /* runs with successive seeds until structure changes overlapped */

static bool g_best; /* the runs are of best-fit trees */
static bool g_one;  /* first fit with one zone (one tree), else a tree per CPU zone */

/* The tree of a run: best fit (one zone), or first fit with one zone or zones. */
static void *new_tree(struct test_ps *tps, uint64_t pages, uint32_t cap_leaf, uint32_t cap_inner)
{
	if (g_best || !g_one)
		return vbt_new_policy(tps, BASE, pages, cap_leaf, cap_inner, g_best);
	return vbt_new_one_zone(tps, BASE, pages, cap_leaf, cap_inner);
}

struct worker;
struct shared {
	void *st;
	uint64_t pages;
	uint8_t *owner; /* per page: holder thread + 1, or 0 */
	uint64_t ops;	/* per thread */
	unsigned nthreads;
	struct worker *w;
	pthread_barrier_t bar;
};

struct held {
	uint64_t addr, size, n;
};

struct worker {
	pthread_t th;
	struct shared *sh;
	unsigned id;
	struct rng r;
	struct held h[MAX_HELD];
	size_t nh;
	uint64_t n_alloc, n_enomem, n_res, n_busy;
};

static void claim(struct worker *w, uint64_t addr, uint64_t n)
{
	uint64_t p = (addr - BASE) / PAGE_SIZE;
	CHECK(addr >= BASE && p + n <= w->sh->pages, "range %#" PRIx64 " outside", addr);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t zero = 0;
		bool ok =
		    __atomic_compare_exchange_n(&w->sh->owner[p + i], &zero, (uint8_t)(w->id + 1),
						false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		CHECK(ok, "thread %u: page %#" PRIx64 " already held by thread %u", w->id,
		      BASE + (p + i) * PAGE_SIZE, zero - 1u);
	}
}

static void unclaim(struct worker *w, uint64_t addr, uint64_t n)
{
	uint64_t p = (addr - BASE) / PAGE_SIZE;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t was = __atomic_exchange_n(&w->sh->owner[p + i], 0, __ATOMIC_ACQ_REL);
		CHECK(was == w->id + 1, "thread %u: page lost its owner (%u)", w->id, was);
	}
}

static void w_alloc(struct worker *w)
{
	static const uint64_t aligns[] = {0, 0, 0, 0, 0, PAGE_SIZE, 1 << 14, 1 << 16};
	uint64_t n = rng_below(&w->r, 8) ? 1 + rng_below(&w->r, 8) : 1 + rng_below(&w->r, 48);
	uint64_t align = aligns[rng_below(&w->r, sizeof(aligns) / sizeof(aligns[0]))], addr;
	int rc = va_btree_bare_ops.alloc(w->sh->st, w->id, n * PAGE_SIZE, align, &addr);
	if (rc == MM_ENOMEM) {
		w->n_enomem++;
		return;
	}
	CHECK(rc == MM_OK, "alloc: %d", rc);
	CHECK(addr % MM_MAX(align, PAGE_SIZE) == 0, "misaligned %#" PRIx64, addr);
	claim(w, addr, n);
	w->h[w->nh++] = (struct held){addr, n * PAGE_SIZE, n};
	w->n_alloc++;
}

static void w_reserve(struct worker *w)
{
	uint64_t n = 1 + rng_below(&w->r, 4), p = rng_below(&w->r, w->sh->pages - n);
	int rc = va_btree_bare_ops.reserve(w->sh->st, BASE + p * PAGE_SIZE, n * PAGE_SIZE);
	if (rc == MM_EBUSY) {
		w->n_busy++;
		return;
	}
	CHECK(rc == MM_OK, "reserve: %d", rc);
	claim(w, BASE + p * PAGE_SIZE, n);
	w->h[w->nh++] = (struct held){BASE + p * PAGE_SIZE, n * PAGE_SIZE, n};
	w->n_res++;
}

static void w_free(struct worker *w)
{
	size_t i = (size_t)rng_below(&w->r, w->nh);
	struct held h = w->h[i];
	unclaim(w, h.addr, h.n);
	va_btree_bare_ops.free(w->sh->st, w->id, h.addr, h.size);
	w->h[i] = w->h[--w->nh];
}

/* Quiescent point (every thread at the barrier): check() and exact accounting. */
static void check_quiescent(struct shared *sh, unsigned phase)
{
	uint64_t held = 0;
	for (unsigned i = 0; i < sh->nthreads; i++)
		for (size_t k = 0; k < sh->w[i].nh; k++)
			held += sh->w[i].h[k].size;
	CHECK(va_btree_bare_ops.check(sh->st), "check after phase %u", phase);
	struct va_stats s;
	va_btree_bare_ops.stats(sh->st, &s);
	CHECK(s.reserved_bytes == held && s.free_bytes == s.size - held,
	      "phase %u: reserved %" PRIu64 ", threads hold %" PRIu64, phase, s.reserved_bytes,
	      held);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	for (unsigned ph = 0; ph < PHASES; ph++) {
		for (uint64_t k = 0; k < sh->ops / PHASES; k++) {
			uint64_t x = rng_below(&w->r, 100);
			if (w->nh && (w->nh == MAX_HELD || x < 45))
				w_free(w);
			else if (x < 50)
				w_reserve(w);
			else
				w_alloc(w);
		}
		if (pthread_barrier_wait(&sh->bar) == PTHREAD_BARRIER_SERIAL_THREAD)
			check_quiescent(sh, ph);
		pthread_barrier_wait(&sh->bar);
	}
	return NULL;
}

/* The structure changes of the run, per thread: splits, merges, borrows in at
 * least two threads each (with want_sheds, some of the borrows sheds made
 * instead of a split: fan-out 4 makes them common); true if some overlapped. */
static bool check_smo(struct shared *sh, const char *what, bool want_sheds)
{
	struct vbt_counts all, k;
	unsigned busy = 0;
	va_btree_smo_counts(sh->st, VBT_CPU_SLOTS, &all);
	printf("%s: per thread splits/merges/borrows:", what);
	for (unsigned i = 0; i < sh->nthreads; i++) {
		va_btree_smo_counts(sh->st, i, &k);
		busy += k.splits + k.merges + k.borrows > 0;
		printf(" %" PRIu64 "/%" PRIu64 "/%" PRIu64, k.splits, k.merges, k.borrows);
	}
	printf("\n");
	CHECK(all.splits && all.merges && all.borrows && busy >= 2 && (all.sheds || !want_sheds),
	      "%s: %" PRIu64 " splits, %" PRIu64 " merges, %" PRIu64 " borrows (%" PRIu64
	      " sheds), in %u threads (want all > 0, >= 2 threads)",
	      what, all.splits, all.merges, all.borrows, all.sheds, busy);
	/* The serialised path is first fit's starvation guard only (an operation
	 * restarted VBT_FAST_TRIES times): how often that happens depends on the
	 * scheduler (a TSan run of a clean clone: 39 of 28,798 ops), so it is printed,
	 * not bounded; va_btree_test checks that one thread never takes it. */
	printf("%s: %" PRIu64 " splits, %" PRIu64 " merges, %" PRIu64 " borrows (%" PRIu64
	       " sheds), %" PRIu64 " root changes, %" PRIu64 " two-leaf edits, %" PRIu64
	       " structure changes overlapped another, %" PRIu64 " serialised\n",
	       what, all.splits, all.merges, all.borrows, all.sheds, all.roots, all.xleaf,
	       all.overlaps, all.serial);
	return all.overlaps > 0;
}

/* One run; true if structure changes of two threads overlapped. */
static bool run_once(unsigned nthreads, uint32_t cap_leaf, uint32_t cap_inner, uint64_t pages,
		     uint64_t total_ops, uint64_t seed)
{
	struct test_ps tps;
	tps_init(&tps, SIZE_MAX);
	struct shared sh = {.st = new_tree(&tps, pages, cap_leaf, cap_inner),
			    .pages = pages,
			    .owner = calloc(pages, 1),
			    .ops = total_ops / nthreads,
			    .nthreads = nthreads};
	struct worker *w = calloc(nthreads, sizeof(*w));
	CHECK(sh.owner && w, "out of memory");
	sh.w = w;
	CHECK(pthread_barrier_init(&sh.bar, NULL, nthreads) == 0, "pthread_barrier_init");
	for (unsigned i = 0; i < nthreads; i++) {
		w[i] = (struct worker){.sh = &sh, .id = i, .r = {seed * 1000 + i}};
		CHECK(pthread_create(&w[i].th, NULL, worker_main, &w[i]) == 0, "pthread_create");
	}
	uint64_t held = 0, allocs = 0, enomem = 0, res = 0, busy = 0, fast, slow;
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		for (size_t k = 0; k < w[i].nh; k++)
			held += w[i].h[k].size;
		allocs += w[i].n_alloc;
		enomem += w[i].n_enomem;
		res += w[i].n_res;
		busy += w[i].n_busy;
	}
	CHECK(va_btree_bare_ops.check(sh.st), "check after the threads");
	struct va_stats s;
	va_btree_bare_ops.stats(sh.st, &s);
	CHECK(s.reserved_bytes == held && s.free_bytes == s.size - held,
	      "reserved %" PRIu64 ", threads hold %" PRIu64, s.reserved_bytes, held);
	unsigned height = va_btree_height(sh.st);
	for (unsigned i = 0; i < nthreads; i++)
		while (w[i].nh)
			w_free(&w[i]);
	CHECK(va_btree_bare_ops.check(sh.st), "check after freeing everything");
	va_btree_bare_ops.stats(sh.st, &s);
	CHECK(s.reserved_bytes == 0 && s.free_ranges == 1 && s.largest_free == s.size,
	      "not back to one range: %" PRIu64 " ranges", s.free_ranges);
	va_btree_path_counts(sh.st, &fast, &slow);
	CHECK(fast > 0 && allocs > 0 && res > 0, "no optimistic operation or no allocation");
	const char *kind = g_best ? "best fit: " : g_one ? "one zone: " : "zones: ";
	printf("%s%u threads, caps %u/%u: %" PRIu64 " allocs, %" PRIu64 " ENOMEM, %" PRIu64
	       " reserves, %" PRIu64 " busy, height %u at the end, %" PRIu64 " fast / %" PRIu64
	       " slow\n",
	       kind, nthreads, cap_leaf, cap_inner, allocs, enomem, res, busy, height, fast, slow);
	char what[64];
	snprintf(what, sizeof(what), "%s%u threads, caps %u/%u", kind, nthreads, cap_leaf,
		 cap_inner);
	bool overlapped = check_smo(&sh, what, cap_leaf <= 8);
	pthread_barrier_destroy(&sh.bar);
	free(sh.st);
	free(sh.owner);
	free(w);
	tps_fini(&tps);
	return overlapped;
}

/* With need_overlap, runs with seeds seed, seed + 100, ... until structure
 * changes overlapped (at most TRIES) and fails if none did; else one run. */
static void run(unsigned nthreads, uint32_t cap_leaf, uint32_t cap_inner, uint64_t pages,
		uint64_t total_ops, uint64_t seed, bool need_overlap)
{
	for (unsigned i = 0; i < (need_overlap ? TRIES : 1); i++)
		if (run_once(nthreads, cap_leaf, cap_inner, pages, total_ops, seed + 100 * i))
			return;
	CHECK(!need_overlap, "%u threads, caps %u/%u: no structure changes overlapped in %u runs",
	      nthreads, cap_leaf, cap_inner, TRIES);
	printf("%u threads, caps %u/%u: note: no structure changes overlapped\n", nthreads,
	       cap_leaf, cap_inner);
}

int main(void)
{
	uint64_t seed = test_seed("va_btree_mt_test", 7);
	const char *e = getenv("MTB_VA_OPS");
#ifdef __SANITIZE_THREAD__
	uint64_t ops = e ? strtoull(e, NULL, 0) : 30000; /* TSan runs ~30x slower */
#else
	uint64_t ops = e ? strtoull(e, NULL, 0) : 200000;
#endif
	/* default fan-out: few structure changes, overlaps are reported; fan-out 4:
	 * one every few operations, overlaps are required */
	for (int best = 0; best < 2; best++) {
		g_best = best;
		g_one = true;
		run(2, VBT_LEAF_CAP, VBT_INNER_CAP, 1 << 16, ops, seed, false);
		run(8, VBT_LEAF_CAP, VBT_INNER_CAP, 1 << 16, ops, seed + 1, false);
		run(2, VBT_MIN_CAP, VBT_MIN_CAP, 1 << 14, ops, seed + 2, true);
		run(8, VBT_MIN_CAP, VBT_MIN_CAP, 1 << 14, ops, seed + 3, true);
	}
	/* a tree per CPU zone (thread i's first fit in zone i): structure changes
	 * in each zone's tree, edits across two zones on the serialised path */
	g_best = g_one = false;
	run(2, VBT_MIN_CAP, VBT_MIN_CAP, 1 << 14, ops, seed + 4, false);
	run(8, VBT_MIN_CAP, VBT_MIN_CAP, 1 << 14, ops, seed + 5, false);
	printf("va_btree_mt_test: ok\n");
	return 0;
}
