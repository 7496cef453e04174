/* va_btree_fixture.h: what the B+-tree VA tests share (header only, static):
 * a page_source of malloc'd 4 KiB frames with identity to_virt and an optional
 * limit (frames beyond it fail with MM_ENOMEM), and a page-exact reference model
 * (one byte per 4 KiB page, 1 = allocated). */
#ifndef VA_BTREE_FIXTURE_H
#define VA_BTREE_FIXTURE_H

#include "testlib.h"

#include <pthread.h>

#include "../va_btree.h"

struct test_ps {
	struct page_source ps;
	pthread_mutex_t mu;
	void **frames;
	size_t n, cap, limit;
	uint64_t failures;
};

static int tps_alloc(void *ctx, uint64_t *pa)
{
	struct test_ps *p = ctx;
	int rc = MM_ENOMEM;
	pthread_mutex_lock(&p->mu);
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->frames = realloc(p->frames, p->cap * sizeof(void *));
		CHECK(p->frames, "out of memory");
	}
	void *f = p->n < p->limit ? aligned_alloc(PAGE_SIZE, PAGE_SIZE) : NULL;
	if (f) {
		memset(f, 0, PAGE_SIZE);
		p->frames[p->n++] = f;
		*pa = (uint64_t)(uintptr_t)f;
		rc = MM_OK;
	} else {
		p->failures++;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static void *tps_to_virt(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static inline void tps_init(struct test_ps *p, size_t limit)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	p->ps = (struct page_source){.ctx = p, .alloc = tps_alloc, .to_virt = tps_to_virt};
	p->limit = limit;
}

static inline void tps_fini(struct test_ps *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->frames[i]);
	free(p->frames);
	pthread_mutex_destroy(&p->mu);
}

/* Zeroed state for a tree (exits on out of memory). */
static inline void *vbt_state(void)
{
	void *st = aligned_alloc(64, MM_ALIGN_UP(va_btree_bare_ops.state_size, (size_t)64));
	CHECK(st, "out of memory");
	memset(st, 0, va_btree_bare_ops.state_size);
	return st;
}

/* A tree over [base, base + pages * 4 KiB) with the given fan-out (best: a
 * best-fit tree). */
static inline void *vbt_new_policy(struct test_ps *p, uint64_t base, uint64_t pages,
				   uint32_t leaf_cap, uint32_t inner_cap, bool best)
{
	void *st = vbt_state();
	int rc = best ? va_btree_init_best_caps(st, base, pages * PAGE_SIZE, &p->ps, leaf_cap,
						inner_cap)
		      : va_btree_init_caps(st, base, pages * PAGE_SIZE, &p->ps, leaf_cap, inner_cap);
	CHECK(rc == MM_OK, "init: %d", rc);
	return st;
}

/* The same first-fit tree with one zone (one tree: its depth grows with all
 * the ranges, not one zone's). */
static inline void *vbt_new_one_zone(struct test_ps *p, uint64_t base, uint64_t pages,
				     uint32_t leaf_cap, uint32_t inner_cap)
{
	void *st = vbt_state();
	int rc = va_btree_init_one_zone(st, base, pages * PAGE_SIZE, &p->ps, leaf_cap, inner_cap);
	CHECK(rc == MM_OK, "init: %d", rc);
	return st;
}

static inline void *vbt_new(struct test_ps *p, uint64_t base, uint64_t pages, uint32_t leaf_cap,
			    uint32_t inner_cap)
{
	return vbt_new_policy(p, base, pages, leaf_cap, inner_cap, false);
}

/* ---- reference model ------------------------------------------------------- */

struct vmodel {
	uint64_t base, pages, used;
	uint8_t *map;
};

static inline void vmodel_init(struct vmodel *m, uint64_t base, uint64_t pages)
{
	m->base = base;
	m->pages = pages;
	m->used = 0;
	m->map = calloc(pages, 1);
	CHECK(m->map, "out of memory");
}

static inline uint64_t vmodel_page(const struct vmodel *m, uint64_t addr)
{
	return (addr - m->base) / PAGE_SIZE;
}

/* True if pages [p, p + n) all have value v. */
static inline bool vmodel_all(const struct vmodel *m, uint64_t p, uint64_t n, uint8_t v)
{
	if (p > m->pages || n > m->pages - p)
		return false;
	for (uint64_t i = p; i < p + n; i++)
		if (m->map[i] != v)
			return false;
	return true;
}

static inline void vmodel_set(struct vmodel *m, uint64_t p, uint64_t n, uint8_t v)
{
	memset(m->map + p, v, n);
	m->used = v ? m->used + n : m->used - n;
}

/* The next maximal free run at or after page *i: pages [*p, *q); *i moves past it.
 * False when no free page is left. */
static inline bool vmodel_run(const struct vmodel *m, uint64_t *i, uint64_t *p, uint64_t *q)
{
	while (*i < m->pages && m->map[*i])
		(*i)++;
	*p = *i;
	while (*i < m->pages && !m->map[*i])
		(*i)++;
	*q = *i;
	return *p < m->pages;
}

/* True if n free pages aligned to align bytes exist (one pass over the runs). */
static inline bool vmodel_fits(const struct vmodel *m, uint64_t n, uint64_t align)
{
	for (uint64_t k = 0, i, j; vmodel_run(m, &k, &i, &j);) {
		uint64_t a = MM_ALIGN_UP(m->base + i * PAGE_SIZE, align);
		if (a + n * PAGE_SIZE <= m->base + j * PAGE_SIZE && a >= m->base + i * PAGE_SIZE)
			return true;
	}
	return false;
}

/* Where plain address-ordered first fit (CPU 0's) puts n pages aligned to align
 * bytes: at the aligned start of the lowest free run of at least need = n +
 * align / 4 KiB - 1 pages, else in the lowest run that holds such a block at
 * all. False if no run holds one. */
static inline bool vmodel_first(const struct vmodel *m, uint64_t n, uint64_t align, uint64_t *addr)
{
	uint64_t need = n + align / PAGE_SIZE - 1, at_fit = 0;
	bool fit = false;
	for (uint64_t k = 0, i, j; vmodel_run(m, &k, &i, &j);) {
		uint64_t s = m->base + i * PAGE_SIZE, e = m->base + j * PAGE_SIZE, a = 0;
		if (j - i >= need) {
			*addr = MM_ALIGN_UP(s, align);
			return true;
		}
		if (!fit && vbt_fits(s, e, n * PAGE_SIZE, align, &a)) {
			fit = true;
			at_fit = a;
		}
	}
	*addr = at_fit;
	return fit;
}

/* Where a CPU whose zone starts at hint (va_btree.c) puts n pages aligned to
 * align bytes: in the lowest free run of at least need pages ending above the
 * hint, at the aligned hint when the run holds the hint and the block fits
 * there, else at the run's aligned start; with no such run, plain first fit
 * (vmodel_first). The tree may take two others, alt[0..2): the run's aligned
 * start when the block at the hint would pass its leaf's upper bound, and,
 * when the run holding the hint starts in a leaf before the hint's (which its
 * search does not look into), the next run of at least need pages. */
static inline bool vmodel_zone(const struct vmodel *m, uint64_t n, uint64_t align, uint64_t hint,
			       uint64_t *addr, uint64_t alt[2])
{
	uint64_t need = n + align / PAGE_SIZE - 1;
	bool found = false;
	for (uint64_t k = 0, i, j; vmodel_run(m, &k, &i, &j);) {
		uint64_t s = m->base + i * PAGE_SIZE, e = m->base + j * PAGE_SIZE, len = j - i;
		if (found && len >= need) { /* the next run after the one holding the hint */
			alt[1] = MM_ALIGN_UP(s, align);
			return true;
		}
		if (len < need || e <= hint)
			continue;
		uint64_t a = MM_ALIGN_UP(MM_MAX(s, hint), align);
		alt[0] = MM_ALIGN_UP(s, align);
		*addr = alt[1] = a + n * PAGE_SIZE <= e ? a : alt[0];
		if (s >= hint)
			return true;
		found = true;
	}
	uint64_t first = 0;
	bool fit = vmodel_first(m, n, align, &first);
	if (!found)
		*addr = alt[0] = first;
	alt[1] = first; /* past the last run: first fit from the base */
	return fit;
}

/* Where best fit puts n pages aligned to align bytes: in the shortest free run
 * of at least need = n + align / 4 KiB - 1 pages, else in the shortest run that
 * holds such a block at all; among runs of equal length the one of smallest
 * vbt_tie(start); at the run's highest aligned block. False if no run holds one. */
static inline bool vmodel_best(const struct vmodel *m, uint64_t n, uint64_t align, uint64_t *addr)
{
	uint64_t need = n + align / PAGE_SIZE - 1, best = UINT64_MAX, best_fit = UINT64_MAX;
	uint64_t at = 0, at_fit = 0, tie = 0, tie_fit = 0;
	for (uint64_t r = 0, i, j; vmodel_run(m, &r, &i, &j);) {
		uint64_t s = m->base + i * PAGE_SIZE, e = m->base + j * PAGE_SIZE, len = j - i;
		uint64_t k = vbt_tie(s), a = 0;
		bool fits = vbt_fits_high(s, e, n * PAGE_SIZE, align, &a);
		if (len >= need && (len < best || (len == best && k < tie))) {
			best = len;
			at = a;
			tie = k;
		}
		if (fits && (len < best_fit || (len == best_fit && k < tie_fit))) {
			best_fit = len;
			at_fit = a;
			tie_fit = k;
		}
	}
	*addr = best != UINT64_MAX ? at : at_fit;
	return best != UINT64_MAX || best_fit != UINT64_MAX;
}

#endif
