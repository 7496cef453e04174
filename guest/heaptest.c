/* heaptest.c: the `heaptest` command: the kernel heap (HEAP_OPS, the instance that
 * serves kmalloc) under a small alloc / realloc / free workload on every CPU, with
 * objects handed between CPUs so that frees are cross-CPU.
 *
 * Each CPU runs HT_OPS rounds (heaptest=N: N): allocate an object (size 32..1 KiB, sometimes up to
 * 64 KiB; alignment 16, sometimes 64 or 4 KiB), check its alignment, fill it with
 * a pattern (word 0 = seed, word 1 = size, word 2 = owner CPU | align log2 << 32,
 * word k >= 3 = f(seed, k)), sometimes realloc it (the pattern must survive up to
 * min(old, new), then it is refilled), and swap it into a random shared slot
 * (atomic exchange). The object taken out of the slot is verified and freed by this
 * CPU, a cross-CPU free when another CPU allocated it. At the end CPU 0 drains the
 * slots. Checks: no bad pattern, no misaligned or failed allocation, the heap's
 * invariant check passes, cross-CPU frees happened when there are 2+ CPUs.
 */
#include "kmem.h"
#include "x86.h"

#define HT_OPS	 600u /* default rounds per CPU; heaptest=N sets N (1..1000000) */
#define HT_SLOTS 64u

struct ht {
	uint64_t *slots[HT_SLOTS];
	unsigned ops;
	uint64_t allocs, reallocs, frees, cross, bad, misaligned, oom;
};

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t word_of(uint64_t seed, uint64_t k)
{
	return seed * (2 * k + 1) ^ (k << 48);
}

static void fill(uint64_t *p, uint64_t size, uint64_t seed, unsigned owner, unsigned align_log2)
{
	p[0] = seed;
	p[1] = size;
	p[2] = owner | (uint64_t)align_log2 << 32;
	for (uint64_t k = 3; k < size / 8; k++)
		p[k] = word_of(seed, k);
}

/* Pattern words [3, upto/8) intact and the header's seed; 0 or 1. */
static uint64_t verify(const uint64_t *p, uint64_t upto)
{
	uint64_t seed = p[0];
	for (uint64_t k = 3; k < upto / 8; k++)
		if (p[k] != word_of(seed, k))
			return 1;
	return 0;
}

static void pick(uint64_t *rng, uint64_t *size, unsigned *align_log2)
{
	uint64_t r = rng_next(rng);
	*size = r % 16 == 0 ? 32 + (r >> 8) % (64 << 10) : 32 + (r >> 8) % 1024;
	*align_log2 = (r >> 4) % 8 == 0 ? ((r >> 7) & 1 ? 12 : 6) : 4;
}

static void release(struct ht *t, unsigned cpu, uint64_t *o)
{
	uint64_t size = o[1];
	unsigned owner = (unsigned)o[2], align_log2 = (unsigned)(o[2] >> 32);
	t->bad += verify(o, size);
	t->cross += owner != cpu;
	t->frees++;
	HEAP_OPS.free(kmem.heap_st, cpu, o, size, (size_t)1 << align_log2);
}

/* One round on cpu: counters go to the CPU's local copy c. */
static void round_once(struct ht *shared, struct ht *c, unsigned cpu, uint64_t *rng)
{
	uint64_t size, nsize;
	unsigned al;
	pick(rng, &size, &al);
	uint64_t *p = HEAP_OPS.alloc(kmem.heap_st, cpu, size, (size_t)1 << al);
	if (!p) {
		c->oom++;
		return;
	}
	c->allocs++;
	c->misaligned += ((uintptr_t)p & ((1ull << al) - 1)) != 0;
	uint64_t seed = rng_next(rng) | 1;
	fill(p, size, seed, cpu, al);
	if (rng_next(rng) % 4 == 0) {
		unsigned al2;
		pick(rng, &nsize, &al2);
		uint64_t *q = HEAP_OPS.realloc(kmem.heap_st, cpu, p, size, (size_t)1 << al, nsize);
		if (q) {
			c->reallocs++;
			c->bad += q[0] != seed || verify(q, MM_MIN(size, nsize));
			c->misaligned += ((uintptr_t)q & ((1ull << al) - 1)) != 0;
			p = q;
			size = nsize;
			fill(p, size, seed, cpu, al);
		}
	}
	uint64_t *old = __atomic_exchange_n(&shared->slots[rng_next(rng) % HT_SLOTS], p,
					    __ATOMIC_ACQ_REL);
	if (old)
		release(c, cpu, old);
}

static void ht_cpu(unsigned cpu, void *arg)
{
	struct ht *t = arg, c = {0};
	uint64_t rng = 0x9e3779b97f4a7c15ull * (cpu + 1);
	for (unsigned i = 0; i < t->ops; i++)
		round_once(t, &c, cpu, &rng);
	atomic_fetch_add_acqrel(&t->allocs, c.allocs);
	atomic_fetch_add_acqrel(&t->reallocs, c.reallocs);
	atomic_fetch_add_acqrel(&t->frees, c.frees);
	atomic_fetch_add_acqrel(&t->cross, c.cross);
	atomic_fetch_add_acqrel(&t->bad, c.bad);
	atomic_fetch_add_acqrel(&t->misaligned, c.misaligned);
	atomic_fetch_add_acqrel(&t->oom, c.oom);
}

int cmd_heaptest(int argc, char **argv, const char *val)
{
	static struct ht t;
	t.ops = HT_OPS;
	if (val[0]) {
		uint64_t v = 0;
		for (const char *c = val; *c; c++)
			v = *c >= '0' && *c <= '9' && v <= 1000000 ? v * 10 + (uint64_t)(*c - '0') : ~0ull;
		if (v == 0 || v > 1000000) {
			kprintf("heaptest: '%s' is not a round count 1..1000000 (heaptest=N)\n", val);
			return 2;
		}
		t.ops = (unsigned)v;
	}
	if (!kmem_heap_ok()) {
		kprintf("heaptest: no kernel heap (more than one CPU and no IPIs)\n");
		return 3;
	}
	unsigned n = smp_ncpus();
	struct heap_stats s0, s1, s2;
	HEAP_OPS.stats(kmem.heap_st, &s0);
	uint64_t t0 = rdtsc();
	smp_run_all(ht_cpu, &t);
	uint64_t t1 = rdtsc();
	HEAP_OPS.stats(kmem.heap_st, &s1);
	for (unsigned i = 0; i < HT_SLOTS; i++)
		if (t.slots[i])
			release(&t, 0, t.slots[i]);
	HEAP_OPS.stats(kmem.heap_st, &s2);
	bool check = HEAP_OPS.check(kmem.heap_st);
	bool ok = t.bad == 0 && t.misaligned == 0 && t.oom == 0 && check &&
		  t.frees == t.allocs && (n == 1 || t.cross > 0);
	result_emit(
	    "heaptest",
	    "\"cpus\":%u,\"heap\":\"%s\",\"ops_per_cpu\":%u,\"allocs\":%lu,\"reallocs\":%lu,"
	    "\"frees\":%lu,\"cross_cpu_frees\":%lu,\"bad\":%lu,\"misaligned\":%lu,\"oom\":%lu,"
	    "\"check\":%s,\"footprint_before_bytes\":%lu,\"footprint_after_bytes\":%lu,"
	    "\"peak_footprint_bytes\":%lu,\"footprint_end_bytes\":%lu,\"frames\":%lu,"
	    "\"va_bytes\":%lu,\"meta_bytes\":%lu,"
	    "\"remote_frees\":%lu,\"chunks_returned\":%lu,\"ns\":%lu,\"ok\":%s",
	    n, HEAP_NAME, t.ops, t.allocs, t.reallocs, t.frees, t.cross, t.bad, t.misaligned, t.oom,
	    check ? "true" : "false", s0.footprint, s1.footprint, s2.peak_footprint, s2.footprint,
	    s2.frames, s2.va_bytes, s2.meta_bytes, s2.remote_frees, s2.chunks_returned,
	    tsc_to_ns(t1 - t0), ok ? "true" : "false");
	kprintf("heaptest: %lu allocs, %lu reallocs, %lu cross-CPU frees on %u cpus: %s\n", t.allocs,
		t.reallocs, t.cross, n, ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
