/* trace_iso.c: traces loaded in a child process or generated into mmap'd memory
 * (contract in trace_iso.h). The child writes the image (header + records, exactly
 * a .mtb file) into a memfd and its error message, if any, into a pipe; the parent
 * maps the memfd, re-checks the header and payload hash (trace_bin_open) and reads
 * every page once (MAP_POPULATE). Nothing here calls malloc in the parent.
 */
#define _GNU_SOURCE
#include "trace_iso.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace_file.h"

/* The child: load, write the image to fd, report errors on ep. Never returns. */
static void child_load(const char *path, bool lenient, int fd, int ep)
{
	struct trace_loaded lt;
	char err[1024];
	if (trace_load(path, lenient, &lt, err, sizeof(err)) != 0) {
		ssize_t n = write(ep, err, strlen(err));
		_exit(n < 0 ? 3 : 1);
	}
	const uint8_t *p = lt.img;
	for (uint64_t done = 0; done < lt.img_len;) {
		ssize_t n = write(fd, p + done, lt.img_len - done);
		if (n <= 0) {
			snprintf(err, sizeof(err), "%s: writing the image: %s", path,
				 strerror(errno));
			n = write(ep, err, strlen(err));
			_exit(1);
		}
		done += (uint64_t)n;
	}
	_exit(0);
}

/* Waits for the child and reads its message; 0 if it succeeded. */
static int child_wait(pid_t pid, int ep, const char *path, char *err, size_t cap)
{
	char msg[1024];
	ssize_t n = read(ep, msg, sizeof(msg) - 1);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (n > 0) {
		msg[n] = 0;
		snprintf(err, cap, "%s", msg);
	} else {
		snprintf(err, cap, "%s: the loader process died (status %d)", path, st);
	}
	return -1;
}

/* Maps the image in fd (len bytes) and opens it into out. */
static int map_image(int fd, const char *path, struct trace_mapped *out, char *err, size_t cap)
{
	off_t len = lseek(fd, 0, SEEK_END);
	if (len <= 0) {
		snprintf(err, cap, "%s: empty trace image", path);
		return -1;
	}
	out->img = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (out->img == MAP_FAILED) {
		out->img = NULL;
		snprintf(err, cap, "%s: mmap of the image: %s", path, strerror(errno));
		return -1;
	}
	out->len = (uint64_t)len;
	struct trace_err te;
	if (trace_bin_open(out->img, out->len, &out->t, &te) != 0) {
		snprintf(err, cap, "%s: image at byte %llu: %s", path,
			 (unsigned long long)te.offset, te.msg);
		trace_mapped_free(out);
		return -1;
	}
	return 0;
}

int trace_load_isolated(const char *path, bool lenient, struct trace_mapped *out, char *err,
			size_t cap)
{
	memset(out, 0, sizeof(*out));
	int fd = memfd_create("mtb-trace", MFD_CLOEXEC), ep[2] = {-1, -1};
	if (fd < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		snprintf(err, cap, "%s: memfd or pipe: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(ep[0]);
		child_load(path, lenient, fd, ep[1]);
	}
	close(ep[1]);
	int rc = pid < 0 ? (snprintf(err, cap, "%s: fork: %s", path, strerror(errno)), -1)
			 : child_wait(pid, ep[0], path, err, cap);
	close(ep[0]);
	if (rc == 0)
		rc = map_image(fd, path, out, err, cap);
	close(fd);
	return rc;
}

int trace_gen_mapped(enum gen_kind k, const struct gen_params *p, struct trace_mapped *out,
		     char *err, size_t cap)
{
	memset(out, 0, sizeof(*out));
	uint64_t ops_len = (p->nops ? p->nops : 1) * sizeof(struct trace_op);
	uint64_t scr_len = gen_scratch_words(k, p) * 8 + 8;
	void *ops = mmap(NULL, ops_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *scr = mmap(NULL, scr_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int rc = ops == MAP_FAILED || scr == MAP_FAILED ? -12 : gen_run(k, p, ops, scr, &out->t);
	if (scr != MAP_FAILED)
		munmap(scr, scr_len);
	if (rc) {
		if (ops != MAP_FAILED)
			munmap(ops, ops_len);
		snprintf(err, cap, "generator %s failed (bad parameters or out of memory)",
			 gen_kind_name(k));
		return -1;
	}
	out->img = ops;
	out->len = ops_len;
	return 0;
}

void trace_mapped_free(struct trace_mapped *m)
{
	if (m->img)
		munmap(m->img, m->len);
	memset(m, 0, sizeof(*m));
}
