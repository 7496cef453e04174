/* rec_internal.h: what the files of libmtbrec.so share (internal), grouped by the
 * file that defines it, and the per-op fast path (inline).
 *
 * Each thread appends records to its own buffer (struct rec_tbuf) under the buffer's
 * own lock, which only other threads' whole-process operations (fork, exit, exec, a
 * fatal signal) ever contend for; a full buffer is written to the process's file as
 * one block (rec_format.h) under file_lock. Lock order: reg_lock, then buffer locks,
 * then file_lock. rec_in (per thread) is set while the recorder runs in that thread:
 * allocations made meanwhile (by the C library on the recorder's behalf, or by a
 * signal handler) are not recorded, and take no sequence number.
 */
#ifndef WL_REC_INTERNAL_H
#define WL_REC_INTERNAL_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "rec_format.h"

#define TLS	      __attribute__((tls_model("initial-exec"))) __thread
#define EXPORT	      __attribute__((visibility("default")))
#define REC_BUF_BYTES (64u * 1024 - 128)

struct rec_tbuf {
	uint32_t lock;
	uint32_t owned;	 /* a live thread appends here; 0: free for a new thread */
	uint32_t thread; /* the trace thread number */
	uint32_t pad;
	union {
		struct {
			uint32_t len, count; /* bytes and records in data, stored at once */
		};
		uint64_t len_count;
	};
	uint64_t base_seq; /* the number before the block's first record */
	struct rec_state st;
	struct rec_tbuf *next;	  /* registry: every buffer ever made, never unmapped */
	struct rec_block_hdr hdr; /* filled at a flush: hdr and data are one write */
	uint8_t data[REC_BUF_BYTES];
};
_Static_assert(offsetof(struct rec_tbuf, data) ==
		   offsetof(struct rec_tbuf, hdr) + sizeof(struct rec_block_hdr),
	       "block header right before the data");

/* ---- rec_buf.c: buffers, the file, fork ---------------------------------------- */
extern int rec_on;	 /* recording (file open, no write failed) */
extern int rec_sync;	 /* after the end (exit): every record is written at once */
extern uint64_t rec_seq; /* the last sequence number taken */
extern TLS struct rec_tbuf *rec_my_buf;
extern TLS int rec_in;

/* Opens the file and starts recording; 0, or -1 (nothing is recorded then). */
int rec_start(void);
/* A buffer for the calling thread (owned, numbered, registered); NULL if none. */
struct rec_tbuf *rec_buf_acquire(void);
/* Writes b's records as one block; caller holds b->lock. */
void rec_buf_flush(struct rec_tbuf *b);
/* Every buffer to the file, then an END block (end) ; sync: write each later
 * record at once. Not from a signal handler. */
void rec_flush_all(int end, int sync);
/* From a fatal signal handler: best effort (locks tried, not waited for), then a
 * SIGNAL block; other threads' buffers stay locked. */
void rec_flush_signal(int sig);

/* ---- rec_exit.c: exec, _exit, fatal signals ------------------------------------ */
/* Installs the flushing handler on every fatal signal still at SIG_DFL (unless
 * MTB_REC_SIGNALS=0). */
void rec_signals_init(void);

/* ---- the fast path ---------------------------------------------------------------- */
static inline void rec_lock(uint32_t *l)
{
	unsigned spins = 0;
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			if (++spins % 1024)
				__builtin_ia32_pause();
			else
				sched_yield();
}

static inline void rec_unlock(uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* The calling thread's buffer, locked, with rec_in set; NULL when this call is not
 * to be recorded (not recording, or inside the recorder). */
static inline struct rec_tbuf *rec_begin(void)
{
	if (!__atomic_load_n(&rec_on, __ATOMIC_RELAXED) || rec_in)
		return NULL;
	rec_in = 1;
	struct rec_tbuf *b = rec_my_buf ? rec_my_buf : rec_buf_acquire();
	if (!b) {
		rec_in = 0;
		return NULL;
	}
	rec_lock(&b->lock);
	return b;
}

/* The next sequence number; caller holds its buffer's lock (so that a fork or an
 * exit, holding every lock, sees each number taken so far in some buffer). */
static inline uint64_t rec_next_seq(void)
{
	return __atomic_add_fetch(&rec_seq, 1, __ATOMIC_SEQ_CST);
}

/* Appends r; len and count change in one store, after the bytes (a signal handler
 * flushing this buffer sees whole records only). */
static inline void rec_put(struct rec_tbuf *b, const struct rec_rec *r)
{
	uint8_t *e = rec_encode(b->data + b->len, &b->st, r);
	uint64_t lc = (uint64_t)(uint32_t)(e - b->data) | (uint64_t)(b->count + 1) << 32;
	__atomic_store_n(&b->len_count, lc, __ATOMIC_RELEASE);
}

static inline void rec_end(struct rec_tbuf *b)
{
	if (b->len > REC_BUF_BYTES - REC_MAX_RECORD || rec_sync)
		rec_buf_flush(b);
	rec_unlock(&b->lock);
	rec_in = 0;
}

#endif
