/* result_out_test.c: the vmm's --out (vmm/result_out.c over workloads/host/out_file.h)
 * without KVM: a regular file appears only at the commit and is replaced whole; a
 * symlink is kept and its target replaced; a FIFO gets each row as it comes and stays
 * a FIFO; a full device (mknod c 1 7 here, else /dev/full) gives -ENOSPC at the commit
 * and stays a device; a directory is -EISDIR; an abort leaves nothing; no temp left.
 */
#include "../../strategies/tests/testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../vmm.h"
#include "../../workloads/tests/fs_testutil.h"

/* Two rows to path through result_out; the commit's result. */
static int two_rows(const char *path)
{
	struct result_out o;
	CHECK(result_out_open(&o, path) == 0, "open %s", path);
	CHECK(result_out_write(&o, "{\"a\":1}", 7) == 0, "row 1");
	CHECK(result_out_write(&o, "{\"a\":2}", 7) == 0, "row 2");
	return result_out_commit(&o);
}

static void test_regular_and_link(void)
{
	struct result_out o;
	FILE *f = fopen(fs_at("rows"), "w");
	CHECK(f && fputs("old\n", f) >= 0 && fclose(f) == 0, "old rows");
	CHECK(result_out_open(&o, fs_at("rows")) == 0, "open");
	CHECK(result_out_write(&o, "{}", 2) == 0, "row");
	CHECK(!strcmp(fs_read(fs_at("rows")), "old\n"), "rows visible before the commit");
	CHECK(result_out_commit(&o) == 0 && !strcmp(fs_read(fs_at("rows")), "{}\n"), "commit");
	CHECK(symlink("rows", fs_at("link")) == 0, "symlink");
	CHECK(two_rows(fs_at("link")) == 0, "rows through a symlink");
	CHECK(S_ISLNK(fs_mode_of(fs_at("link"))), "the symlink was replaced");
	CHECK(!strcmp(fs_read(fs_at("rows")), "{\"a\":1}\n{\"a\":2}\n"), "target: %s",
	      fs_read(fs_at("rows")));
	CHECK(result_out_open(&o, fs_at("aborted")) == 0 && result_out_write(&o, "{}", 2) == 0,
	      "open 2");
	result_out_abort(&o);
	CHECK(access(fs_at("aborted"), F_OK) != 0, "an aborted run left a file");
	CHECK(mkdir(fs_at("d"), 0755) == 0 && result_out_open(&o, fs_at("d")) == -EISDIR,
	      "a directory");
	CHECK(!fs_temp_left(), "temp files left");
}

static void test_fifo(void)
{
	struct result_out o;
	char buf[64] = {0};
	CHECK(mkfifo(fs_at("fifo"), 0644) == 0, "mkfifo");
	int rd = open(fs_at("fifo"), O_RDONLY | O_NONBLOCK);
	CHECK(rd >= 0 && result_out_open(&o, fs_at("fifo")) == 0, "open");
	CHECK(result_out_write(&o, "{\"a\":1}", 7) == 0, "row");
	CHECK(read(rd, buf, sizeof(buf) - 1) == 8 && !strcmp(buf, "{\"a\":1}\n"),
	      "the row did not come through at once: '%s'", buf);
	CHECK(result_out_commit(&o) == 0, "commit");
	close(rd);
	CHECK(S_ISFIFO(fs_mode_of(fs_at("fifo"))), "the FIFO was replaced");
}

static void test_full(void)
{
	const char *full = fs_at("full");
	if (mknod(full, S_IFCHR | 0666, makedev(1, 7)) != 0) {
		printf("SKIP: no device node made here (%s): the real /dev/full\n",
		       strerror(errno));
		full = "/dev/full";
	}
	int e = two_rows(full);
	CHECK(e == -ENOSPC, "commit to a full device: %s", strerror(-e));
	CHECK(S_ISCHR(fs_mode_of(full)), "the device was replaced");
}

int main(void)
{
	fs_scratch("result_out_test");
	test_regular_and_link();
	test_fifo();
	test_full();
	CHECK(!fs_temp_left(), "temp files left");
	fs_scratch_rm();
	printf("result_out_test: ok\n");
	return 0;
}
