/* spill_heap.c: malloc behind the free lists' rl_heap hook (see spill_heap.h). */
#include "spill_heap.h"

#include <stdlib.h>

struct spill_block {
	struct spill_block *prev, *next;
	size_t bytes;
	uint64_t pad; /* keeps the payload 16-byte aligned */
};

static void *sh_alloc(void *ctx, unsigned cpu, size_t bytes)
{
	struct spill_heap *h = ctx;
	struct spill_block *b = malloc(sizeof(*b) + bytes);
	if (!b)
		return NULL;
	b->bytes = bytes;
	pthread_mutex_lock(&h->mu);
	b->prev = NULL;
	b->next = h->blocks;
	if (h->blocks)
		h->blocks->prev = b;
	h->blocks = b;
	h->live_bytes += bytes;
	h->allocs++;
	pthread_mutex_unlock(&h->mu);
	return b + 1;
}

static void sh_free(void *ctx, unsigned cpu, void *p, size_t bytes)
{
	struct spill_heap *h = ctx;
	struct spill_block *b = (struct spill_block *)p - 1;
	MM_ASSERT(b->bytes == bytes, "spill_heap: free with another size than alloc");
	pthread_mutex_lock(&h->mu);
	if (b->prev)
		b->prev->next = b->next;
	else
		h->blocks = b->next;
	if (b->next)
		b->next->prev = b->prev;
	h->live_bytes -= bytes;
	h->frees++;
	pthread_mutex_unlock(&h->mu);
	free(b);
}

void spill_heap_init(struct spill_heap *h)
{
	*h = (struct spill_heap){.hook = {.ctx = h, .alloc = sh_alloc, .free = sh_free}};
	pthread_mutex_init(&h->mu, NULL);
}

void spill_heap_fini(struct spill_heap *h)
{
	while (h->blocks) {
		struct spill_block *b = h->blocks;
		h->blocks = b->next;
		free(b);
	}
	pthread_mutex_destroy(&h->mu);
	h->live_bytes = 0;
}

void spill_heap_attach_frames(struct spill_heap *h, const struct frame_ops *ops, void *st)
{
	if (ops->set_heap)
		ops->set_heap(st, &h->hook);
}

void spill_heap_attach_va(struct spill_heap *h, const struct va_ops *ops, void *st)
{
	if (ops->set_heap)
		ops->set_heap(st, &h->hook);
}
