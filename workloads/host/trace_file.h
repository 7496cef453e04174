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

/* Reading an input (trace_read.c). A regular file, or a pipe or FIFO read as a
 * stream, plain or xz (every concatenated stream); anything else (a device such as
 * /dev/zero, a directory, a socket) and a FIFO with no writer when it is opened are
 * refused at once (the open never blocks). At most trace_input_limit() bytes of
 * data (after decompression) are held, and the xz decoder may use 1 GiB. */

/* The rules above in a tool's --help words (each tool prints this). */
#define TRACE_INPUT_HELP                                                                   \
	"Inputs: a regular file, or a pipe or FIFO read to its end (its writer must be\n"  \
	"there when the tool opens it: a FIFO with no writer is refused, never waited\n"   \
	"for); devices (/dev/zero), directories and sockets are refused. xz inputs may\n"  \
	"hold several streams. At most MTB_MAX_INPUT bytes of data after decompression\n" \
	"(default 1G; e.g. MTB_MAX_INPUT=4G), and the format is checked on the first\n"   \
	"64 KiB before more is read.\n"

/* The input limit in bytes: $MTB_MAX_INPUT (decimal bytes, or with a K, M or G
 * suffix: 512M, 4G), default 1 GiB. 0, or -1 (err) when the variable is malformed. */
int trace_input_limit(uint64_t *limit, char *err, size_t errlen);

/* A check of the first 64 KiB of the data (head, n bytes; all: that is the whole
 * input), run before anything more is read: true to read on, else false with a
 * one-line message in err. */
typedef bool trace_probe_fn(const char *path, const char *head, size_t n, bool all, char *err,
			    size_t errlen);
/* Probes: any format trace_load reads (trace_detect, and no binary data where a
 * text format was detected); any text (the first line has no NUL byte and ends
 * within the head). */
trace_probe_fn trace_probe_trace, trace_probe_text;

/* Reads path whole into a NUL-terminated malloc'd buffer (decompressing xz), after
 * probe (NULL: none) accepted its head. 0, or -1 with a one-line message in err
 * naming path (nothing to free). */
int trace_read_input(const char *path, trace_probe_fn *probe, char **data, size_t *len,
		     char *err, size_t errlen);
/* trace_read_input without a probe. */
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
