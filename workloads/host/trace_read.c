/* trace_read.c: reading one trace input whole, plain or xz, within stated bounds
 * (contracts in trace_file.h).
 *
 * What may be read: a regular file, or a pipe or FIFO read as a stream to its end
 * (/dev/stdin, <(cmd), a named FIFO whose writer is already there). Anything else
 * (a directory, a character or block device such as /dev/zero or a terminal, a
 * socket) is refused before a byte is read. The open never waits: it is O_NONBLOCK,
 * so a FIFO without a writer opens at once and its first read says end of file,
 * which is refused ("no writer"); with a writer the descriptor goes back to blocking
 * reads.
 *
 * Bounds: the data held (after decompression) never exceeds trace_input_limit()
 * bytes ($MTB_MAX_INPUT, default 1 GiB), and the xz decoder may use at most
 * XZ_MEMLIMIT. A probe sees the first PROBE_BYTES of the data (all of it if
 * shorter) before anything more is read, so a file that is not a trace fails after
 * 64 KiB, not after gigabytes. xz: every concatenated stream is decoded
 * (LZMA_CONCATENATED, as xz(1) does for `cat a.xz b.xz` and parallel compressors),
 * and the input must end exactly after the last one (LZMA_FINISH). zip (AOSP's
 * memory_replay traces): the archive is read whole (at most the limit), then its one
 * file extracted (trace_zip.c, at most the limit) and probed whole.
 *
 * Invariant of struct rd: n <= cap <= limit + 1 (one byte for the final NUL).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_file.h"
#include "trace_zip.h"

#define DEFAULT_LIMIT (1ull << 30)
#define XZ_MEMLIMIT   (1ull << 30)
#define PROBE_BYTES   ((size_t)64 << 10)
#define CHUNK	      ((size_t)64 << 10)

struct rd {
	const char *path;
	int fd;
	bool nonblock, fifo, probed;
	uint64_t file_size; /* of a regular file, else 0 */
	trace_probe_fn *probe;
	uint64_t limit;
	char *buf; /* the data read so far (decompressed) */
	size_t n, cap;
	char *err;
	size_t errlen;
};

int trace_input_limit(uint64_t *limit, char *err, size_t errlen)
{
	const char *s = getenv("MTB_MAX_INPUT");
	uint64_t v = 0;
	*limit = DEFAULT_LIMIT;
	if (!s || !*s)
		return 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			break;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = *p == 'K' ? 10 : *p == 'M' ? 20 : *p == 'G' ? 30 : 0;
	if (p == s || (shift ? p[1] : p[0]) || v == 0 || v > (UINT64_MAX >> 1 >> shift)) {
		snprintf(err, errlen,
			 "MTB_MAX_INPUT=%s: not a size (decimal bytes, or with K, "
			 "M or G: e.g. 4G)",
			 s);
		return -1;
	}
	*limit = v << shift;
	return 0;
}

static int rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_fail(struct rd *r, const char *fmt, ...)
{
	int k = snprintf(r->err, r->errlen, "%s: ", r->path);
	va_list ap;
	va_start(ap, fmt);
	if (k > 0 && (size_t)k < r->errlen)
		vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

/* Opens r->path without waiting and refuses what is neither a file nor a pipe. */
static int rd_open(struct rd *r)
{
	struct stat st;
	r->fd = open(r->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) < 0)
		return rd_fail(r, "%s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return rd_fail(r, "%s", strerror(EISDIR));
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
		return rd_fail(r, "not a regular file or pipe (%s refused)",
			       S_ISCHR(st.st_mode)   ? "character device"
			       : S_ISBLK(st.st_mode) ? "block device"
						     : "socket or special file");
	r->nonblock = true;
	r->fifo = S_ISFIFO(st.st_mode);
	r->file_size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	return 0;
}

/* Up to cap raw bytes into p: their count, 0 at the end, -1 (message) on error. */
static ssize_t rd_raw(struct rd *r, void *p, size_t cap)
{
	for (;;) {
		ssize_t k = read(r->fd, p, cap);
		if (k >= 0)
			return k;
		if (errno == EAGAIN && r->nonblock) { /* a writer, no data yet: wait for it */
			if (fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) & ~O_NONBLOCK) < 0)
				return rd_fail(r, "fcntl: %s", strerror(errno));
			r->nonblock = false;
		} else if (errno != EINTR) {
			return rd_fail(r, "read: %s", strerror(errno));
		}
	}
}

/* -1 (message) once the data is longer than the limit, else 0. */
static int rd_over(struct rd *r)
{
	if (r->n <= r->limit)
		return 0;
	return rd_fail(r,
		       "more than %llu bytes of data (the input limit; raise it with "
		       "MTB_MAX_INPUT=SIZE, e.g. 4G)",
		       (unsigned long long)r->limit);
}

/* Room for at least one more byte (at most CHUNK) of data; 0, or -1 past the limit
 * or out of memory. Returns the room in *room. */
static int rd_room(struct rd *r, size_t *room)
{
	if (rd_over(r))
		return -1;
	if (r->cap - r->n < 2) {
		size_t ncap = r->cap ? r->cap * 2 : CHUNK + 1;
		ncap = ncap > r->limit + 2 ? (size_t)r->limit + 2 : ncap;
		char *nb = realloc(r->buf, ncap);
		if (!nb)
			return rd_fail(r, "out of memory");
		r->buf = nb;
		r->cap = ncap;
	}
	*room = r->cap - r->n - 1;
	*room = *room > CHUNK ? CHUNK : *room;
	return 0;
}

/* Runs the probe once PROBE_BYTES are in, or at the end (all true). */
static int rd_probe(struct rd *r, bool all)
{
	if (r->probed || !r->probe || (!all && r->n < PROBE_BYTES))
		return 0;
	r->probed = true;
	return r->probe(r->path, r->buf ? r->buf : "", r->n, all, r->err, r->errlen) ? 0 : -1;
}

/* The rest of a plain input after the first raw bytes (head, k of them). */
static int rd_plain(struct rd *r, const uint8_t *head, size_t k)
{
	size_t room;
	for (ssize_t got = (ssize_t)k; got > 0;) {
		if (rd_room(r, &room))
			return -1;
		size_t take = (size_t)got < room ? (size_t)got : room;
		memcpy(r->buf + r->n, head, take);
		r->n += take, head += take, got -= (ssize_t)take;
	}
	for (;;) {
		if (rd_probe(r, false) || rd_room(r, &room))
			return -1;
		ssize_t got = rd_raw(r, r->buf + r->n, room);
		if (got <= 0)
			return got < 0 ? -1 : rd_probe(r, true);
		r->n += (size_t)got;
	}
}

static int xz_fail(struct rd *r, lzma_stream *s, lzma_ret ret)
{
	return rd_fail(r, "offset %llu: xz data %s", (unsigned long long)s->total_in,
		       ret == LZMA_BUF_ERROR	    ? "truncated"
		       : ret == LZMA_MEMLIMIT_ERROR ? "needs more than 1 GiB of decoder memory"
		       : ret == LZMA_MEM_ERROR	    ? "cannot be decoded: out of memory"
						    : "corrupt");
}

/* Decodes every xz stream of the input; in holds its first k raw bytes. */
static int rd_xz(struct rd *r, uint8_t *in, size_t k)
{
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&s, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
		return rd_fail(r, "xz decoder init failed");
	lzma_action action = LZMA_RUN;
	s.next_in = in;
	s.avail_in = k;
	int rc = 0;
	for (lzma_ret ret = LZMA_OK; !rc && ret != LZMA_STREAM_END;) {
		size_t room;
		ssize_t got = 1;
		if (s.avail_in == 0 && action == LZMA_RUN && (got = rd_raw(r, in, CHUNK)) >= 0) {
			s.next_in = in;
			s.avail_in = (size_t)got;
			action = got ? LZMA_RUN : LZMA_FINISH;
		}
		if (got < 0 || rd_probe(r, false) || rd_room(r, &room)) {
			rc = -1;
			break;
		}
		s.next_out = (uint8_t *)r->buf + r->n;
		s.avail_out = room;
		ret = lzma_code(&s, action);
		r->n += room - s.avail_out;
		if (ret != LZMA_OK && ret != LZMA_STREAM_END)
			rc = xz_fail(r, &s, ret);
	}
	lzma_end(&s);
	return rc ? rc : rd_probe(r, true);
}

/* A zip archive: read whole without the probe, then its one file becomes the data. */
static int rd_zip(struct rd *r, const uint8_t *in, size_t k)
{
	trace_probe_fn *probe = r->probe;
	r->probe = NULL;
	int rc = rd_plain(r, in, k) || rd_over(r);
	r->probe = probe;
	char *out;
	size_t n;
	if (rc || trace_zip_extract(r->path, (const uint8_t *)r->buf, r->n, r->limit, &out, &n, r->err,
				    r->errlen))
		return -1;
	free(r->buf);
	r->buf = out, r->n = n, r->cap = n + 1;
	return rd_probe(r, true);
}

/* The first raw bytes (at least 6 unless the input is shorter) into in; the count. */
static ssize_t rd_head(struct rd *r, uint8_t *in)
{
	size_t k = 0;
	for (;;) {
		ssize_t got = rd_raw(r, in + k, CHUNK - k);
		if (got < 0)
			return -1;
		if (got == 0 && k == 0 && r->fifo)
			return rd_fail(r, "FIFO or pipe with no writer, or empty (refused: a "
					  "FIFO's writer must be there when the tool opens it)");
		k += (size_t)got;
		if (got == 0 || k >= 6)
			return (ssize_t)k;
	}
}

int trace_read_input(const char *path, trace_probe_fn *probe, char **data, size_t *len, char *err,
		     size_t errlen)
{
	struct rd r = {.path = path, .fd = -1, .probe = probe, .err = err, .errlen = errlen};
	static const uint8_t xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0};
	uint8_t *in = malloc(CHUNK);
	int rc = -1;
	if (!in)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (!trace_input_limit(&r.limit, err, errlen) && !rd_open(&r)) {
		ssize_t k = rd_head(&r, in);
		if (k >= 6 && !memcmp(in, xz_magic, 6))
			rc = rd_xz(&r, in, (size_t)k);
		else if (k >= 0 && trace_zip_magic(in, (size_t)k))
			rc = rd_zip(&r, in, (size_t)k);
		else if (k >= 0 && r.file_size > r.limit)
			r.n = r.file_size, rc = rd_over(&r);
		else if (k >= 0)
			rc = rd_plain(&r, in, (size_t)k);
	}
	if (r.fd >= 0)
		close(r.fd);
	free(in);
	if (!rc)
		rc = rd_over(&r);
	if (!rc && !r.buf && !(r.buf = malloc(1)))
		rc = -1, snprintf(err, errlen, "%s: out of memory", path);
	if (rc) {
		free(r.buf);
		return -1;
	}
	r.buf[r.n] = 0;
	*data = r.buf;
	*len = r.n;
	return 0;
}

int trace_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
	return trace_read_input(path, NULL, data, len, err, errlen);
}

bool trace_probe_text(const char *path, const char *head, size_t n, bool all, char *err,
		      size_t errlen)
{
	const char *nl = memchr(head, '\n', n);
	size_t first = nl ? (size_t)(nl - head) : n;
	if ((nl || all) && !memchr(head, 0, first))
		return true;
	snprintf(err, errlen, "%s:1: not a text trace (%s)", path,
		 nl || all ? "binary data" : "no line end in the first 64 KiB");
	return false;
}

/* Whether the complete lines of head are all comments or blank (and a partial last
 * line starts a comment): the format shows only further on. */
static bool only_comments(const char *d, size_t n)
{
	if (memchr(d, 0, n))
		return false;
	for (const char *end = d + n; d < end;) {
		if (d[0] != '#' && d[0] != '\n' && d[0] != '\r')
			return false;
		const char *nl = memchr(d, '\n', (size_t)(end - d));
		if (!nl)
			return true;
		d = nl + 1;
	}
	return true;
}

bool trace_probe_trace(const char *path, const char *head, size_t n, bool all, char *err,
		       size_t errlen)
{
	enum trace_fmt f = trace_detect(path, head, n);
	if (f == TFMT_BIN || (f == TFMT_UNKNOWN && !all && only_comments(head, n)))
		return true;
	if (f != TFMT_UNKNOWN)
		return trace_probe_text(path, head, n, all, err, errlen);
	snprintf(err, errlen, "%s:1: unknown trace format", path);
	return false;
}
