/* vmt_test: the .vmt parser (workloads/host/vmt.h).
 *
 *   samples   small traces decode to exactly the expected reserve/release ops
 *             (fixed maps inside a reservation, partial unmaps, remap, brk, exec,
 *             two procs); an xz-compressed file loads the same.
 *   bad       each kind of bad line gives "FILE:LINE: message" (one line) and fails;
 *             with lenient the bad lines are counted and skipped, the rest loads.
 *   model     a page-level reference model (a set of (proc, page) keys plus each
 *             proc's heap size, written independently of the parser's range
 *             arrays) gives the same peak and final reserved bytes as the parser's
 *             ops, on seeded random traces and on every .vmt file in ../shared/traces/vm.
 */
#include "../../strategies/tests/testlib.h"

#include <dirent.h>
#include <lzma.h>
#include <search.h>

#include "../host/vmt.h"

static char err[1024];

/* ---- reference model ------------------------------------------------------------ */

struct model {
	void *pages;	      /* tsearch tree of keys proc << 40 | page number */
	uint64_t npages;
	uint64_t heap_lo[64], heap_hi[64];
	bool heap_known[64];
	int tid_proc[1 << 16]; /* proc + 1 of each tid's latest event, 0: none yet */
	uint64_t live, peak;   /* bytes */
};

static int cmp_key(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
	return x < y ? -1 : x > y;
}

static void m_add(struct model *m, uint64_t proc, uint64_t lo, uint64_t hi)
{
	for (uint64_t a = lo; a < hi; a += 4096) {
		void *k = (void *)(uintptr_t)(proc << 40 | a >> 12);
		if (!tfind(k, &m->pages, cmp_key)) {
			CHECK(tsearch(k, &m->pages, cmp_key), "tsearch");
			m->npages++;
		}
	}
}

static void m_del(struct model *m, uint64_t proc, uint64_t lo, uint64_t hi)
{
	for (uint64_t a = lo; a < hi; a += 4096) {
		void *k = (void *)(uintptr_t)(proc << 40 | a >> 12);
		if (tfind(k, &m->pages, cmp_key)) {
			tdelete(k, &m->pages, cmp_key);
			m->npages--;
		}
	}
}

static void no_free(void *k)
{
	(void)k;
}

static void m_free_all(struct model *m)
{
	tdestroy(m->pages, no_free);
	m->pages = NULL;
}

/* exec: the keys of one proc, collected by twalk (which takes no context). */
static struct {
	uint64_t proc, n, cap;
	uintptr_t *keys;
} walk;

static void collect(const void *node, VISIT v, int depth)
{
	uintptr_t k = (uintptr_t) * (void *const *)node;
	if ((v == postorder || v == leaf) && k >> 40 == walk.proc) {
		if (walk.n == walk.cap) {
			walk.cap = walk.cap ? walk.cap * 2 : 1024;
			walk.keys = realloc(walk.keys, walk.cap * sizeof(*walk.keys));
		}
		walk.keys[walk.n++] = k;
	}
}

static void m_del_proc(struct model *m, uint64_t proc)
{
	walk.proc = proc;
	walk.n = 0;
	twalk(m->pages, collect);
	for (uint64_t i = 0; i < walk.n; i++)
		tdelete((void *)walk.keys[i], &m->pages, cmp_key);
	m->npages -= walk.n;
}

static uint64_t page_up(uint64_t x)
{
	return (x + 4095) & ~4095ull;
}

/* Applies one valid event line to m (proc < 64, addresses < 2^52). */
static void m_event(struct model *m, const char *line)
{
	unsigned long long proc, tid, a, l, b2, l2;
	char ev[16];
	CHECK(sscanf(line, "%llu %llu %15s", &proc, &tid, ev) == 3 && proc < 64 && tid < (1 << 16),
	      "model: %s", line);
	const char *rest = strstr(line, ev) + strlen(ev);
	int old = m->tid_proc[tid] - 1;
	m->tid_proc[tid] = (int)proc + 1;
	if (!strcmp(ev, "exec")) {
		for (int k = 0; k < 2; k++) {
			uint64_t q = k ? proc : (uint64_t)old;
			if (k == 0 && (old < 0 || q == proc))
				continue; /* exec by a tid of another proc: that one ended */
			m_del_proc(m, q);
			m->heap_known[q] = false;
			m->heap_lo[q] = m->heap_hi[q] = 0;
		}
	} else if (!strcmp(ev, "map") && sscanf(rest, "%llx %llu", &a, &l) == 2) {
		m_add(m, proc, a, a + page_up(l));
	} else if (!strcmp(ev, "unmap") && sscanf(rest, "%llx %llu", &a, &l) == 2) {
		m_del(m, proc, a, a + page_up(l));
	} else if (!strcmp(ev, "remap") &&
		   sscanf(rest, "%llx %llu %llx %llu", &a, &l, &b2, &l2) == 4) {
		m_del(m, proc, a, a + page_up(l));
		m_add(m, proc, b2, b2 + page_up(l2));
	} else if (!strcmp(ev, "brk") && sscanf(rest, "%llx", &a) == 1) {
		if (!m->heap_known[proc])
			m->heap_lo[proc] = page_up(a);
		m->heap_known[proc] = true;
		m->heap_hi[proc] = page_up(a);
	}
	m->live = m->npages * 4096;
	for (int i = 0; i < 64; i++)
		m->live += m->heap_hi[i] - m->heap_lo[i];
	m->peak = m->live > m->peak ? m->live : m->peak;
}

/* Live bytes at the end of t's ops. */
static uint64_t trace_live_end(const struct trace *t)
{
	uint64_t *sz = calloc(t->h.nids + 1, 8), live = 0;
	for (uint64_t i = 0; i < t->h.nops; i++) {
		const struct trace_op *o = &t->ops[i];
		live -= sz[o->id];
		sz[o->id] = o->op == TOP_FREE ? 0 : o->size;
		live += sz[o->id];
	}
	free(sz);
	return live;
}

/* Parses text (strict, must succeed) and compares with the model line by line. */
static void check_against_model(const char *name, const char *text, struct vmt_loaded *out)
{
	CHECK(vmt_load_mem(name, text, strlen(text), false, out, err, sizeof(err)) == 0, "%s", err);
	struct model m = {0};
	char line[1100];
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		if (line[0] && line[0] != '#')
			m_event(&m, line);
		p += n + (nl != NULL);
	}
	uint64_t end = trace_live_end(&out->tl.t);
	CHECK(out->tl.t.h.peak_live == m.peak && end == m.live,
	      "%s: parser peak %llu end %llu, model peak %llu end %llu", name,
	      (unsigned long long)out->tl.t.h.peak_live, (unsigned long long)end,
	      (unsigned long long)m.peak, (unsigned long long)m.live);
	m_free_all(&m);
}

/* ---- samples ------------------------------------------------------------------ */

static void expect_ops(const struct trace *t, const char *want)
{
	char got[4096] = "";
	size_t n = 0;
	for (uint64_t i = 0; i < t->h.nops && n < sizeof(got) - 64; i++) {
		const struct trace_op *o = &t->ops[i];
		const char *sep = i ? " " : "";
		if (o->op == TOP_FREE)
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%sf%u", sep, o->id);
		else
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%u:a%u=%llu", sep,
					      o->thread, o->id, (unsigned long long)o->size >> 12);
	}
	CHECK(!strcmp(got, want), "ops\n  got  %s\n  want %s", got, want);
}

static const char sample[] =
	"# a comment\n"
	"1 10 exec /bin/x\n"
	"1 10 map 10000 20000 r-- f\n"		/* a0 = 5 pages [0x10000, 0x15000) */
	"1 10 map 11000 4096 r-x f fixed\n"	/* inside: no op */
	"1 10 map 14000 12288 rw- a fixed\n"	/* one page outside: a1 = 2 pages */
	"1 11 prot 11000 4096 r--\n"
	"1 10 unmap 12000 4096\n"		/* middle of a0: f0, a0 = 2, a2 = 2 */
	"\n"
	"2 20 map 40000 8192 rw- a\n"		/* proc 2 = thread 1: a3 = 2 */
	"1 10 brk 80000\n"			/* heap start */
	"1 10 brk 83000\n"			/* a4 = 3 */
	"1 10 brk 81000\n"			/* f4 a4 = 1 */
	"2 20 remap 40000 8192 50000 16384\n"	/* f3 a3 = 4 */
	"1 10 advise 10000 4096 dontneed\n"
	"1 10 unmap 90000 4096\n"		/* untracked */
	"1 10 exec /bin/y\n"			/* f0 f2 f1 f4 */
	"1 10 map 60000 4096 rw- a\n"		/* a4 = 1 */
	"4 10 exec /bin/z\n";			/* tid 10 was in proc 1: f4; proc 4 = thread 2 */

static void test_samples(void)
{
	struct vmt_loaded v;
	check_against_model("s.vmt", sample, &v);
	expect_ops(&v.tl.t, "0:a0=5 0:a1=2 f0 0:a0=2 0:a2=2 1:a3=2 0:a4=3 f4 0:a4=1 f3 1:a3=4 "
			    "f0 f2 f1 f4 0:a4=1 f4");
	const struct vmt_counts *c = &v.c;
	CHECK(c->events == 16 && c->maps == 5 && c->maps_fixed_inside == 1 && c->unmaps == 2 &&
		      c->unmaps_partial == 1 && c->unmaps_untracked == 1 && c->remaps == 1 &&
		      c->brks == 3 && c->prots == 1 && c->advises == 1 && c->execs == 3 &&
		      c->execs_replacing == 1 && c->procs == 3 && c->live_end == 1,
	      "counts: events %llu maps %llu inside %llu unmaps %llu partial %llu untracked %llu "
	      "remaps %llu brks %llu procs %llu live %llu", (unsigned long long)c->events,
	      (unsigned long long)c->maps, (unsigned long long)c->maps_fixed_inside,
	      (unsigned long long)c->unmaps, (unsigned long long)c->unmaps_partial,
	      (unsigned long long)c->unmaps_untracked, (unsigned long long)c->remaps,
	      (unsigned long long)c->brks, (unsigned long long)c->procs,
	      (unsigned long long)c->live_end);
	CHECK(v.tl.t.h.nthreads == 2 && v.tl.t.h.nobjects == 9, "header");
	uint64_t nops = v.tl.t.h.nops, hash = v.tl.t.h.payload_hash;
	vmt_loaded_free(&v);
	/* The same text xz-compressed, from a file. */
	uint8_t out[4096];
	size_t n = 0;
	CHECK(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)sample,
				      strlen(sample), out, &n, sizeof(out)) == LZMA_OK, "xz");
	char path[] = "/tmp/vmt_test.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, out, n) == (ssize_t)n && close(fd) == 0, "temp file");
	int rc = vmt_load(path, false, &v, err, sizeof(err));
	unlink(path);
	CHECK(rc == 0 && v.tl.t.h.nops == nops && v.tl.t.h.payload_hash == hash, "xz: %s", err);
	vmt_loaded_free(&v);
	CHECK(vmt_load("/nonexistent.vmt", false, &v, err, sizeof(err)) == -1 &&
		      strstr(err, "/nonexistent.vmt: "), "missing file: %s", err);
}

/* ---- bad input ---------------------------------------------------------------- */

static void load_bad(const char *text, const char *want)
{
	struct vmt_loaded v;
	CHECK(vmt_load_mem("b.vmt", text, strlen(text), false, &v, err, sizeof(err)) == -1,
	      "accepted: %s", text);
	CHECK(strstr(err, want) && !strchr(err, '\n'), "message \"%s\" lacks \"%s\"", err, want);
}

static void test_bad(void)
{
	load_bad("1 1 map 1000 4096 rw- a\n1 1 frob 1\n", "b.vmt:2: unknown event 'frob'");
	load_bad("1 1 map 1001 4096 rw- a\n", "b.vmt:1: map: address not page aligned");
	load_bad("1 1 map 1000 0 rw- a\n", "b.vmt:1: map: zero length");
	load_bad("1 1 map 1000 4096 rwz a\n", "b.vmt:1: bad map protection");
	load_bad("1 1 map 1000 4096 rw- q\n", "b.vmt:1: bad map protection");
	load_bad("1 1 map 1000 99999999999999999 rw- a\n", "b.vmt:1: map: absurd length");
	load_bad("1 1 map fffffffffffff000 8192 rw- a\n", "b.vmt:1: map: range wraps");
	load_bad("1 1 map 1000 4096 rw- a\n1 1 map 1000 4096 rw- a\n",
		 "b.vmt:2: map at 0x1000 overlaps a live mapping");
	load_bad("1 1 map 1000 4096 rw- a fixd\n", "b.vmt:1: trailing garbage");
	load_bad("1 1 map 1000 4096\n", "b.vmt:1: malformed map");
	load_bad("1 1 map 10g0 4096 rw- a\n", "b.vmt:1: malformed map");
	load_bad("1 1 unmap 1000 4096 x\n", "b.vmt:1: malformed unmap");
	load_bad("1 1 remap 1000 4096 2000 4096\n", "b.vmt:1: remap of 0x1000: no live mapping");
	load_bad("1 1 brk 5000\n1 1 brk 4000\n", "b.vmt:2: brk 0x4000 below the heap start");
	load_bad("1 1 prot 1000 4096 rwq\n", "b.vmt:1: bad protection 'rwq'");
	load_bad("1 1 advise 1000\n", "b.vmt:1: malformed advise");
	load_bad("1 1 exec\n", "b.vmt:1: exec without a path");
	load_bad("x 1 exec /a\n", "b.vmt:1: malformed line");
	load_bad("1 1 map 1000 4096 rw- a\n1 1 unmap 1000 4096", "b.vmt:2: truncated");
	char longl[2000];
	memset(longl, 'x', sizeof(longl) - 2);
	longl[sizeof(longl) - 2] = '\n';
	longl[sizeof(longl) - 1] = 0;
	load_bad(longl, "b.vmt:1: line too long");
	/* Lenient: four bad lines skipped, the others load as if they were absent. */
	const char *len = "1 1 map 1000 4096 rw- a\n1 1 frob\n1 1 map 1000 4096 rw- a\n"
			  "1 1 remap 9000 4096 a000 4096\n1 1 unmap 1000 4096\n"
			  "1 1 map 2001 1 r-- f\n";
	struct vmt_loaded v;
	CHECK(vmt_load_mem("l.vmt", len, strlen(len), true, &v, err, sizeof(err)) == 0, "%s", err);
	CHECK(v.tl.skipped == 4 && v.tl.t.h.nops == 2 && strstr(v.tl.first_skip, "l.vmt:2: "),
	      "lenient: skipped %llu ops %llu first %s", (unsigned long long)v.tl.skipped,
	      (unsigned long long)v.tl.t.h.nops, v.tl.first_skip);
	vmt_loaded_free(&v);
}

/* ---- random traces against the model ------------------------------------------ */

/* A random valid trace over 3 procs and a 256-page window per proc. */
static char *random_trace(struct rng *r, int nev)
{
	size_t cap = (size_t)nev * 80 + 1, n = 0;
	char *t = malloc(cap);
	struct model m = {0}; /* tracks reservations to keep the trace valid */
	for (int i = 0; i < nev; i++) {
		unsigned proc = 1 + (unsigned)rng_below(r, 3), k = (unsigned)rng_below(r, 20);
		unsigned tid = 1 + (unsigned)rng_below(r, 4);
		uint64_t a = 0x100000 + rng_below(r, 256) * 4096, l = 1 + rng_below(r, 16 * 4096);
		uint64_t b2 = 0x100000 + rng_below(r, 256) * 4096;
		bool used = false;
		for (uint64_t p = a; p < a + page_up(l); p += 4096)
			used |= tfind((void *)(uintptr_t)((uint64_t)proc << 40 | p >> 12), &m.pages,
				      cmp_key) != NULL;
		char *o = t + n;
		if (k == 0)
			n += (size_t)sprintf(o, "%u %u exec /bin/p\n", proc, tid);
		else if (k < 8)
			n += (size_t)sprintf(o, "%u %u map %llx %llu rw- a%s\n", proc, tid,
					     (unsigned long long)a, (unsigned long long)l,
					     used ? " fixed" : "");
		else if (k < 13)
			n += (size_t)sprintf(o, "%u %u unmap %llx %llu\n", proc, tid,
					     (unsigned long long)a, (unsigned long long)l);
		else if (k < 16 && used)
			n += (size_t)sprintf(o, "%u %u remap %llx %llu %llx %llu\n", proc, tid,
					     (unsigned long long)a, (unsigned long long)l,
					     (unsigned long long)b2,
					     (unsigned long long)(1 + rng_below(r, 8 * 4096)));
		else if (k < 19)
			n += (size_t)sprintf(o, "%u %u brk %llx\n", proc, tid,
					     (unsigned long long)(0x800000ull + (m.heap_known[proc]
						     ? rng_below(r, 64) * 4096 : 0)));
		else
			n += (size_t)sprintf(o, "%u %u prot %llx 4096 r--\n", proc, tid,
					     (unsigned long long)a);
		m_event(&m, o);
	}
	m_free_all(&m);
	t[n] = 0;
	return t;
}

static void test_random(uint64_t seed)
{
	struct rng r = {seed};
	for (int round = 0; round < 200; round++) {
		char *t = random_trace(&r, 1 + (int)rng_below(&r, 300));
		struct vmt_loaded v;
		check_against_model("random.vmt", t, &v);
		vmt_loaded_free(&v);
		free(t);
	}
}

/* ---- shared traces ------------------------------------------------------------ */

static void test_shared(void)
{
	const char *s = getenv("MTB_SHARED");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/traces/vm", s ? s : "../shared");
	DIR *d = opendir(dir);
	if (!d) {
		printf("vmt_test: no shared traces at %s (set MTB_SHARED): not checked\n", dir);
		return;
	}
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (l < 4 || strcmp(e->d_name + l - 4, ".vmt"))
			continue;
		char path[8192], *text;
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		CHECK(trace_read_file(path, &text, &len, err, sizeof(err)) == 0, "%s", err);
		struct vmt_loaded v;
		check_against_model(path, text, &v);
		const struct vmt_counts *c = &v.c;
		CHECK(c->events == c->maps + c->unmaps + c->remaps + c->brks + c->prots +
					   c->advises + c->execs && c->events > 0,
		      "%s: event counts do not add up", path);
		printf("%s: %llu events, %llu procs, %llu ops, peak %llu bytes, %llu live at end\n",
		       path, (unsigned long long)c->events, (unsigned long long)c->procs,
		       (unsigned long long)v.tl.t.h.nops, (unsigned long long)v.tl.t.h.peak_live,
		       (unsigned long long)c->live_end);
		vmt_loaded_free(&v);
		free(text);
		n++;
	}
	closedir(d);
	CHECK(n > 0, "no .vmt files in %s", dir);
}

int main(void)
{
	uint64_t seed = test_seed("vmt_test", 1);
	test_samples();
	test_bad();
	test_random(seed);
	test_shared();
	printf("vmt_test: ok\n");
	return 0;
}
