/* heap_slab_check.c: the slab heap's full invariant walk and its statistics.
 * slab_check must run while no other call is in flight (tests); it verifies
 * every per-CPU list and every chunk against the invariants stated in
 * heap_slab.h and the frame accounting stated in heap_slab_chunk.c. */
#include "heap_slab.h"

/* One ACTIVE slab: class, free list inside the slab on object starts, and
 *     used + |free| == bump <= cap. */
static void slab_check_active(const struct slab_chunk *ch, const struct slab *s)
{
	MM_ASSERT(s->cls < SLAB_NCLASSES && s->size == slab_class_size(s->cls) &&
			  s->cap == SLAB_SIZE / s->size,
		  "slab: ACTIVE slab with a bad class");
	uint64_t base = slab_base(ch, s), nfree = 0;
	for (const void *p = s->free; p; p = *(void *const *)p) {
		uint64_t off = (uint64_t)(uintptr_t)p - base;
		MM_ASSERT(off < (uint64_t)s->bump * s->size && off % s->size == 0,
			  "slab: free list entry outside the slab's handed-out objects");
		MM_ASSERT(++nfree <= s->cap, "slab: free list has a cycle");
	}
	MM_ASSERT(s->used + nfree == s->bump && s->bump <= s->cap && s->used > 0,
		  "slab: used + free != bump");
	MM_ASSERT(s->low == 0 ? s->used < s->cap
			      : s->low == s->cap - slab_wake(s->cap) && s->used > s->low,
		  "slab: asleep slab with a bad wake mark, or a full slab awake");
}

/* Walks one chunk; returns the frames it has mapped; counts slabs by state. */
static uint64_t slab_check_chunk(const struct slab_chunk *ch, unsigned cpu, uint64_t *nempty,
				 uint64_t *navail)
{
	MM_ASSERT(ch->magic == SLAB_MAGIC && ch->owner == cpu, "slab: chunk header corrupt");
	uint64_t frames = SLAB_HDR_BYTES / PAGE_SIZE;
	uint32_t live = 0, unused = 0;
	for (unsigned i = 1; i < SLAB_SLOTS; i++) {
		const struct slab *s = &ch->slabs[i];
		if (s->state == SLAB_UNUSED) {
			unused |= 1u << i;
			continue;
		}
		uint64_t pages = 0;
		for (unsigned b = 0; b < s->nblocks; b++)
			pages += 1ull << HEAP_BLOCK_ORDER(ch->blocks[i][b]);
		MM_ASSERT(pages == SLAB_PAGES, "slab: slab not fully backed");
		frames += pages;
		if (s->state == SLAB_EMPTY) {
			(*nempty)++;
			continue;
		}
		MM_ASSERT(s->state == SLAB_ACTIVE, "slab: bad slab state");
		slab_check_active(ch, s);
		live++;
		*navail += s->low == 0;
	}
	MM_ASSERT(live == ch->live && unused == ch->unused, "slab: chunk counts out of date");
	MM_ASSERT(ch->in_open == (unused != 0), "slab: open list membership");
	MM_ASSERT((live == 0) == (ch->kept_empty != 0), "slab: an idle chunk was not kept");
	return frames;
}

/* Per-CPU lists agree with the chunks they point into. */
static uint64_t slab_check_cpu(const struct slab_heap *h, unsigned cpu)
{
	const struct slab_cpu *c = &h->cpu[cpu];
	uint64_t frames = 0, nempty = 0, navail = 0, listed = 0, nchunks = 0, kept = 0;
	for (const struct slab_chunk *ch = c->chunks; ch; ch = ch->next) {
		frames += slab_check_chunk(ch, cpu, &nempty, &navail);
		nchunks++;
		kept += ch->kept_empty;
	}
	for (unsigned k = 0; k < SLAB_NCLASSES; k++)
		for (const struct slab *s = c->avail[k]; s; s = s->next, listed++)
			MM_ASSERT(s->state == SLAB_ACTIVE && s->cls == k && s->low == 0 &&
					  (!s->next || s->next->prev == s),
				  "slab: bad slab on an avail list");
	MM_ASSERT(listed == navail, "slab: avail lists miss slabs with room");
	uint64_t e = 0;
	for (const struct slab *s = c->empty; s; s = s->next, e++)
		MM_ASSERT(s->state == SLAB_EMPTY && slab_chunk_of(s)->owner == cpu,
			  "slab: bad slab on the empty list");
	MM_ASSERT(e == nempty && e == c->nempty && c->nempty <= h->keep_slabs,
		  "slab: empty slab count");
	MM_ASSERT(nchunks == c->nchunks && kept == c->nempty_chunks &&
			  kept <= h->env.keep_empty_chunks,
		  "slab: chunk counts");
	return frames;
}

bool slab_check(const void *st)
{
	const struct slab_heap *h = st;
	uint64_t frames = atomic_load_rlx(&h->large_frames);
	for (unsigned cpu = 0; cpu < h->env.ncpus; cpu++) {
		frames += slab_check_cpu(h, cpu);
		slab_large_cache_check(h, cpu);
	}
	MM_ASSERT(frames == atomic_load_rlx(&h->frames), "slab: frame accounting");
	MM_ASSERT(frames <= atomic_load_rlx(&h->peak_frames), "slab: peak below current");
	return true;
}

void slab_stats(const void *st, struct heap_stats *out)
{
	const struct slab_heap *h = st;
	mm_zero(out, sizeof(*out));
	out->frames = atomic_load_rlx(&h->frames);
	out->footprint = out->frames * PAGE_SIZE;
	out->peak_footprint = atomic_load_rlx(&h->peak_frames) * PAGE_SIZE;
	out->va_bytes = atomic_load_rlx(&h->va_bytes);
	out->chunks_returned = atomic_load_rlx(&h->chunks_returned);
	out->meta_bytes = sizeof(*h);
	for (unsigned cpu = 0; cpu < h->env.ncpus; cpu++) {
		out->meta_bytes += atomic_load_rlx(&h->cpu[cpu].nchunks) * SLAB_HDR_BYTES;
		out->remote_frees += atomic_load_rlx(&h->cpu[cpu].remote_frees);
	}
}
