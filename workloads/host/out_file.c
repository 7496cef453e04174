/* out_file.c: outputs that replace only regular files (the contract is in out_file.h).
 *
 * Invariant: o->tmp != NULL <=> o->target != NULL <=> the bytes go to a private temp
 * file that out_commit() renames over target; otherwise o->f writes straight into a
 * FIFO, a device or an fd of this process, and nothing is ever renamed or unlinked.
 * The type is decided on the last name of the symlink chain (lstat), so a link is
 * never itself replaced; out_commit() checks again that target is still a regular
 * file (or absent) just before the rename.
 */
#define _GNU_SOURCE
#include "out_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define OUT_MAX_LINKS  40     /* as the kernel's path walk: then ELOOP */
#define OUT_PROC_MAGIC 0x9fa0 /* PROC_SUPER_MAGIC: /proc/PID/fd/N lives there */

/* Where o->f's bytes go: fd, and the first write error (an errno), which stdio would
 * not keep (an fwrite past the buffer fails straight away, and errno is gone by the
 * time out_commit asks). */
struct out_sink {
	int fd, err;
};

static void release(struct out_file *o)
{
	free(o->sink);
	free(o->tmp);
	free(o->target);
	*o = (struct out_file){0};
}

/* The directory part of path ("." when there is none); NULL when out of memory. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Whether the link at path lives in procfs (an fd of some process: written through). */
static bool in_procfs(const char *path)
{
	char *dir = dir_of(path);
	struct statfs sf;
	bool proc = dir && statfs(dir, &sf) == 0 && sf.f_type == OUT_PROC_MAGIC;
	free(dir);
	return proc;
}

/* Where the symlink at path points (a relative target joined to path's directory);
 * NULL with errno set. */
static char *link_next(const char *path)
{
	char buf[PATH_MAX], *dir, *next = NULL;
	ssize_t n = readlink(path, buf, sizeof(buf));
	if (n < 0 || n == (ssize_t)sizeof(buf)) {
		errno = n < 0 ? errno : ENAMETOOLONG;
		return NULL;
	}
	buf[n] = '\0';
	if (buf[0] == '/')
		return strdup(buf);
	if ((dir = dir_of(path)) && asprintf(&next, "%s/%s", dir, buf) < 0)
		next = NULL;
	free(dir);
	return next;
}

/* Follows the links of path to the last name (*last, malloc'd; it may not exist: then
 * st->st_mode is 0); *proc when that last name is a link in procfs. 0 or -errno. */
static int resolve(const char *path, char **last, struct stat *st, bool *proc)
{
	char *cur = strdup(path);
	for (int hops = 0; cur; hops++) {
		if (lstat(cur, st) != 0) {
			if (errno != ENOENT)
				break;
			st->st_mode = 0;
		}
		if (!S_ISLNK(st->st_mode) || (*proc = in_procfs(cur))) {
			*last = cur;
			return 0;
		}
		char *next = hops < OUT_MAX_LINKS ? link_next(cur) : NULL;
		int e = hops < OUT_MAX_LINKS ? errno : ELOOP;
		free(cur);
		cur = next;
		errno = e;
	}
	int e = errno ? -errno : -ENOMEM;
	free(cur);
	return e;
}

/* Whether the procfs link last (reached from path) is one of this process's own
 * fds: *fd set to it. */
static bool own_fd(const char *path, const char *last, int *fd)
{
	const char *base = strrchr(last, '/') ? strrchr(last, '/') + 1 : last;
	char *end;
	long n = strtol(base, &end, 10);
	struct stat mine, there;
	*fd = (int)n;
	return *base && !*end && n >= 0 && n <= INT_MAX && fstat(*fd, &mine) == 0 &&
	       stat(path, &there) == 0 && mine.st_dev == there.st_dev &&
	       mine.st_ino == there.st_ino;
}

/* An fd writing through to the non-regular file at path: a link to one of this
 * process's own fds (/dev/stdout, /proc/self/fd/N) is that fd dup()ed, so its offset
 * and O_APPEND hold; anything else is opened O_WRONLY. fd, or -errno. */
static int open_through(const char *path, const char *last, bool proc)
{
	int fd;
	if (proc && own_fd(path, last, &fd))
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	else
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

static mode_t current_umask(void)
{
	mode_t m = umask(022);
	umask(m);
	return m;
}

/* A private temp file beside last (a regular file, or absent when st_mode is 0) with
 * last's permission bits (a new file: 0666 less the umask) in o->tmp; fd or -errno. */
static int open_temp(struct out_file *o, const char *last, const struct stat *st)
{
	mode_t mode = st->st_mode ? st->st_mode & 07777 : 0666 & ~current_umask();
	if (asprintf(&o->tmp, "%s.tmp.XXXXXX", last) < 0)
		o->tmp = NULL;
	o->target = strdup(last);
	int fd = o->tmp && o->target ? mkostemp(o->tmp, O_CLOEXEC) : -1;
	int e = fd < 0 ? (o->tmp && o->target ? -errno : -ENOMEM) : 0;
	if (!e && fchmod(fd, mode) != 0) {
		e = -errno;
		close(fd);
		unlink(o->tmp);
	}
	return e ? e : fd;
}

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
	struct out_sink *s = cookie;
	for (size_t done = 0; done < n;) {
		ssize_t w = write(s->fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) { /* fopencookie: a short count (never < 0) is an error */
			s->err = s->err ? s->err : w < 0 ? errno : EIO;
			return (ssize_t)done;
		}
		done += (size_t)w;
	}
	return (ssize_t)n;
}

/* o->f: a stream over fd (o->sink) that keeps its first write error; 0, or -ENOMEM
 * with fd closed. */
static int attach(struct out_file *o, int fd)
{
	if ((o->sink = malloc(sizeof(*o->sink)))) {
		*o->sink = (struct out_sink){.fd = fd};
		o->f = fopencookie(o->sink, "w", (cookie_io_functions_t){.write = sink_write});
	}
	if (o->f)
		return 0;
	close(fd);
	return -ENOMEM;
}

int out_open(struct out_file *o, const char *path)
{
	*o = (struct out_file){0};
	char *last = NULL;
	struct stat st = {0};
	bool proc = false;
	int e = resolve(path, &last, &st, &proc);
	if (!e && proc && stat(path, &st) != 0)
		e = -errno;
	if (!e && S_ISDIR(st.st_mode))
		e = -EISDIR;
	bool temp = !proc && (!st.st_mode || S_ISREG(st.st_mode));
	int fd = e ? e : temp ? open_temp(o, last, &st) : open_through(path, last, proc);
	free(last);
	e = fd < 0 ? fd : attach(o, fd);
	if (e && o->tmp && fd >= 0)
		unlink(o->tmp);
	if (e)
		release(o);
	return e;
}

/* Renames tmp over target unless target turned into something other than a regular
 * file since out_open (then -EEXIST: never replace it); 0 or -errno. */
static int replace(const char *tmp, const char *target)
{
	struct stat st;
	if (lstat(target, &st) == 0 && !S_ISREG(st.st_mode))
		return -EEXIST;
	return rename(tmp, target) == 0 ? 0 : -errno;
}

int out_commit(struct out_file *o)
{
	struct out_sink *s = o->sink;
	int e = fflush(o->f) != 0 || ferror(o->f) ? -(s->err ? s->err : EIO) : 0;
	fclose(o->f); /* nothing left to write: its errors are in s->err */
	if (!e && o->tmp && fsync(s->fd) != 0)
		e = -errno;
	if (close(s->fd) != 0 && !e)
		e = -errno;
	if (!e && o->tmp)
		e = replace(o->tmp, o->target);
	if (e && o->tmp)
		unlink(o->tmp);
	release(o);
	return e;
}

void out_abort(struct out_file *o)
{
	if (o->f) {
		fclose(o->f);
		close(o->sink->fd);
	}
	if (o->tmp)
		unlink(o->tmp);
	release(o);
}

int out_copy_from(struct out_file *o, const char *src)
{
	FILE *in = fopen(src, "rb");
	if (!in)
		return -errno;
	char buf[1 << 16];
	size_t n;
	int e = 0;
	while (!e && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, o->f) != n)
			e = -(o->sink->err ? o->sink->err : EIO);
	if (!e && ferror(in))
		e = -EIO;
	fclose(in);
	return e;
}

int out_fail(const char *prog, const char *path, int err)
{
	fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(-err));
	return err == -EISDIR ? 2 : 1;
}
