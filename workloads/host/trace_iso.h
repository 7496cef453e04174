/* trace_iso.h: traces in memory that the measured process's allocator never saw
 * (trace_iso.c). A trace file is parsed, decompressed and validated in a child
 * process, which hands the binary image over in a memfd; a generator writes into
 * mmap'd memory. So a heap measured afterwards (glibc included: the parent's malloc
 * is not used) starts from the state the process had before the trace existed, and
 * the image's pages are resident before any footprint baseline is taken.
 */
#ifndef WL_TRACE_ISO_H
#define WL_TRACE_ISO_H

#include "../core/gen.h"

struct trace_mapped {
	struct trace t; /* validated; t.ops points into img */
	void *img;	/* header + records, mapped read-only (files) or read-write (gen) */
	uint64_t len;
};

/* Loads path (any format trace_load reads) into out. 0, or -1 with a one-line message
 * naming the file in err. lenient: skip bad ops of text formats. */
int trace_load_isolated(const char *path, bool lenient, struct trace_mapped *out, char *err,
			size_t cap);
/* Generates k with p into out (mmap'd). 0, or -1 with a message in err. */
int trace_gen_mapped(enum gen_kind k, const struct gen_params *p, struct trace_mapped *out,
		     char *err, size_t cap);
void trace_mapped_free(struct trace_mapped *m);

#endif
