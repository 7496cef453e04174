/* trace_file.c: loading with full validation, and atomic binary writes (see
 * trace_file.h; format detection is trace_detect.c, reading the input itself, plain or
 * xz and bounded, trace_read.c).
 *
 * Every successful load yields an image that passed trace_bin_open and
 * trace_validate(check_summary), so consumers never see an inconsistent trace.
 */
#define _GNU_SOURCE
#include "trace_file.h"
#include "out_file.h"
#include "trace_rec.h"

#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int finish_load(const char *name, struct trace_loaded *out, char *err, size_t errlen)
{
	struct trace_err e;
	if (trace_bin_open(out->img, out->img_len, &out->t, &e)) {
		snprintf(err, errlen, "%s: offset %llu: %s", name, (unsigned long long)e.offset,
			 e.msg);
		return -1;
	}
	/* More ids than 16 per op and over 16 M: a lying header, not a trace (guards the
	 * scratch allocation below). Generated traces may have many unused ids. */
	if (out->t.h.nids > (1u << 24) && out->t.h.nids > 16 * out->t.h.nops) {
		snprintf(err, errlen, "%s: offset 28: absurd id count %u", name, out->t.h.nids);
		return -1;
	}
	uint64_t *scratch = malloc(((uint64_t)out->t.h.nids + 1) * 8);
	if (!scratch) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	int rc = trace_validate(&out->t, scratch, true, &e);
	free(scratch);
	if (rc)
		snprintf(err, errlen, "%s: offset %llu: %s", name, (unsigned long long)e.offset,
			 e.msg);
	return rc;
}

static int load_bin(const char *name, const char *data, size_t len, struct trace_loaded *out,
		    char *err, size_t errlen)
{
	out->img = aligned_alloc(64, (len + 64) & ~63ull);
	if (!out->img) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memcpy(out->img, data, len);
	out->img_len = len;
	return finish_load(name, out, err, errlen);
}

static int load_mem(const char *name, const char *data, size_t len, bool lenient,
		    struct trace_loaded *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->fmt = trace_detect(name, data, len);
	if (out->fmt == TFMT_UNKNOWN) {
		snprintf(err, errlen, "%s:1: unknown trace format", name);
		return -1;
	}
	if (out->fmt == TFMT_BIN)
		return load_bin(name, data, len, out, err, errlen);
	struct trace_builder b;
	tb_init(&b, name, lenient);
	int rc = trace_parse_text(&b, out->fmt, data, len);
	out->skipped = b.skipped;
	out->src = b.src;
	snprintf(out->first_skip, sizeof(out->first_skip), "%s", b.err);
	if (rc)
		snprintf(err, errlen, "%s", b.err);
	else if (tb_image(&b, &out->img, &out->img_len))
		rc = -1, snprintf(err, errlen, "%s: out of memory", name);
	tb_free_all(&b);
	return rc ? rc : finish_load(name, out, err, errlen);
}

int trace_load_mem(const char *name, const char *data, size_t len, bool lenient,
		   struct trace_loaded *out, char *err, size_t errlen)
{
	int rc = load_mem(name, data, len, lenient, out, err, errlen);
	if (rc)
		trace_loaded_free(out); /* nothing to free for the caller on failure */
	return rc;
}

int trace_load(const char *path, bool lenient, struct trace_loaded *out, char *err,
	       size_t errlen)
{
	char *data;
	size_t len;
	memset(out, 0, sizeof(*out));
	if (trace_read_input(path, trace_probe_trace, &data, &len, err, errlen))
		return -1;
	int rc = trace_load_mem(path, data, len, lenient, out, err, errlen);
	free(data);
	return rc;
}

void trace_loaded_free(struct trace_loaded *t)
{
	free(t->img);
	t->img = NULL;
}

/* The writers' end: 0, or -1 with "cannot write PATH: why" in err (-2: PATH can be no
 * output, a directory). */
static int write_status(const char *path, int e, char *err, size_t errlen)
{
	if (!e)
		return 0;
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(-e));
	return e == -EISDIR ? -2 : -1;
}

int trace_write_bin(const char *path, const struct trace *t, char *err, size_t errlen)
{
	struct out_file o;
	int e = out_open(&o, path);
	if (e)
		return write_status(path, e, err, errlen);
	uint8_t hdr[TRACE_HEADER_SIZE];
	trace_header_encode(&t->h, hdr);
	size_t n = t->h.nops;
	fwrite(hdr, 1, sizeof(hdr), o.f); /* a write error stays in o.f for out_commit */
	if (n)
		fwrite(t->ops, sizeof(*t->ops), n, o.f);
	return write_status(path, out_commit(&o), err, errlen);
}

int trace_write_trc(const char *path, const struct trace *t, const char *exe, char *err,
		    size_t errlen)
{
	struct out_file out;
	int e = out_open(&out, path);
	if (e)
		return write_status(path, e, err, errlen);
	FILE *f = out.f;
	fprintf(f, "# allocrec trace v1 exe=%s pid=0 threads=%u ops=%llu objects=%llu "
		   "peak_live=%llu\n", exe, t->h.nthreads, (unsigned long long)t->h.nops,
		(unsigned long long)t->h.nobjects, (unsigned long long)t->h.peak_live);
	for (uint64_t i = 0; i < t->h.nops && !ferror(f); i++) {
		const struct trace_op *o = &t->ops[i];
		fprintf(f, "%u %s %u", o->thread, trace_op_name(o->op), o->id);
		if (o->op != TOP_FREE)
			fprintf(f, " %llu", (unsigned long long)o->size);
		if (o->op == TOP_MEMALIGN)
			fprintf(f, " %llu", 1ull << o->align_log2);
		fputc('\n', f);
	}
	return write_status(path, out_commit(&out), err, errlen);
}
