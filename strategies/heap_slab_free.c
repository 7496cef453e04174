/* heap_slab_free.c: an object back to its slab on the owner CPU (layer above
 * heap_slab_chunk.c, below heap_slab_remote.c; heap_slab.h): slab_local_free, inline
 * in heap_slab.h (the owner's fast path), pushes it on its slab's free list; this
 * file is what happens when a slab's count falls to its threshold: a slab asleep (full) wakes once
 * slab_wake(cap) objects came back, and one whose last object came back is parked (the class's only
 * slab on avail, span <= SLAB_PARK_SPAN, h->park) or leaves avail for slab_put_empty. Invariant
 * kept: used + |free list| == bump, and an awake slab is on avail.
 */
#include "heap_slab.h"

__attribute__((noinline)) void slab_free_slow(struct slab_heap *h, struct slab_cpu *c,
					      struct slab *s)
{
	if (s->asleep) {
		s->asleep = 0;
		s->low = 0;
		slab_list_push(&c->avail[s->cls], s);
		if (s->used)
			return;
	}
	if (h->park && s->span <= SLAB_PARK_SPAN && c->avail[s->cls] == s && !s->next)
		return; /* the class's only slab: parked */
	slab_list_remove(&c->avail[s->cls], s);
	slab_put_empty(h, c, s);
}

void slab_unpark_all(struct slab_heap *h, struct slab_cpu *c)
{
	for (unsigned k = 0; k < SLAB_NCLASSES; k++)
		for (struct slab *s = c->avail[k], *next; s; s = next) {
			next = s->next;
			if (s->used == 0) {
				slab_list_remove(&c->avail[k], s);
				slab_put_empty(h, c, s);
			}
		}
}
