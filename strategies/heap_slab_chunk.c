/* heap_slab_chunk.c: where the slab heap's slabs come from and go back to.
 *
 * A CPU gets a slab from, in order: its EMPTY slabs (mapped, kept), an UNUSED
 * slot of one of its open chunks (backed by frames now), a new 2 MiB chunk from
 * the VA allocator (only its header pages mapped). An emptied slab is kept
 * mapped while the CPU keeps fewer than keep_slabs, else unmapped (the mmu
 * invalidates the TLB) and its frames freed. A chunk with no ACTIVE slab is
 * kept while the CPU keeps fewer than env->keep_empty_chunks such chunks, else
 * every mapping in it is removed and its address range returned.
 * Frame accounting: h->frames == sum over chunks (header pages + SLAB_PAGES per
 * mapped slab) + h->large_frames.
 */
#include "heap_slab.h"

static void chunk_list_push(struct slab_chunk **head, struct slab_chunk *ch, bool open)
{
	struct slab_chunk **nx = open ? &ch->open_next : &ch->next;
	struct slab_chunk **pv = open ? &ch->open_prev : &ch->prev;
	*pv = NULL;
	*nx = *head;
	if (*head)
		*(open ? &(*head)->open_prev : &(*head)->prev) = ch;
	*head = ch;
}

static void chunk_list_remove(struct slab_chunk **head, struct slab_chunk *ch, bool open)
{
	struct slab_chunk *nx = open ? ch->open_next : ch->next;
	struct slab_chunk *pv = open ? ch->open_prev : ch->prev;
	if (pv)
		*(open ? &pv->open_next : &pv->next) = nx;
	else
		*head = nx;
	if (nx)
		*(open ? &nx->open_prev : &nx->prev) = pv;
}

static void slab_list_del(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

/* A new chunk owned by cpu, every slab slot UNUSED; NULL when out of VA or frames. */
static struct slab_chunk *chunk_new(struct slab_heap *h, unsigned cpu)
{
	uint64_t va, bl[4];
	unsigned n;
	if (h->env.va->alloc(h->env.va_st, cpu, SLAB_CHUNK, SLAB_CHUNK, &va) != MM_OK)
		return NULL;
	if (heap_back_range(&h->env, cpu, va, SLAB_HDR_BYTES, bl, 4, &n) != MM_OK) {
		h->env.va->free(h->env.va_st, cpu, va, SLAB_CHUNK);
		return NULL;
	}
	struct slab_chunk *ch = (struct slab_chunk *)(uintptr_t)va;
	mm_zero(ch, sizeof(*ch));
	ch->magic = SLAB_MAGIC;
	ch->owner = cpu;
	ch->unused = ~1u; /* slot 0 holds this header */
	ch->nhdr = n;
	for (unsigned i = 0; i < n; i++)
		ch->hdr_blocks[i] = bl[i];
	struct slab_cpu *c = &h->cpu[cpu];
	chunk_list_push(&c->chunks, ch, false);
	chunk_list_push(&c->open, ch, true);
	ch->in_open = 1;
	atomic_store_rlx(&c->nchunks, c->nchunks + 1);
	slab_count_frames(h, (int64_t)(SLAB_HDR_BYTES / PAGE_SIZE));
	__atomic_add_fetch(&h->va_bytes, SLAB_CHUNK, __ATOMIC_RELAXED);
	return ch;
}

/* Unmaps slab s (EMPTY, or ACTIVE that never got an object) and frees its frames. */
static void slab_unmap(struct slab_heap *h, unsigned cpu, struct slab_chunk *ch, struct slab *s)
{
	heap_unback_range(&h->env, cpu, slab_base(ch, s), SLAB_SIZE, slab_blocks(ch, s), s->nblocks);
	slab_count_frames(h, -(int64_t)SLAB_PAGES);
	s->state = SLAB_UNUSED;
	ch->unused |= 1u << (s - ch->slabs);
}

/* Removes every mapping of an idle chunk and returns its address range. */
static void chunk_release(struct slab_heap *h, struct slab_cpu *c, struct slab_chunk *ch)
{
	unsigned cpu = ch->owner;
	MM_ASSERT(ch->live == 0, "slab: releasing a chunk with live slabs");
	for (unsigned i = 1; i < SLAB_SLOTS; i++) {
		struct slab *s = &ch->slabs[i];
		if (s->state == SLAB_EMPTY) {
			slab_list_del(&c->empty, s);
			c->nempty--;
			slab_unmap(h, cpu, ch, s);
		}
	}
	if (ch->in_open)
		chunk_list_remove(&c->open, ch, true);
	chunk_list_remove(&c->chunks, ch, false);
	atomic_store_rlx(&c->nchunks, c->nchunks - 1);
	uint64_t bl[4], va = (uint64_t)(uintptr_t)ch;
	unsigned n = ch->nhdr;
	for (unsigned i = 0; i < n; i++)
		bl[i] = ch->hdr_blocks[i];
	heap_unback_range(&h->env, cpu, va, SLAB_HDR_BYTES, bl, n);
	h->env.va->free(h->env.va_st, cpu, va, SLAB_CHUNK);
	slab_count_frames(h, -(int64_t)(SLAB_HDR_BYTES / PAGE_SIZE));
	__atomic_sub_fetch(&h->va_bytes, SLAB_CHUNK, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->chunks_returned, 1, __ATOMIC_RELAXED);
}

/* ch has no ACTIVE slab left: keep it or give it back (the policy). */
static void chunk_idle(struct slab_heap *h, struct slab_cpu *c, struct slab_chunk *ch)
{
	if (c->nempty_chunks < h->env.keep_empty_chunks) {
		ch->kept_empty = 1;
		c->nempty_chunks++;
	} else {
		chunk_release(h, c, ch);
	}
}

static void slab_activate(struct slab_cpu *c, struct slab_chunk *ch, struct slab *s,
			  unsigned cls)
{
	s->state = SLAB_ACTIVE;
	s->cls = (uint8_t)cls;
	s->size = slab_class_size(cls);
	s->cap = SLAB_SIZE / s->size;
	s->used = s->bump = s->low = 0;
	s->free = NULL;
	s->base = slab_base(ch, s);
	s->next = s->prev = NULL;
	if (ch->live++ == 0 && ch->kept_empty) {
		ch->kept_empty = 0;
		c->nempty_chunks--;
	}
}

bool slab_reclaim(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	slab_remote_send_all(h, cpu); /* let owners reuse what we hold for them */
	bool any = slab_large_cache_drop(h, cpu) > 0;
	while (c->empty) {
		struct slab *s = c->empty;
		struct slab_chunk *ch = slab_chunk_of(s);
		slab_list_del(&c->empty, s);
		c->nempty--;
		slab_unmap(h, cpu, ch, s);
		if (!ch->in_open) {
			chunk_list_push(&c->open, ch, true);
			ch->in_open = 1;
		}
		any = true;
	}
	return any;
}

/* slab_get without reclaiming. */
static struct slab *slab_get_once(struct slab_heap *h, unsigned cpu, unsigned cls)
{
	struct slab_cpu *c = &h->cpu[cpu];
	struct slab *s = c->empty;
	if (s) {
		slab_list_del(&c->empty, s);
		c->nempty--;
		slab_activate(c, slab_chunk_of(s), s, cls);
		return s;
	}
	struct slab_chunk *ch = c->open ? c->open : chunk_new(h, cpu);
	if (!ch)
		return NULL;
	unsigned i = (unsigned)__builtin_ctz(ch->unused), n;
	s = &ch->slabs[i];
	if (heap_back_range(&h->env, cpu, slab_base(ch, s), SLAB_SIZE, slab_blocks(ch, s), SLAB_PAGES,
			    &n) != MM_OK) {
		if (ch->live == 0 && !ch->kept_empty)
			chunk_idle(h, c, ch); /* a fresh chunk nobody uses */
		return NULL;
	}
	s->nblocks = (uint8_t)n;
	slab_count_frames(h, SLAB_PAGES);
	ch->unused &= ~(1u << i);
	if (!ch->unused) {
		chunk_list_remove(&c->open, ch, true);
		ch->in_open = 0;
	}
	slab_activate(c, ch, s, cls);
	return s;
}

void slab_put_empty(struct slab_heap *h, struct slab_cpu *c, struct slab *s)
{
	struct slab_chunk *ch = slab_chunk_of(s);
	if (c->nempty < h->keep_slabs) {
		s->state = SLAB_EMPTY;
		s->next = s->prev = NULL;
		s->prev = NULL;
		s->next = c->empty;
		if (c->empty)
			c->empty->prev = s;
		c->empty = s;
		c->nempty++;
	} else {
		slab_unmap(h, ch->owner, ch, s);
		if (!ch->in_open) {
			chunk_list_push(&c->open, ch, true);
			ch->in_open = 1;
		}
	}
	if (--ch->live == 0)
		chunk_idle(h, c, ch);
}

struct slab *slab_wake_any(struct slab_cpu *c, unsigned cls)
{
	for (struct slab_chunk *ch = c->chunks; ch; ch = ch->next)
		for (unsigned i = 1; i < SLAB_SLOTS; i++) {
			struct slab *s = &ch->slabs[i];
			if (s->state == SLAB_ACTIVE && s->cls == cls && s->low && s->used < s->cap) {
				s->low = 0;
				return s;
			}
		}
	return NULL;
}

struct slab *slab_get(struct slab_heap *h, unsigned cpu, unsigned cls)
{
	struct slab *s = slab_get_once(h, cpu, cls);
	if (!s && slab_reclaim(h, cpu))
		s = slab_get_once(h, cpu, cls);
	return s;
}
