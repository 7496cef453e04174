/* rec_format.h: the mtbrec v2 recording format, written by libmtbrec.so and read by
 * workloads/host/trace_rec.c (one copy of the encoder and decoder for both).
 *
 * A file is one text line, then binary blocks (little endian):
 *
 *   "# mtbrec v2 exe=PATH pid=N[ parent=P]\n"       (parent=: a fork child's file)
 *   block: u32 magic "MRB2", u32 len, u32 thread, u32 count, u64 base_seq, then
 *          len bytes holding count records of that thread
 *
 * Every recorded call takes numbers from one process-wide sequence counter (1, 2, 3,
 * ...): a free takes its number before the real free, an allocation after the real
 * call returned, and a realloc one before (the release of the old block) and one
 * after (the new block). So a block is always released at a smaller number than any
 * later allocation that returns it again, in any thread: merging all records by
 * number gives one global order consistent with every block's lifetime. A thread's
 * records are in increasing number order; its blocks are in the file in the order
 * they were written.
 *
 * Record: a head byte, op in bits 0-2 and (seq - previous seq - 1) in bits 3-7, 31
 * meaning "a varint with (delta - 32) follows"; then per op
 *   MALLOC, CALLOC   ptr, size              CALLOC: size = nmemb * size
 *   MEMALIGN         ptr, size, log2(align)
 *   FREE             ptr
 *   REALLOC          varint(seq_after - seq - 1), old ptr, new ptr, size: the old
 *                    block is released at seq, the new one returned at seq_after
 *   NOP              nothing: a number taken by a realloc that failed
 * A ptr is the difference to the previous ptr of the block (0 at its start; the new
 * ptr of a REALLOC to its old ptr): if a multiple of 16, zigzag(diff / 16) * 2 as a
 * varint, else the varint 1 and the pointer itself. varint = LEB128, <= 10 bytes.
 * base_seq is the number before the block's first record (the previous record's of
 * the thread).
 * Control blocks (len 0, count as noted): thread REC_CTL_END at a clean end (exit,
 * _exit, exec) with base_seq = the numbers taken so far, all of them in the file;
 * REC_CTL_FORK in a fork child's file after the parent's history (count = the child's
 * pid); REC_CTL_SIGNAL when a fatal signal flushed the buffers (count = the signal).
 */
#ifndef WL_REC_FORMAT_H
#define WL_REC_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define REC_MAGIC_LINE	"# mtbrec v2"
#define REC_BLOCK_MAGIC 0x3242524du /* "MRB2" */
#define REC_CTL_END	0xffffffffu
#define REC_CTL_FORK	0xfffffffeu
#define REC_CTL_SIGNAL	0xfffffffdu
#define REC_MAX_RECORD	64	     /* bytes one record may take */
#define REC_SEQ_MAX	(1ull << 60) /* larger numbers and gaps are corrupt data */

struct rec_block_hdr {
	uint32_t magic, len, thread, count;
	uint64_t base_seq;
};

enum rec_op { REC_MALLOC, REC_CALLOC, REC_MEMALIGN, REC_FREE, REC_REALLOC, REC_NOP };

struct rec_rec {
	unsigned op;	     /* enum rec_op */
	unsigned align_log2; /* MEMALIGN */
	uint64_t seq, seq2;  /* seq2: REALLOC's second number */
	uint64_t ptr, ptr2;  /* ptr2: REALLOC's new block */
	uint64_t size;
};

/* Encoder/decoder state of one block: the previous record's number and pointer. */
struct rec_state {
	uint64_t seq, ptr;
};

static inline uint8_t *rec_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Reads a varint; false if it runs past end or over 64 bits. */
static inline bool rec_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t c = *(*p)++;
		if (shift == 63 && c > 1)
			return false;
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

static inline uint8_t *rec_put_ptr(uint8_t *p, uint64_t prev, uint64_t ptr)
{
	uint64_t d = ptr - prev;
	if (d & 15)
		return rec_put_varint(rec_put_varint(p, 1), ptr);
	int64_t x = (int64_t)d >> 4;
	return rec_put_varint(p, (((uint64_t)x << 1) ^ (uint64_t)(x >> 63)) << 1);
}

static inline bool rec_get_ptr(const uint8_t **p, const uint8_t *end, uint64_t prev, uint64_t *ptr)
{
	uint64_t v;
	if (!rec_get_varint(p, end, &v))
		return false;
	if (v & 1)
		return v == 1 && rec_get_varint(p, end, ptr);
	v >>= 1;
	*ptr = prev + ((v >> 1) ^ -(v & 1)) * 16;
	return true;
}

/* Appends r (r->seq > st->seq; REALLOC: r->seq2 > r->seq) at p; the end. */
static inline uint8_t *rec_encode(uint8_t *p, struct rec_state *st, const struct rec_rec *r)
{
	uint64_t d = r->seq - st->seq - 1;
	*p++ = (uint8_t)(r->op | (d < 31 ? d : 31) << 3);
	if (d >= 31)
		p = rec_put_varint(p, d - 31);
	st->seq = r->seq;
	if (r->op == REC_NOP)
		return p;
	if (r->op == REC_REALLOC) {
		p = rec_put_varint(p, r->seq2 - r->seq - 1);
		st->seq = r->seq2;
	}
	p = rec_put_ptr(p, st->ptr, r->ptr);
	st->ptr = r->ptr;
	if (r->op == REC_REALLOC) {
		p = rec_put_ptr(p, r->ptr, r->ptr2);
		st->ptr = r->ptr2;
	}
	if (r->op != REC_FREE)
		p = rec_put_varint(p, r->size);
	if (r->op == REC_MEMALIGN)
		*p++ = (uint8_t)r->align_log2;
	return p;
}

/* Decodes one record at *p (before end) into r; false if malformed or cut off. */
static inline bool rec_decode(const uint8_t **p, const uint8_t *end, struct rec_state *st,
			      struct rec_rec *r)
{
	uint64_t d, d2;
	if (*p >= end)
		return false;
	uint8_t h = *(*p)++;
	memset(r, 0, sizeof(*r));
	r->op = h & 7;
	d = h >> 3;
	if (r->op > REC_NOP || (d == 31 && !rec_get_varint(p, end, &d2)))
		return false;
	d = d == 31 ? d2 + 31 : d;
	if (d > REC_SEQ_MAX || st->seq > REC_SEQ_MAX)
		return false;
	r->seq = st->seq + d + 1;
	st->seq = r->seq;
	if (r->op == REC_NOP)
		return true;
	if (r->op == REC_REALLOC) {
		if (!rec_get_varint(p, end, &d2) || d2 > REC_SEQ_MAX)
			return false;
		r->seq2 = st->seq = r->seq + d2 + 1;
	}
	if (!rec_get_ptr(p, end, st->ptr, &r->ptr))
		return false;
	st->ptr = r->ptr;
	if (r->op == REC_REALLOC) {
		if (!rec_get_ptr(p, end, r->ptr, &r->ptr2))
			return false;
		st->ptr = r->ptr2;
	}
	if (r->op != REC_FREE && !rec_get_varint(p, end, &r->size))
		return false;
	if (r->op == REC_MEMALIGN) {
		if (*p >= end || **p > 63)
			return false;
		r->align_log2 = *(*p)++;
	}
	return true;
}

#endif
