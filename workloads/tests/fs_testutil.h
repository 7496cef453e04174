/* fs_testutil.h: a scratch directory and file probes for the tests of output paths
 * (out_file_test, result_out_test; test support, hosted). One scratch directory per
 * test program. */
#ifndef WL_FS_TESTUTIL_H
#define WL_FS_TESTUTIL_H

#include <stdbool.h>
#include <sys/types.h>

/* Makes the scratch directory $TMPDIR/NAME.XXXXXX (CHECK fails if it cannot). */
void fs_scratch(const char *name);
/* Removes it with everything in it (CHECK fails if that fails). */
void fs_scratch_rm(void);
/* SCRATCH/name; the last 4 results stay valid. */
const char *fs_at(const char *name);
/* The content of path (up to 255 bytes), "" when absent; valid until the next call. */
const char *fs_read(const char *path);
/* Whether a file whose name holds ".tmp." is left in the scratch directory. */
bool fs_temp_left(void);
/* lstat's st_mode of path (CHECK fails if it does not exist). */
mode_t fs_mode_of(const char *path);

#endif
