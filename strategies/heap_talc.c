/* heap_talc.c: a Talc-like heap (today's Hermit): binned free gaps with boundary
 * tags over one fixed heap, behind one spinlock. Written from Talc's published
 * design (binning with a bitfield of non-empty bins, O(1) two-way coalescing),
 * in the style of dlmalloc's chunk layout.
 *
 * Memory: arenas. The first arena is env->fixed_heap_bytes, mapped at init (VA
 * from env->va, frames from env->frames). `talc` (heap_talc_ops) is Hermit's heap:
 * that one fixed arena never grows, and an allocation no gap fits fails (out of
 * memory is a result: Talc's efficiency at first failure). `talc-grow`
 * (heap_talc_grow_ops) claims one more arena (at least the fixed size) instead.
 * Each arena:
 *
 *   base: [struct talc_arena][pad][chunk][chunk]...[chunk][end sentinel (8 B)]
 *
 * A chunk starts with an 8-byte header (size | INUSE | PREV_INUSE); its payload
 * follows the header and is 16-byte aligned (headers sit at 8 mod 16). Chunk
 * sizes are multiples of 16, at least 32. A free chunk holds its bin links after
 * the header and repeats its size in its last 8 bytes (the footer), so free()
 * finds the previous chunk in O(1) when PREV_INUSE is clear. Invariants:
 *   - chunks tile [first, end) exactly; the sentinel is INUSE with size 0;
 *   - no two free chunks are adjacent (free coalesces both ways);
 *   - PREV_INUSE of a chunk == INUSE of the chunk before it (first: set);
 *   - a free chunk is in bin talc_bin_of(size), bit b of bitfield == bins[b] != 0.
 * Bins: 30 linear bins (32..496 B, 16 apart), then 8 sub-bins per power of two.
 * Alloc takes a fitting chunk from the size's own bin (bounded first-fit scan),
 * else the first chunk of the next non-empty bin (all of those fit), splitting
 * the rest off when it is a whole chunk. Realloc grows in place into a free next
 * chunk and shrinks in place. Footprint = sum over arenas of the high-water mark
 * (highest chunk end ever handed out minus arena base), as DESIGN.md defines it.
 */
#include "heap_back.h"
#include "sync.h"

#define TALC_HDR      8ull
#define TALC_MIN      32ull
#define TALC_INUSE    1ull
#define TALC_PREV     2ull
#define TALC_FLAGS    15ull
#define TALC_NBINS    256u
#define TALC_LINEAR   30u
#define TALC_SCAN     64u	      /* first-fit scan bound within a bin */
#define TALC_PIECE    (256u << 10)    /* arenas are backed piecewise */
#define TALC_PIECE_BL (TALC_PIECE / PAGE_SIZE)
#define TALC_MAX_REQ  ((uint64_t)1 << 46) /* bigger sizes or alignments fail */

struct talc_free {
	uint64_t head;
	struct talc_free *next, *prev;
};

struct talc_arena {
	struct talc_arena *next;
	uint64_t base, size; /* mapped [base, base + size) */
	uint64_t first, end; /* first chunk header, end sentinel header */
	uint64_t hwm;	     /* highest chunk end handed out */
};

struct talc {
	struct spinlock lock;
	struct heap_env env;
	uint64_t bitfield[TALC_NBINS / 64];
	struct talc_free *bins[TALC_NBINS];
	struct talc_arena *arenas;
	uint64_t narenas, frames, va_bytes, footprint, inuse_chunks, inuse_bytes;
	bool grows; /* talc-grow: claim arenas past the fixed heap */
};

/* ---- chunk helpers ------------------------------------------------------- */

static inline uint64_t *talc_hdr(uint64_t h)
{
	return (uint64_t *)(uintptr_t)h;
}

static inline uint64_t talc_size(uint64_t h)
{
	return *talc_hdr(h) & ~TALC_FLAGS;
}

static inline uint64_t talc_need(size_t size)
{
	uint64_t n = MM_ALIGN_UP((uint64_t)size + TALC_HDR, 16);
	return n < TALC_MIN ? TALC_MIN : n;
}

static unsigned talc_bin_of(uint64_t size)
{
	if (size < 512)
		return (unsigned)(size >> 4) - 2;
	unsigned e = mm_log2_floor(size);
	unsigned b = TALC_LINEAR + (e - 9) * 8 + (unsigned)((size >> (e - 3)) & 7);
	return b < TALC_NBINS ? b : TALC_NBINS - 1;
}

static void talc_bin_insert(struct talc *t, uint64_t h)
{
	unsigned b = talc_bin_of(talc_size(h));
	struct talc_free *c = (struct talc_free *)(uintptr_t)h;
	c->prev = NULL;
	c->next = t->bins[b];
	if (c->next)
		c->next->prev = c;
	t->bins[b] = c;
	t->bitfield[b / 64] |= 1ull << (b % 64);
}

static void talc_bin_remove(struct talc *t, uint64_t h)
{
	struct talc_free *c = (struct talc_free *)(uintptr_t)h;
	unsigned b = talc_bin_of(talc_size(h));
	if (c->prev)
		c->prev->next = c->next;
	else
		t->bins[b] = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (!t->bins[b])
		t->bitfield[b / 64] &= ~(1ull << (b % 64));
}

/* Makes [h, h+size) one free chunk (header, footer, bin); prev is its PREV_INUSE
 * bit. The caller keeps the next chunk's PREV_INUSE clear. */
static void talc_make_free(struct talc *t, uint64_t h, uint64_t size, uint64_t prev)
{
	*talc_hdr(h) = size | prev;
	*talc_hdr(h + size - 8) = size;
	talc_bin_insert(t, h);
}

static void talc_set_prev(uint64_t h, bool inuse)
{
	if (inuse)
		*talc_hdr(h) |= TALC_PREV;
	else
		*talc_hdr(h) &= ~TALC_PREV;
}

/* Leading pad that puts h's payload on align (0 or a whole chunk). */
static uint64_t talc_pad(uint64_t h, uint64_t align)
{
	uint64_t p = h + TALC_HDR;
	if (align <= 16)
		return 0;
	uint64_t q = MM_ALIGN_UP(p, align);
	if (q != p && q - p < TALC_MIN)
		q += align;
	return q - p;
}

static void talc_note_hwm(struct talc *t, uint64_t end)
{
	struct talc_arena *first = t->arenas;
	if (end <= first->hwm && end > first->base) /* the common case: below the mark */
		return;
	for (struct talc_arena *a = first; a; a = a->next)
		if (end > a->base && end <= a->base + a->size) {
			if (end > a->hwm) {
				t->footprint += end - a->hwm;
				a->hwm = end;
			}
			return;
		}
}

/* ---- allocation ---------------------------------------------------------- */

/* Turns free chunk h into an in-use chunk of need bytes whose payload is on
 * align; leading pad and a whole-chunk tail go back to the bins. */
static void *talc_take(struct talc *t, uint64_t h, uint64_t need, uint64_t align)
{
	uint64_t cs = talc_size(h), prev = TALC_PREV;
	talc_bin_remove(t, h);
	uint64_t pad = talc_pad(h, align);
	if (pad) {
		talc_make_free(t, h, pad, TALC_PREV);
		h += pad;
		cs -= pad;
		prev = 0;
	}
	MM_ASSERT(cs >= need, "talc: chunk too small for the request");
	if (cs - need >= TALC_MIN)
		talc_make_free(t, h + need, cs - need, TALC_PREV);
	else {
		need = cs;
		talc_set_prev(h + cs, true);
	}
	*talc_hdr(h) = need | TALC_INUSE | prev;
	t->inuse_chunks++;
	t->inuse_bytes += need;
	talc_note_hwm(t, h + need);
	return (void *)(uintptr_t)(h + TALC_HDR);
}

/* A free chunk with room for need bytes at align, or 0. */
static uint64_t talc_find(struct talc *t, uint64_t need, uint64_t align)
{
	uint64_t want = align <= 16 ? need : need + align + TALC_MIN;
	unsigned b = talc_bin_of(want);
	unsigned k = 0;
	for (struct talc_free *c = t->bins[b]; c && k < TALC_SCAN; c = c->next, k++) {
		uint64_t h = (uint64_t)(uintptr_t)c;
		if (talc_size(h) >= talc_pad(h, align) + need)
			return h;
	}
	for (unsigned w = (b + 1) / 64; w < TALC_NBINS / 64; w++) {
		uint64_t m = t->bitfield[w];
		if (w == (b + 1) / 64)
			m &= (b + 1) % 64 ? ~0ull << ((b + 1) % 64) : ~0ull;
		if (b + 1 >= TALC_NBINS)
			m = 0;
		if (m)
			return (uint64_t)(uintptr_t)t->bins[w * 64 + (unsigned)__builtin_ctzll(m)];
	}
	if (b == TALC_NBINS - 1) /* the last bin holds every size: scan all of it */
		for (struct talc_free *c = t->bins[b]; c; c = c->next) {
			uint64_t h = (uint64_t)(uintptr_t)c;
			if (talc_size(h) >= talc_pad(h, align) + need)
				return h;
		}
	return 0;
}

/* Rolls back the first `mapped` bytes of an arena claim: each backed piece
 * keeps its block list in its own first bytes until the claim succeeds. */
static void talc_unclaim(struct talc *t, unsigned cpu, uint64_t va, uint64_t mapped)
{
	for (uint64_t off = 0; off < mapped; off += TALC_PIECE) {
		uint64_t *rec = talc_hdr(va + off), bl[TALC_PIECE_BL];
		unsigned n = (unsigned)rec[0];
		for (unsigned i = 0; i < n; i++)
			bl[i] = rec[1 + i];
		heap_unback_range(&t->env, cpu, va + off, MM_MIN(TALC_PIECE, mapped - off), bl, n);
	}
}

/* Maps one more arena of at least min_bytes with the caller's cpu (the layers below
 * may be free lists, which tell a re-entry by it); 0 or MM_ENOMEM. */
static int talc_claim(struct talc *t, unsigned cpu, uint64_t min_bytes)
{
	uint64_t size = MM_ALIGN_UP(MM_MAX(min_bytes, (uint64_t)PAGE_SIZE), PAGE_SIZE), va;
	if (t->env.va->alloc(t->env.va_st, cpu, size, SIZE_2M, &va) != MM_OK)
		return MM_ENOMEM;
	for (uint64_t off = 0; off < size; off += TALC_PIECE) {
		uint64_t bl[TALC_PIECE_BL], len = MM_MIN((uint64_t)TALC_PIECE, size - off);
		unsigned n;
		if (heap_back_range(&t->env, cpu, va + off, len, bl, TALC_PIECE_BL, &n) != MM_OK) {
			talc_unclaim(t, cpu, va, off);
			t->env.va->free(t->env.va_st, cpu, va, size);
			return MM_ENOMEM;
		}
		uint64_t *rec = talc_hdr(va + off);
		rec[0] = n;
		for (unsigned i = 0; i < n; i++)
			rec[1 + i] = bl[i];
	}
	struct talc_arena *a = (struct talc_arena *)(uintptr_t)va, **tail = &t->arenas;
	*a = (struct talc_arena){NULL, va, size, 0, 0, va};
	a->first = MM_ALIGN_UP(va + sizeof(*a) + TALC_HDR, 16) - TALC_HDR;
	a->end = va + size - TALC_HDR;
	*talc_hdr(a->end) = TALC_INUSE; /* sentinel; PREV_INUSE clear: first chunk free */
	talc_make_free(t, a->first, a->end - a->first, TALC_PREV);
	while (*tail)
		tail = &(*tail)->next;
	*tail = a;
	t->narenas++;
	t->frames += size / PAGE_SIZE;
	t->va_bytes += size;
	return MM_OK;
}

static void *talc_alloc_locked(struct talc *t, unsigned cpu, size_t size, size_t align)
{
	if (size > TALC_MAX_REQ || align > TALC_MAX_REQ)
		return NULL;
	uint64_t need = talc_need(size);
	uint64_t h = talc_find(t, need, align);
	if (!h) {
		if (!t->grows)
			return NULL; /* Hermit's fixed heap: out of memory */
		uint64_t min = need + align + TALC_MIN + sizeof(struct talc_arena) + 64;
		if (talc_claim(t, cpu, MM_MAX(min, t->env.fixed_heap_bytes)) != MM_OK)
			return NULL;
		h = talc_find(t, need, align);
		MM_ASSERT(h, "talc: a fresh arena has no room for the request");
	}
	return talc_take(t, h, need, align);
}

static void talc_free_locked(struct talc *t, uint64_t h)
{
	uint64_t hd = *talc_hdr(h), size = hd & ~TALC_FLAGS;
	MM_ASSERT(hd & TALC_INUSE, "talc: free of a chunk that is not in use");
	t->inuse_chunks--;
	t->inuse_bytes -= size;
	uint64_t next = h + size;
	if (!(*talc_hdr(next) & TALC_INUSE)) {
		talc_bin_remove(t, next);
		size += talc_size(next);
	}
	uint64_t prev = hd & TALC_PREV;
	if (!prev) {
		uint64_t ps = *talc_hdr(h - 8);
		h -= ps;
		MM_ASSERT(!(*talc_hdr(h) & TALC_INUSE) && talc_size(h) == ps,
			  "talc: footer of the previous chunk is corrupt");
		talc_bin_remove(t, h);
		size += ps;
		prev = *talc_hdr(h) & TALC_PREV;
	}
	talc_make_free(t, h, size, prev);
	talc_set_prev(h + size, false);
}

/* Resizes in-use chunk h to need bytes in place (shrink, or grow into a free
 * next chunk); false when it cannot. */
static bool talc_resize_in_place(struct talc *t, uint64_t h, uint64_t need)
{
	uint64_t hd = *talc_hdr(h), cs = hd & ~TALC_FLAGS, next = h + cs, total = cs;
	bool next_free = !(*talc_hdr(next) & TALC_INUSE);
	if (need > cs) {
		if (!next_free || cs + talc_size(next) < need)
			return false;
		total += talc_size(next);
		talc_bin_remove(t, next);
		next_free = false;
	}
	if (total - need >= TALC_MIN) {
		uint64_t tail = h + need, ts = total - need;
		if (next_free) { /* shrinking next to a free chunk: merge with it */
			talc_bin_remove(t, next);
			ts += talc_size(next);
		}
		talc_make_free(t, tail, ts, TALC_PREV);
		talc_set_prev(tail + ts, false);
	} else {
		need = total;
		talc_set_prev(h + total, true);
	}
	*talc_hdr(h) = need | (hd & TALC_FLAGS);
	t->inuse_bytes += need - cs;
	talc_note_hwm(t, h + need);
	return true;
}

/* ---- the heap_ops table ---------------------------------------------------- */

static int talc_init(void *st, const struct heap_env *env)
{
	struct talc *t = st;
	if (!env->frames || !env->va || !env->mmu || env->fixed_heap_bytes < PAGE_SIZE)
		return MM_EINVAL;
	mm_zero(t, sizeof(*t));
	t->env = *env;
	return talc_claim(t, 0, env->fixed_heap_bytes); /* init runs on the boot CPU */
}

static int talc_init_grow(void *st, const struct heap_env *env)
{
	int rc = talc_init(st, env);
	((struct talc *)st)->grows = true;
	return rc;
}

static void *talc_alloc(void *st, unsigned cpu, size_t size, size_t align)
{
	struct talc *t = st;
	MM_ASSERT(MM_IS_POW2(align), "talc: alignment is not a power of two");
	spin_lock(&t->lock);
	void *p = talc_alloc_locked(t, cpu, size, align);
	spin_unlock(&t->lock);
	return p;
}

static void talc_free(void *st, unsigned cpu, void *p, size_t size, size_t align)
{
	struct talc *t = st;
	if (!p)
		return;
	spin_lock(&t->lock);
	talc_free_locked(t, (uint64_t)(uintptr_t)p - TALC_HDR);
	spin_unlock(&t->lock);
}

static void *talc_realloc(void *st, unsigned cpu, void *p, size_t old_size, size_t align,
			  size_t new_size)
{
	struct talc *t = st;
	uint64_t h = (uint64_t)(uintptr_t)p - TALC_HDR;
	if (new_size > TALC_MAX_REQ)
		return NULL;
	spin_lock(&t->lock);
	void *q = p;
	if (!talc_resize_in_place(t, h, talc_need(new_size))) {
		q = talc_alloc_locked(t, cpu, new_size, align);
		if (q) {
			__builtin_memcpy(q, p, MM_MIN(old_size, new_size));
			talc_free_locked(t, h);
		}
	}
	spin_unlock(&t->lock);
	return q;
}

/* Walks one arena: tiling, flags, footers, no adjacent free chunks. Counts
 * free chunks and in-use chunks/bytes into the pointers. */
static void talc_check_arena(const struct talc_arena *a, uint64_t *nfree, uint64_t *nuse,
			     uint64_t *buse)
{
	uint64_t h = a->first;
	bool prev_inuse = true;
	while (h < a->end) {
		uint64_t hd = *talc_hdr(h), s = hd & ~TALC_FLAGS;
		MM_ASSERT(s >= TALC_MIN && s % 16 == 0 && h + s <= a->end, "talc: bad chunk size");
		MM_ASSERT(!!(hd & TALC_PREV) == prev_inuse, "talc: PREV_INUSE out of date");
		bool inuse = hd & TALC_INUSE;
		MM_ASSERT(inuse || prev_inuse, "talc: two adjacent free chunks");
		if (inuse) {
			(*nuse)++;
			*buse += s;
			MM_ASSERT(h + s <= a->hwm, "talc: in-use chunk above the high-water mark");
		} else {
			MM_ASSERT(*talc_hdr(h + s - 8) == s, "talc: footer does not match header");
			(*nfree)++;
		}
		prev_inuse = inuse;
		h += s;
	}
	MM_ASSERT(h == a->end, "talc: chunks do not tile the arena");
	MM_ASSERT((*talc_hdr(h) & ~TALC_PREV) == TALC_INUSE, "talc: end sentinel corrupt");
	MM_ASSERT(!!(*talc_hdr(h) & TALC_PREV) == prev_inuse, "talc: sentinel PREV_INUSE");
}

static bool talc_check(const void *st)
{
	struct talc *t = (struct talc *)st;
	spin_lock(&t->lock);
	uint64_t nfree = 0, nuse = 0, buse = 0, binned = 0, fp = 0;
	for (const struct talc_arena *a = t->arenas; a; a = a->next) {
		talc_check_arena(a, &nfree, &nuse, &buse);
		fp += a->hwm - a->base;
	}
	for (unsigned b = 0; b < TALC_NBINS; b++) {
		bool bit = (t->bitfield[b / 64] >> (b % 64)) & 1;
		MM_ASSERT(bit == (t->bins[b] != NULL), "talc: bitfield disagrees with bins");
		const struct talc_free *prev = NULL;
		for (const struct talc_free *c = t->bins[b]; c; prev = c, c = c->next) {
			uint64_t h = (uint64_t)(uintptr_t)c;
			MM_ASSERT(!(c->head & TALC_INUSE), "talc: in-use chunk in a bin");
			MM_ASSERT(talc_bin_of(talc_size(h)) == b, "talc: chunk in the wrong bin");
			MM_ASSERT(c->prev == prev, "talc: broken bin links");
			binned++;
		}
	}
	MM_ASSERT(binned == nfree, "talc: free chunks missing from the bins");
	MM_ASSERT(nuse == t->inuse_chunks && buse == t->inuse_bytes, "talc: in-use accounting");
	MM_ASSERT(fp == t->footprint, "talc: footprint accounting");
	spin_unlock(&t->lock);
	return true;
}

static void talc_stats(const void *st, struct heap_stats *out)
{
	struct talc *t = (struct talc *)st;
	spin_lock(&t->lock);
	mm_zero(out, sizeof(*out));
	out->footprint = t->footprint;
	out->peak_footprint = t->footprint; /* a high-water mark never goes down */
	out->frames = t->frames;
	out->va_bytes = t->va_bytes;
	out->meta_bytes = sizeof(*t) + t->narenas * sizeof(struct talc_arena) +
			  t->inuse_chunks * TALC_HDR;
	spin_unlock(&t->lock);
}

const struct heap_ops heap_talc_ops = {
	.name = "talc",
	.state_size = sizeof(struct talc),
	.init = talc_init,
	.alloc = talc_alloc,
	.free = talc_free,
	.realloc = talc_realloc,
	.check = talc_check,
	.stats = talc_stats,
};

const struct heap_ops heap_talc_grow_ops = {
	.name = "talc-grow",
	.state_size = sizeof(struct talc),
	.init = talc_init_grow,
	.alloc = talc_alloc,
	.free = talc_free,
	.realloc = talc_realloc,
	.check = talc_check,
	.stats = talc_stats,
};
