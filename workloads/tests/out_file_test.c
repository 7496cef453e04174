/* out_file_test.c: workloads/host/out_file.h, the output of every tool: a regular file
 * or a new path replaced through a temp file beside it (mode kept, no temp left, a
 * write error such as EFBIG or ENOSPC named and the target untouched), symlink chains
 * followed and kept (relative, dangling, a loop refused), a FIFO and a device written
 * through and kept, /proc/self/fd/N written through its own fd (offset and O_APPEND
 * kept), a directory refused, a target that turned into a FIFO before the commit kept.
 * Device nodes are made here with mknod (root); without root /dev/full is used.
 */
#include "../../strategies/tests/testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../host/out_file.h"
#include "fs_testutil.h"

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
}

/* Writes text to path through out_file; out_open's or out_commit's result. */
static int write_out(const char *path, const char *text)
{
	struct out_file o;
	int e = out_open(&o, path);
	if (e)
		return e;
	fputs(text, o.f);
	return out_commit(&o);
}

static void test_regular(void)
{
	umask(022);
	CHECK(write_out(fs_at("new"), "a\n") == 0 && !strcmp(fs_read(fs_at("new")), "a\n"),
	      "new file");
	CHECK((fs_mode_of(fs_at("new")) & 0777) == 0644, "new file mode %o",
	      fs_mode_of(fs_at("new")));
	put(fs_at("old"), "old\n");
	chmod(fs_at("old"), 0600);
	CHECK(write_out(fs_at("old"), "b\n") == 0 && !strcmp(fs_read(fs_at("old")), "b\n"),
	      "replaced");
	CHECK((fs_mode_of(fs_at("old")) & 0777) == 0600, "mode not kept: %o",
	      fs_mode_of(fs_at("old")));
	struct out_file o;
	CHECK(out_open(&o, fs_at("old")) == 0, "open");
	fputs("never\n", o.f);
	out_abort(&o);
	CHECK(!strcmp(fs_read(fs_at("old")), "b\n") && !fs_temp_left(), "abort touched the file");
	CHECK(out_open(&o, fs_at("no/such/dir")) == -ENOENT, "missing directory");
	CHECK(!fs_temp_left(), "temp files left");
}

/* A write error (EFBIG past RLIMIT_FSIZE) on a regular file: named, target untouched. */
static void test_write_error(void)
{
	struct rlimit old, lim = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
	lim.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
	put(fs_at("big"), "kept\n");
	struct out_file o;
	CHECK(out_open(&o, fs_at("big")) == 0, "open");
	static char chunk[100000];
	memset(chunk, 'x', sizeof(chunk));
	fwrite(chunk, 1, sizeof(chunk), o.f);
	int e = out_commit(&o);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0, "restore rlimit");
	CHECK(e == -EFBIG, "commit: %s", strerror(-e));
	CHECK(!strcmp(fs_read(fs_at("big")), "kept\n") && !fs_temp_left(),
	      "target touched or temp left");
}

static void test_links(void)
{
	put(fs_at("c"), "old\n");
	CHECK(symlink("c", fs_at("b")) == 0 && symlink("b", fs_at("a")) == 0, "symlink");
	CHECK(write_out(fs_at("a"), "new\n") == 0, "write through a -> b -> c");
	CHECK(S_ISLNK(fs_mode_of(fs_at("a"))) && S_ISLNK(fs_mode_of(fs_at("b"))), "links replaced");
	CHECK(!strcmp(fs_read(fs_at("c")), "new\n"), "target: '%s'", fs_read(fs_at("c")));
	CHECK(symlink("fresh", fs_at("dangling")) == 0, "symlink");
	CHECK(write_out(fs_at("dangling"), "x\n") == 0 && S_ISLNK(fs_mode_of(fs_at("dangling"))),
	      "dangling link");
	CHECK(!strcmp(fs_read(fs_at("fresh")), "x\n"), "dangling link's target not created");
	CHECK(symlink("loop2", fs_at("loop1")) == 0 && symlink("loop1", fs_at("loop2")) == 0,
	      "loop");
	CHECK(write_out(fs_at("loop1"), "x\n") == -ELOOP, "a link loop");
	CHECK(mkdir(fs_at("d"), 0755) == 0 && symlink("d", fs_at("dlink")) == 0, "dir");
	CHECK(write_out(fs_at("d"), "x\n") == -EISDIR, "a directory");
	CHECK(write_out(fs_at("dlink"), "x\n") == -EISDIR, "a link to a directory");
	CHECK(S_ISDIR(fs_mode_of(fs_at("d"))) && S_ISLNK(fs_mode_of(fs_at("dlink"))),
	      "dir replaced");
	CHECK(!fs_temp_left(), "temp files left");
}

static void test_fifo(void)
{
	CHECK(mkfifo(fs_at("fifo"), 0644) == 0, "mkfifo");
	int rd = open(fs_at("fifo"), O_RDONLY | O_NONBLOCK); /* a reader: out_open won't block */
	CHECK(rd >= 0, "open the reader");
	CHECK(write_out(fs_at("fifo"), "through\n") == 0, "write to a FIFO");
	char buf[64] = {0};
	CHECK(read(rd, buf, sizeof(buf) - 1) == 8 && !strcmp(buf, "through\n"), "read '%s'", buf);
	close(rd);
	CHECK(S_ISFIFO(fs_mode_of(fs_at("fifo"))), "the FIFO was replaced");
	/* A regular target that turns into a FIFO before the commit is kept. */
	put(fs_at("turns"), "x\n");
	struct out_file o;
	CHECK(out_open(&o, fs_at("turns")) == 0, "open");
	CHECK(unlink(fs_at("turns")) == 0 && mkfifo(fs_at("turns"), 0644) == 0, "swap");
	CHECK(out_commit(&o) == -EEXIST, "replaced a FIFO at commit");
	CHECK(S_ISFIFO(fs_mode_of(fs_at("turns"))) && !fs_temp_left(), "FIFO gone or temp left");
}

/* /dev/null and /dev/full as nodes made here (root), else the real ones. */
static void test_devices(void)
{
	const char *null = fs_at("null"), *full = fs_at("full");
	if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0 ||
	    mknod(full, S_IFCHR | 0666, makedev(1, 7)) != 0) {
		printf("SKIP: no device nodes made here (%s): the real /dev/null, /dev/full\n",
		       strerror(errno));
		null = "/dev/null", full = "/dev/full";
	}
	CHECK(write_out(null, "x\n") == 0 && S_ISCHR(fs_mode_of(null)), "null device");
	int e = write_out(full, "x\n");
	CHECK(e == -ENOSPC && S_ISCHR(fs_mode_of(full)), "full, small: %s", strerror(-e));
	struct out_file o;
	CHECK(out_open(&o, full) == 0, "open full");
	static char chunk[100000];
	CHECK(fwrite(chunk, 1, sizeof(chunk), o.f) != sizeof(chunk), "fwrite to full worked");
	CHECK((e = out_commit(&o)) == -ENOSPC, "full, past the buffer: %s", strerror(-e));
	CHECK(S_ISCHR(fs_mode_of(full)) && !fs_temp_left(), "device replaced or temp left");
}

/* /proc/self/fd/N and /dev/fd/N write through fd N: offset and O_APPEND kept. */
static void test_own_fd(void)
{
	put(fs_at("log"), "before\n");
	int fd = open(fs_at("log"), O_WRONLY | O_APPEND);
	CHECK(fd >= 0, "open log");
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	CHECK(write_out(path, "one\n") == 0, "write to %s", path);
	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	CHECK(write_out(path, "two\n") == 0, "write to %s", path);
	close(fd);
	CHECK(!strcmp(fs_read(fs_at("log")), "before\none\ntwo\n"), "log: '%s'",
	      fs_read(fs_at("log")));
	CHECK(S_ISREG(fs_mode_of(fs_at("log"))) && !fs_temp_left(), "log replaced or temp left");
}

static void test_copy_from(void)
{
	put(fs_at("src"), "copied\n");
	struct out_file o;
	CHECK(out_open(&o, fs_at("dst")) == 0 && out_copy_from(&o, fs_at("src")) == 0, "copy");
	CHECK(out_commit(&o) == 0 && !strcmp(fs_read(fs_at("dst")), "copied\n"), "dst");
	CHECK(out_open(&o, fs_at("dst")) == 0, "open");
	CHECK(out_copy_from(&o, fs_at("none")) == -ENOENT, "a missing source");
	out_abort(&o);
	CHECK(!strcmp(fs_read(fs_at("dst")), "copied\n") && !fs_temp_left(), "dst touched");
}

int main(void)
{
	fs_scratch("out_file_test");
	test_regular();
	test_write_error();
	test_links();
	test_fifo();
	test_devices();
	test_own_fd();
	test_copy_from();
	fs_scratch_rm();
	printf("out_file_test: ok\n");
	return 0;
}
