/* heap_slab_remote.c: frees of objects another CPU owns, sent home in batches.
 *
 * CPU c collects objects owned by CPU o in c->out[o], a list linked through
 * the objects' first word. When it holds SLAB_BATCH objects or SLAB_BATCH_BYTES
 * requested bytes (or on flush), the whole list is pushed on o's inbox, a multi-producer single-consumer stack,
 * with one CAS (retried only if another producer pushed meanwhile): the list's
 * tail is pointed at the old top, then the top swings to the list's head. The
 * owner takes the whole inbox with one atomic exchange and frees each object
 * into its slab locally; taking everything at once means no ABA problem.
 * Invariant: every object is, at any moment, either live, on its slab's free
 * list, in exactly one out batch, or in exactly one inbox; the last two count
 * as used in their slab, so a slab (and its chunk) cannot be released while an
 * object of it is in transit.
 * Memory in transit is bounded: a batch holds less than SLAB_BATCH objects and
 * SLAB_BATCH_BYTES bytes plus its last object (at most SLAB_CLASS_MAX), so CPU c
 * strands at most (ncpus - 1) * (SLAB_BATCH_BYTES + SLAB_CLASS_MAX) until its
 * next flush; an inbox holds only objects its owner allocated, taken back at
 * the owner's next allocation slow path or flush.
 */
#include "heap_slab.h"

static void slab_send(struct slab_heap *h, unsigned owner, struct slab_batch *b)
{
	void **inbox = &h->cpu[owner].inbox;
	void *old = atomic_load_rlx(inbox);
	do {
		*(void **)b->tail = old;
	} while (!atomic_cas(inbox, &old, b->head));
	b->head = b->tail = NULL;
	b->n = b->bytes = 0;
}

void slab_remote_free(struct slab_heap *h, unsigned cpu, unsigned owner, void *p, size_t size)
{
	struct slab_cpu *c = &h->cpu[cpu];
	struct slab_batch *b = &c->out[owner];
	*(void **)p = b->head;
	if (!b->head)
		b->tail = p;
	b->head = p;
	atomic_store_rlx(&c->remote_frees, c->remote_frees + 1);
	b->bytes += (uint32_t)size; /* size <= SLAB_CLASS_MAX: no overflow before a send */
	if (++b->n >= SLAB_BATCH || b->bytes >= SLAB_BATCH_BYTES)
		slab_send(h, owner, b);
}

void slab_remote_send_all(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	for (unsigned o = 0; o < h->env.ncpus; o++)
		if (c->out[o].n)
			slab_send(h, o, &c->out[o]);
}

void slab_remote_drain(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	if (!atomic_load_rlx(&c->inbox))
		return;
	void *p = __atomic_exchange_n(&c->inbox, NULL, __ATOMIC_ACQUIRE);
	while (p) {
		void *next = *(void **)p;
		struct slab_chunk *ch = slab_chunk_of(p);
		MM_ASSERT(ch->owner == cpu, "slab: a remote free reached the wrong CPU");
		slab_local_free(h, c, slab_of(ch, p), p);
		p = next;
	}
}
