/* vatest.c: the `vatest` command: scattered frames behind one contiguous range of
 * the Managed region (VIRT_OPS), seen by a second CPU, and gone after unmap.
 *
 * N = VAT_BYTES / 4 KiB frames are allocated one by one; virtual page i of a range
 * from mm_va_alloc is mapped to frame pfn[(i * VAT_STRIDE) mod N] (a bijection, N a
 * power of two), so no two neighbouring pages are physically adjacent unless the
 * allocator handed out such frames (`discontig` counts the page boundaries whose
 * frames are not adjacent; it must be at least N/2). CPU 0 writes a pattern (three
 * words per page, a function of the page index) through the range and checks it
 * through the identity map at the frame; the reader (CPU 1, or CPU 0 alone) reads it
 * through the range; CPU 0 unmaps the whole range (TLB shootdown by IPI); then the
 * reader probes VAT_PROBES pages of it with cpu_probe_read and every probe must
 * page-fault at the probed address (caught by trap_handler as an expected fault).
 * `vatest=nosd` unmaps without the shootdown (negative control: the reader should
 * still see stale translations, i.e. fewer faults). Finally the PML4 entries of
 * the Unmanaged slots must still be 0 and the Managed slot's entry present.
 */
#include "kmem.h"
#include "layout.h"
#include "x86.h"

#define VAT_BYTES  (64ull << 20)
#define VAT_PAGES  (VAT_BYTES / PAGE_SIZE)
#define VAT_STRIDE 7919u /* odd: i -> i * stride mod 2^k is a bijection */
#define VAT_PROBES 4u

struct vat {
	uint64_t *pfn;
	uint64_t va;
	unsigned reader;
	uint64_t bad_frames, bad_reads;
	bool fault_before, managed, slots;
	uint64_t faults, cr2_bad, discontig;
	uint64_t map_ns, rw_ns, unmap_ns;
};

static uint64_t pattern(uint64_t page, unsigned word)
{
	return 0x7a00000000000000ull ^ (page << 16) ^ word;
}

static uint64_t page_pa(const struct vat *t, uint64_t i)
{
	return t->pfn[(i * VAT_STRIDE) & (VAT_PAGES - 1)] << PAGE_SHIFT;
}

static const unsigned words[3] = {0, 257, 511};

static void write_phase(struct vat *t)
{
	for (uint64_t i = 0; i < VAT_PAGES; i++) {
		volatile uint64_t *v = (volatile uint64_t *)(uintptr_t)(t->va + i * PAGE_SIZE);
		const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)page_pa(t, i);
		for (unsigned w = 0; w < 3; w++)
			v[words[w]] = pattern(i, words[w]);
		for (unsigned w = 0; w < 3; w++)
			t->bad_frames += p[words[w]] != pattern(i, words[w]);
	}
}

static void read_cpu(unsigned cpu, void *arg)
{
	struct vat *t = arg;
	if (cpu != t->reader)
		return;
	uint64_t v;
	t->fault_before = cpu_probe_read(t->va, &v);
	for (uint64_t i = 0; i < VAT_PAGES; i++) {
		const volatile uint64_t *q = (const volatile uint64_t *)(uintptr_t)(t->va + i * PAGE_SIZE);
		for (unsigned w = 0; w < 3; w++)
			t->bad_reads += q[words[w]] != pattern(i, words[w]);
	}
}

static void probe_cpu(unsigned cpu, void *arg)
{
	struct vat *t = arg;
	if (cpu != t->reader)
		return;
	for (unsigned k = 0; k < VAT_PROBES; k++) {
		uint64_t a = t->va + (k * (VAT_PAGES - 1) / (VAT_PROBES - 1)) * PAGE_SIZE + 8 * k, v;
		if (cpu_probe_read(a, &v)) {
			t->faults++;
			t->cr2_bad += this_cpu()->fault_cr2 != a;
		}
	}
}

static void flush_cpu(unsigned cpu, void *arg)
{
	write_cr3(read_cr3());
}

/* PML4 entries of the Unmanaged slots are all 0 and the entry over va is present. */
static bool slots_ok(uint64_t va)
{
	const uint64_t *pml4 = (const uint64_t *)(uintptr_t)paging_root();
	for (unsigned s = UNMANAGED_SLOT; s < LAYOUT_LOWER_SLOTS; s++)
		if (pml4[s] != 0)
			return false;
	return (pml4[va >> 39] & 1) != 0;
}

/* Frames and mapping; 0, or MM_ENOMEM / MM_EBUSY (what failed is printed). */
static int setup(struct vat *t, uint64_t *discontig)
{
	t->pfn = kmalloc(VAT_PAGES * sizeof(uint64_t));
	if (!t->pfn)
		return MM_ENOMEM;
	for (uint64_t i = 0; i < VAT_PAGES; i++)
		if (kmem.mm.frames->alloc(kmem.mm.frame_st, 0, 0, &t->pfn[i]) != MM_OK) {
			kprintf("vatest: out of frames after %lu\n", i);
			while (i-- > 0)
				kmem.mm.frames->free(kmem.mm.frame_st, 0, t->pfn[i], 0);
			return MM_ENOMEM;
		}
	if (mm_va_alloc(&kmem.mm, 0, mm_req_layout(VAT_BYTES, SIZE_2M), &t->va) != MM_OK)
		return MM_ENOMEM;
	for (uint64_t i = 0; i < VAT_PAGES; i++) {
		int rc = kmem.mmu.map(kmem.mmu.ctx, 0, t->va + i * PAGE_SIZE, page_pa(t, i), PAGE_SIZE,
				      MMU_WRITE);
		if (rc != MM_OK)
			return rc;
		*discontig += i > 0 && page_pa(t, i) != page_pa(t, i - 1) + PAGE_SIZE;
	}
	return MM_OK;
}

/* Phases after setup: pattern, reader, unmap, probes, slot check, give back. */
static void vat_run(struct vat *t, bool nosd)
{
	uint64_t t1 = rdtsc();
	write_phase(t);
	smp_run_all(read_cpu, t);
	uint64_t t2 = rdtsc();
	mmu_set_skip_shootdown(nosd);
	kmem.mmu.unmap(kmem.mmu.ctx, 0, t->va, VAT_BYTES);
	mmu_set_skip_shootdown(false);
	smp_run_all(probe_cpu, t);
	if (nosd)
		smp_run_all(flush_cpu, NULL);
	t->rw_ns = tsc_to_ns(t2 - t1);
	t->unmap_ns = tsc_to_ns(rdtsc() - t2);
	t->slots = slots_ok(t->va);
	mm_va_free(&kmem.mm, 0, t->va, mm_req_layout(VAT_BYTES, SIZE_2M));
	for (uint64_t i = 0; i < VAT_PAGES; i++)
		kmem.mm.frames->free(kmem.mm.frame_st, 0, t->pfn[i], 0);
	kfree(t->pfn, VAT_PAGES * sizeof(uint64_t));
}

static void vat_emit(const struct vat *t, bool nosd, uint64_t shootdowns, int64_t kept, bool ok)
{
	result_emit(
	    "vatest",
	    "\"cpus\":%u,\"reader\":%u,\"bytes\":%lu,\"va\":\"0x%lx\",\"managed\":%s,"
	    "\"discontig\":%lu,\"bad_identity_reads\":%lu,\"bad_reads\":%lu,\"shootdown\":%s,"
	    "\"probes\":%u,\"faults\":%lu,\"cr2_bad\":%lu,\"unmanaged_slots\":%u,"
	    "\"unmanaged_zero\":%s,\"shootdowns\":%lu,\"kept_frames\":%ld,\"map_ns\":%lu,"
	    "\"rw_ns\":%lu,\"unmap_probe_ns\":%lu,\"ok\":%s",
	    smp_ncpus(), t->reader, (uint64_t)VAT_BYTES, t->va, t->managed ? "true" : "false",
	    t->discontig, t->bad_frames, t->bad_reads, nosd ? "false" : "true", VAT_PROBES,
	    t->faults, t->cr2_bad, GUEST_UNMANAGED_SLOTS, t->slots ? "true" : "false", shootdowns,
	    (long)kept, t->map_ns, t->rw_ns, t->unmap_ns, ok ? "true" : "false");
	kprintf("vatest%s: %llu pages at 0x%lx, %lu/%u probes faulted on cpu %u: %s\n",
		nosd ? "=nosd" : "", VAT_PAGES, t->va, t->faults, VAT_PROBES, t->reader,
		ok ? "ok" : "FAILED");
}

int cmd_vatest(int argc, char **argv, const char *val)
{
	static struct vat t;
	bool nosd = __builtin_strcmp(val, "nosd") == 0;
	if (val[0] && !nosd) {
		kprintf("vatest: unknown variant '%s' (vatest or vatest=nosd)\n", val);
		return 2;
	}
	if (!kmem_heap_ok()) {
		kprintf("vatest: no VA allocator (more than one CPU and no IPIs)\n");
		return 3;
	}
	unsigned n = smp_ncpus();
	t.reader = n > 1 ? 1 : 0;
	uint64_t free0 = kmem_free_frames(), t0 = rdtsc();
	struct mmu_stats s0, s1;
	mmu_get_stats(&s0);
	if (setup(&t, &t.discontig) != MM_OK) {
		kprintf("vatest: setup failed (frames, VA or page tables)\n");
		return 1;
	}
	t.map_ns = tsc_to_ns(rdtsc() - t0);
	t.managed = t.va >= MANAGED_BASE && t.va + VAT_BYTES <= MANAGED_BASE + MANAGED_SIZE;
	vat_run(&t, nosd);
	mmu_get_stats(&s1);
	bool faults_ok = nosd ? (n == 1 || t.faults < VAT_PROBES) : t.faults == VAT_PROBES;
	bool ok = t.managed && t.discontig >= VAT_PAGES / 2 && t.bad_frames == 0 &&
		  t.bad_reads == 0 && !t.fault_before && faults_ok && t.cr2_bad == 0 && t.slots;
	vat_emit(&t, nosd, s1.shootdowns - s0.shootdowns, (int64_t)(free0 - kmem_free_frames()), ok);
	return ok ? 0 : 1;
}
