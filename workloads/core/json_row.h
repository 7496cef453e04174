/* json_row.h: one-line JSON result rows written into a caller buffer (no libc),
 * used by the guest and by the host engine, so both print identical rows.
 *
 * Every row carries the provenance fields of guest/abi.h "Results": combo and the
 * three strategies, cpus, trace name + hash, build id, seed, and, when the writer
 * knows them, engine and timing_trusted (the guest leaves those two to its engine,
 * which inserts them after the opening brace).
 */
#ifndef WL_JSON_ROW_H
#define WL_JSON_ROW_H

#include "../../strategies/frame.h"
#include "../../strategies/va.h"
#include "machine.h"
#include "replay.h"

struct json_buf {
	char *buf;
	size_t cap, len;
	bool overflow; /* something did not fit; the row is unusable */
	bool first;    /* no member written yet */
};

/* Starts an object "{" in buf[0..cap). */
void json_begin(struct json_buf *j, char *buf, size_t cap);
void json_str(struct json_buf *j, const char *key, const char *val); /* val NULL: null */
void json_u64(struct json_buf *j, const char *key, uint64_t v);
void json_i64(struct json_buf *j, const char *key, int64_t v);
void json_bool(struct json_buf *j, const char *key, bool v);
/* v / 10^6 with six decimals (fixed point, e.g. fragmentation in ppm). */
void json_ppm(struct json_buf *j, const char *key, int64_t v);
/* [v0,v1,...] */
void json_u64_array(struct json_buf *j, const char *key, const uint64_t *v, unsigned n);
/* 16 lowercase hex digits as a string. */
void json_hex64(struct json_buf *j, const char *key, uint64_t v);
void json_null(struct json_buf *j, const char *key);
/* Closes the object and NUL-terminates; the length, or -1 if it overflowed. */
long json_end(struct json_buf *j);

struct result_prov {
	const char *kind;		 /* e.g. "replay" */
	const char *combo;		 /* "PHYS-VIRT-HEAP", or the heap name on the host */
	const char *phys, *virt, *heap;
	const char *engine;		 /* NULL: left to the engine (guest rows) */
	int timing_trusted;		 /* 0/1, or -1: left to the engine */
	unsigned cpus;
	const char *mode;		 /* "serial" | "parallel" */
	const char *trace;		 /* trace or generator name */
	uint64_t trace_hash;		 /* payload_hash of the trace */
	const char *build;		 /* build id */
	uint64_t seed;
};

/* The provenance members of p (engine and timing_trusted only when known), for rows
 * of other kinds (va_frag, ...) built with the json_* writers. */
void json_prov(struct json_buf *j, const struct result_prov *p);

/* Writes one replay row into buf: provenance, then every metric of res. The row's
 * length, or -1 if cap is too small (about 1 KiB is enough). */
long json_replay_row(const struct result_prov *p, const struct replay_result *res, char *buf,
		     size_t cap);

/* The layers under the heap at the end of a run; NULL where unknown. */
struct env_metrics {
	const struct frame_stats *frames; /* phys_*: free memory by order, 2 MiB share, ... */
	const struct va_stats *va;	  /* va_*: reserved, free ranges, largest, metadata */
	const struct machine_counts *mc;  /* mmu_*: page-table edits, shootdowns, tables */
	uint64_t machine_bytes;		  /* the replay machine's memory (0: none) */
};

/* json_replay_row plus the env fields (env may be NULL). */
long json_replay_row_env(const struct result_prov *p, const struct replay_result *res,
			 const struct env_metrics *env, char *buf, size_t cap);

/* Negative controls of the engines' cross-check: adds one unit in the last place to the
 * numeric member `field` of a row (in place; the row may grow by one byte within cap).
 * false if there is no such numeric member or no room. */
bool json_row_perturb(char *row, size_t cap, const char *field);

#endif
