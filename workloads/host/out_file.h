/* out_file.h: a tool's output file (--out), never half-written and never replacing
 * anything but a regular file.
 *
 * - A regular file or a new path: written to a private temp file beside it (same
 *   directory, "NAME.tmp.XXXXXX" from mkstemp) and renamed over it at out_commit():
 *   readers see the old content or all of the new, a failure leaves no temp.
 * - A symlink (a chain of them): followed; its last target is replaced as above and
 *   the links are kept. A dangling link creates its target.
 * - Anything else (FIFO, character or block device, /dev/stdout and the other
 *   /proc/PID/fd links): written through directly, opened O_WRONLY without O_CREAT or
 *   O_TRUNC (a link to one of this process's own fds is dup()ed, keeping its offset
 *   and O_APPEND). Never replaced.
 * - A directory: refused (-EISDIR, an exit status of 2).
 */
#ifndef WL_OUT_FILE_H
#define WL_OUT_FILE_H

#include <stdio.h>

struct out_sink;

struct out_file {
	FILE *f; /* the caller writes here between out_open and out_commit/out_abort */
	struct out_sink *sink; /* private: the fd under f and its first write error */
	char *tmp;	       /* temp file renamed over target at commit; NULL: written through */
	char *target;	       /* the regular file or new path that tmp replaces; NULL: through */
};

/* Opens path for writing as above; 0, or -errno with o zeroed (-EISDIR: a directory,
 * -ELOOP: too many links, -ENOENT: no such directory). Blocks on a FIFO until a
 * reader opens it, as a shell redirection does. */
int out_open(struct out_file *o, const char *path);
/* Flushes and closes; a temp file is fsynced and renamed over its target. 0, or
 * -errno of the first failure (a write error such as -ENOSPC included): then the
 * temp is removed and the target untouched. Releases o either way. */
int out_commit(struct out_file *o);
/* Closes without committing: the temp is removed, the target untouched. Releases o. */
void out_abort(struct out_file *o);
/* Appends the whole content of the file src to o (for libraries that write only to
 * a path of their own); 0 or -errno. */
int out_copy_from(struct out_file *o, const char *src);
/* Prints "PROG: cannot write PATH: REASON" (REASON: strerror(-err)) on stderr;
 * returns the exit status: 2 when the path cannot be an output (-EISDIR), else 1. */
int out_fail(const char *prog, const char *path, int err);

#endif
