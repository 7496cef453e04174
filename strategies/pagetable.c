/* pagetable.c: map, unmap and translate in x86_64 4-level page tables.
 *
 * Levels: 3 = PML4 (512 GiB per entry), 2 = PDPT (1 GiB), 1 = PD (2 MiB),
 * 0 = PT (4 KiB). A leaf is a level-0 entry or a present entry with PS at
 * level 1 or 2. Invariants: every present non-leaf entry points to a table
 * frame obtained from alloc_frame; leaves hold page-aligned physical addresses;
 * intermediate entries carry P|W (permissions are decided at the leaf).
 * The Intel SDM vol. 3A ch. 4.5 is the reference.
 */
#include "pagetable.h"

static inline uint64_t level_size(int level)
{
	return (uint64_t)1 << (12 + 9 * level);
}

static inline unsigned level_index(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * level)) & 511;
}

static uint64_t *table_at(const struct pagetable *pt, uint64_t pa)
{
	return pt->to_virt(pt->ctx, pa & PTE_ADDR);
}

static bool is_leaf(uint64_t e, int level)
{
	return (e & PTE_P) && (level == 0 || (e & PTE_PS));
}

/* Entry for va at `level`, creating tables on the way when `create`. NULL with
 * *err = MM_EBUSY (a large page is in the way), MM_ENOMEM, or MM_EINVAL (absent). */
static uint64_t *walk(struct pagetable *pt, uint64_t va, int level, bool create, int *err)
{
	uint64_t *table = table_at(pt, pt->root);
	for (int l = 3; l > level; l--) {
		uint64_t *e = &table[level_index(va, l)];
		if (!(*e & PTE_P)) {
			uint64_t pa;
			*err = create ? pt->alloc_frame(pt->ctx, &pa) : MM_EINVAL;
			if (*err != MM_OK)
				return NULL;
			*e = pa | PTE_P | PTE_W;
		} else if (is_leaf(*e, l)) {
			*err = MM_EBUSY;
			return NULL;
		}
		table = table_at(pt, *e);
	}
	return &table[level_index(va, level)];
}

int pt_init(struct pagetable *pt)
{
	return pt->alloc_frame(pt->ctx, &pt->root);
}

/* Largest page level usable at (va, pa) with rest bytes left. */
static int map_level(const struct pagetable *pt, uint64_t va, uint64_t pa, uint64_t rest)
{
	for (int l = pt->has_1g ? 2 : 1; l > 0; l--)
		if (((va | pa) & (level_size(l) - 1)) == 0 && rest >= level_size(l))
			return l;
	return 0;
}

int pt_map(struct pagetable *pt, uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
	if (((va | pa | len) & (PAGE_SIZE - 1)) || (flags & ~PT_FLAGS) || va + len < va)
		return MM_EINVAL;
	uint64_t done = 0;
	int err = MM_OK;
	while (done < len) {
		uint64_t v = va + done, p = pa + done;
		int level = map_level(pt, v, p, len - done);
		uint64_t *e;
		for (;;) {
			e = walk(pt, v, level, true, &err);
			/* A table already hangs here: map with smaller pages into it. */
			if (e && level > 0 && (*e & PTE_P) && !(*e & PTE_PS)) {
				level--;
				continue;
			}
			break;
		}
		if (e && (*e & PTE_P))
			err = MM_EBUSY;
		if (err != MM_OK) {
			pt_unmap(pt, va, done); /* cannot split: only whole pages we mapped */
			return err;
		}
		*e = p | flags | PTE_P | (level > 0 ? PTE_PS : 0);
		done += level_size(level);
	}
	return MM_OK;
}

/* Replaces the large page at *e (level >= 1) by a table of next-level pages. */
static int split(struct pagetable *pt, uint64_t *e, int level)
{
	uint64_t pa;
	int rc = pt->alloc_frame(pt->ctx, &pa);
	if (rc != MM_OK)
		return rc;
	uint64_t *t = table_at(pt, pa);
	uint64_t base = *e & PTE_ADDR & ~(level_size(level) - 1);
	uint64_t flags = *e & PT_FLAGS;
	for (unsigned i = 0; i < 512; i++)
		t[i] = (base + i * level_size(level - 1)) | flags | PTE_P |
		       (level - 1 > 0 ? PTE_PS : 0);
	*e = pa | PTE_P | PTE_W;
	return MM_OK;
}

int pt_unmap(struct pagetable *pt, uint64_t va, uint64_t len)
{
	if (((va | len) & (PAGE_SIZE - 1)) || va + len < va)
		return MM_EINVAL;
	uint64_t v = va, end = va + len;
	while (v < end) {
		uint64_t *table = table_at(pt, pt->root), *e = NULL;
		int l = 3;
		for (;; l--) {
			e = &table[level_index(v, l)];
			if (!(*e & PTE_P) || is_leaf(*e, l))
				break;
			table = table_at(pt, *e);
		}
		uint64_t size = level_size(l), base = v & ~(size - 1);
		if (!(*e & PTE_P)) {
			v = base + size;
			continue;
		}
		if (base < va || base + size > end) {
			int rc = split(pt, e, l);
			if (rc != MM_OK)
				return rc;
			continue;
		}
		*e = 0;
		v = base + size;
	}
	return MM_OK;
}

int pt_lookup(const struct pagetable *pt, uint64_t va, uint64_t *pa, uint64_t *page_size,
	      uint64_t *flags)
{
	const uint64_t *table = table_at(pt, pt->root);
	for (int l = 3; l >= 0; l--) {
		uint64_t e = table[level_index(va, l)];
		if (!(e & PTE_P))
			return MM_EINVAL;
		if (is_leaf(e, l)) {
			uint64_t size = level_size(l);
			*pa = ((e & PTE_ADDR) & ~(size - 1)) + (va & (size - 1));
			*page_size = size;
			*flags = e & PT_FLAGS;
			return MM_OK;
		}
		table = table_at(pt, e);
	}
	return MM_EINVAL;
}
