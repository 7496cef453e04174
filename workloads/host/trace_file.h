/* trace_file.h: load any supported trace file into a validated binary image, and
 * write binary traces (hosted).
 *
 * Formats (see trace_build.h): binary, allocrec .trc, CS:APP .rep, valgrind
 * --trace-malloc=yes logs, Android memory_replay text; any of them may be
 * xz-compressed (detected by magic, not name). The format is detected from the
 * content (extension as a fallback). .vmt address-space traces are handled by
 * workloads/host/vmt.{h,c} (virt), not here.
 */
#ifndef WL_TRACE_FILE_H
#define WL_TRACE_FILE_H

#include "trace_build.h"

struct trace_loaded {
	struct trace t;	   /* validated; t.ops points into img */
	void *img;	   /* header + records (binary layout) */
	uint64_t img_len;
	enum trace_fmt fmt;
	uint64_t skipped;  /* bad ops skipped (lenient) */
	char first_skip[512]; /* message of the first one */
	struct trace_src_header src;
};

/* Reads path whole (decompressing xz) into a NUL-terminated malloc'd buffer.
 * 0, or -1 with a one-line message in err. */
int trace_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen);

/* Detects the format of data (NUL-terminated); TFMT_UNKNOWN if none matches. */
enum trace_fmt trace_detect(const char *path, const char *data, size_t len);
const char *trace_fmt_name(enum trace_fmt f);

/* Parses a text trace of format f from data into b (b initialized by the caller).
 * 0, or -1 with b->err set. */
int trace_parse_text(struct trace_builder *b, enum trace_fmt f, const char *data, size_t len);

/* Loads path in any format into out (validated, semantic checks included).
 * 0, or -1 with a one-line message naming the file and line/offset in err. */
int trace_load(const char *path, bool lenient, struct trace_loaded *out, char *err,
	       size_t errlen);
/* Same from a buffer already in memory (data NUL-terminated; used by the fuzzers). */
int trace_load_mem(const char *name, const char *data, size_t len, bool lenient,
		   struct trace_loaded *out, char *err, size_t errlen);
void trace_loaded_free(struct trace_loaded *t);

/* Writes t as a binary trace to path as out_file.h does (a regular file replaced
 * atomically, a FIFO or device written through, never replaced); 0, or -1 with
 * "cannot write PATH: why" in err (-2: path is a directory, no output). */
int trace_write_bin(const char *path, const struct trace *t, char *err, size_t errlen);

/* Writes t as allocrec v1 text (ids are t's dense ids); as trace_write_bin. */
int trace_write_trc(const char *path, const struct trace *t, const char *exe, char *err,
		    size_t errlen);

#endif
