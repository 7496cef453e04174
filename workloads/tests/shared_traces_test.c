/* shared_traces_test: every shared allocrec trace (../shared/traces/malloc/NAME.trc.xz
 * from the repository root, or $MTB_SHARED/traces/malloc) loads, and replaying it
 * reports exactly the ops, objects, threads and peak_live its header states, with
 * exact final accounting. Skipped (77) when the shared traces are absent. */
#include "../../strategies/tests/testlib.h"

#include <dirent.h>

#include "../host/trace_file.h"
#include "wl_testutil.h"

static const char *traces_dir(void)
{
	static char dir[4096];
	const char *s = getenv("MTB_SHARED");
	snprintf(dir, sizeof(dir), "%s/traces/malloc", s ? s : "../shared");
	return dir;
}

static void check_one(const char *path)
{
	struct trace_loaded lt;
	char err[1024];
	CHECK(trace_load(path, false, &lt, err, sizeof(err)) == 0, "%s", err);
	const struct trace_src_header *s = &lt.src;
	CHECK(s->present, "%s: no allocrec header", path);
	CHECK(lt.t.h.nops == s->ops && lt.t.h.nobjects == s->objects &&
		      lt.t.h.nthreads == s->threads && lt.t.h.peak_live == s->peak_live,
	      "%s: parsed ops %llu objects %llu threads %u peak %llu, header says %llu %llu "
	      "%llu %llu", path, (unsigned long long)lt.t.h.nops,
	      (unsigned long long)lt.t.h.nobjects, lt.t.h.nthreads,
	      (unsigned long long)lt.t.h.peak_live, (unsigned long long)s->ops,
	      (unsigned long long)s->objects, (unsigned long long)s->threads,
	      (unsigned long long)s->peak_live);
	struct replay_result r;
	wl_replay(&lt.t, lt.t.h.nthreads, false, false, 0, false, &r);
	wl_check_accounting(path, &lt.t, &r);
	CHECK(r.ops == s->ops && r.peak_live == s->peak_live, "%s: replay disagrees", path);
	printf("%s: ops %llu peak_live %llu frag4(malloc model) %lld ppm: ok\n", path,
	       (unsigned long long)r.ops, (unsigned long long)r.peak_live, (long long)r.frag4_ppm);
	trace_loaded_free(&lt);
}

int main(void)
{
	const char *dir = traces_dir();
	DIR *d = opendir(dir);
	if (!d) {
		char why[4200];
		snprintf(why, sizeof(why), "no shared traces at %s (set MTB_SHARED)", dir);
		test_skip(why);
	}
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 7 || strcmp(e->d_name + l - 7, ".trc.xz"))
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		check_one(path);
		n++;
	}
	closedir(d);
	CHECK(n > 0, "no .trc.xz in %s", dir);
	printf("shared_traces_test: %d traces ok\n", n);
	return 0;
}
