/* heap_peer.c: glibc, jemalloc, tcmalloc, mimalloc and snmalloc as heap_ops
 * (heap_peer.h).
 *
 * Each peer is a struct peer_api: its library (dlopen'ed once, RTLD_LOCAL; snmalloc's
 * path from $MTB_SNMALLOC_LIB), its version and three calls taking (size, align) as
 * our heaps do: jemalloc gets sized frees (sdallocx) and MALLOCX_LG_ALIGN, tcmalloc
 * tc_memalign, where their plain call would not give the alignment (above 16, and 16
 * for objects of up to 8 B), mimalloc its aligned API, glibc aligned_alloc,
 * snmalloc the malloc/aligned_alloc/free_sized/free_aligned_sized of its shim, looked
 * up on its handle (so never glibc's). A realloc with alignment above 16 that the
 * API cannot express is alloc + copy + free (glibc, tcmalloc, snmalloc).
 * The heap_ops wrappers ignore the CPU argument: the peers pick their per-thread
 * caches themselves. Footprint: resident bytes (see heap_peer.h for the rule).
 */
#define _GNU_SOURCE
#include "heap_peer.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

struct peer_api {
	const char *name, *lib;
	const char *env; /* lib comes from this environment variable (snmalloc) */
	char version[96];
	int state; /* 0: not loaded, 1: ok, -1: failed */
	char why[320];
	void *(*alloc)(size_t s, size_t a);
	void (*free)(void *p, size_t s, size_t a);
	void *(*realloc)(void *p, size_t o, size_t a, size_t n);
};

/* ---- the libraries' entry points (filled by load) ---- */
static void *(*mi_malloc_aligned_)(size_t, size_t);
static void (*mi_free_)(void *);
static void *(*mi_realloc_aligned_)(void *, size_t, size_t);
static void *(*je_mallocx_)(size_t, int);
static void (*je_sdallocx_)(void *, size_t, int);
static void *(*je_rallocx_)(void *, size_t, int);
static void *(*tc_memalign_)(size_t, size_t);
static void *(*tc_malloc_)(size_t);
static void (*tc_free_)(void *);
static void *(*tc_realloc_)(void *, size_t);
static void *(*sn_malloc_)(size_t);
static void *(*sn_aligned_alloc_)(size_t, size_t);
static void (*sn_free_)(void *);
static void (*sn_free_sized_)(void *, size_t);
static void (*sn_free_aligned_sized_)(void *, size_t, size_t);
static void *(*sn_realloc_)(void *, size_t);

static size_t at_least1(size_t s)
{
	return s ? s : 1;
}

static void *move(void *q, void *p, size_t o, size_t n, void (*f)(void *))
{
	if (q) {
		memcpy(q, p, o < n ? o : n);
		f(p);
	}
	return q;
}

static void *glibc_alloc(size_t s, size_t a)
{
	return a <= 16 ? malloc(at_least1(s)) : aligned_alloc(a, MM_ALIGN_UP(at_least1(s), a));
}
static void glibc_free(void *p, size_t s, size_t a)
{
	free(p);
}
static void *glibc_realloc(void *p, size_t o, size_t a, size_t n)
{
	return a <= 16 ? realloc(p, at_least1(n)) : move(glibc_alloc(n, a), p, o, n, free);
}
/* Whether jemalloc's and tcmalloc's plain malloc gives alignment a to an object of
 * s > 0 bytes: their size classes from 16 B up are multiples of 16, but below that
 * they have an 8 B class, 8-aligned (seen: mallocx(1, 0) at ...008). */
static bool plain_aligns(size_t s, size_t a)
{
	return a <= 8 || (a <= 16 && s > 8);
}
static int je_flags(size_t s, size_t a)
{
	return plain_aligns(s, a) ? 0 : (int)mm_log2_floor(a); /* MALLOCX_LG_ALIGN(a) */
}
static void *je_alloc(size_t s, size_t a)
{
	return je_mallocx_(at_least1(s), je_flags(at_least1(s), a));
}
static void je_free(void *p, size_t s, size_t a)
{
	je_sdallocx_(p, at_least1(s), je_flags(at_least1(s), a));
}
static void *je_realloc(void *p, size_t o, size_t a, size_t n)
{
	return je_rallocx_(p, at_least1(n), je_flags(at_least1(n), a));
}
static void *tc_alloc(size_t s, size_t a)
{
	s = at_least1(s);
	return plain_aligns(s, a) ? tc_malloc_(s) : tc_memalign_(a, s);
}
static void tc_free(void *p, size_t s, size_t a)
{
	tc_free_(p);
}
static void *tc_realloc(void *p, size_t o, size_t a, size_t n)
{
	n = at_least1(n);
	return plain_aligns(n, a) ? tc_realloc_(p, n) : move(tc_alloc(n, a), p, o, n, tc_free_);
}
static void *mi_alloc(size_t s, size_t a)
{
	return mi_malloc_aligned_(at_least1(s), a);
}
static void mi_free(void *p, size_t s, size_t a)
{
	mi_free_(p);
}
static void *mi_realloc(void *p, size_t o, size_t a, size_t n)
{
	return mi_realloc_aligned_(p, at_least1(n), a);
}

static void *sn_alloc(size_t s, size_t a)
{
	return a <= 16 ? sn_malloc_(at_least1(s)) : sn_aligned_alloc_(a, at_least1(s));
}
static void sn_free(void *p, size_t s, size_t a)
{
	if (a <= 16)
		sn_free_sized_(p, at_least1(s));
	else
		sn_free_aligned_sized_(p, a, at_least1(s));
}
static void *sn_realloc(void *p, size_t o, size_t a, size_t n)
{
	return a <= 16 ? sn_realloc_(p, at_least1(n)) : move(sn_alloc(n, a), p, o, n, sn_free_);
}

/* The peer called NAME, its calls P##_alloc, P##_free, P##_realloc. */
#define API(NAME, P, LIB, ENV)                                                                     \
	{                                                                                          \
		.name = NAME, .lib = LIB, .env = ENV, .alloc = P##_alloc, .free = P##_free,        \
		.realloc = P##_realloc                                                             \
	}
static struct peer_api api_glibc = API("glibc", glibc, NULL, NULL);
static struct peer_api api_jemalloc = API("jemalloc", je, "libjemalloc.so.2", NULL);
static struct peer_api api_tcmalloc = API("tcmalloc", tc, "libtcmalloc_minimal.so.4", NULL);
static struct peer_api api_mimalloc = API("mimalloc", mi, "libmimalloc.so.2", NULL);
static struct peer_api api_snmalloc = API("snmalloc", sn, NULL, "MTB_SNMALLOC_LIB");

/* ---- loading ---- */

static const char *missing; /* the first symbol sym() did not find */

static void *sym(void *dl, const char *name, bool *ok)
{
	void *f = dlsym(dl, name);
	if (!f && *ok)
		missing = name;
	*ok = *ok && f;
	return f;
}

static void load_versions(struct peer_api *a, void *dl, const char *path, bool *ok)
{
	if (a == &api_mimalloc) {
		int (*ver)(void) = sym(dl, "mi_version", ok);
		if (*ok)
			snprintf(a->version, sizeof(a->version), "mimalloc %d", ver());
	} else if (a == &api_jemalloc) {
		int (*ctl)(const char *, void *, size_t *, void *, size_t) = sym(dl, "mallctl", ok);
		const char *v = "?";
		size_t len = sizeof(v);
		if (*ok)
			ctl("version", &v, &len, NULL, 0);
		snprintf(a->version, sizeof(a->version), "jemalloc %.60s", v);
	} else if (a == &api_tcmalloc) {
		const char *(*ver)(int *, int *, const char **) = sym(dl, "tc_version", ok);
		if (*ok)
			snprintf(a->version, sizeof(a->version), "%.60s", ver(NULL, NULL, NULL));
	} else { /* snmalloc has no version call: the library's file name */
		const char *base = strrchr(path, '/');
		snprintf(a->version, sizeof(a->version), "%.90s", base ? base + 1 : path);
	}
}

/* snmalloc's shim exports the libc names; dlsym on its handle finds its own before
 * any dependency's (glibc's). __malloc_end_pointer, snmalloc's own extension, tells a
 * shim from another library that merely exports malloc. */
static void load_snmalloc(void *dl, bool *ok)
{
	sym(dl, "__malloc_end_pointer", ok);
	sn_malloc_ = sym(dl, "malloc", ok);
	sn_aligned_alloc_ = sym(dl, "aligned_alloc", ok);
	sn_free_ = sym(dl, "free", ok);
	sn_free_sized_ = sym(dl, "free_sized", ok);
	sn_free_aligned_sized_ = sym(dl, "free_aligned_sized", ok);
	sn_realloc_ = sym(dl, "realloc", ok);
}

static void load_syms(struct peer_api *a, void *dl, const char *path, bool *ok)
{
	if (a == &api_mimalloc) {
		mi_malloc_aligned_ = sym(dl, "mi_malloc_aligned", ok);
		mi_free_ = sym(dl, "mi_free", ok);
		mi_realloc_aligned_ = sym(dl, "mi_realloc_aligned", ok);
	} else if (a == &api_jemalloc) {
		je_mallocx_ = sym(dl, "mallocx", ok);
		je_sdallocx_ = sym(dl, "sdallocx", ok);
		je_rallocx_ = sym(dl, "rallocx", ok);
	} else if (a == &api_tcmalloc) {
		tc_malloc_ = sym(dl, "tc_malloc", ok);
		tc_memalign_ = sym(dl, "tc_memalign", ok);
		tc_free_ = sym(dl, "tc_free", ok);
		tc_realloc_ = sym(dl, "tc_realloc", ok);
	} else {
		load_snmalloc(dl, ok);
	}
	load_versions(a, dl, path, ok);
}

/* The library to open: the fixed name, or the value of the peer's variable (NULL if
 * unset or empty). */
static const char *api_path(const struct peer_api *a)
{
	const char *p = a->env ? getenv(a->env) : a->lib;
	return p && *p ? p : NULL;
}

static bool api_load(struct peer_api *a)
{
	if (a->state)
		return a->state > 0;
	a->state = -1;
	if (!a->lib && !a->env) {
		snprintf(a->version, sizeof(a->version), "glibc %s", gnu_get_libc_version());
		a->state = 1;
		return true;
	}
	const char *path = api_path(a);
	void *dl = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
	if (!dl && !path)
		snprintf(a->why, sizeof(a->why), "%s: %s not set (the path of its shared library)",
			 a->name, a->env);
	else if (!dl)
		snprintf(a->why, sizeof(a->why), "%s: %s", a->name, dlerror());
	if (!dl)
		return false;
	bool ok = true;
	load_syms(a, dl, path, &ok);
	if (!ok) {
		snprintf(a->why, sizeof(a->why), "%s: %s lacks %s", a->name, path, missing);
		dlclose(dl);
	}
	a->state = ok ? 1 : -1;
	return ok;
}

/* ---- resident bytes ---- */

/* The kB value of the line starting with key in the file behind fd (pread from 0), in
 * bytes; 0 if absent or unreadable. */
static uint64_t read_kb(int fd, const char *key)
{
	char buf[4096];
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strstr(buf, key);
	unsigned long long kb;
	return p && sscanf(p + strlen(key), "%llu", &kb) == 1 ? kb << 10 : 0;
}

/* Resident bytes, exact: /proc/self/smaps_rollup walks the page tables (statm and
 * status read per-CPU counters that may lag by tens of pages per CPU). */
static uint64_t read_rss(int fd)
{
	return read_kb(fd, "Rss:");
}

uint64_t heap_peer_rss(void)
{
	int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
	uint64_t r = read_rss(fd);
	if (fd >= 0)
		close(fd);
	return r;
}

/* VmHWM of /proc/self/status in bytes, or 0 (the kernel's peak mark: exact up to the
 * per-CPU counter lag, so stats() takes the larger of it and every exact sample). */
static uint64_t read_hwm(int fd)
{
	return read_kb(fd, "VmHWM:");
}

/* Resets the kernel's peak RSS to the current RSS; false if this kernel cannot. */
static bool reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, "5", 1) == 1;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* ---- heap_ops ---- */

void heap_peer_fini(void *st)
{
	struct heap_peer *h = st;
	if (h->rss_fd >= 0)
		close(h->rss_fd);
	if (h->status_fd >= 0)
		close(h->status_fd);
	h->rss_fd = h->status_fd = -1;
}

static int peer_init(struct heap_peer *h, struct peer_api *a)
{
	memset(h, 0, sizeof(*h));
	h->api = a;
	h->rss_fd = h->status_fd = -1;
	if (!api_load(a))
		return MM_EINVAL;
	h->rss_fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
	h->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	malloc_trim(0);
	h->base = read_rss(h->rss_fd);
	h->hwm_ok = h->base && reset_hwm() && read_hwm(h->status_fd);
	return MM_OK;
}

static bool peer_check(const void *st)
{
	return true; /* the peers check themselves (glibc: MALLOC_CHECK_) */
}

static void peer_stats(const void *st, struct heap_stats *out)
{
	struct heap_peer *h = (struct heap_peer *)st; /* peak is a running max */
	memset(out, 0, sizeof(*out));
	uint64_t rss = read_rss(h->rss_fd);
	if (!h->base || !rss)
		return; /* unknown: rows say null */
	uint64_t fp = rss > h->base ? rss - h->base : 0;
	uint64_t peak = __atomic_load_n(&h->peak, __ATOMIC_RELAXED);
	while (fp > peak && !__atomic_compare_exchange_n(&h->peak, &peak, fp, 0, __ATOMIC_RELAXED,
							 __ATOMIC_RELAXED))
		;
	uint64_t hwm = h->hwm_ok ? read_hwm(h->status_fd) : 0;
	out->footprint = fp;
	out->peak_footprint = hwm > h->base ? hwm - h->base : 0;
	peak = fp > peak ? fp : peak;
	out->peak_footprint = out->peak_footprint > peak ? out->peak_footprint : peak;
}

#define PEER_OPS(P)                                                                                \
	static int P##_op_init(void *st, const struct heap_env *env)                               \
	{                                                                                          \
		return peer_init(st, &api_##P);                                                    \
	}                                                                                          \
	static void *P##_op_alloc(void *st, unsigned cpu, size_t s, size_t a)                      \
	{                                                                                          \
		return api_##P.alloc(s, a);                                                        \
	}                                                                                          \
	static void P##_op_free(void *st, unsigned cpu, void *p, size_t s, size_t a)               \
	{                                                                                          \
		api_##P.free(p, s, a);                                                             \
	}                                                                                          \
	static void *P##_op_realloc(void *st, unsigned cpu, void *p, size_t o, size_t a, size_t n) \
	{                                                                                          \
		return api_##P.realloc(p, o, a, n);                                                \
	}                                                                                          \
	const struct heap_ops heap_##P##_ops = {                                                   \
	    .name = #P,                                                                            \
	    .state_size = sizeof(struct heap_peer),                                                \
	    .init = P##_op_init,                                                                   \
	    .alloc = P##_op_alloc,                                                                 \
	    .free = P##_op_free,                                                                   \
	    .realloc = P##_op_realloc,                                                             \
	    .check = peer_check,                                                                   \
	    .stats = peer_stats,                                                                   \
	}

PEER_OPS(glibc);
PEER_OPS(jemalloc);
PEER_OPS(tcmalloc);
PEER_OPS(mimalloc);
PEER_OPS(snmalloc);

#define NPEERS 5
static const struct heap_ops *const peers[NPEERS] = {&heap_glibc_ops, &heap_jemalloc_ops,
						     &heap_tcmalloc_ops, &heap_mimalloc_ops,
						     &heap_snmalloc_ops};
static struct peer_api *const apis[NPEERS] = {&api_glibc, &api_jemalloc, &api_tcmalloc,
					      &api_mimalloc, &api_snmalloc};

static struct peer_api *api_of(const struct heap_ops *ops)
{
	for (unsigned i = 0; i < NPEERS; i++)
		if (peers[i] == ops)
			return apis[i];
	return NULL;
}

const struct heap_ops *heap_peer_find(const char *name)
{
	for (unsigned i = 0; i < NPEERS; i++)
		if (!strcmp(peers[i]->name, name))
			return peers[i];
	return NULL;
}

const char *heap_peer_name(unsigned i)
{
	return i < NPEERS ? peers[i]->name : NULL;
}

bool heap_peer_load(const struct heap_ops *ops, char *why, size_t cap)
{
	struct peer_api *a = api_of(ops);
	if (a && api_load(a))
		return true;
	snprintf(why, cap, "%s", a ? a->why : "not a peer allocator");
	return false;
}

const char *heap_peer_version(const struct heap_ops *ops)
{
	struct peer_api *a = api_of(ops);
	return a && a->state > 0 ? a->version : "";
}

void heap_peer_reexec(const char *prog, char **argv)
{
	const char *t = getenv("GLIBC_TUNABLES");
	if (getenv("MTB_REEXECED"))
		return;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s%sglibc.rtld.optional_static_tls=65536", t ? t : "",
		 t ? ":" : "");
	setenv("GLIBC_TUNABLES", buf, 1);
	setenv("MTB_REEXECED", "1", 1);
	int pers = personality(0xffffffff);
	if (pers != -1)
		personality((unsigned long)pers | ADDR_NO_RANDOMIZE);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "%s: re-exec failed: %s (a peer may not load; layouts vary)\n", prog,
		strerror(errno));
}
