/* va_host.c: VA allocator instances on malloc'd memory (see va_host.h). */
#include "va_host.h"

#include <stdlib.h>
#include <string.h>

static int mps_alloc(void *ctx, uint64_t *pa)
{
	struct va_host *vh = ctx;
	void *f = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!f)
		return MM_ENOMEM;
	memset(f, 0, PAGE_SIZE);
	pthread_mutex_lock(&vh->mu);
	if (vh->nframes == vh->cap) {
		uint64_t ncap = vh->cap ? vh->cap * 2 : 256;
		void **n = realloc(vh->frames, ncap * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&vh->mu);
			free(f);
			return MM_ENOMEM;
		}
		vh->frames = n;
		vh->cap = ncap;
	}
	vh->frames[vh->nframes++] = f;
	pthread_mutex_unlock(&vh->mu);
	*pa = (uint64_t)(uintptr_t)f;
	return MM_OK;
}

static void *mps_to_virt(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

int va_host_init(struct va_host *vh, const struct va_ops *ops, uint64_t base, uint64_t size)
{
	memset(vh, 0, sizeof(*vh));
	vh->ops = ops;
	vh->base = base;
	vh->size = size;
	vh->ps = (struct page_source){vh, mps_alloc, mps_to_virt};
	pthread_mutex_init(&vh->mu, NULL);
	spill_heap_init(&vh->spill);
	vh->meta_len = ops->meta_size(base, size);
	vh->st = aligned_alloc(64, (ops->state_size + 63) / 64 * 64);
	vh->meta = aligned_alloc(64, (vh->meta_len + 64) / 64 * 64);
	int rc = vh->st && vh->meta ? MM_OK : MM_ENOMEM;
	if (rc == MM_OK) {
		memset(vh->st, 0, ops->state_size);
		memset(vh->meta, 0, vh->meta_len);
		rc = ops->init(vh->st, base, size, vh->meta, vh->meta_len, &vh->ps);
	}
	if (rc == MM_OK)
		spill_heap_attach_va(&vh->spill, ops, vh->st);
	if (rc != MM_OK)
		va_host_fini(vh);
	return rc;
}

void va_host_fini(struct va_host *vh)
{
	for (uint64_t i = 0; i < vh->nframes; i++)
		free(vh->frames[i]);
	free(vh->frames);
	spill_heap_fini(&vh->spill);
	free(vh->st);
	free(vh->meta);
	vh->frames = NULL;
	vh->st = vh->meta = NULL;
	vh->nframes = vh->cap = 0;
	pthread_mutex_destroy(&vh->mu);
}
