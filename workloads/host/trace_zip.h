/* trace_zip.h: the one file inside a .zip archive, for the trace reader (trace_read.c).
 * AOSP ships its memory_replay traces as NAME.zip holding one NAME.txt; the reader
 * takes such an archive like a plain or xz input. */
#ifndef MTB_TRACE_ZIP_H
#define MTB_TRACE_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether the first n bytes of an input start a zip archive (a local file header). */
bool trace_zip_magic(const void *head, size_t n);

/* The contents of the single file in the zip archive z[n] (directory entries are
 * ignored), stored or deflated, CRC-checked, into *out (malloc'd, NUL-terminated,
 * length *len), at most limit bytes. 0, or -1 with "PATH: zip: reason" in err. */
int trace_zip_extract(const char *path, const uint8_t *z, size_t n, uint64_t limit, char **out,
		      size_t *len, char *err, size_t errlen);

#endif
