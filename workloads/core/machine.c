/* machine.c: the replay machine (contract and diagram in machine.h).
 *
 * Invariants once machine_init succeeded:
 *   frame allocator's total frames == usable(machine_layout) - early_frames;
 *   every page-table frame came from the frame allocator (n.pt_frames counts them,
 *   the window's top-level tables included) and is never freed; npt_spare more are
 *   held for future tables;
 *   n.maps/n.unmaps count mmu calls; n.shootdowns == n.unmaps when ncpus > 1, else 0
 *   (one invalidation of every other CPU per unmap, as the guest's mmu does).
 * Identical on every engine: the backend only adds what the engine needs to make a
 * mapping usable (host) or to flush TLBs (guest); it allocates nothing.
 *
 * Lock order: pt_lock is never held while calling the frame allocator. A free list
 * that spills into the heap calls the heap with its own lock held, and the heap maps
 * (pt_lock): had a map taken a page-table frame from that free list under pt_lock,
 * two CPUs could each hold the lock the other waits for (seen: freelist phys, slab
 * heap, va_churn on 2 CPUs). So an edit first tops up pt_spare, outside pt_lock, with
 * as many frames as it can need, and its new tables come from there.
 *
 * pt_lock covers the table edit only. The backend's part (the host's mmap stand-in,
 * the guest's shootdown, which takes the guest's own mmu_lock) runs after it is
 * dropped: the caller owns [va, va+len) and its frames until map or unmap returns,
 * so no other CPU can touch them meanwhile. Held across the host's system call
 * (5-60 us here), the lock made every CPU's map wait for every other's: the
 * machine model, not the heap, set 2-thread figures (random_actions up to 10 kB,
 * heap_bench: 12% of slab's samples spun in pt_lock_for).
 */
#include "machine.h"

#include "../../strategies/mm.h"

int machine_layout(struct mem_map *m, uint64_t s, bool holes)
{
	m->count = 1;
	m->r[0] = (struct mem_region){0, s, MEM_USABLE};
	int rc = mem_map_set(m, 0, 1 << 20, MEM_RESERVED);
	if (holes) {
		/* A PC-like hole mid-memory and a small odd-sized one near the top. */
		rc |= mem_map_set(m, s / 2, s / 16, MEM_RESERVED);
		rc |= mem_map_set(m, s / 8 * 7 + 3 * PAGE_SIZE, 5 * PAGE_SIZE, MEM_RESERVED);
	}
	return rc ? MM_EINVAL : MM_OK;
}

uint64_t machine_hermit_heap_bytes(uint64_t usable_bytes)
{
	uint64_t npages = usable_bytes / PAGE_SIZE, div = PAGE_SIZE / 8;
	uint64_t t3 = npages / div + 1, t2 = t3 / div + 1, t1 = t2 / div + 1;
	uint64_t min_mem = (t3 + t2 + t1) * PAGE_SIZE + 2 * SIZE_2M;
	if (usable_bytes <= min_mem)
		return 0;
	uint64_t avail = MM_ALIGN_DOWN(usable_bytes - min_mem, SIZE_2M);
	return MM_ALIGN_DOWN(avail - avail / 10, SIZE_2M);
}

/* ---- page tables: frames from the machine's frame allocator ---- */

/* Page tables a map or unmap of len bytes can add at most: a PT per 2 MiB, a PD per
 * 1 GiB and a PDPT, each plus two for unaligned ends (capped: beyond the reserve a
 * huge map takes frames under pt_lock, as before). */
static unsigned pt_need(uint64_t len)
{
	return (unsigned)MM_MIN((len >> 21) + (len >> 30) + 6, (uint64_t)MACHINE_PT_SPARE);
}

/* Takes pt_lock with at least need spare frames (fewer only when the frame allocator
 * has none); frames that did not fit go to *extra (n_extra), freed by pt_unlock. */
static void pt_lock_for(struct machine *m, unsigned cpu, unsigned need, uint64_t *extra,
			unsigned *n_extra)
{
	*n_extra = 0;
	spin_lock(&m->pt_lock);
	m->pt_cpu = cpu;
	while (m->npt_spare < need) {
		uint64_t got[MACHINE_PT_SPARE];
		unsigned want = need - m->npt_spare, n = 0;
		spin_unlock(&m->pt_lock);
		while (n < want && m->cfg.fops->alloc(m->frame_st, cpu, 0, &got[n]) == MM_OK)
			n++;
		spin_lock(&m->pt_lock);
		m->pt_cpu = cpu;
		for (unsigned i = 0; i < n; i++)
			if (m->npt_spare < MACHINE_PT_SPARE)
				m->pt_spare[m->npt_spare++] = got[i];
			else
				extra[(*n_extra)++] = got[i];
		if (n < want) /* out of frames: the edit may fail, as it would have */
			break;
	}
}

static void pt_unlock(struct machine *m, unsigned cpu, const uint64_t *extra, unsigned n_extra)
{
	spin_unlock(&m->pt_lock);
	for (unsigned i = 0; i < n_extra; i++)
		m->cfg.fops->free(m->frame_st, cpu, extra[i], 0);
}

static int pt_frame(void *ctx, uint64_t *pa)
{
	struct machine *m = ctx;
	uint64_t pfn;
	if (m->npt_spare) {
		pfn = m->pt_spare[--m->npt_spare];
	} else {
		int rc = m->cfg.fops->alloc(m->frame_st, m->pt_cpu, 0, &pfn);
		if (rc != MM_OK)
			return rc;
	}
	mm_zero(m->be.phys + (pfn << PAGE_SHIFT), PAGE_SIZE);
	m->n.pt_frames++;
	*pa = m->be.pa_offset + (pfn << PAGE_SHIFT);
	return MM_OK;
}

static void *pt_virt(void *ctx, uint64_t pa)
{
	struct machine *m = ctx;
	return m->be.phys + (pa - m->be.pa_offset);
}

/* ---- the mmu the heap and the VA metadata use ---- */

static int mach_map(void *ctx, unsigned cpu, uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	struct machine *m = ctx;
	if (va < m->be.va_base || va + len > m->be.va_base + m->be.va_size ||
	    pa + len > m->cfg.mem_bytes)
		mm_panic("machine: map outside the window or the machine's memory");
	uint64_t extra[MACHINE_PT_SPARE];
	unsigned n_extra;
	pt_lock_for(m, cpu, pt_need(len), extra, &n_extra);
	int rc = pt_map(&m->pt, va, m->be.pa_offset + pa, len, flags & MMU_WRITE ? PTE_W : 0);
	m->n.maps += rc == MM_OK;
	pt_unlock(m, cpu, extra, n_extra);
	if (rc != MM_OK || !m->be.map || m->be.map(m->be.ctx, va, pa, len, flags) == MM_OK)
		return rc;
	pt_lock_for(m, cpu, 2, extra, &n_extra); /* the engine could not: take it back */
	if (pt_unmap(&m->pt, va, len) != MM_OK)
		mm_panic("machine: undoing a map the engine refused failed");
	m->n.maps--;
	pt_unlock(m, cpu, extra, n_extra);
	return MM_ENOMEM;
}

static void mach_unmap(void *ctx, unsigned cpu, uint64_t va, uint64_t len)
{
	struct machine *m = ctx;
	uint64_t extra[MACHINE_PT_SPARE];
	unsigned n_extra;
	pt_lock_for(m, cpu, 2, extra, &n_extra); /* a split of a large page at either end */
	if (pt_unmap(&m->pt, va, len) != MM_OK)
		mm_panic("machine: unmap of a misaligned range or no frame to split a large page");
	m->n.unmaps++;
	m->n.shootdowns += m->cfg.ncpus > 1;
	pt_unlock(m, cpu, extra, n_extra);
	m->be.unmap(m->be.ctx, va, len);
}

static void *mach_to_virt(void *ctx, uint64_t pa)
{
	struct machine *m = ctx;
	return m->be.phys + pa;
}

/* ---- setup ---- */

/* A 64-byte aligned piece of the Early region at *off. */
static void *early_piece(struct machine *m, uint64_t *off, uint64_t size)
{
	void *p = m->be.phys + m->early.r[0].base + *off;
	*off += MM_ALIGN_UP(size, 64);
	return size ? p : 0;
}

/* Carves the states and metadata from the lowest usable frames (one range). */
static int early_init(struct machine *m)
{
	const struct machine_cfg *c = &m->cfg;
	m->frame_meta_len = c->fops->meta_size(&m->map, c->ncpus);
	m->va_meta_len = c->vops->meta_size(m->be.va_base, m->be.va_size);
	uint64_t bytes = MM_ALIGN_UP(c->fops->state_size, 64) + MM_ALIGN_UP(m->frame_meta_len, 64) +
			 MM_ALIGN_UP(c->vops->state_size, 64) + MM_ALIGN_UP(m->va_meta_len, 64) +
			 MM_ALIGN_UP(c->hops->state_size, 64);
	m->n.early_frames = MM_ALIGN_UP(bytes, PAGE_SIZE) >> PAGE_SHIFT;
	if (mm_early_carve(&m->map, m->n.early_frames, &m->early) != MM_OK || m->early.count != 1)
		return MM_ENOMEM;
	mm_zero(m->be.phys + m->early.r[0].base, bytes);
	uint64_t off = 0;
	m->frame_st = early_piece(m, &off, c->fops->state_size);
	m->frame_meta = early_piece(m, &off, m->frame_meta_len);
	m->va_st = early_piece(m, &off, c->vops->state_size);
	m->va_meta = early_piece(m, &off, m->va_meta_len);
	m->heap_st = early_piece(m, &off, c->hops->state_size);
	return MM_OK;
}

/* The root table and one next-level table per PML4 slot of the window, installed. */
static int window_tables(struct machine *m)
{
	m->pt = (struct pagetable){
	    .has_1g = false, .ctx = m, .alloc_frame = pt_frame, .to_virt = pt_virt};
	if (pt_init(&m->pt) != MM_OK)
		return MM_ENOMEM;
	uint64_t *root = pt_virt(m, m->pt.root);
	unsigned first = (unsigned)(m->be.va_base / MACHINE_VA_ALIGN) & 511;
	unsigned n = (unsigned)((m->be.va_size + MACHINE_VA_ALIGN - 1) / MACHINE_VA_ALIGN);
	for (unsigned s = first; s < first + n; s++) {
		uint64_t pa;
		if (pt_frame(m, &pa) != MM_OK)
			return MM_ENOMEM;
		root[s] = pa | PTE_P | PTE_W;
	}
	if (m->be.install)
		m->be.install(m->be.ctx, root, first, n);
	return MM_OK;
}

/* The window: a 1 GiB multiple; 512 GiB multiples from a 512 GiB boundary, or within
 * one 512 GiB slot, aligned to its size rounded up to a power of two (small windows are
 * for tools that cannot reserve much address space, such as valgrind). */
static bool window_ok(const struct machine_backend *be)
{
	uint64_t s = be->va_size;
	if (!s || s % SIZE_1G || s > 64 * MACHINE_VA_ALIGN)
		return false;
	if (s >= MACHINE_VA_ALIGN)
		return !(s % MACHINE_VA_ALIGN) && !(be->va_base % MACHINE_VA_ALIGN);
	return !(be->va_base % ((uint64_t)1 << mm_log2_ceil(s)));
}

static bool cfg_ok(const struct machine_cfg *c, const struct machine_backend *be)
{
	return c->fops && c->vops && c->hops && c->ncpus && c->ncpus <= HEAP_MAX_CPUS &&
	       c->mem_bytes >= (16u << 20) && !(c->mem_bytes % SIZE_2M) && be->phys && be->unmap &&
	       !(be->pa_offset % SIZE_2M) && window_ok(be);
}

int machine_init(struct machine *m, const struct machine_cfg *cfg, const struct machine_backend *be,
		 const char **what)
{
	mm_zero(m, sizeof(*m));
	m->cfg = *cfg;
	m->be = *be;
	*what = "configuration";
	if (!cfg_ok(cfg, be) || machine_layout(&m->map, cfg->mem_bytes, true) != MM_OK)
		return MM_EINVAL;
	*what = "Early region";
	if (early_init(m) != MM_OK)
		return MM_ENOMEM;
	*what = "frame allocator";
	if (cfg->fops->init(m->frame_st, &m->map, cfg->ncpus, m->frame_meta, m->frame_meta_len))
		return MM_ENOMEM;
	*what = "page tables";
	if (window_tables(m) != MM_OK)
		return MM_ENOMEM;
	m->mmu =
	    (struct mmu){.ctx = m, .map = mach_map, .unmap = mach_unmap, .to_virt = mach_to_virt};
	frame_page_source_init(&m->fps, cfg->fops, m->frame_st, &m->mmu);
	*what = "VA allocator";
	if (cfg->vops->init(m->va_st, be->va_base, be->va_size, m->va_meta, m->va_meta_len,
			    &m->fps.ps))
		return MM_ENOMEM;
	struct frame_stats fs;
	cfg->fops->stats(m->frame_st, &fs);
	uint64_t fixed = cfg->fixed_heap_bytes
			     ? cfg->fixed_heap_bytes
			     : machine_hermit_heap_bytes(fs.free_frames * PAGE_SIZE);
	m->env = (struct heap_env){.ncpus = cfg->ncpus,
				   .frames = cfg->fops,
				   .frame_st = m->frame_st,
				   .va = cfg->vops,
				   .va_st = m->va_st,
				   .mmu = &m->mmu,
				   .fixed_heap_bytes = fixed,
				   .keep_empty_chunks = 1};
	*what = "heap";
	if (!fixed || cfg->hops->init(m->heap_st, &m->env) != MM_OK)
		return MM_ENOMEM;
	/* Free lists keep ranges past their 16 inline ones in the global heap, as Hermit's
	 * SmallVec: here the heap under test (a re-entry from it is refused and counted). */
	heap_rl_init(&m->spill, cfg->hops, m->heap_st);
	if (cfg->fops->set_heap)
		cfg->fops->set_heap(m->frame_st, &m->spill.hook);
	if (cfg->vops->set_heap)
		cfg->vops->set_heap(m->va_st, &m->spill.hook);
	*what = 0;
	return MM_OK;
}

void machine_counts(struct machine *m, struct machine_counts *out)
{
	spin_lock(&m->pt_lock);
	*out = m->n;
	spin_unlock(&m->pt_lock);
}
