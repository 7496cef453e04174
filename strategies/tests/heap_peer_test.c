/* heap_peer_test.c: the peer allocators (workloads/host/heap_peer.h) against the
 * reference model, as heap_test checks ours.
 *
 * For every peer that loads here (snmalloc only where $MTB_SNMALLOC_LIB names its
 * shim): seeded random alloc/free/realloc over SLOTS objects with heap_test's sizes
 * (up to 300,000 B) and alignments (up to 8 KiB), per-object byte patterns checked on
 * free and realloc, alignment, and an interval set proving that live objects never
 * overlap; then objects made on one thread and freed on another (the peers'
 * remote-free paths, strictly handed over: join before use); then the footprint rule
 * of heap_peer.h with a few MiB live: footprint at least half of it, and the peak
 * footprint at least the footprint.
 * A peer that does not load is reported ("PEER: left out: reason") and passes, as
 * heap_bench leaves it out; except snmalloc while $MTB_SNMALLOC_LIB names an existing
 * file: a library the user named must load. MTB_PEER_ONLY=NAME tests that peer only,
 * MTB_PEER_STEPS sets the random steps per peer (default 20000), MTB_SEED the seed.
 */
#include <pthread.h>
#include <sys/stat.h>

#include "testlib.h"

#include "../../workloads/host/heap_peer.h"
#include "heap_support.h"

#define SLOTS	 1000
#define HANDOFF	 256	    /* objects per cross-thread hand-over */
#define FP_OBJS	 512	    /* footprint check: objects of FP_SIZE */
#define FP_SIZE	 (16 << 10) /* 8 MiB live in all */
#define BIG_SIZE 300000

struct obj {
	uint8_t *p;
	size_t size, align;
	uint64_t tag;
};

struct model {
	const struct heap_ops *h;
	void *st;
	struct obj o[SLOTS];
	struct heap_ref_set set;
	struct rng r;
	uint64_t tags;
};

static size_t pick_size(struct rng *r)
{
	uint64_t k = rng_below(r, 400);
	if (k < 240)
		return rng_below(r, 129);
	if (k < 360)
		return rng_below(r, 2049);
	return rng_below(r, k < 396 ? 40000 : BIG_SIZE);
}

static size_t pick_align(struct rng *r)
{
	static const size_t al[] = {1, 8, 16, 16, 16, 32, 64, 128, 4096, 8192};
	return al[rng_below(r, rng_below(r, 4) ? 5 : 10)];
}

/* Registers o as live: alignment, no overlap, fresh pattern. */
static void m_adopt(struct model *m, struct obj *o)
{
	uint64_t lo = (uint64_t)(uintptr_t)o->p;
	CHECK(lo % o->align == 0, "%s: %p not aligned to %zu", m->h->name, (void *)o->p, o->align);
	CHECK(heap_ref_set_insert(&m->set, lo, lo + MM_MAX(o->size, (size_t)1)),
	      "%s: object %p+%zu overlaps a live object", m->h->name, (void *)o->p, o->size);
	o->tag = ++m->tags * 0x9e3779b97f4a7c15ull;
	heap_ref_fill(o->p, o->size, o->tag);
}

static void m_new(struct model *m, struct obj *o, size_t size, size_t align)
{
	o->size = size;
	o->align = align;
	o->p = m->h->alloc(m->st, 0, size, align);
	CHECK(o->p, "%s: alloc(%zu, %zu) failed", m->h->name, size, align);
	m_adopt(m, o);
}

static void m_verify(const struct model *m, const struct obj *o, size_t n)
{
	size_t bad = heap_ref_verify(o->p, n, o->tag);
	CHECK(bad == n, "%s: object %p (size %zu, align %zu) corrupt at offset %zu", m->h->name,
	      (void *)o->p, o->size, o->align, bad);
}

/* Checks and frees o (from any thread; the set is only touched by the caller's). */
static void m_drop(struct model *m, struct obj *o)
{
	m_verify(m, o, o->size);
	CHECK(heap_ref_set_remove(&m->set, (uint64_t)(uintptr_t)o->p), "lost interval");
	m->h->free(m->st, 0, o->p, o->size, o->align);
	o->p = NULL;
}

static void m_realloc(struct model *m, struct obj *o, size_t n)
{
	m_verify(m, o, o->size);
	uint8_t *q = m->h->realloc(m->st, 0, o->p, o->size, o->align, n);
	CHECK(q, "%s: realloc %zu -> %zu (align %zu) failed", m->h->name, o->size, n, o->align);
	CHECK(heap_ref_set_remove(&m->set, (uint64_t)(uintptr_t)o->p), "lost interval");
	size_t keep = MM_MIN(o->size, n);
	o->p = q;
	size_t bad = heap_ref_verify(q, keep, o->tag);
	CHECK(bad == keep, "%s: realloc %zu -> %zu (align %zu) lost contents at %zu", m->h->name,
	      o->size, n, o->align, bad);
	o->size = n;
	m_adopt(m, o);
}

static void test_random(struct model *m, long steps)
{
	for (long s = 0; s < steps; s++) {
		struct obj *o = &m->o[rng_below(&m->r, SLOTS)];
		if (!o->p)
			m_new(m, o, pick_size(&m->r), pick_align(&m->r));
		else if (rng_below(&m->r, 3) == 0)
			m_realloc(m, o,
				  rng_below(&m->r, 2) ? o->size + rng_below(&m->r, 3000)
						      : pick_size(&m->r));
		else
			m_drop(m, o);
	}
	for (int i = 0; i < SLOTS; i++)
		if (m->o[i].p)
			m_drop(m, &m->o[i]);
	CHECK(m->set.n == 0, "interval set not empty");
}

/* ---- cross-thread frees ---- */

struct handoff {
	struct model *m;
	bool make; /* make HANDOFF objects in o[0..) (true) or free them (false) */
};

static void *handoff_thread(void *arg)
{
	struct handoff *t = arg;
	for (int i = 0; i < HANDOFF; i++) {
		struct obj *o = &t->m->o[i];
		if (t->make)
			m_new(t->m, o, pick_size(&t->m->r), pick_align(&t->m->r));
		else
			m_drop(t->m, o);
	}
	return NULL;
}

/* Runs one half of a hand-over on a new thread and waits for it. */
static void on_thread(struct model *m, bool make)
{
	struct handoff t = {m, make};
	pthread_t th;
	CHECK(pthread_create(&th, NULL, handoff_thread, &t) == 0, "pthread_create");
	CHECK(pthread_join(th, NULL) == 0, "pthread_join");
}

/* Objects made here are freed by another thread and the other way round, twice. */
static void test_remote(struct model *m)
{
	for (int round = 0; round < 2; round++) {
		struct handoff here = {m, true};
		handoff_thread(&here);
		on_thread(m, false);
		on_thread(m, true);
		here.make = false;
		handoff_thread(&here);
	}
	CHECK(m->set.n == 0, "interval set not empty");
}

/* heap_peer.h's footprint: resident bytes over the baseline of init. */
static void test_footprint(struct model *m)
{
	static struct obj v[FP_OBJS];
	for (int i = 0; i < FP_OBJS; i++)
		m_new(m, &v[i], FP_SIZE, 16);
	struct heap_stats s;
	m->h->stats(m->st, &s);
	uint64_t live = (uint64_t)FP_OBJS * FP_SIZE;
	printf("  %-9s %llu B live: footprint %llu, peak %llu\n", m->h->name,
	       (unsigned long long)live, (unsigned long long)s.footprint,
	       (unsigned long long)s.peak_footprint);
	CHECK(s.footprint >= live / 2, "%s: footprint %llu with %llu B live", m->h->name,
	      (unsigned long long)s.footprint, (unsigned long long)live);
	CHECK(s.peak_footprint >= s.footprint, "%s: peak %llu below footprint %llu", m->h->name,
	      (unsigned long long)s.peak_footprint, (unsigned long long)s.footprint);
	for (int i = 0; i < FP_OBJS; i++)
		m_drop(m, &v[i]);
}

/* Whether peer name must load: snmalloc while $MTB_SNMALLOC_LIB names a file. */
static bool must_load(const char *name)
{
	const char *p = getenv("MTB_SNMALLOC_LIB");
	struct stat sb;
	return !strcmp(name, "snmalloc") && p && *p && stat(p, &sb) == 0;
}

static void run_peer(const char *name, uint64_t seed, long steps)
{
	static struct model m;
	char why[200];
	memset(&m, 0, sizeof(m));
	m.h = heap_peer_find(name);
	CHECK(m.h, "heap_peer_find(%s)", name);
	if (!heap_peer_load(m.h, why, sizeof(why))) {
		CHECK(!must_load(name), "%s: MTB_SNMALLOC_LIB names a file, yet: %s", name, why);
		printf("  %-9s left out: %s\n", name, why);
		return;
	}
	CHECK((m.st = calloc(1, m.h->state_size)) && m.h->init(m.st, NULL) == MM_OK, "%s: init",
	      name);
	m.r.s = seed;
	heap_ref_set_init(&m.set, SLOTS + FP_OBJS + HANDOFF);
	test_random(&m, steps);
	test_remote(&m);
	test_footprint(&m);
	printf("  %-9s ok (%s): %ld random steps, %d objects freed across threads\n", name,
	       heap_peer_version(m.h), steps, 4 * HANDOFF);
	heap_ref_set_fini(&m.set);
	heap_peer_fini(m.st);
	free(m.st);
}

/* LeakSanitizer (the host tree): tcmalloc registers its MallocExtension once with
 * operator new (ASan's here, tcmalloc being loaded RTLD_LOCAL) and never frees it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libtcmalloc_minimal.so\n";
}

int main(int argc, char **argv)
{
	heap_peer_reexec("heap_peer_test", argv); /* static TLS for jemalloc, snmalloc */
	uint64_t seed = test_seed("heap_peer_test", 7);
	const char *e = getenv("MTB_PEER_STEPS");
	long steps = e ? strtol(e, NULL, 0) : 20000;
	const char *only = getenv("MTB_PEER_ONLY");
	for (unsigned i = 0; heap_peer_name(i); i++)
		if (!only || !strcmp(only, heap_peer_name(i)))
			run_peer(heap_peer_name(i), seed + i, steps);
	printf("heap_peer_test: ok\n");
	return 0;
}
