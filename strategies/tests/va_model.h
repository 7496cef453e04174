/* va_model.h: the reference model of the VA tests (header only): one byte per
 * 4 KiB page of [base, base+size), 0 free and 1 used, with the queries the suite
 * compares a strategy's answers and stats against. */
#ifndef VA_MODEL_H
#define VA_MODEL_H

#include "va_strategies.h"

struct va_model {
	uint64_t base, pages;
	uint8_t *used;
};

static inline void va_model_init(struct va_model *m, uint64_t base, uint64_t size)
{
	m->base = base;
	m->pages = size >> PAGE_SHIFT;
	m->used = calloc(m->pages + 1, 1);
	CHECK(m->used, "out of memory");
}

/* True if [addr, addr+len) lies in the range and every page of it is `v`. */
static inline bool va_model_all(const struct va_model *m, uint64_t addr, uint64_t len, uint8_t v)
{
	if (addr < m->base || (addr - m->base) >> PAGE_SHIFT > m->pages ||
	    len >> PAGE_SHIFT > m->pages - ((addr - m->base) >> PAGE_SHIFT))
		return false;
	uint64_t p = (addr - m->base) >> PAGE_SHIFT;
	for (uint64_t i = 0; i < len >> PAGE_SHIFT; i++)
		if (m->used[p + i] != v)
			return false;
	return true;
}

static inline void va_model_set(struct va_model *m, uint64_t addr, uint64_t len, uint8_t v)
{
	memset(m->used + ((addr - m->base) >> PAGE_SHIFT), v, len >> PAGE_SHIFT);
}

static inline uint64_t va_model_free_bytes(const struct va_model *m)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < m->pages; i++)
		n += !m->used[i];
	return n << PAGE_SHIFT;
}

/* The next maximal free run at or after page *i: [*s, *e) in bytes, and *i moves to
 * its end; false (nothing set) when no free page is left. */
static inline bool va_model_next_run(const struct va_model *m, uint64_t *i, uint64_t *s,
				     uint64_t *e)
{
	while (*i < m->pages && m->used[*i])
		++*i;
	if (*i >= m->pages)
		return false;
	uint64_t j = *i;
	while (j < m->pages && !m->used[j])
		j++;
	*s = m->base + (*i << PAGE_SHIFT);
	*e = m->base + (j << PAGE_SHIFT);
	*i = j;
	return true;
}

/* True if some free run holds len bytes at an address aligned to align. */
static inline bool va_model_fits(const struct va_model *m, uint64_t len, uint64_t align)
{
	for (uint64_t i = 0, s, e; va_model_next_run(m, &i, &s, &e);) {
		uint64_t a = MM_ALIGN_UP(s, align);
		if (a >= s && a < e && len <= e - a)
			return true;
	}
	return false;
}

/* Largest aligned power-of-two block (at most cap bytes) inside [s, e). */
static inline uint64_t va_model_largest_block(uint64_t s, uint64_t e, uint64_t cap)
{
	uint64_t best = 0;
	while (s < e) { /* the maximal aligned decomposition holds the largest one */
		uint64_t b = MM_MIN(1ull << mm_log2_floor(e - s), cap);
		if (s)
			b = MM_MIN(b, 1ull << __builtin_ctzll(s));
		best = MM_MAX(best, b);
		s += b;
	}
	return best;
}

/* Maximal free runs, the largest one, and the largest aligned pow2 block in one. */
static inline void va_model_runs(const struct va_model *m, uint64_t cap, uint64_t *runs,
				 uint64_t *largest_run, uint64_t *largest_block)
{
	*runs = *largest_run = *largest_block = 0;
	for (uint64_t i = 0, s, e; va_model_next_run(m, &i, &s, &e);) {
		++*runs;
		*largest_run = MM_MAX(*largest_run, e - s);
		*largest_block = MM_MAX(*largest_block, va_model_largest_block(s, e, cap));
	}
}

#endif
