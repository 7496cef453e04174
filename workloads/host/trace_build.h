/* trace_build.h: turning text traces into the binary op list (hosted).
 *
 * Text formats name objects by their own keys (allocrec/rep ids, pointers in
 * valgrind and Android logs) and threads by arbitrary tids. A trace_builder maps
 * keys to dense ids (reused after free, so nids == most objects live at once) and
 * tids to dense thread numbers in order of appearance, and collects ops.
 *
 * Errors: every parser reports "FILE:LINE: message" in b->err and fails, or with
 * lenient set counts the bad op in b->skipped, keeps the first message, and goes on.
 */
#ifndef WL_TRACE_BUILD_H
#define WL_TRACE_BUILD_H

#include "../core/trace_bin.h"

enum trace_fmt {
	TFMT_UNKNOWN = 0,
	TFMT_BIN,      /* our binary format (.mtb) */
	TFMT_TRC,      /* allocrec v1 text (.trc, .trc.xz) */
	TFMT_REP,      /* CS:APP malloc-lab (.rep) */
	TFMT_VALGRIND, /* valgrind --trace-malloc=yes log */
	TFMT_ANDROID,  /* Android memory_replay text */
	TFMT_REC,      /* libmtbrec.so's mtbrec v2 recording (.rec, trace_rec.h) */
};

/* Counts stated by a text trace's own header (allocrec, rep), to check against. */
struct trace_src_header {
	bool present;
	uint64_t ops, objects, peak_live, threads;
	bool has_counts; /* the header line carried ops= (recorder files end with "# end") */
	bool has_end;	 /* a "# end ops=N" trailer (written by our recorder at exit) */
	uint64_t end_ops;
};

struct key_map {
	uint64_t *keys;
	uint32_t *vals; /* dense id + 1; 0 = empty slot */
	uint64_t cap, n;
};

struct trace_builder {
	struct trace_op *ops;
	uint64_t n, cap;
	struct key_map objs;	/* key -> dense id */
	struct key_map tids;	/* tid -> dense thread */
	uint32_t *free_ids;	/* stack of freed dense ids */
	uint64_t nfree, free_cap;
	uint32_t next_id, next_thread;
	const char *file;
	uint64_t line;
	bool lenient;
	uint64_t skipped;
	char err[512];		/* first error ("" if none) */
	struct trace_src_header src;
};

void tb_init(struct trace_builder *b, const char *file, bool lenient);
void tb_free_all(struct trace_builder *b);
/* Reports a bad op at b->line: -1 (strict) or 0 after counting it (lenient). */
int tb_bad(struct trace_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Dense thread for tid; -1 (via tb_bad) past TRACE_MAX_THREADS. */
int tb_thread(struct trace_builder *b, uint64_t tid);
/* Ops on object key; 0, or the result of tb_bad (alloc of a live key, free or
 * realloc of an unknown one, absurd size, bad alignment). */
int tb_alloc(struct trace_builder *b, int thread, unsigned op, uint64_t key, uint64_t size,
	     uint64_t align);
int tb_free(struct trace_builder *b, int thread, uint64_t key);
/* Realloc: the object keeps its dense id and is renamed from key to new_key. */
int tb_realloc(struct trace_builder *b, int thread, uint64_t key, uint64_t new_key,
	       uint64_t size);

/* Builds the binary image (header + records, malloc'd, 8-aligned) of b's ops:
 * *img and *len; 0, or -1 on out of memory. */
int tb_image(struct trace_builder *b, void **img, uint64_t *len);

#endif
