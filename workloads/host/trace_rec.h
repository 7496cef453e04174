/* trace_rec.h: the reader of libmtbrec.so's mtbrec v2 recordings (.rec; format in
 * workloads/recorder/rec_format.h) for trace_file.c (hosted).
 */
#ifndef WL_TRACE_REC_H
#define WL_TRACE_REC_H

#include "trace_build.h"

/* True if data starts like an mtbrec v2 recording. */
bool trace_rec_detect(const char *data, size_t len);

/* Parses a recording into b (b initialized by the caller): the threads' records
 * merged by sequence number, objects named by pointer and given ids as the old
 * allocrec text recorder did (an id per allocation, kept across realloc; frees of
 * blocks allocated before recording began are dropped). A recording cut short (no
 * END block: the process was killed) ends before its first missing number; the
 * records dropped are counted in b->skipped with a note in b->err, not an error.
 * 0, or -1 with b->err set ("FILE: offset N: ..." or "FILE: seq N: ..."). */
int trace_parse_rec(struct trace_builder *b, const char *data, size_t len);

#endif
