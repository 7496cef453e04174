/* heap_slab_check.c: the slab heap's full invariant walk and its statistics.
 * slab_check must run while no other call is in flight (tests); it verifies
 * every per-CPU list and every chunk against the invariants stated in
 * heap_slab.h and the frame accounting stated in heap_slab_chunk.c. */
#include "heap_slab.h"

/* One ACTIVE slab: class, free list inside the slab on object starts,
 *     used + |free| == bump <= limit == min(cap, committed objects),
 * and the sleep state. */
static void slab_check_active(const struct slab *s)
{
	MM_ASSERT(s->cls < SLAB_NCLASSES && s->size == slab_class_size(s->cls) &&
			  s->span == slab_class_span(s->cls) &&
			  s->cap == s->span * SLAB_SLOT / s->size && s->cap >= 1,
		  "slab: ACTIVE slab with a bad class");
	uint64_t nfree = 0;
	for (const void *p = s->free; p; p = *(void *const *)p) {
		uint64_t off = (uint64_t)(uintptr_t)p - s->base;
		MM_ASSERT(off < (uint64_t)s->bump * s->size && off % s->size == 0,
			  "slab: free list entry outside the slab's handed-out objects");
		MM_ASSERT(++nfree <= s->cap, "slab: free list has a cycle");
	}
	MM_ASSERT(s->used + nfree == s->bump && s->bump <= s->limit && s->limit == slab_limit(s),
		  "slab: used + free != bump, or bump past the committed pages");
	MM_ASSERT(s->asleep ? s->low == s->cap - slab_wake(s->cap) && s->used > s->low
			    : s->low == 0 && s->used < s->cap,
		  "slab: asleep slab with a bad wake mark, or a full slab awake");
}

/* Walks one chunk; returns the frames it has mapped; counts slabs by state. */
static uint64_t slab_check_chunk(const struct slab_chunk *ch, unsigned cpu, uint64_t *nempty,
				 uint64_t *empty_pages, uint64_t *navail, uint64_t *slab_pages)
{
	MM_ASSERT(ch->magic == SLAB_MAGIC && ch->owner == cpu, "slab: chunk header corrupt");
	uint64_t frames = ch->hdr_pages;
	uint32_t live = 0, slots = slab_chunk_slots(ch->hdr_pages);
	MM_ASSERT((ch->hdr_pages == 1 || ch->hdr_pages == SLAB_HDR_PAGES) && !(ch->unused & ~slots),
		  "slab: header pages, or an unused slot the header cannot describe");
	for (unsigned i = 1; i < SLAB_SLOTS && slots >> i;) {
		const struct slab *s = &ch->slabs[i];
		if (ch->unused >> i & 1) {
			MM_ASSERT(s->state == SLAB_UNUSED, "slab: UNUSED slot with a slab");
			i++;
			continue;
		}
		MM_ASSERT(ch->head[i] == i && s->state != SLAB_UNUSED && s->span >= 1 &&
				  i + s->span <= SLAB_SLOTS && (slots >> (i + s->span - 1) & 1),
			  "slab: a used slot is not a slab's first");
		for (unsigned j = i + 1; j < i + s->span; j++)
			MM_ASSERT(!(ch->unused >> j & 1) && ch->head[j] == i &&
					  ch->slabs[j].state == SLAB_UNUSED,
				  "slab: slab's slots not its own");
		uint64_t pages = 0;
		const uint64_t *bl = &ch->blocks[i * SLAB_SLOT_PAGES];
		for (unsigned b = 0; b < s->nblocks; b++)
			pages += 1ull << HEAP_BLOCK_ORDER(bl[b]);
		MM_ASSERT(pages == s->npages && s->npages <= s->span * SLAB_SLOT_PAGES &&
				  s->nblocks <= s->span * SLAB_SLOT_PAGES,
			  "slab: committed pages != blocks");
		frames += pages;
		*slab_pages += pages;
		if (s->state == SLAB_EMPTY) {
			MM_ASSERT(s->npages > 0, "slab: EMPTY slab with nothing committed");
			(*nempty)++;
			*empty_pages += s->npages;
		} else {
			MM_ASSERT(s->state == SLAB_ACTIVE && s->base == slab_base(ch, s),
				  "slab: bad slab state");
			slab_check_active(s);
			live++;
			*navail += !s->asleep;
		}
		i += s->span;
	}
	MM_ASSERT(live == ch->live, "slab: chunk counts out of date");
	MM_ASSERT(ch->in_open == (ch->unused != 0), "slab: open list membership");
	MM_ASSERT((live == 0) == (ch->kept_empty != 0), "slab: an idle chunk was not kept");
	return frames;
}

/* cpu's remote batches: linked lists of objects of their destination's chunks,
 * under both sending thresholds (memory in transit is bounded). */
static void slab_check_batches(const struct slab_heap *h, unsigned cpu)
{
	for (unsigned o = 0; o < h->env.ncpus; o++) {
		const struct slab_batch *b = &h->cpu[cpu].out[o];
		uint32_t n = 0;
		for (const void *p = b->head; p; p = *(void *const *)p) {
			const struct slab_chunk *ch = slab_chunk_of(p);
			MM_ASSERT(o != cpu && ch->magic == SLAB_MAGIC && ch->owner == o &&
					  ++n <= b->n && (*(void *const *)p || p == b->tail),
				  "slab: bad object in a remote batch");
		}
		MM_ASSERT(n == b->n && n < SLAB_BATCH && b->bytes < SLAB_BATCH_BYTES &&
				  (n > 0 || b->bytes == 0),
			  "slab: remote batch over its bounds");
	}
}

/* Messages on the MPSC stack top that cpu sent (each one's objects checked). */
static uint32_t slab_count_msgs(const struct slab_msg *m, unsigned from)
{
	uint32_t n = 0;
	for (; m && n <= SLAB_MSGS; m = m->next)
		n += m->from == from;
	return n;
}

/* cpu's remote-free messages: the ones filling hold objects of their destination's
 * chunks, under both sending thresholds, and every message of cpu is in exactly one
 * place: idle, filling, in some CPU's inbox, or on cpu's ret stack. */
static void slab_check_msgs(const struct slab_heap *h, unsigned cpu)
{
	const struct slab_cpu *c = &h->cpu[cpu];
	uint32_t n = slab_count_msgs(c->msg_idle, cpu) + slab_count_msgs(c->msg_ret, cpu);
	for (unsigned o = 0; o < h->env.ncpus; o++) {
		n += slab_count_msgs(h->cpu[o].msg_inbox, cpu);
		const struct slab_msg *m = c->msg_out[o];
		if (!m)
			continue;
		n++;
		MM_ASSERT(o != cpu && m->from == cpu && m->n < SLAB_MSG_CAP &&
				  m->bytes < SLAB_BATCH_BYTES,
			  "slab: remote message over its bounds");
		for (uint32_t i = 0; i < m->n; i++) {
			const struct slab_chunk *ch = slab_chunk_of(m->p[i]);
			MM_ASSERT(ch->magic == SLAB_MAGIC && ch->owner == o,
				  "slab: bad object in a remote message");
		}
	}
	MM_ASSERT(n == SLAB_MSGS, "slab: a remote message lost or counted twice");
}

/* c's small-request table is the sparse one while c is sparse (its slabs have never
 * committed SLAB_SPARSE_PAGES pages), the fine one after. */
static void slab_check_sparse(const struct slab_cpu *c)
{
	const uint8_t *want = c->sparse ? slab_sparse_class : slab_small_class;
	for (unsigned i = 0; i < sizeof(c->small_class); i++)
		MM_ASSERT(c->small_class[i] == want[i],
			  "slab: small class table of the wrong mode");
	MM_ASSERT(c->sparse <= 1 && (!c->sparse || c->slab_pages < SLAB_SPARSE_PAGES),
		  "slab: a sparse CPU past SLAB_SPARSE_PAGES");
}

/* Per-CPU lists agree with the chunks they point into. */
static uint64_t slab_check_cpu(const struct slab_heap *h, unsigned cpu)
{
	const struct slab_cpu *c = &h->cpu[cpu];
	uint64_t frames = 0, nempty = 0, empty_pages = 0, navail = 0, listed = 0, nchunks = 0,
		 kept = 0, slab_pages = 0, hdr = 0;
	for (const struct slab_chunk *ch = c->chunks; ch; ch = ch->next) {
		frames += slab_check_chunk(ch, cpu, &nempty, &empty_pages, &navail, &slab_pages);
		nchunks++;
		kept += ch->kept_empty;
		hdr += ch->hdr_pages;
	}
	slab_check_sparse(c);
	for (unsigned k = 0; k < SLAB_NCLASSES; k++) {
		unsigned idle = 0;
		for (const struct slab *s = c->avail[k]; s; s = s->next, listed++) {
			MM_ASSERT(s->state == SLAB_ACTIVE && s->cls == k && !s->asleep &&
					  (!s->next || s->next->prev == s),
				  "slab: bad slab on an avail list");
			idle += s->used == 0;
		}
		MM_ASSERT(idle <= 1 && (idle == 0 || (h->park && slab_class_span(k) <= SLAB_PARK_SPAN)),
			  "slab: an unparked empty slab on avail, or two parked in a class");
	}
	MM_ASSERT(listed == navail, "slab: avail lists miss slabs with room");
	uint64_t e = 0, ep = 0;
	for (unsigned k = 0; k < SLAB_SLOTS; k++)
		for (const struct slab *s = c->empty[k]; s; s = s->next, e++) {
			MM_ASSERT(s->state == SLAB_EMPTY && s->span == k &&
					  slab_chunk_of(s)->owner == cpu,
				  "slab: bad slab on an empty list");
			ep += s->npages;
		}
	MM_ASSERT(e == nempty && ep == empty_pages && ep == c->empty_pages &&
			  ep <= h->keep_pages && c->grace <= SLAB_GRACE_PAGES,
		  "slab: EMPTY slab count or pages, or grace above its bound");
	MM_ASSERT(slab_pages == c->slab_pages, "slab: committed slab pages out of date");
	MM_ASSERT(nchunks == c->nchunks && hdr == c->hdr_pages && kept == c->nempty_chunks &&
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
		slab_check_batches(h, cpu);
		slab_check_msgs(h, cpu);
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
	/* The state's per-CPU part for the CPUs in use (the rest, up to HEAP_MAX_CPUS, is
	 * never touched), and every chunk header. */
	out->meta_bytes = sizeof(*h) - (HEAP_MAX_CPUS - h->env.ncpus) * sizeof(struct slab_cpu);
	for (unsigned cpu = 0; cpu < h->env.ncpus; cpu++) {
		out->meta_bytes += (uint64_t)atomic_load_rlx(&h->cpu[cpu].hdr_pages) * PAGE_SIZE;
		out->remote_frees += atomic_load_rlx(&h->cpu[cpu].remote_frees);
	}
}
