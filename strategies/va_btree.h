/* va_btree.h: internals of the B+-tree VA allocator (va_btree.c: ops table and
 * policy; va_btree_prim.h: inline primitives; va_btree_node.c: node pool and
 * entry moves; va_btree_fast.c:
 * optimistic descents, first fit, leaf-local alloc and free; va_btree_edit.c,
 * va_btree_edit.h: leaf edits under the path's locks; va_btree_smo.c: lock-coupled structure
 * changes (split, borrow, merge); va_btree_xleaf.c: edits of two adjacent
 * leaves; va_btree_slow.c: the serialised path (edits across zones, rare
 * fallbacks); va_btree_best.c, va_btree_sz.c: best fit's size index, kept by
 * the edits of the files above; va_btree_check.c: invariant walk and stats).
 *
 * Zones: a first-fit tree is a forest. The range is cut into VBT_CPU_SLOTS
 * zones (CPU k's first fit starts at zone k's start), and each zone has a
 * B+-tree of its own, of the free ranges that start in it:
 *
 *     base                zstart(1)            zstart(2)             base+size
 *     |  zone 0: tree 0   |  zone 1: tree 1    |  ...                 |
 *     [--)  [----)    [-------)  [--)    [------------------------------)
 *                     ^ starts in zone 0, ends in zone 1: tree 0;
 *                       zone 1's reach is its end
 *
 * A range may run past its zone's end; a zone's reach (struct vbt_zone) is the
 * end of the range with the largest start below the zone if that end is at or
 * past the zone's start. CPUs in different zones then share no node, not even
 * a root, which is what two threads' speedup depends on (README). A best-fit
 * tree, or a range under VBT_CPU_SLOTS pages, has one zone.
 *
 * Layout: 1 KiB nodes, four to a 4 KiB frame from the page_source. A leaf holds
 * free ranges [start[i], end[i]) sorted by start; an inner node holds children
 * with key[i] = lower bound of child i's starts (key[0] unused) and
 * gap[i] = largest end - start in child i's subtree. Per node:
 *     key[i] <= every start below child[i] < key[i+1]
 *     gap[i] == max(end - start) below child[i]
 * Version word (Leis et al. 2019): bit 0 obsolete, bit 1 locked, the rest a
 * counter; unlock adds 2 (clears the lock bit, bumps the counter), so a version
 * never repeats, not even when a freed node is reused.
 */
#ifndef MM_VA_BTREE_H
#define MM_VA_BTREE_H

#include "sync.h"
#include "va.h"

#define VBT_NODE_SIZE	    1024u
#define VBT_NODES_PER_FRAME ((unsigned)(PAGE_SIZE / VBT_NODE_SIZE))
#define VBT_LEAF_CAP	    62u /* (1024 - 32) / 16 */
#define VBT_INNER_CAP	    41u /* (1024 - 32) / 24 */
#define VBT_MIN_CAP	    4u	/* smallest fan-out the test hook accepts */
#define VBT_SZ_LEAF_CAP	    16u /* best fit's size trees: keys per leaf (shorter shifts) */
#define VBT_MAX_DEPTH	    32u
#define VBT_MAX_LOCKED	    256u /* nodes one slow operation may lock */
#define VBT_CPU_SLOTS	    64u
#define VBT_FAST_TRIES	    32 /* restarts before first fit's starvation guard (t->slow) */

/* Best fit's bins (va_btree_best.c): lengths below VBT_BIN_SUB pages one bin
 * each, then VBT_BIN_SUB bins per octave of page counts up to VBT_BIN_TOP,
 * longer ones in the last bin; empty size-tree nodes kept for reuse
 * (va_btree_sz.c). The table (struct vbt_bins) fills one page_source frame. */
#define VBT_BIN_SUB_BITS 4u
#define VBT_BIN_SUB	 (1u << VBT_BIN_SUB_BITS)
#define VBT_BIN_TOP	 33u /* the last octave with bins of its own: 2^33 pages */
#define VBT_BINS	 ((VBT_BIN_TOP - VBT_BIN_SUB_BITS + 2) * VBT_BIN_SUB)
#define VBT_BIN_WORDS	 ((VBT_BINS + 63) / 64)
#define VBT_STRIPES	 16u /* bin locks: bin b under stripe b % VBT_STRIPES */
#define VBT_STRIPE_SPARE 1u  /* spare size-tree nodes a stripe keeps */

#define VBT_OBSOLETE 1ull
#define VBT_LOCKED   2ull

/* Fast-path results besides MM_OK / MM_E*: retry optimistically, or go elsewhere
 * (VBT_SLOW: a two-leaf edit). */
#define VBT_RESTART 1
#define VBT_SLOW    2
#define VBT_SERIAL  3 /* an edit of two zones' trees, or of a zone's reach: t->slow */
#define VBT_FULL    4 /* the leaf holding the key has no room: split it, retry */
#define VBT_LOW	    5 /* the leaf holding the key is at its minimum: grow it, retry */

struct vbt_node {
	uint64_t version;	    /* OLC version word (atomic) */
	uint32_t count;		    /* entries (leaf) or children (inner) */
	uint32_t level;		    /* 0 = leaf */
	struct vbt_node *next_free; /* tree-local free list (under t->pool) */
	uint64_t slow_tag;	    /* atomic: serial op seq << 1 that locked it (0 when freed) */
	union {
		struct {
			uint64_t start[VBT_LEAF_CAP];
			uint64_t end[VBT_LEAF_CAP];
		} leaf;
		struct {
			uint64_t key[VBT_INNER_CAP];
			uint64_t gap[VBT_INNER_CAP];
			struct vbt_node *child[VBT_INNER_CAP];
		} in;
	};
};
_Static_assert(sizeof(struct vbt_node) <= VBT_NODE_SIZE, "vbt_node larger than a node slot");

/* Per CPU slot. word = reserved-byte deltas (multiples of 4 KiB, wrapping; the
 * sum over slots is exact) + credits in the low 12 bits: allocation units this
 * slot took from the tree's `granted` and has not used. An alloc takes a credit
 * and accounts its bytes in one CAS, a free gives both back, so the common case
 * touches no shared counter. Credits stay below 2 * VBT_CREDIT_BATCH plus one
 * batch per thread refilling the slot at once (< 4096 for < 250 such threads).
 * fast, slow: allocs/frees finished on the optimistic and on the serialised path
 * (MM_DEBUG). Structure changes made by this slot's threads (always counted,
 * they are rare): splits, merges, borrows,
 * overlaps (MM_DEBUG: structure changes that began while another thread was
 * inside one), serial (operations that took t->slow in a first-fit tree). Root
 * growth counts as a split and root shrink as a merge, and both in t->roots. */
struct vbt_cpu {
	_Alignas(64) uint64_t word; /* line aligned: one slot, one line, no neighbour */
	uint64_t fast, slow;
	uint64_t splits, merges, borrows, overlaps, serial;
};
_Static_assert(sizeof(struct vbt_cpu) == 64, "vbt_cpu is one cache line");
#define VBT_CREDIT_MASK	 (PAGE_SIZE - 1)
#define VBT_CREDIT_BATCH 16u

/* Best fit's bins (one frame): a size tree per bin of lengths (NULL: empty);
 * bit b of map (atomic) set iff bin b is non-empty. root[b] and bit b change
 * only under stripe b % VBT_STRIPES's lock. */
struct vbt_bins {
	struct vbt_node *root[VBT_BINS];
	uint64_t map[VBT_BIN_WORDS];
};
_Static_assert(sizeof(struct vbt_bins) <= PAGE_SIZE, "vbt_bins larger than a frame");

/* A bin lock and what it guards besides its bins' trees: up to
 * VBT_STRIPE_SPARE spare size-tree nodes (va_btree_sz.c). One line each; the
 * VBT_STRIPES of them fill one frame. */
struct vbt_stripe {
	_Alignas(64) struct spinlock lock;
	uint32_t nspare;
	struct vbt_node *spare;
	struct va_btree *t;
};
_Static_assert(sizeof(struct vbt_stripe) == 64, "vbt_stripe is one cache line");
_Static_assert(VBT_STRIPES * sizeof(struct vbt_stripe) <= PAGE_SIZE, "stripes larger than a frame");

/* A zone: the B+-tree of the free ranges that start in it (a root leaf, maybe
 * empty, at least), and its reach: the end of the free range with the largest
 * start below the zone's start if that end is at or past it, else 0 (zone 0:
 * always 0). One line each: a root changes on root growth and shrink, a reach
 * only on the serialised path, so CPUs working in different zones share no
 * written line here. */
struct vbt_zone {
	_Alignas(
	    64) struct vbt_node *root; /* atomic; changed only by a writer holding the old root */
	uint64_t reach;		       /* atomic; written only under t->slow */
};

struct va_btree {
	uint64_t base, size;
	struct page_source ps;
	uint32_t leaf_cap, inner_cap, leaf_min, inner_min;
	uint32_t sz_leaf_cap, sz_leaf_min; /* best fit: the size index's leaf fill */
	bool best; /* best fit: every range edit also edits the bins (va_btree_best.c) */
	uint32_t nzones;    /* VBT_CPU_SLOTS, or 1 when the range is under VBT_CPU_SLOTS pages */
	uint64_t zsize;	    /* a zone's bytes (the last zone takes the rest) */
	uint32_t zshift;    /* log2(zsize) if a power of two, else 0 */
	uint64_t entry_cap; /* atomic: free ranges the node reserve is sized for */
	char pad0[64];
	/* atomic: allocation units handed out = allocations and reservations
	 * outstanding + credits in the cpu slots; granted + 1 <= entry_cap, except
	 * while a writer (under `pool`) grows the reserve for its own unit. */
	uint64_t granted;
	char pad1[64];
	/* Serialised writers (rare fallbacks, va_btree_slow.c): `slow` and
	 * slow_seq only under it. */
	struct spinlock slow;
	uint64_t slow_seq;
	struct vbt_bins *bins;	    /* best fit: the size index (va_btree_best.c), else NULL */
	struct vbt_stripe *stripes; /* best fit: the bin locks, VBT_STRIPES of them */
	char pad2[64];
	/* Node pool (va_btree_node.c): `pool` guards the fields up to pad3; held
	 * for a list push or pop, or while frames are added. */
	struct spinlock pool;
	struct vbt_node *free_nodes;
	uint64_t nodes_total, nodes_free, frames;
	char pad3[64];
	uint64_t smo_active; /* atomic (MM_DEBUG): structure changes in progress */
	uint64_t roots;	     /* atomic: root growths and shrinks */
	uint64_t sheds;	     /* atomic: borrows made instead of a split (va_btree_smo.c) */
	uint64_t xleaf;	     /* atomic: two-leaf edits done (va_btree_xleaf.c) */
	char pad4[64];
	struct vbt_cpu cpu[VBT_CPU_SLOTS];
	struct vbt_zone zone[VBT_CPU_SLOTS];
};
_Static_assert(__builtin_offsetof(struct va_btree, cpu) % 64 == 0, "CPU slots share no line");

/* One slow operation: the nodes it has locked, unlocked together at the end. */
struct vbt_op {
	struct va_btree *t;
	uint64_t seq;
	uint32_t nlocked;
	struct vbt_node *locked[VBT_MAX_LOCKED];
};

/* Node fields are read by optimistic readers while writers change them, so every
 * access that may race is atomic: loads acquire (a later version re-read cannot
 * move before them) and stores release (they cannot move before the lock CAS).
 * This is the seqlock pattern without standalone fences, which TSan does not
 * model; on x86-64 both are plain moves. */
#define VBT_LD(x)    __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define VBT_ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* Best fit's hot helpers (va_btree_best.c, va_btree_sz.h), and alloc_first:
 * inlined even where called twice; each is a few dozen instructions on a small
 * tree, as many as a call and its register saves would add (callgrind: 1,137 ->
 * 887 instructions per alloc+free pair at 10 live ranges). */
#define VBT_INLINE static inline __attribute__((always_inline))

/* The inline primitives: OLC, node scans, zones, fits. */
#include "va_btree_prim.h"

/* ---- va_btree_node.c (node pool, entry moves; core) ---- */
/* Nodes a tree of `entries` free ranges can need at most (fill bounds). */
uint64_t vbt_nodes_needed(const struct va_btree *t, uint64_t entries);
/* Grows the node reserve to cover `entries` free ranges (under t->pool); 0 or
 * MM_ENOMEM (the page_source is out of frames; what was added stays). */
int vbt_reserve_nodes(struct va_btree *t, uint64_t entries);
/* A node from the reserve, locked by the caller (version counter kept), empty,
 * at `level`; panics if the reserve is exhausted (it covers the bound). */
struct vbt_node *vbt_pool_get(struct va_btree *t, uint32_t level);
/* Unlocks n (locked by the caller) as obsolete and returns it to the pool. */
void vbt_pool_put(struct va_btree *t, struct vbt_node *n);
/* Largest range below a node the caller holds (or quiescent). */
uint64_t vbt_lmax(const struct vbt_node *n);
/* Entry moves on nodes the caller holds locked (va_btree_node.c has the details). */
void vbt_mv_entry(struct vbt_node *d, uint32_t di, const struct vbt_node *s, uint32_t si);
void vbt_open_at(struct vbt_node *n, uint32_t pos);
void vbt_close_at(struct vbt_node *n, uint32_t pos);
void vbt_set_inner(struct vbt_node *n, uint32_t i, uint64_t key, struct vbt_node *c);
/* Splits n (full) into n and the empty node r, half each; the separator (r's
 * lowest key) into the return value. */
uint64_t vbt_split_into(struct vbt_node *n, struct vbt_node *r);
/* Moves entries between the children li and li + 1 of p (l, r), towards r if
 * to_right: half the difference of their counts, at least one (so a node that
 * keeps losing entries at one end borrows again only after as many more), fixing
 * p's separator (gap values are the caller's). */
void vbt_borrow(struct vbt_node *p, uint32_t li, struct vbt_node *l, struct vbt_node *r,
		bool to_right);
/* Appends r (child li + 1 of p) to l (child li) and removes it from p (r is
 * left for the caller to free; gap values are the caller's). */
void vbt_merge_into(struct vbt_node *p, uint32_t li, struct vbt_node *l, struct vbt_node *r);

/* ---- va_btree_edit.c (leaf edits under the path's locks; below fast.c) ---- */
/* Applies ed to the path's leaf, locking T..leaf (the nodes whose largest range
 * changes, and the one above); pre: the largest range before ed->from when known.
 * MM_OK, VBT_RESTART, VBT_FULL, VBT_LOW, VBT_SLOW (a start outside the leaf's bounds). */
int vbt_apply(struct va_btree *t, struct vbt_path *p, const struct vbt_edit *ed, uint64_t pre);
/* Entry j of the path's leaf (cnt entries, read as length ov) becomes [s, e),
 * locking T..leaf where the leaf's largest range changes; MM_OK or VBT_RESTART. */
int vbt_apply_one_up(struct va_btree *t, struct vbt_path *p, uint32_t cnt, uint32_t j, uint64_t ov,
		     uint64_t s, uint64_t e, uint64_t pre);
/* The edit replacing leaf entry j = [s, e) by what is left around [a, a + size). */
struct vbt_edit vbt_carve_edit(uint32_t j, uint64_t s, uint64_t e, uint64_t a, uint64_t size);
/* Replaces leaf entries [from, to) of n (cnt entries, locked) by ed's ranges. */
void vbt_leaf_move(struct vbt_node *n, uint32_t cnt, const struct vbt_edit *ed);

/* ---- va_btree_fast.c (optimistic; see there) ---- */
/* Optimistic descent by key x to the leaf whose separator range holds x;
 * MM_OK or VBT_RESTART. */
int vbt_descend_key(struct va_btree *t, struct vbt_path *p, uint64_t x);
/* Optimistic alloc in zone z's tree: its leftmost range >= need, carved at its
 * start (aligned); MM_OK (*addr set), MM_ENOMEM (the tree holds no range >=
 * need, validated at its root), VBT_RESTART, VBT_FULL, VBT_LOW, VBT_SLOW (a
 * remainder belongs to the next leaf, vbt_xleaf_carve) or VBT_SERIAL (the start
 * of the range chosen in *key, the address chosen in *addr). */
int vbt_fast_alloc(struct va_btree *t, uint32_t z, uint64_t size, uint64_t align, uint64_t need,
		   uint64_t *addr, uint64_t *key);
/* Optimistic free of [a, b) coalescing within one leaf, the free range it
 * ends up in into m[0..2); MM_OK, VBT_RESTART, VBT_FULL, VBT_LOW (key: a), or
 * VBT_SLOW (a neighbour may be in the adjacent leaf: vbt_xleaf_free). */
int vbt_fast_free(struct va_btree *t, uint64_t a, uint64_t b, uint64_t m[2]);
/* Optimistic carve of [a, a + size) out of the free range starting at s that
 * holds it; MM_OK, VBT_RESTART (no such range now), VBT_FULL, VBT_LOW (key: s),
 * VBT_SLOW (a remainder belongs to the next leaf: vbt_xleaf_carve), VBT_SERIAL
 * (the carve changes what lies past the zone's end: vbt_slow_carve). */
int vbt_fast_carve(struct va_btree *t, uint64_t s, uint64_t a, uint64_t size);

/* ---- va_btree_smo.c (structure changes, lock-coupled; above fast.c) ---- */
/* Makes the node at `level` on key's path able to take one more entry,
 * splitting it (and full nodes above it first); counts in c. */
void vbt_smo_split(struct va_btree *t, struct vbt_cpu *c, uint64_t key, uint32_t level);
/* Makes the node at `level` on key's path able to lose one entry (above its
 * minimum, or the root), borrowing from or merging with a sibling; counts in c. */
void vbt_smo_grow(struct va_btree *t, struct vbt_cpu *c, uint64_t key, uint32_t level);

/* ---- va_btree_xleaf.c (edits across two adjacent leaves; above fast.c) ---- */
/* Free of [a, b) whose neighbour is the last range of the leaf before a's or
 * the first of the leaf after it; MM_OK, VBT_RESTART, VBT_FULL or VBT_LOW (a
 * key in the leaf concerned into *key); panics on a double free. */
int vbt_xleaf_free(struct va_btree *t, uint64_t a, uint64_t b, uint64_t *key);
/* Carve of [a, a + size) out of the free range starting at s, whose right
 * remainder goes to the next leaf; MM_OK, VBT_RESTART (no such range now, or
 * it fits one leaf now), VBT_FULL, VBT_LOW (*key as above). */
int vbt_xleaf_carve(struct va_btree *t, uint64_t s, uint64_t a, uint64_t size, uint64_t *key);
/* The leftmost free range holding size bytes aligned to align (an optimistic
 * walk of the subtrees with a range >= size, zone by zone): its start into *s,
 * the address into *a; MM_OK or MM_ENOMEM (none seen; each node validated as
 * read, each zone's tree on its own). */
int vbt_exact_find(struct va_btree *t, uint64_t size, uint64_t align, uint64_t *s, uint64_t *a);

/* ---- va_btree_slow.c (serialised: best fit, rare first-fit fallbacks) ---- */
/* Takes the slow-writer lock and starts an operation. */
void vbt_slow_begin(struct va_btree *t, struct vbt_op *op);
/* Unlocks every node of the operation, drops the lock. */
void vbt_slow_end(struct vbt_op *op);
/* A fresh root leaf holding [base, base + size); 0 or MM_ENOMEM. */
int vbt_slow_init_root(struct va_btree *t);
/* Locked alloc: first fit from zone z0's start as the fast path makes it
 * (va_btree.c), else the leftmost exact aligned fit; 0 or MM_ENOMEM. */
int vbt_slow_alloc(struct vbt_op *op, uint64_t size, uint64_t align, uint64_t need, uint32_t z0,
		   uint64_t *addr);
/* Locked carve of [a, a + size) out of the free range starting at s; MM_OK, or
 * VBT_RESTART if no such range holds it now. */
int vbt_slow_carve(struct vbt_op *op, uint64_t s, uint64_t a, uint64_t size);
/* Locked free of [a, b) with coalescing; panics if any of it is free. */
void vbt_slow_free(struct vbt_op *op, uint64_t a, uint64_t b);
/* Locked take of exactly [lo, hi), growing the node reserve to `entries` ranges
 * first; 0, MM_EBUSY, or MM_ENOMEM. */
int vbt_slow_reserve(struct vbt_op *op, uint64_t lo, uint64_t hi, uint64_t entries);
/* A node from the reserve, locked by op, empty, at `level` (never fails: the
 * reserve covers the bound). */
struct vbt_node *vbt_node_new(struct vbt_op *op, uint32_t level);
/* Returns node n (locked for op first if need be) to the pool, obsolete. */
void vbt_node_free(struct vbt_op *op, struct vbt_node *n);

/* ---- va_btree_best.c (best fit's size index: bins of size trees,
 * va_btree_sz.c, under per-bin stripe locks; below the edit layer) ---- */
/* The bins of a fresh tree (two frames): one key, the whole range; MM_OK or
 * MM_ENOMEM. */
int vbt_best_init(struct va_btree *t);
/* The size index after a range edit whose caller holds the lock of every leaf
 * holding the ranges concerned: the ranges old[0..no) leave it, nw[0..nn) enter
 * it. Called through vbt_ix (first fit keeps no index). */
void vbt_best_index(struct va_btree *t, const uint64_t (*old)[2], uint32_t no,
		    const uint64_t (*nw)[2], uint32_t nn);
/* vbt_best_index of leaf n's entry j (UINT32_MAX: none; n locked) becoming
 * [ns, ne) (ns == ne: none). */
void vbt_best_index_entry(struct va_btree *t, const struct vbt_node *n, uint32_t j, uint64_t ns,
			  uint64_t ne);
/* vbt_best_index of leaf n's entries [from, to) (n locked) becoming ed's ranges. */
void vbt_best_index_edit(struct va_btree *t, const struct vbt_node *n, const struct vbt_edit *ed);
/* The best range for size bytes aligned to align (need = size + align - 4 KiB)
 * as the bins show it, read bin by bin: its start into *s, the highest aligned
 * block in it into *a; false if none was seen. */
bool vbt_best_find(const struct va_btree *t, uint64_t size, uint64_t align, uint64_t need,
		   uint64_t *s, uint64_t *a);
/* True if the size index holds the range [addr, addr + len) (quiescent). */
bool vbt_sz_has(const struct va_btree *t, uint64_t len, uint64_t addr);
/* Walks the bins (quiescent): panics unless every size tree is well formed and
 * holds only lengths of its bin, the map matches the bins, the stripes' spare
 * lists match their counts, and they hold `ranges` keys; returns their node
 * count (spares included). */
uint64_t vbt_sz_check(const struct va_btree *t, uint64_t ranges);

/* The size index after an edit (vbt_best_index) when t keeps one: ranges
 * old[0..no) become nw[0..nn). */
static inline void vbt_ix(struct va_btree *t, const uint64_t (*old)[2], uint32_t no,
			  const uint64_t (*nw)[2], uint32_t nn)
{
	if (t->bins)
		vbt_best_index(t, old, no, nw, nn);
}

/* vbt_ix of leaf n's entry j (n locked; j == UINT32_MAX: none) becoming [ns,
 * ne) (ns == ne: none); reads the entry only when t keeps an index. */
static inline void vbt_ix1(struct va_btree *t, const struct vbt_node *n, uint32_t j, uint64_t ns,
			   uint64_t ne)
{
	if (t->bins)
		vbt_best_index_entry(t, n, j, ns, ne);
}

/* ---- va_btree_check.c ---- */
/* Full invariant walk (quiescent tree); panics with a message on a violation. */
bool vbt_check(const void *st);
/* Statistics; exact when no writer runs concurrently. */
void vbt_stats(const void *st, struct va_stats *out);

/* The tree alone, without the per-CPU quantum caches of va_btree_qcache.c:
 * first fit, and best fit (btree-bare-best). */
extern const struct va_ops va_btree_bare_ops;
extern const struct va_ops va_btree_bare_best_ops;
/* Free range with the largest start <= x into *s, *e (optimistic, safe against
 * concurrent writers); false if none. */
bool va_btree_pred(struct va_btree *t, uint64_t x, uint64_t *s, uint64_t *e);

/* ---- va_btree_qcache.c (VIRT=btree: the tree behind per-CPU quantum caches) ---- */
/* btree-best: the same caches in front of a best-fit tree. */
extern const struct va_ops va_btree_best_ops;
/* Allocs served by the caches (*hits) and passed to the tree (*misses, cached
 * sizes only), and the bytes cached now (*cached; quiescent). */
void va_btree_qcache_counts(const void *st, uint64_t *hits, uint64_t *misses, uint64_t *cached);

/* ---- test hooks (va_btree.c) ---- */
/* init() with a smaller fan-out (VBT_MIN_CAP <= cap <= VBT_*_CAP) so tests reach
 * many levels with few ranges; 0, or MM_EINVAL, MM_ENOMEM. */
int va_btree_init_caps(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
		       uint32_t leaf_cap, uint32_t inner_cap);
/* The same with a single zone: one tree, every CPU's first fit from the base
 * (for tests of one tree's shape under many ranges). */
int va_btree_init_one_zone(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
			   uint32_t leaf_cap, uint32_t inner_cap);
/* The same for a best-fit tree (btree-bare-best). */
int va_btree_init_best_caps(void *st, uint64_t base, uint64_t size, const struct page_source *ps,
			    uint32_t leaf_cap, uint32_t inner_cap);
/* Copies up to max free ranges in address order into out (quiescent); returns the count. */
size_t va_btree_ranges(const void *st, uint64_t (*out)[2], size_t max);
/* Allocs and frees completed on the optimistic (*fast) and locked (*slow) paths
 * (counted only with MM_DEBUG; 0 and 0 otherwise). */
void va_btree_path_counts(const void *st, uint64_t *fast, uint64_t *slow);
/* Structure changes counted in cpu slot `cpu` (every slot: cpu >= VBT_CPU_SLOTS;
 * roots, sheds and xleaf are tree-wide either way); see struct vbt_cpu. */
struct vbt_counts {
	uint64_t splits, merges, borrows, overlaps, serial, roots, sheds, xleaf;
};
void va_btree_smo_counts(const void *st, unsigned cpu, struct vbt_counts *out);
/* Height of the tallest zone tree (1 = a single leaf each). */
unsigned va_btree_height(const void *st);

#endif
