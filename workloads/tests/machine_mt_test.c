/* machine_mt_test: the replay machine holds pt_lock for the page-table edit only, not
 * across the engine's part of a map or unmap (the host's mmap stand-in, the guest's
 * shootdown; machine.c "Lock order"). CPU 0's backend map (then unmap) does not
 * return until CPU 1's map (then unmap) of another range has returned: had CPU 0
 * still held pt_lock there, CPU 1 could not finish and CPU 0 gives up after
 * WAIT_S seconds and the test fails (the lock held across the stand-in made every
 * CPU's map wait for every other's: 12% of slab's samples spun in pt_lock_for on
 * heap_bench's 2-thread random_actions). Both mappings are then written through and
 * the counters checked. Also built under TSan. */
#include "../../strategies/tests/testlib.h"

#include <pthread.h>
#include <time.h>

#include "../../strategies/frame.h"
#include "../../strategies/va.h"
#include "../core/heap_null.h"
#include "../host/heap_machine.h"

#define WAIT_S 20

static struct heap_machine hm;
static int (*host_map)(void *, uint64_t, uint64_t, uint64_t, unsigned);
static void (*host_unmap)(void *, uint64_t, uint64_t);
static __thread int is_cpu0;
static int cpu0_in_backend, cpu1_done, timed_out; /* phase numbers, __atomic */

/* CPU 0 in its backend call of phase ph: waits for CPU 1 to finish the same phase. */
static void wait_cpu1(int ph)
{
	if (!is_cpu0)
		return;
	__atomic_store_n(&cpu0_in_backend, ph, __ATOMIC_RELEASE);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&cpu1_done, __ATOMIC_ACQUIRE) < ph) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > WAIT_S) {
			int none = 0; /* the first phase that timed out is the one to name */
			__atomic_compare_exchange_n(&timed_out, &none, ph, false, __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
			return;
		}
	}
}

static int gate_map(void *ctx, uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	wait_cpu1(1);
	return host_map(ctx, va, pa, len, flags);
}

static void gate_unmap(void *ctx, uint64_t va, uint64_t len)
{
	wait_cpu1(2);
	host_unmap(ctx, va, len);
}

struct side {
	unsigned cpu;
	uint64_t va, pa;
};

static void *run_side(void *arg)
{
	struct side *s = arg;
	struct mmu *mmu = &hm.mc.mmu;
	is_cpu0 = s->cpu == 0;
	for (int ph = 1; ph <= 2; ph++) {
		if (!is_cpu0) /* start once CPU 0 sits in its backend call */
			while (__atomic_load_n(&cpu0_in_backend, __ATOMIC_ACQUIRE) < ph)
				;
		if (ph == 1) {
			CHECK(mmu->map(mmu->ctx, s->cpu, s->va, s->pa, PAGE_SIZE, MMU_WRITE) ==
				  MM_OK,
			      "cpu %u: map failed", s->cpu);
			*(volatile uint8_t *)(uintptr_t)s->va = (uint8_t)(s->cpu + 1);
		} else {
			mmu->unmap(mmu->ctx, s->cpu, s->va, PAGE_SIZE);
		}
		if (!is_cpu0)
			__atomic_store_n(&cpu1_done, ph, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void take_range(struct side *s, unsigned cpu)
{
	uint64_t pfn;
	s->cpu = cpu;
	CHECK(hm.mc.cfg.vops->alloc(hm.mc.va_st, cpu, PAGE_SIZE, PAGE_SIZE, &s->va) == MM_OK,
	      "no VA");
	CHECK(hm.mc.cfg.fops->alloc(hm.mc.frame_st, cpu, 0, &pfn) == MM_OK, "no frame");
	s->pa = pfn << PAGE_SHIFT;
}

int main(void)
{
	CHECK(heap_machine_init(&hm, &frame_buddy_ops, &va_bitmap_ops, &heap_null_ops, 2, 64u << 20,
				1u << 30,
				0) == 0, /* a 1 GiB window: TSan's address space is small */
	      "machine");
	host_map = hm.mc.be.map;
	host_unmap = hm.mc.be.unmap;
	hm.mc.be.map = gate_map;
	hm.mc.be.unmap = gate_unmap;
	struct side a, b;
	take_range(&a, 0);
	take_range(&b, 1);
	uint64_t maps0 = hm.mc.n.maps, unmaps0 = hm.mc.n.unmaps;
	pthread_t ta, tb;
	CHECK(pthread_create(&ta, NULL, run_side, &a) == 0 &&
		  pthread_create(&tb, NULL, run_side, &b) == 0,
	      "threads");
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK(!timed_out,
	      "phase %d: CPU 1's %s waited for CPU 0's engine call: pt_lock held across it",
	      timed_out, timed_out == 1 ? "map" : "unmap");
	CHECK(hm.mc.n.maps == maps0 + 2 && hm.mc.n.unmaps == unmaps0 + 2 &&
		  hm.mc.n.shootdowns == hm.mc.n.unmaps,
	      "counts: maps +%llu unmaps +%llu", (unsigned long long)(hm.mc.n.maps - maps0),
	      (unsigned long long)(hm.mc.n.unmaps - unmaps0));
	hm.mc.be.map = host_map;
	hm.mc.be.unmap = host_unmap;
	heap_machine_fini(&hm);
	printf("machine_mt_test: ok (the engine's map and unmap run outside pt_lock)\n");
	return 0;
}
