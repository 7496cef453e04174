/* fs_testutil.c: the scratch directory and file probes of fs_testutil.h. */
#define _GNU_SOURCE
#include "fs_testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../strategies/tests/testlib.h"

static char scratch[256];

void fs_scratch(const char *name)
{
	snprintf(scratch, sizeof(scratch), "%s/%s.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	CHECK(mkdtemp(scratch), "mkdtemp");
}

void fs_scratch_rm(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	CHECK(system(cmd) == 0, "cleanup");
}

const char *fs_at(const char *name)
{
	static char buf[4][512];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", scratch, name);
	return p;
}

const char *fs_read(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

bool fs_temp_left(void)
{
	DIR *d = opendir(scratch);
	bool found = false;
	for (struct dirent *e; d && (e = readdir(d));)
		found |= strstr(e->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	return found;
}

mode_t fs_mode_of(const char *path)
{
	struct stat st;
	CHECK(lstat(path, &st) == 0, "lstat %s", path);
	return st.st_mode;
}
