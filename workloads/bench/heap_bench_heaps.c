/* heap_bench_heaps.c: heap_bench's contenders (contract in heap_bench.h) and Talc's
 * heap_efficiency.
 *
 * Ours (talc, slab) get a fresh heap_machine per timed run: hostmem with the --mem
 * bytes of physical memory (holes as the host engine lays them out), the --phys frame
 * allocator, the --virt VA allocator over a 64 GiB Managed window (4 GiB in callgrind mode:
 * valgrind cannot reserve more), the heap with one
 * empty chunk kept per CPU and talc's fixed heap of HB_FIXED_HEAP_BYTES (mapped at
 * init). The null heap (workloads/core/heap_null.h) runs on a fresh machine too. The
 * peers are Debian's libraries behind workloads/host/heap_peer.h; a process cannot get
 * them fresh, so their arenas, caches and mapped memory persist from one run to the
 * next (each run starts new threads, so thread caches are new).
 *
 * heap_efficiency (ours only: the peers take memory from the OS): Talc's benchmark,
 * 50% alloc (size <= 10 KB), 10% free, 40% realloc (<= 100 KB) until the first failure
 * in a 128 MiB arena; live / arena per trial. It runs on heap_fixture (tests' hosted
 * machine) over the same --phys and --virt strategies because it needs the fixture's
 * frame budget: talc gets its 128 MiB fixed heap and no frame after that, slab 128 MiB
 * of frames in all. Not timed.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "../host/heap_peer.h"
#include "../../strategies/tests/heap_support.h"
#include "heap_bench.h"

#define HE_ARENA (128ull << 20)
#define HE_OBJS	 200000

bool contender_setup(struct contender *c, const char *name, const struct hb_layers *l)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	char why[200];
	if ((c->hops = heap_peer_find(name))) {
		c->peer = true;
		if (!heap_peer_load(c->hops, why, sizeof(why))) {
			fprintf(stderr, "heap_bench: skipping %s\n", why);
			return false;
		}
		snprintf(c->version, sizeof(c->version), "%s", heap_peer_version(c->hops));
		return true;
	}
	if (!(c->hops = heap_fixture_heap_ops(name)))
		return false;
	c->ours = strcmp(name, "null") != 0;
	snprintf(c->version, sizeof(c->version), "%s on %s/%s%s", c->ours ? name : "null heap",
		 l->fops->name, l->vops->name, c->ours ? ", keep 1" : " (ceiling)");
	return true;
}

int contender_up(struct contender *c, const struct hb_layers *l, unsigned ncpus)
{
	if (!c->peer) {
		if (heap_machine_init(&c->m, l->fops, l->vops, c->hops, ncpus, l->phys_bytes,
				      l->va_bytes, HB_FIXED_HEAP_BYTES))
			return -1;
		c->heap_st = c->m.heap_st;
		return 0;
	}
	c->heap_st = mmap(NULL, c->hops->state_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->heap_st == MAP_FAILED || c->hops->init(c->heap_st, NULL) != MM_OK) {
		fprintf(stderr, "heap_bench: %s: cannot start the heap\n", c->name);
		if (c->heap_st != MAP_FAILED)
			munmap(c->heap_st, c->hops->state_size);
		c->heap_st = NULL;
		return -1;
	}
	return 0;
}

void contender_down(struct contender *c)
{
	if (!c->peer) {
		heap_machine_fini(&c->m);
	} else if (c->heap_st) {
		heap_peer_fini(c->heap_st);
		munmap(c->heap_st, c->hops->state_size);
	}
	c->heap_st = NULL;
}

struct obj {
	void *p;
	size_t size, align;
};

/* One trial until the first failure; the live bytes then. */
static double he_trial(struct heap_fixture *fx, struct obj *v, uint64_t *seed)
{
	const struct heap_ops *h = fx->hops;
	size_t n = 0;
	for (;;) {
		uint64_t a = hb_rnd(seed) % 10;
		if (a <= 4) {
			struct obj o = {NULL, talc_size(seed, 10000), talc_align(seed)};
			if (n == HE_OBJS || !(o.p = h->alloc(fx->heap_st, 0, o.size, o.align)))
				break;
			v[n++] = o;
		} else if (a == 5 && n) {
			size_t i = hb_rnd(seed) % n;
			h->free(fx->heap_st, 0, v[i].p, v[i].size, v[i].align);
			v[i] = v[--n];
		} else if (a > 5 && n) {
			struct obj *o = &v[hb_rnd(seed) % n];
			size_t ns = 1 + hb_rnd(seed) % 99999;
			void *q = h->realloc(fx->heap_st, 0, o->p, o->size, o->align, ns);
			if (!q)
				break;
			o->p = q;
			o->size = ns;
		}
	}
	double live = 0;
	for (size_t i = 0; i < n; i++)
		live += (double)v[i].size;
	return live;
}

bool heap_efficiency(struct contender *c, const struct hb_layers *l, int trials, uint64_t seed,
		     double *pct)
{
	struct heap_fixture fx;
	bool talc = c->hops == &heap_talc_ops, ok = true;
	if (heap_fixture_init(&fx, l->fops, l->vops, c->hops, 1, l->phys_bytes, l->va_bytes,
			      HE_ARENA, 1) != MM_OK)
		return false;
	size_t len = HE_OBJS * sizeof(struct obj);
	struct obj *v = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int t = 0; ok && t < trials; t++) {
		ok = v != MAP_FAILED && heap_fixture_reinit(&fx, HE_ARENA, 1) == MM_OK;
		if (!ok)
			break;
		faulty_frame_set_budget(&fx.faulty, talc ? 0 : (int64_t)(HE_ARENA / PAGE_SIZE));
		pct[t] = he_trial(&fx, v, &seed) / (double)HE_ARENA * 100.0;
		faulty_frame_set_budget(&fx.faulty, FAULTY_UNLIMITED);
	}
	if (v != MAP_FAILED)
		munmap(v, len);
	heap_fixture_fini(&fx);
	return ok;
}
