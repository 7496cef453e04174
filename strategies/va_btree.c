/* va_btree.c: VIRT=btree, a B+-tree of free ranges keyed by start address, with
 * optimistic lock coupling (Leis, Haubenschild, Neumann 2019, "Optimistic Lock
 * Coupling: A Scalable and Efficient General-Purpose Synchronization Method").
 * Node layout and invariants in va_btree.h; structural changes in
 * va_btree_slow.c; the invariant walk in va_btree_check.c.
 *
 * Invariants (quiescent):
 *     free ranges disjoint, sorted, coalesced: end[i] < start[i+1]
 *     sum(end - start) + reserved_bytes == size
 *     nodes_total == 4 * frames >= vbt_nodes_needed(live + 1)
 *
 * Allocation policy: with need = size + align - 4 KiB, any free range of
 * length >= need holds an aligned block, so the gap values are a safe filter:
 * descend to the leftmost range >= need (address-ordered first fit, O(log n)).
 * Only if none exists (possible only when align > 4 KiB) a locked walk visits
 * the subtrees holding a range >= size and takes the leftmost exact aligned fit,
 * so alloc fails with MM_ENOMEM only when no aligned fit exists at all.
 */
#include "va_btree.h"

static size_t vbt_meta_size(uint64_t base, uint64_t size)
{
	return 0;
}

int va_btree_init_caps(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
		       uint32_t leaf_cap, uint32_t inner_cap)
{
	struct va_btree *t = st;
	if (!size || ((base | size) & (PAGE_SIZE - 1)) || base + size < base ||
	    base + size == 0 || !ps || leaf_cap < VBT_MIN_CAP || leaf_cap > VBT_LEAF_CAP ||
	    inner_cap < VBT_MIN_CAP || inner_cap > VBT_INNER_CAP)
		return MM_EINVAL;
	mm_zero(t, sizeof(*t));
	t->base = base;
	t->size = size;
	t->ps = *ps;
	t->leaf_cap = leaf_cap;
	t->inner_cap = inner_cap;
	t->leaf_min = leaf_cap / 2;
	t->inner_min = inner_cap / 2;
	return vbt_slow_init_root(t);
}

static int vbt_init(void *st, uint64_t base, uint64_t size, void *meta, size_t meta_len,
		    const struct page_source *ps)
{
	return va_btree_init_caps(st, base, size, ps, VBT_LEAF_CAP, VBT_INNER_CAP);
}

static void add_reserved(struct va_btree *t, unsigned cpu, uint64_t delta)
{
	atomic_fetch_add_rlx(&t->cpu[cpu % VBT_CPU_SLOTS].reserved, delta);
}

/* Locked alloc, with the node reserve grown for `live` allocations first. */
static int alloc_slow(struct va_btree *t, uint64_t live, uint64_t size, uint64_t align,
		      uint64_t need, uint64_t *addr)
{
	struct vbt_op op;
	vbt_slow_begin(t, &op);
	int rc = vbt_reserve_nodes(&op, live + 1);
	if (rc == MM_OK)
		rc = vbt_slow_alloc(&op, size, align, need, addr);
	vbt_slow_end(&op);
	return rc;
}

static int vbt_alloc(void *st, unsigned cpu, uint64_t size, uint64_t align, uint64_t *addr)
{
	struct va_btree *t = st;
	align = align ? align : PAGE_SIZE;
	if (!size || !MM_IS_POW2(align))
		return MM_EINVAL;
	if (size > t->size)
		return MM_ENOMEM;
	align = MM_MAX(align, PAGE_SIZE);
	size = MM_ALIGN_UP(size, PAGE_SIZE);
	uint64_t need = align - PAGE_SIZE > UINT64_MAX - size ? UINT64_MAX : size + align - PAGE_SIZE;
	uint64_t live = atomic_fetch_add_acqrel(&t->live, 1) + 1;
	int rc = alloc_slow(t, live, size, align, need, addr);
	if (rc == MM_OK)
		add_reserved(t, cpu, size);
	else
		atomic_fetch_add_acqrel(&t->live, (uint64_t)-1);
	return rc;
}

static void vbt_free(void *st, unsigned cpu, uint64_t addr, uint64_t size)
{
	struct va_btree *t = st;
	uint64_t a = MM_ALIGN_DOWN(addr, PAGE_SIZE);
	uint64_t b = addr + size < addr ? 0 : MM_ALIGN_UP(addr + size, PAGE_SIZE);
	if (!size || a < t->base || b <= a || b > t->base + t->size)
		mm_panic("va_btree: free outside the managed range");
	struct vbt_op op;
	vbt_slow_begin(t, &op);
	vbt_slow_free(&op, a, b);
	vbt_slow_end(&op);
	add_reserved(t, cpu, (uint64_t)0 - (b - a));
	atomic_fetch_add_acqrel(&t->live, (uint64_t)-1);
}

static int vbt_reserve(void *st, uint64_t addr, uint64_t size)
{
	struct va_btree *t = st;
	uint64_t lo = MM_ALIGN_DOWN(addr, PAGE_SIZE);
	uint64_t hi = addr + size < addr ? 0 : MM_ALIGN_UP(addr + size, PAGE_SIZE);
	if (lo < t->base || hi <= lo || hi > t->base + t->size)
		return MM_EINVAL;
	uint64_t live = atomic_fetch_add_acqrel(&t->live, 1) + 1;
	struct vbt_op op;
	vbt_slow_begin(t, &op);
	int rc = vbt_slow_reserve(&op, lo, hi, live + 1);
	vbt_slow_end(&op);
	if (rc == MM_OK)
		add_reserved(t, 0, hi - lo);
	else
		atomic_fetch_add_acqrel(&t->live, (uint64_t)-1);
	return rc;
}

const struct va_ops va_btree_ops = {
	.name = "btree",
	.state_size = sizeof(struct va_btree),
	.meta_size = vbt_meta_size,
	.init = vbt_init,
	.alloc = vbt_alloc,
	.free = vbt_free,
	.reserve = vbt_reserve,
	.check = vbt_check,
	.stats = vbt_stats,
};
