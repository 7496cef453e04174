/* trace_build.c: key -> dense id mapping and op collection for text parsers.
 *
 * key_map is open addressing with linear probing and backward-shift deletion
 * (no tombstones), load <= 1/2. Invariants: objs.n == live objects ==
 * next_id - nfree; every dense id is either mapped by exactly one live key or on
 * the free_ids stack.
 */
#define _GNU_SOURCE
#include "trace_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t key_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static int km_grow(struct key_map *m)
{
	uint64_t ncap = m->cap ? m->cap * 2 : 1024;
	struct key_map n = {calloc(ncap, 8), calloc(ncap, 4), ncap, 0};
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (uint64_t i = 0; i < m->cap; i++) {
		if (!m->vals[i])
			continue;
		uint64_t j = key_hash(m->keys[i]) & (ncap - 1);
		while (n.vals[j])
			j = (j + 1) & (ncap - 1);
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
		n.n++;
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

/* Slot of key, or of the empty slot where it would go. */
static uint64_t km_slot(const struct key_map *m, uint64_t key)
{
	uint64_t j = key_hash(key) & (m->cap - 1);
	while (m->vals[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	return j;
}

/* Value + 1 for key, 0 if absent. */
static uint32_t km_get(const struct key_map *m, uint64_t key)
{
	return m->cap ? m->vals[km_slot(m, key)] : 0;
}

static int km_put(struct key_map *m, uint64_t key, uint32_t val1)
{
	if ((m->n + 1) * 2 > m->cap && km_grow(m))
		return -1;
	uint64_t j = km_slot(m, key);
	m->n += !m->vals[j];
	m->keys[j] = key;
	m->vals[j] = val1;
	return 0;
}

static void km_del(struct key_map *m, uint64_t key)
{
	uint64_t mask = m->cap - 1, i = km_slot(m, key);
	if (!m->vals[i])
		return;
	m->vals[i] = 0;
	m->n--;
	for (uint64_t j = (i + 1) & mask; m->vals[j]; j = (j + 1) & mask) {
		uint64_t h = key_hash(m->keys[j]) & mask;
		/* move j back to i unless its home h lies cyclically in (i, j] */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->vals[j] = 0;
			i = j;
		}
	}
}

void tb_init(struct trace_builder *b, const char *file, bool lenient)
{
	memset(b, 0, sizeof(*b));
	b->file = file;
	b->lenient = lenient;
}

void tb_free_all(struct trace_builder *b)
{
	free(b->ops);
	free(b->objs.keys);
	free(b->objs.vals);
	free(b->tids.keys);
	free(b->tids.vals);
	free(b->free_ids);
	b->ops = NULL;
	b->objs = b->tids = (struct key_map){0};
	b->free_ids = NULL;
}

int tb_bad(struct trace_builder *b, const char *fmt, ...)
{
	if (!b->err[0]) {
		int n = snprintf(b->err, sizeof(b->err), "%s:%llu: ", b->file,
				 (unsigned long long)b->line);
		va_list ap;
		va_start(ap, fmt);
		if (n > 0 && (size_t)n < sizeof(b->err))
			vsnprintf(b->err + n, sizeof(b->err) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	if (!b->lenient)
		return -1;
	b->skipped++;
	return 0;
}

int tb_thread(struct trace_builder *b, uint64_t tid)
{
	uint32_t v = km_get(&b->tids, tid);
	if (v)
		return (int)v - 1;
	if (b->next_thread >= TRACE_MAX_THREADS)
		return tb_bad(b, "more than %u threads", TRACE_MAX_THREADS) ? -1 : -2;
	if (km_put(&b->tids, tid, b->next_thread + 1))
		return tb_bad(b, "out of memory") ? -1 : -2;
	return (int)b->next_thread++;
}

static int push(struct trace_builder *b, int thread, unsigned op, uint32_t id, uint64_t size,
		unsigned align_log2)
{
	if (b->n == b->cap) {
		uint64_t ncap = b->cap ? b->cap * 2 : 4096;
		struct trace_op *n = realloc(b->ops, ncap * sizeof(*n));
		if (!n)
			return tb_bad(b, "out of memory");
		b->ops = n;
		b->cap = ncap;
	}
	b->ops[b->n++] = (struct trace_op){size, id, (uint16_t)thread, (uint8_t)op,
					   (uint8_t)align_log2};
	return 0;
}

static int new_id(struct trace_builder *b, uint32_t *id)
{
	if (b->nfree) {
		*id = b->free_ids[--b->nfree];
		return 0;
	}
	if (b->next_id == UINT32_MAX)
		return -1;
	*id = b->next_id++;
	return 0;
}

int tb_alloc(struct trace_builder *b, int thread, unsigned op, uint64_t key, uint64_t size,
	     uint64_t align)
{
	if (size > TRACE_MAX_SIZE)
		return tb_bad(b, "absurd size %llu", (unsigned long long)size);
	if (op == TOP_MEMALIGN && (!align || (align & (align - 1)) ||
				   align > (1ull << TRACE_MAX_ALIGN_LOG2)))
		return tb_bad(b, "bad alignment %llu", (unsigned long long)align);
	if (km_get(&b->objs, key))
		return tb_bad(b, "allocation of object %#llx that is still live",
			      (unsigned long long)key);
	uint32_t id;
	if (new_id(b, &id) || km_put(&b->objs, key, id + 1))
		return tb_bad(b, "out of memory");
	unsigned al = op == TOP_MEMALIGN ? (unsigned)__builtin_ctzll(align) : 0;
	return push(b, thread, op, id, size, al);
}

int tb_free(struct trace_builder *b, int thread, uint64_t key)
{
	uint32_t v = km_get(&b->objs, key);
	if (!v)
		return tb_bad(b, "free of object %#llx that was never allocated (or freed)",
			      (unsigned long long)key);
	if (b->nfree == b->free_cap) {
		uint64_t ncap = b->free_cap ? b->free_cap * 2 : 1024;
		uint32_t *n = realloc(b->free_ids, ncap * sizeof(*n));
		if (!n)
			return tb_bad(b, "out of memory");
		b->free_ids = n;
		b->free_cap = ncap;
	}
	if (push(b, thread, TOP_FREE, v - 1, 0, 0))
		return -1;
	km_del(&b->objs, key);
	b->free_ids[b->nfree++] = v - 1;
	return 0;
}

int tb_realloc(struct trace_builder *b, int thread, uint64_t key, uint64_t new_key,
	       uint64_t size)
{
	uint32_t v = km_get(&b->objs, key);
	if (!v)
		return tb_bad(b, "realloc of object %#llx that was never allocated (or freed)",
			      (unsigned long long)key);
	if (size > TRACE_MAX_SIZE)
		return tb_bad(b, "absurd size %llu", (unsigned long long)size);
	if (new_key != key && km_get(&b->objs, new_key))
		return tb_bad(b, "realloc result %#llx is another live object",
			      (unsigned long long)new_key);
	if (push(b, thread, TOP_REALLOC, v - 1, size, 0))
		return -1;
	if (new_key != key) {
		km_del(&b->objs, key);
		if (km_put(&b->objs, new_key, v))
			return tb_bad(b, "out of memory");
	}
	return 0;
}

int tb_image(struct trace_builder *b, void **img, uint64_t *len)
{
	uint64_t nids = b->next_id ? b->next_id : 1;
	uint64_t *sizes = malloc(nids * sizeof(*sizes));
	uint8_t *buf = aligned_alloc(64, (trace_bin_size(b->n) + 63) & ~63ull);
	if (!sizes || !buf) {
		free(sizes);
		free(buf);
		return -1;
	}
	struct trace_header h;
	trace_summarize(b->ops, b->n, sizes, (uint32_t)nids, &h);
	if (!h.nthreads)
		h.nthreads = 1;
	free(sizes);
	trace_header_encode(&h, buf);
	if (b->n)
		memcpy(buf + TRACE_HEADER_SIZE, b->ops, b->n * sizeof(struct trace_op));
	*img = buf;
	*len = trace_bin_size(b->n);
	return 0;
}
