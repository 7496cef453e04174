/* va_btree_prim.h: the B+-tree VA allocator's inline primitives, which every
 * layer of the tree uses (va_btree.h includes this after its types; include
 * va_btree.h, not this): the OLC version protocol (Leis et al. 2019), node
 * scans and searches, the zone arithmetic, and the fit tests. Nothing here
 * locks or writes a node but vbt_upgrade and vbt_unlock.
 */
#ifndef MM_VA_BTREE_PRIM_H
#define MM_VA_BTREE_PRIM_H

/* ---- OLC primitives (Leis et al. 2019) ---------------------------------------- */

/* Waits while n is locked, its version into *v; false if n is obsolete. */
static inline bool vbt_read_lock(struct vbt_node *n, uint64_t *v)
{
	uint64_t x;
	while ((x = atomic_load_acq(&n->version)) & VBT_LOCKED)
		cpu_relax();
	*v = x;
	return !(x & VBT_OBSOLETE);
}

static inline bool vbt_validate(const struct vbt_node *n, uint64_t v)
{
	return atomic_load_acq(&n->version) == v;
}

/* Locks n if its version is still v (never waits); false if it changed. */
static inline bool vbt_upgrade(struct vbt_node *n, uint64_t v)
{
	uint64_t x = v;
	return atomic_cas(&n->version, &x, v + VBT_LOCKED);
}

/* Unlocks a node this thread locked (only the holder writes a locked version
 * word, so a plain release store suffices); the counter moves on. */
static inline void vbt_unlock(struct vbt_node *n)
{
	atomic_store_rel(&n->version, atomic_load_rlx(&n->version) + VBT_LOCKED);
}

/* One step of an optimistic root-to-leaf path. */
struct vbt_step {
	struct vbt_node *n;
	uint64_t v;
	uint64_t cmax; /* gap[idx]: the child's largest range, as validated here */
	uint64_t pre;  /* max(gap[0..idx)) when the descent read it, else VBT_NO_PRE */
	uint32_t idx;  /* child taken (inner nodes) */
};
#define VBT_NO_PRE UINT64_MAX /* no prefix maximum known */

/* A root-to-leaf path read optimistically in zone z's tree; [lo, hi) bounds
 * the leaf's starts, zhi the zone's (hi <= zhi). */
struct vbt_path {
	uint32_t depth; /* s[depth] is the leaf */
	uint32_t z;
	uint64_t lo, hi, zhi;
	struct vbt_step s[VBT_MAX_DEPTH];
};

/* Replaces leaf entries [from, to) with the k ranges r[0..k) (at most two each). */
struct vbt_edit {
	uint32_t from, to, k;
	uint64_t r[2][2];
};

/* count clamped to the arrays of a node of the given level (garbage-safe). */
static inline uint32_t vbt_clamp(uint32_t count, uint32_t level)
{
	uint32_t cap = level ? VBT_INNER_CAP : VBT_LEAF_CAP;
	return count < cap ? count : cap;
}

/* Largest end - start among leaf entries [from, to), two independent maxima so
 * the loop is not one dependency chain. */
static inline uint64_t vbt_leaf_max(const struct vbt_node *n, uint32_t from, uint32_t to)
{
	const uint64_t *st = n->leaf.start, *en = n->leaf.end;
	uint64_t m0 = 0, m1 = 0;
	uint32_t i = from;
	for (; i + 1 < to; i += 2) {
		uint64_t g0 = VBT_LD(en[i]) - VBT_LD(st[i]);
		uint64_t g1 = VBT_LD(en[i + 1]) - VBT_LD(st[i + 1]);
		m0 = g0 > m0 ? g0 : m0;
		m1 = g1 > m1 ? g1 : m1;
	}
	if (i < to) {
		uint64_t g0 = VBT_LD(en[i]) - VBT_LD(st[i]);
		m0 = g0 > m0 ? g0 : m0;
	}
	return m0 > m1 ? m0 : m1;
}

/* Largest gap among inner entries [from, to). */
static inline uint64_t vbt_gap_max(const struct vbt_node *n, uint32_t from, uint32_t to)
{
	const uint64_t *gap = n->in.gap;
	uint64_t m0 = 0, m1 = 0;
	uint32_t i = from;
	for (; i + 1 < to; i += 2) {
		uint64_t g0 = VBT_LD(gap[i]), g1 = VBT_LD(gap[i + 1]);
		m0 = g0 > m0 ? g0 : m0;
		m1 = g1 > m1 ? g1 : m1;
	}
	if (i < to) {
		uint64_t g0 = VBT_LD(gap[i]);
		m0 = g0 > m0 ? g0 : m0;
	}
	return m0 > m1 ? m0 : m1;
}

/* Largest end - start below n (leaf: over its ranges; inner: over gap[]). */
static inline uint64_t vbt_node_max(const struct vbt_node *n, uint32_t level, uint32_t count)
{
	return level ? vbt_gap_max(n, 0, count) : vbt_leaf_max(n, 0, count);
}

/* Number of a[0..len) <= x for sorted a: a branch-free binary search (the
 * halving is a conditional move; the loop runs log2(len) times whatever x is,
 * so it is predicted). Garbage input still gives a count in [0, len]. plain: plain
 * loads, for a writer of a best-fit tree (under t->slow nobody else writes what it
 * reads; the compiler may combine them); else acquire loads (optimistic readers). */
VBT_INLINE uint32_t vbt_upper_any(const uint64_t *a, uint32_t len, uint64_t x, bool plain)
{
	const uint64_t *b = a;
	if (!len)
		return 0;
	while (len > 1) {
		uint32_t half = len / 2;
		b = (plain ? b[half - 1] : VBT_LD(b[half - 1])) <= x ? b + half : b;
		len -= half;
	}
	return (uint32_t)(b - a) + ((plain ? b[0] : VBT_LD(b[0])) <= x);
}

static inline uint32_t vbt_upper(const uint64_t *a, uint32_t len, uint64_t x)
{
	return vbt_upper_any(a, len, x, false);
}

static inline uint32_t vbt_upper_locked(const uint64_t *a, uint32_t len, uint64_t x)
{
	return vbt_upper_any(a, len, x, true);
}

/* Child index for key x: the last i in [1, count) with key[i] <= x, else 0. */
static inline uint32_t vbt_route(const struct vbt_node *n, uint32_t count, uint64_t x)
{
	return count < 2 ? 0 : vbt_upper(&n->in.key[1], count - 1, x);
}

/* Number of leaf entries with start <= x. */
static inline uint32_t vbt_rank(const struct vbt_node *n, uint32_t count, uint64_t x)
{
	return vbt_upper(n->leaf.start, count, x);
}

/* The 4 KiB pages [*a, *b) holding [addr, addr + size); false unless they are a
 * non-empty part of t's range. */
static inline bool vbt_span(const struct va_btree *t, uint64_t addr, uint64_t size, uint64_t *a,
			    uint64_t *b)
{
	*a = MM_ALIGN_DOWN(addr, PAGE_SIZE);
	*b = addr + size < addr ? 0 : MM_ALIGN_UP(addr + size, PAGE_SIZE);
	return *a >= t->base && *b > *a && *b <= t->base + t->size;
}

/* ---- zones (one tree each; va_btree.c has the policy) ---- */

/* The zone whose tree holds a range starting at x (x in [base, base + size));
 * a shift when zsize is a power of two (zshift), else a divide, whose latency
 * sits on every free's path to the root. */
static inline uint32_t vbt_zone_of(const struct va_btree *t, uint64_t x)
{
	if (t->nzones == 1 || x < t->base)
		return 0;
	uint64_t d = x - t->base, z = t->zshift ? d >> t->zshift : d / t->zsize;
	return z < t->nzones ? (uint32_t)z : t->nzones - 1;
}

/* Zone z's first address. */
static inline uint64_t vbt_zstart(const struct va_btree *t, uint32_t z)
{
	return t->base + z * t->zsize;
}

/* Bounds of zone z's starts as its tree's descents use them: [zstart, next
 * zone's start), except 0 below zone 0 and UINT64_MAX above the last (the
 * sentinels of "no leaf before / after" across all zones). */
static inline uint64_t vbt_zlo(const struct va_btree *t, uint32_t z)
{
	return z ? vbt_zstart(t, z) : 0;
}

static inline uint64_t vbt_zhi(const struct va_btree *t, uint32_t z)
{
	return z + 1 < t->nzones ? vbt_zstart(t, z + 1) : UINT64_MAX;
}

/* Zone z's root into *n, read-locked at *v and still the root after (a root
 * replaced meanwhile is obsolete or no longer z's); false to read it again. */
static inline bool vbt_read_root(struct va_btree *t, uint32_t z, struct vbt_node **n, uint64_t *v)
{
	struct vbt_node *const *r = &t->zone[z].root;
	*n = atomic_load_acq(r);
	return vbt_read_lock(*n, v) && atomic_load_acq(r) == *n;
}

/* True if size bytes aligned to align fit in [s, e); the address into *a. */
static inline bool vbt_fits(uint64_t s, uint64_t e, uint64_t size, uint64_t align, uint64_t *a)
{
	if (s > UINT64_MAX - (align - 1))
		return false;
	*a = MM_ALIGN_UP(s, align);
	return *a < e && e - *a >= size;
}

/* Best fit: the size index's tie key of a range starting at s (va_btree_best.c:
 * among ranges of equal length the smallest key wins): s times an odd constant,
 * a bijection on 64-bit values, so keys stay unique; vbt_untie inverts it. */
#define VBT_TIE_MUL 0x9e3779b97f4a7c15ull
#define VBT_TIE_INV 0xf1de83e19937733dull /* VBT_TIE_MUL^-1 mod 2^64 */
static inline uint64_t vbt_tie(uint64_t s)
{
	return s * VBT_TIE_MUL;
}

static inline uint64_t vbt_untie(uint64_t k)
{
	return k * VBT_TIE_INV;
}

/* True if size bytes aligned to align fit in [s, e); the highest such address
 * into *a (best fit carves the high end). */
static inline bool vbt_fits_high(uint64_t s, uint64_t e, uint64_t size, uint64_t align, uint64_t *a)
{
	if (e - s < size)
		return false;
	*a = MM_ALIGN_DOWN(e - size, align);
	return *a >= s;
}

#endif
