/* trace_rec.c: reads an mtbrec v2 recording (libmtbrec.so's per-thread blocks,
 * workloads/recorder/rec_format.h) into a trace_builder.
 *
 * Pass 1 indexes the blocks (a cut-off last block is a write a kill interrupted:
 * dropped with a note). Pass 2 merges the threads' record streams by sequence
 * number with a min-heap of per-thread cursors (a REALLOC is two events: the old
 * block's release at its first number, the new block at its second) and turns each
 * event into builder ops, naming objects by pointer: ptr -> object key, a key per
 * allocation (so the trace is the one the allocrec text recorder wrote).
 * Invariants checked: numbers strictly increase within a thread and are never
 * shared; every number up to the last END block is present (else the file is
 * corrupt); an allocation never returns a pointer that is still live (its free
 * would have been numbered before it). Messages name the byte offset of a bad
 * block or the sequence number of a bad record (builder messages: "FILE:SEQ:").
 */
#define _GNU_SOURCE
#include "trace_rec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../recorder/rec_format.h"

struct rd_block {
	uint64_t off; /* of the records */
	uint32_t len, thread, count;
	uint64_t base;
};

struct rd_cursor {
	uint32_t thread;
	uint32_t next_block, last_block; /* range in rd.order */
	const uint8_t *p, *end;
	uint64_t left, block_off;
	struct rec_state st;
	struct rec_rec r;
	int phase;	  /* 1: at the second number of a REALLOC */
	uint64_t pending; /* REALLOC: the key its first half released */
	uint64_t key;	  /* the number of the next event */
};

struct rd {
	struct trace_builder *b;
	const uint8_t *data;
	size_t len;
	struct rd_block *blocks;
	uint32_t *order; /* data blocks by (thread, file order) */
	uint64_t nblocks, cap_blocks, nctl;
	bool has_end, cut_off;
	uint32_t cut_records; /* in the cut-off block, by its header */
	uint64_t end_seq;
	uint32_t signal;
	struct rd_cursor *cur;
	uint32_t ncur, *heap, nheap;
	uint64_t *pkeys, *pvals, pcap, pn; /* ptr -> object key (0 = empty slot) */
	uint64_t next_obj;
};

static int rd_bad(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_bad(struct rd *r, const char *fmt, ...)
{
	struct trace_builder *b = r->b;
	if (!b->err[0]) {
		int n = snprintf(b->err, sizeof(b->err), "%s: ", b->file);
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

/* ---- ptr -> object key ------------------------------------------------------------ */
static uint64_t ph(const struct rd *r, uint64_t p)
{
	return (p * 0x9e3779b97f4a7c15ull >> 17) & (r->pcap - 1);
}

static uint64_t pslot(const struct rd *r, uint64_t p)
{
	uint64_t i = ph(r, p);
	while (r->pvals[i] && r->pkeys[i] != p)
		i = (i + 1) & (r->pcap - 1);
	return i;
}

static int pgrow(struct rd *r)
{
	struct rd n = {.pcap = r->pcap ? r->pcap * 2 : 1 << 12};
	n.pkeys = malloc(n.pcap * 8);
	n.pvals = calloc(n.pcap, 8);
	if (!n.pkeys || !n.pvals) {
		free(n.pkeys);
		free(n.pvals);
		return -1;
	}
	for (uint64_t i = 0; i < r->pcap; i++)
		if (r->pvals[i]) {
			uint64_t j = pslot(&n, r->pkeys[i]);
			n.pkeys[j] = r->pkeys[i];
			n.pvals[j] = r->pvals[i];
		}
	free(r->pkeys);
	free(r->pvals);
	r->pkeys = n.pkeys;
	r->pvals = n.pvals;
	r->pcap = n.pcap;
	return 0;
}

/* Removes p; its key, or 0 if p is not live. */
static uint64_t ptake(struct rd *r, uint64_t p)
{
	if (!r->pcap)
		return 0;
	uint64_t m = r->pcap - 1, i = pslot(r, p), v = r->pvals[i];
	if (!v)
		return 0;
	r->pvals[i] = 0;
	r->pn--;
	for (uint64_t j = (i + 1) & m; r->pvals[j]; j = (j + 1) & m) {
		uint64_t h = ph(r, r->pkeys[j]);
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			r->pkeys[i] = r->pkeys[j];
			r->pvals[i] = r->pvals[j];
			r->pvals[j] = 0;
			i = j;
		}
	}
	return v;
}

/* p becomes live as key. A pointer still live is a reuse numbered before its
 * release: corrupt (strict), or the old object is left leaked (lenient). */
static int pput(struct rd *r, uint64_t p, uint64_t key, const struct rd_cursor *c)
{
	if ((r->pn + 1) * 2 > r->pcap && pgrow(r)) {
		r->b->lenient = false;
		return rd_bad(r, "out of memory");
	}
	uint64_t i = pslot(r, p);
	if (r->pvals[i] && rd_bad(r,
				  "seq %llu: thread %u: %#llx is returned again while live (its "
				  "free was not recorded, or numbered after this reuse)",
				  (unsigned long long)c->key, c->thread, (unsigned long long)p))
		return -1;
	r->pn += !r->pvals[i];
	r->pkeys[i] = p;
	r->pvals[i] = key;
	return 0;
}

/* ---- pass 1: blocks ------------------------------------------------------------- */
static int add_block(struct rd *r, const struct rd_block *k)
{
	if (r->nblocks == r->cap_blocks) {
		uint64_t n = r->cap_blocks ? r->cap_blocks * 2 : 256;
		struct rd_block *nb = realloc(r->blocks, n * sizeof(*nb));
		if (!nb)
			return -1;
		r->blocks = nb;
		r->cap_blocks = n;
	}
	r->blocks[r->nblocks++] = *k;
	return 0;
}

static int ctl_block(struct rd *r, const struct rec_block_hdr *h, uint64_t off)
{
	if (h->len)
		return rd_bad(r, "offset %llu: control block with data", (unsigned long long)off);
	if (h->thread == REC_CTL_END) {
		r->end_seq = r->has_end && r->end_seq > h->base_seq ? r->end_seq : h->base_seq;
		r->has_end = true;
	}
	if (h->thread == REC_CTL_SIGNAL)
		r->signal = h->count;
	r->nctl++;
	return 0;
}

/* Indexes every block after the header line; 0 or -1. */
static int scan(struct rd *r, uint64_t off)
{
	while (off < r->len) {
		struct rec_block_hdr h;
		if (r->len - off < sizeof(h)) {
			r->cut_off = true;
			return 0;
		}
		memcpy(&h, r->data + off, sizeof(h));
		if (h.magic != REC_BLOCK_MAGIC)
			return rd_bad(r, "offset %llu: not a block (bad magic)",
				      (unsigned long long)off)
				   ? -1
				   : 0;
		if (h.thread >= REC_CTL_SIGNAL) {
			if (ctl_block(r, &h, off))
				return -1;
			off += sizeof(h);
			continue;
		}
		if (r->len - off - sizeof(h) < h.len) {
			r->cut_off = true;
			r->cut_records = h.count;
			return 0;
		}
		if (!h.count || h.len < h.count || h.base_seq > REC_SEQ_MAX)
			return rd_bad(r,
				      "offset %llu: bad block header (thread %u, %u bytes, %u "
				      "records)",
				      (unsigned long long)off, h.thread, h.len, h.count)
				   ? -1
				   : 0;
		struct rd_block k = {off + sizeof(h), h.len, h.thread, h.count, h.base_seq};
		if (add_block(r, &k)) {
			r->b->lenient = false;
			return rd_bad(r, "out of memory");
		}
		off += sizeof(h) + h.len;
	}
	return 0;
}

static int by_thread(const void *a, const void *b, void *ctx)
{
	const struct rd_block *x = &((const struct rd *)ctx)->blocks[*(const uint32_t *)a];
	const struct rd_block *y = &((const struct rd *)ctx)->blocks[*(const uint32_t *)b];
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* One cursor per thread over its blocks in file order; 0 or -1 (out of memory). */
static int make_cursors(struct rd *r)
{
	r->order = malloc((r->nblocks + 1) * sizeof(*r->order));
	r->cur = calloc(r->nblocks + 1, sizeof(*r->cur));
	r->heap = malloc((r->nblocks + 1) * sizeof(*r->heap));
	if (!r->order || !r->cur || !r->heap)
		return -1;
	for (uint32_t i = 0; i < r->nblocks; i++)
		r->order[i] = i;
	qsort_r(r->order, r->nblocks, sizeof(*r->order), by_thread, r);
	for (uint32_t i = 0; i < r->nblocks; i++) {
		uint32_t t = r->blocks[r->order[i]].thread;
		if (!r->ncur || r->cur[r->ncur - 1].thread != t)
			r->cur[r->ncur++] = (struct rd_cursor){.thread = t, .next_block = i};
		r->cur[r->ncur - 1].last_block = i + 1;
	}
	return 0;
}

/* ---- pass 2: the merge ------------------------------------------------------------ */
/* Moves c to its next event (key); 1 if there is one, 0 at its end, -1 on error,
 * -2 after skipping the rest of a malformed block (lenient, counted). */
static int advance(struct rd *r, struct rd_cursor *c)
{
	if (c->phase == 0 && c->r.op == REC_REALLOC && c->key == c->r.seq) {
		c->phase = 1;
		c->key = c->r.seq2;
		return 1;
	}
	c->phase = 0;
	while (!c->left) {
		if (c->p != c->end && rd_bad(r,
					     "offset %llu: thread %u: block has %llu bytes after "
					     "its records",
					     (unsigned long long)c->block_off, c->thread,
					     (unsigned long long)(c->end - c->p)))
			return -1;
		if (c->next_block == c->last_block)
			return 0;
		const struct rd_block *k = &r->blocks[r->order[c->next_block++]];
		if (k->base < c->st.seq &&
		    rd_bad(r,
			   "offset %llu: thread %u: block starts at seq "
			   "%llu, before its previous block's end %llu",
			   (unsigned long long)k->off, c->thread, (unsigned long long)k->base,
			   (unsigned long long)c->st.seq))
			return -1;
		c->p = r->data + k->off;
		c->end = c->p + k->len;
		c->left = k->count;
		c->block_off = k->off - sizeof(struct rec_block_hdr);
		c->st = (struct rec_state){k->base > c->st.seq ? k->base : c->st.seq, 0};
	}
	c->left--;
	c->pending = 0;
	if (!rec_decode(&c->p, c->end, &c->st, &c->r)) {
		if (rd_bad(r, "offset %llu: thread %u: malformed record",
			   (unsigned long long)c->block_off, c->thread))
			return -1;
		r->b->skipped += c->left; /* lenient: the rest of the block too */
		c->left = 0;
		c->p = c->end;
		return -2;
	}
	c->key = c->r.seq;
	return 1;
}

/* advance, past malformed blocks (lenient). */
static int next_event(struct rd *r, struct rd_cursor *c)
{
	int rc;
	while ((rc = advance(r, c)) == -2)
		c->r.op = REC_NOP;
	return rc;
}

static bool heap_less(const struct rd *r, uint32_t a, uint32_t b)
{
	return r->cur[a].key < r->cur[b].key;
}

static void heap_push(struct rd *r, uint32_t c)
{
	uint32_t i = r->nheap++;
	for (; i && heap_less(r, c, r->heap[(i - 1) / 2]); i = (i - 1) / 2)
		r->heap[i] = r->heap[(i - 1) / 2];
	r->heap[i] = c;
}

static uint32_t heap_pop(struct rd *r)
{
	uint32_t top = r->heap[0], last = r->heap[--r->nheap], i = 0;
	for (;;) {
		uint32_t k = 2 * i + 1;
		if (k >= r->nheap)
			break;
		if (k + 1 < r->nheap && heap_less(r, r->heap[k + 1], r->heap[k]))
			k++;
		if (!heap_less(r, r->heap[k], last))
			break;
		r->heap[i] = r->heap[k];
		i = k;
	}
	if (r->nheap)
		r->heap[i] = last;
	return top;
}

/* The builder ops of c's current event. A thread is numbered at its first op (not
 * at a dropped free or a NOP: the text recorder wrote no line for those). */
static int apply(struct rd *r, struct rd_cursor *c)
{
	struct trace_builder *b = r->b;
	const struct rec_rec *e = &c->r;
	static const unsigned top[] = {TOP_ALLOC, TOP_CALLOC, TOP_MEMALIGN};
	uint64_t k = 0;
	b->line = c->key;
	if (e->op == REC_NOP || (e->op == REC_REALLOC && c->phase == 0)) {
		if (e->op == REC_REALLOC)
			c->pending = ptake(r, e->ptr);
		return 0;
	}
	if (e->op == REC_FREE && !(k = ptake(r, e->ptr)))
		return 0; /* allocated before recording began */
	int th = tb_thread(b, c->thread);
	if (th < 0)
		return th == -1 ? -1 : 0;
	if (e->op == REC_FREE)
		return tb_free(b, th, k);
	if (e->op != REC_REALLOC) {
		k = ++r->next_obj;
		if (pput(r, e->ptr, k, c))
			return -1;
		return tb_alloc(b, th, top[e->op], k, e->size, 1ull << e->align_log2);
	}
	k = c->pending ? c->pending : ++r->next_obj;
	if (pput(r, e->ptr2, k, c))
		return -1;
	return c->pending ? tb_realloc(b, th, k, k, e->size)
			  : tb_alloc(b, th, TOP_ALLOC, k, e->size, 0);
}

/* Records after a missing number: dropped (cut short), or corrupt (before END). */
static int gap(struct rd *r, uint64_t last, uint64_t first_dropped)
{
	uint64_t dropped = 0;
	for (uint32_t i = 0; i < r->nheap; i++) {
		struct rd_cursor *c = &r->cur[r->heap[i]];
		dropped += 1 + c->left + (c->phase == 0 && c->r.op == REC_REALLOC);
		for (uint32_t j = c->next_block; j < c->last_block; j++)
			dropped += r->blocks[r->order[j]].count;
	}
	if (r->has_end && last < r->end_seq &&
	    rd_bad(r, "seq %llu: missing, but the recording ended cleanly at seq %llu: corrupt",
		   (unsigned long long)(last + 1), (unsigned long long)r->end_seq))
		return -1;
	r->b->skipped += dropped + (r->cut_off ? r->cut_records : 0);
	char how[64] = "";
	if (r->signal)
		snprintf(how, sizeof(how), " by signal %u", r->signal);
	if (r->cut_off)
		snprintf(how + strlen(how), sizeof(how) - strlen(how), " (last block cut off)");
	if (!r->b->err[0])
		snprintf(r->b->err, sizeof(r->b->err),
			 "%s: recording cut short%s: seq %llu "
			 "missing, %llu later records dropped (from seq %llu)",
			 r->b->file, how, (unsigned long long)(last + 1),
			 (unsigned long long)dropped, (unsigned long long)first_dropped);
	return 0;
}

static int merge(struct rd *r)
{
	for (uint32_t i = 0; i < r->ncur; i++) {
		int rc = next_event(r, &r->cur[i]);
		if (rc < 0)
			return -1;
		if (rc)
			heap_push(r, i);
	}
	uint64_t last = 0;
	while (r->nheap) {
		uint32_t ci = heap_pop(r);
		struct rd_cursor *c = &r->cur[ci];
		if (c->key <= last) { /* lenient: the event is skipped */
			if (rd_bad(r, "seq %llu: thread %u: number used twice or out of order",
				   (unsigned long long)c->key, c->thread))
				return -1;
		} else if (c->key != last + 1) {
			heap_push(r, ci);
			return gap(r, last, c->key);
		} else {
			last = c->key;
			if (apply(r, c))
				return -1;
		}
		int rc = next_event(r, c);
		if (rc < 0)
			return -1;
		if (rc)
			heap_push(r, ci);
	}
	if (r->has_end && last < r->end_seq)
		return rd_bad(r,
			      "seq %llu..%llu missing, but the recording ended cleanly at seq "
			      "%llu: corrupt",
			      (unsigned long long)(last + 1), (unsigned long long)r->end_seq,
			      (unsigned long long)r->end_seq)
			   ? -1
			   : 0;
	if (r->cut_off && !r->b->err[0])
		snprintf(r->b->err, sizeof(r->b->err),
			 "%s: last block cut off (a write interrupted), its %u records dropped",
			 r->b->file, r->cut_records);
	r->b->skipped += r->cut_off ? r->cut_records : 0;
	return 0;
}

bool trace_rec_detect(const char *data, size_t len)
{
	size_t n = sizeof(REC_MAGIC_LINE) - 1;
	return len > n && !memcmp(data, REC_MAGIC_LINE, n) && (data[n] == ' ' || data[n] == '\n');
}

int trace_parse_rec(struct trace_builder *b, const char *data, size_t len)
{
	struct rd r = {.b = b, .data = (const uint8_t *)data, .len = len};
	const char *nl = memchr(data, '\n', len < 8192 ? len : 8192);
	int rc;
	if (!trace_rec_detect(data, len) || !nl)
		rc = rd_bad(&r, "offset 0: not an mtbrec v2 header line") ? -1 : 0;
	else if ((rc = scan(&r, (uint64_t)(nl + 1 - data))) == 0 && make_cursors(&r)) {
		b->lenient = false;
		rc = rd_bad(&r, "out of memory");
	} else if (rc == 0)
		rc = merge(&r);
	free(r.blocks);
	free(r.order);
	free(r.cur);
	free(r.heap);
	free(r.pkeys);
	free(r.pvals);
	return rc ? -1 : 0;
}
