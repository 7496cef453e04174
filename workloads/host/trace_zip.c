/* trace_zip.c: the single file of a .zip archive (contracts in trace_zip.h).
 *
 * The file is found through the central directory: the End of Central Directory
 * record is searched backwards over the last 64 KiB + 22 bytes (its comment may be up
 * to 64 KiB), so entries written with a data descriptor (sizes after the data, as
 * streaming zippers write them) are read too. Exactly one file entry must be there
 * (entries whose names end in '/' are directories and are skipped). Methods: 0
 * (stored) and 8 (deflate, zlib's raw inflate). The CRC-32 of the result must match.
 *
 * Refused, each with one line: no End record, a central directory or an entry past the
 * end of the archive, no file or more than one, encryption (flag bit 0), Zip64 (a size
 * or offset of 0xffffffff), another method, a result longer than the limit, deflate
 * data that is corrupt or ends early, a size or CRC that does not match.
 */
#include "trace_zip.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define EOCD_SIZE  22u
#define CDIR_SIZE  46u
#define LOCAL_SIZE 30u

struct zent {
	uint16_t flags, method;
	uint32_t crc, csize, usize, name_len, local;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int zfail(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int zfail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	int k = snprintf(err, errlen, "%s: zip: ", path);
	va_list ap;
	va_start(ap, fmt);
	if (k > 0 && (size_t)k < errlen)
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

bool trace_zip_magic(const void *head, size_t n)
{
	return n >= 4 && !memcmp(head, "PK\3\4", 4);
}

/* The offset of the End of Central Directory record, or -1. */
static long find_eocd(const uint8_t *z, size_t n)
{
	if (n < EOCD_SIZE)
		return -1;
	size_t lo = n - EOCD_SIZE > 65535 ? n - EOCD_SIZE - 65535 : 0;
	for (size_t i = n - EOCD_SIZE + 1; i-- > lo;)
		if (!memcmp(z + i, "PK\5\6", 4) && i + EOCD_SIZE + rd16(z + i + 20) == n)
			return (long)i;
	return -1;
}

/* The one file entry of the central directory into *e; 0 or -1 (message). */
static int find_entry(const char *path, const uint8_t *z, size_t n, struct zent *e, char *err,
		      size_t errlen)
{
	long eo = find_eocd(z, n);
	if (eo < 0)
		return zfail(err, errlen, path,
			     "no end of central directory record (not a whole zip archive)");
	uint32_t count = rd16(z + eo + 10), cd = rd32(z + eo + 16), files = 0;
	if (cd == 0xffffffffu || count == 0xffff)
		return zfail(err, errlen, path, "Zip64 archive (not supported)");
	size_t p = cd;
	for (uint32_t i = 0; i < count; i++) {
		if (p + CDIR_SIZE > (size_t)eo || memcmp(z + p, "PK\1\2", 4))
			return zfail(err, errlen, path, "central directory entry %u damaged",
				     i + 1);
		uint32_t nl = rd16(z + p + 28), xl = rd16(z + p + 30), cl = rd16(z + p + 32);
		if (p + CDIR_SIZE + nl + xl + cl > (size_t)eo)
			return zfail(err, errlen, path, "central directory entry %u damaged",
				     i + 1);
		if (nl && z[p + CDIR_SIZE + nl - 1] != '/') {
			*e = (struct zent){rd16(z + p + 8),  rd16(z + p + 10), rd32(z + p + 16),
					   rd32(z + p + 20), rd32(z + p + 24), nl,
					   rd32(z + p + 42)};
			files++;
		}
		p += CDIR_SIZE + nl + xl + cl;
	}
	if (files != 1)
		return zfail(err, errlen, path, "%u files in the archive (one trace file expected)",
			     files);
	if (e->flags & 1)
		return zfail(err, errlen, path, "encrypted entry (not supported)");
	if (e->csize == 0xffffffffu || e->usize == 0xffffffffu || e->local == 0xffffffffu)
		return zfail(err, errlen, path, "Zip64 entry (not supported)");
	if (e->method != 0 && e->method != 8)
		return zfail(err, errlen, path, "compression method %u (only stored and deflate)",
			     e->method);
	return 0;
}

/* Inflates the raw deflate data in[cn] into out[un] exactly; 0 or -1 (message). */
static int inflate_all(const char *path, const uint8_t *in, size_t cn, char *out, size_t un,
		       char *err, size_t errlen)
{
	z_stream s = {0};
	if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
		return zfail(err, errlen, path, "inflate init failed");
	s.next_in = (Bytef *)(uintptr_t)in;
	s.avail_in = (uInt)cn;
	s.next_out = (Bytef *)out;
	s.avail_out = (uInt)un + 1; /* room for one byte too many: a size mismatch shows */
	int ret = inflate(&s, Z_FINISH);
	size_t got = s.total_out;
	inflateEnd(&s);
	if (ret != Z_STREAM_END)
		return zfail(err, errlen, path, "deflate data %s",
			     ret == Z_DATA_ERROR ? "corrupt"
						 : "truncated or longer than its stated size");
	if (got != un)
		return zfail(err, errlen, path, "%zu bytes inflated, the directory says %zu", got,
			     un);
	return 0;
}

int trace_zip_extract(const char *path, const uint8_t *z, size_t n, uint64_t limit, char **out,
		      size_t *len, char *err, size_t errlen)
{
	struct zent e = {0};
	if (find_entry(path, z, n, &e, err, errlen))
		return -1;
	size_t lo = e.local;
	if (lo + LOCAL_SIZE > n || memcmp(z + lo, "PK\3\4", 4))
		return zfail(err, errlen, path, "local header of the file damaged");
	size_t data = lo + LOCAL_SIZE + rd16(z + lo + 26) + rd16(z + lo + 28);
	if (data > n || e.csize > n - data)
		return zfail(err, errlen, path, "the file's data runs past the end of the archive");
	if (e.usize > limit)
		return zfail(err, errlen, path,
			     "more than %llu bytes of data (the input limit; raise it with "
			     "MTB_MAX_INPUT=SIZE, e.g. 4G)",
			     (unsigned long long)limit);
	char *buf = malloc((size_t)e.usize + 2);
	if (!buf)
		return zfail(err, errlen, path, "out of memory");
	int rc = 0;
	if (e.method == 0 && e.csize != e.usize)
		rc = zfail(err, errlen, path, "stored entry of %u bytes says %u", e.csize, e.usize);
	else if (e.method == 0)
		memcpy(buf, z + data, e.usize);
	else
		rc = inflate_all(path, z + data, e.csize, buf, e.usize, err, errlen);
	if (!rc && crc32(0L, (const Bytef *)buf, e.usize) != e.crc)
		rc = zfail(err, errlen, path, "CRC mismatch (damaged archive)");
	if (rc) {
		free(buf);
		return -1;
	}
	buf[e.usize] = 0;
	*out = buf;
	*len = e.usize;
	return 0;
}
