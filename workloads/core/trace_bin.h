/* trace_bin.h: memtestbed's compact binary allocation trace, also the in-memory op list.
 *
 * A file (or a blob loaded into the guest) is a 64-byte header followed by
 * nops records of 16 bytes, little endian, so records can be used in place:
 *
 *   0   magic "MTBTRACE"        32  nobjects (alloc ops: a, c, m)
 *   8   version (1)             40  peak_live (max sum of live requested sizes)
 *   12  header_size (64)        48  payload_hash = FNV-1a 64 over the records
 *   16  nops                    56  header_hash  = FNV-1a 64 over bytes 0..55
 *   24  nthreads, nids (u32 each: thread < nthreads, id < nids)
 *
 * Ids are dense: an id names one live object and is reused only after its free,
 * so a replayer needs a table of nids slots. Semantic invariants (checked by
 * trace_validate): alloc only of a free id; free/realloc only of a live id;
 * sum over allocs of 1 == nobjects; max over time of live bytes == peak_live.
 */
#ifndef WL_TRACE_BIN_H
#define WL_TRACE_BIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum trace_opcode {
	TOP_ALLOC = 1,	  /* malloc(size) */
	TOP_CALLOC = 2,	  /* calloc: size = nmemb * size, zeroed */
	TOP_MEMALIGN = 3, /* memalign/posix_memalign/aligned_alloc: align = 1 << align_log2 */
	TOP_REALLOC = 4,  /* realloc of a live id to size (same id after) */
	TOP_FREE = 5,	  /* free(id); size unused (0) */
};

struct trace_op {
	uint64_t size;
	uint32_t id;
	uint16_t thread;
	uint8_t op;	    /* enum trace_opcode */
	uint8_t align_log2; /* 0 except memalign; <= TRACE_MAX_ALIGN_LOG2 */
};

_Static_assert(sizeof(struct trace_op) == 16, "trace_op is the 16-byte record");

#define TRACE_MAGIC		"MTBTRACE"
#define TRACE_VERSION		1u
#define TRACE_HEADER_SIZE	64u
#define TRACE_OP_SIZE		16u
#define TRACE_MAX_SIZE		((uint64_t)1 << 40) /* larger requests are "absurd" */
#define TRACE_MAX_ALIGN_LOG2	30u
#define TRACE_MAX_THREADS	65536u

struct trace_header {
	uint64_t nops;
	uint32_t nthreads;
	uint32_t nids;
	uint64_t nobjects;
	uint64_t peak_live;
	uint64_t payload_hash;
};

/* A validated trace: ops point into the caller's buffer. */
struct trace {
	struct trace_header h;
	const struct trace_op *ops;
};

enum trace_err_code {
	TERR_OK = 0,
	TERR_TRUNCATED,	 /* shorter than the header says */
	TERR_MAGIC,
	TERR_VERSION,
	TERR_HEADER,	 /* inconsistent header field, or header hash */
	TERR_CHECKSUM,	 /* payload hash */
	TERR_OP,	 /* unknown op code or bad field */
	TERR_SIZE,	 /* absurd size or alignment */
	TERR_ID,	 /* id out of range, free of a free id, alloc of a live id */
	TERR_SUMMARY,	 /* nobjects / peak_live differ from the ops */
	TERR_NOMEM,	 /* caller's buffer too small */
};

/* Where and why a trace is bad; offset is a byte offset (binary) or a line (text). */
struct trace_err {
	int code;	 /* enum trace_err_code */
	uint64_t offset;
	const char *msg; /* static string */
};

/* FNV-1a 64 of n bytes, continuing from h (start with TRACE_FNV_INIT). */
#define TRACE_FNV_INIT 0xcbf29ce484222325ull
uint64_t trace_fnv1a(uint64_t h, const void *p, size_t n);

/* Writes the 64-byte header for h into out. */
void trace_header_encode(const struct trace_header *h, uint8_t out[TRACE_HEADER_SIZE]);

/* Bytes a file with nops records takes. */
static inline uint64_t trace_bin_size(uint64_t nops)
{
	return TRACE_HEADER_SIZE + nops * TRACE_OP_SIZE;
}

/* Parses and checks buf[0..len): header, hashes, every record's fields. buf must be
 * 8-byte aligned. 0 and *t filled, or -1 and *err set (offset = byte offset). */
int trace_bin_open(const void *buf, uint64_t len, struct trace *t, struct trace_err *err);

/* Checks ops against the semantic invariants above, and (if check_summary) that the
 * header's nobjects and peak_live match. scratch: caller memory of nids words.
 * 0, or -1 with *err (offset = byte offset of the record). */
int trace_validate(const struct trace *t, uint64_t *scratch, bool check_summary,
		   struct trace_err *err);

/* Fills h from ops[0..n) (valid semantics assumed): nops, nthreads (max thread + 1),
 * nobjects, peak_live, payload_hash; nids is the caller's. sizes: caller scratch of
 * nids entries (live size per id), zeroed here. */
void trace_summarize(const struct trace_op *ops, uint64_t n, uint64_t *sizes, uint32_t nids,
		     struct trace_header *h);

/* Short name of an opcode ("a", "c", "m", "r", "f"), or "?". */
const char *trace_op_name(unsigned op);

#endif
