/* range_list.c: the sorted free-range list shared by the Hermit baselines
 * (frame_freelist.c, va_freelist.c), with its lock; algorithm, spilling to the
 * heap, the failure and re-entry rules and the invariants are in range_list.h.
 * Every operation is a linear walk: O(n) in the ranges held.
 */
#include "range_list.h"

void rl_init(struct range_list *l)
{
	mm_zero(l, sizeof(*l));
	l->v = l->inl;
	l->cap = RL_INLINE;
}

void rl_lock(struct range_list *l, unsigned cpu)
{
	uint32_t me = cpu == RL_NO_CPU ? 0 : cpu + 1;
	if (MM_DEBUG && me)
		MM_ASSERT(atomic_load_rlx(&l->holder) != me,
			  "range_list: lock taken again by its holder's cpu: self-deadlock "
			  "(a re-entry from the list's heap call, or two threads with one cpu)");
	spin_lock(&l->lock);
	if (MM_DEBUG)
		atomic_store_rlx(&l->holder, me);
}

void rl_unlock(struct range_list *l)
{
	if (MM_DEBUG)
		atomic_store_rlx(&l->holder, 0);
	spin_unlock(&l->lock);
}

void rl_set_heap(struct range_list *l, const struct rl_heap *h)
{
	MM_ASSERT(h && h->alloc && h->free, "range_list: set_heap without alloc and free");
	MM_ASSERT(l->v == l->inl, "range_list: set_heap while holding storage of another heap");
	l->heap = *h;
}

bool rl_reentered(struct range_list *l, unsigned cpu)
{
	if (cpu == RL_NO_CPU || atomic_load_rlx(&l->heap_cpu) != cpu + 1)
		return false;
	atomic_fetch_add_rlx(&l->reentries, 1);
	return true;
}

void rl_lose(struct range_list *l, uint64_t len)
{
	atomic_fetch_add_rlx(&l->lost, len);
}

/* Makes room for one more range: the SmallVec spill, then doubling, storage from
 * the heap, called with heap_cpu set so that a nested call is seen as a re-entry;
 * false (list unchanged) if growth fails. */
static bool rl_grow(struct range_list *l, unsigned cpu)
{
	if (l->n < l->cap)
		return true;
	if (!l->heap.alloc || cpu == RL_NO_CPU || l->cap >= RL_CAP_MAX)
		return false;
	uint32_t cap = l->cap * 2;
	atomic_store_rlx(&l->heap_cpu, cpu + 1);
	struct rl_range *v = l->heap.alloc(l->heap.ctx, cpu, cap * sizeof(*v));
	if (v) {
		struct rl_range *old = l->v;
		for (uint32_t i = 0; i < l->n; i++)
			v[i] = old[i];
		l->v = v;
		if (old != l->inl)
			l->heap.free(l->heap.ctx, cpu, old, l->cap * sizeof(*v));
		l->cap = cap;
		l->spill_allocs++;
	}
	atomic_store_rlx(&l->heap_cpu, 0);
	return v != NULL;
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
 * a slot and growth fails (list unchanged). */
static int rl_carve(struct range_list *l, unsigned cpu, uint32_t i, uint64_t s, uint64_t len)
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
		if (!rl_grow(l, cpu))
			return MM_ENOMEM;
		r = &l->v[i]; /* rl_grow may have moved the array */
		struct rl_range tail = {e, r->end};
		r->end = s;
		rl_insert(l, i + 1, tail);
	}
	l->sum -= len;
	return MM_OK;
}

int rl_first_fit(struct range_list *l, unsigned cpu, uint64_t len, uint64_t align, uint64_t *start)
{
	for (uint32_t i = 0; i < l->n; i++) {
		uint64_t s = MM_ALIGN_UP(l->v[i].start, align);
		if (s >= l->v[i].start && s < l->v[i].end && len <= l->v[i].end - s) {
			int rc = rl_carve(l, cpu, i, s, len);
			if (rc == MM_OK)
				*start = s;
			return rc;
		}
	}
	return MM_ENOMEM;
}

int rl_take(struct range_list *l, unsigned cpu, uint64_t s, uint64_t len)
{
	for (uint32_t i = 0; i < l->n && l->v[i].start <= s; i++)
		if (s < l->v[i].end && len <= l->v[i].end - s)
			return rl_carve(l, cpu, i, s, len);
	return MM_EBUSY;
}

int rl_put(struct range_list *l, unsigned cpu, uint64_t s, uint64_t len)
{
	uint64_t end = s + len;
	uint32_t i = 0;
	while (i < l->n && l->v[i].start < s)
		i++;
	if ((i > 0 && l->v[i - 1].end > s) || (i < l->n && l->v[i].start < end))
		return MM_EBUSY;
	bool left = i > 0 && l->v[i - 1].end == s;
	bool right = i < l->n && l->v[i].start == end;
	if (left && right) {
		l->v[i - 1].end = l->v[i].end;
		rl_remove(l, i);
	} else if (left) {
		l->v[i - 1].end = end;
	} else if (right) {
		l->v[i].start = s;
	} else if (rl_grow(l, cpu)) {
		rl_insert(l, i, (struct rl_range){s, end});
	} else {
		rl_lose(l, len);
		return MM_ENOMEM;
	}
	l->sum += len;
	return MM_OK;
}

bool rl_check(const struct range_list *l)
{
	uint64_t sum = 0;
	MM_ASSERT(l->n <= l->cap, "range_list: range count over capacity");
	MM_ASSERT((l->v == l->inl) == (l->spill_allocs == 0), "range_list: spill state");
	MM_ASSERT(l->spill_allocs < 32 && l->cap == RL_INLINE << l->spill_allocs,
		  "range_list: capacity is not 16 doubled once per heap allocation");
	MM_ASSERT(l->v == l->inl || l->heap.alloc, "range_list: heap storage without a heap");
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
