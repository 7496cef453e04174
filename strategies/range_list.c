/* range_list.c: the sorted free-range list shared by the Hermit baselines
 * (frame_freelist.c, va_freelist.c); algorithm, spilling and invariants in
 * range_list.h. Every operation is a linear walk: O(n) in the ranges held.
 */
#include "range_list.h"

size_t rl_spill_bytes(uint64_t worst)
{
	worst = MM_MAX(worst, 2 * (uint64_t)RL_INLINE);
	return (size_t)(MM_MIN(worst, (uint64_t)RL_SPILL_MAX) * sizeof(struct rl_range));
}

void rl_init(struct range_list *l, void *spill, size_t spill_len)
{
	mm_zero(l, sizeof(*l));
	l->v = l->inl;
	l->cap = RL_INLINE;
	l->spill = spill;
	l->spill_cap = (uint32_t)MM_MIN(spill_len / sizeof(struct rl_range), RL_SPILL_MAX);
}

/* Makes room for one more range (the SmallVec spill, then Vec doubling); false if
 * the spill array is full. */
static bool rl_grow(struct range_list *l)
{
	if (l->n < l->cap)
		return true;
	uint32_t cap = MM_MIN(l->cap * 2, l->spill_cap);
	if (cap <= l->n)
		return false;
	if (l->v == l->inl) {
		for (uint32_t i = 0; i < l->n; i++)
			l->spill[i] = l->inl[i];
		l->v = l->spill;
	}
	l->cap = cap;
	l->spills++;
	return true;
}

/* Inserts r at index i; the caller made room (rl_grow). */
static void rl_insert(struct range_list *l, uint32_t i, struct rl_range r)
{
	for (uint32_t j = l->n; j > i; j--)
		l->v[j] = l->v[j - 1];
	l->v[i] = r;
	l->n++;
	l->max_n = MM_MAX(l->max_n, l->n);
}

static void rl_remove(struct range_list *l, uint32_t i)
{
	for (uint32_t j = i + 1; j < l->n; j++)
		l->v[j - 1] = l->v[j];
	l->n--;
}

/* Carves [s, s+len) out of range i, which contains it; MM_ENOMEM if a split needs
 * a slot and none is left (list unchanged). */
static int rl_carve(struct range_list *l, uint32_t i, uint64_t s, uint64_t len)
{
	struct rl_range *r = &l->v[i];
	uint64_t e = s + len;
	if (r->start == s && r->end == e) {
		rl_remove(l, i);
	} else if (r->start == s) {
		r->start = e;
	} else if (r->end == e) {
		r->end = s;
	} else {
		if (!rl_grow(l))
			return MM_ENOMEM;
		r = &l->v[i]; /* rl_grow may have moved the array */
		struct rl_range tail = {e, r->end};
		r->end = s;
		rl_insert(l, i + 1, tail);
	}
	l->sum -= len;
	return MM_OK;
}

int rl_first_fit(struct range_list *l, uint64_t len, uint64_t align, uint64_t *start)
{
	for (uint32_t i = 0; i < l->n; i++) {
		uint64_t s = MM_ALIGN_UP(l->v[i].start, align);
		if (s >= l->v[i].start && s < l->v[i].end && len <= l->v[i].end - s) {
			if (rl_carve(l, i, s, len) == MM_OK) {
				*start = s;
				return MM_OK;
			}
		}
	}
	return MM_ENOMEM;
}

int rl_take(struct range_list *l, uint64_t s, uint64_t len)
{
	for (uint32_t i = 0; i < l->n && l->v[i].start <= s; i++)
		if (s < l->v[i].end && len <= l->v[i].end - s)
			return rl_carve(l, i, s, len);
	return MM_EBUSY;
}

bool rl_put(struct range_list *l, uint64_t s, uint64_t len)
{
	uint64_t end = s + len;
	uint32_t i = 0;
	while (i < l->n && l->v[i].start < s)
		i++;
	if ((i > 0 && l->v[i - 1].end > s) || (i < l->n && l->v[i].start < end))
		return false;
	bool left = i > 0 && l->v[i - 1].end == s;
	bool right = i < l->n && l->v[i].start == end;
	if (left && right) {
		l->v[i - 1].end = l->v[i].end;
		rl_remove(l, i);
	} else if (left) {
		l->v[i - 1].end = end;
	} else if (right) {
		l->v[i].start = s;
	} else {
		MM_ASSERT(rl_grow(l), "range_list: free-range array full (spill area exhausted)");
		rl_insert(l, i, (struct rl_range){s, end});
	}
	l->sum += len;
	return true;
}

bool rl_check(const struct range_list *l)
{
	uint64_t sum = 0;
	MM_ASSERT(l->n <= l->cap && l->cap <= MM_MAX(l->spill_cap, RL_INLINE),
		  "range_list: range count over capacity");
	MM_ASSERT((l->v == l->inl) == (l->spills == 0), "range_list: spill state");
	for (uint32_t i = 0; i < l->n; i++) {
		const struct rl_range *r = &l->v[i];
		MM_ASSERT(r->start < r->end, "range_list: empty range");
		if (i + 1 < l->n)
			MM_ASSERT(r->end < l->v[i + 1].start,
				  "range_list: ranges unsorted, overlapping or unmerged");
		sum += r->end - r->start;
	}
	MM_ASSERT(sum == l->sum, "range_list: free count differs from the ranges");
	return true;
}

uint64_t rl_meta_bytes(const struct range_list *l)
{
	return l->v == l->inl ? 0 : (uint64_t)l->cap * sizeof(struct rl_range);
}
