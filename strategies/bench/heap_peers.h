/* heap_peers.h: the peer allocators of heap_bench (glibc, jemalloc, tcmalloc,
 * mimalloc from Debian), each behind the same three calls. The libraries are
 * loaded with dlopen(RTLD_LOCAL) and called through their own prefixed API
 * (mi_*, tc_*, mallocx/sdallocx/rallocx), so none of them replaces malloc.
 * Header-only (static functions): included by heap_bench.c and gbench_bench.c.
 */
#ifndef HEAP_PEERS_H
#define HEAP_PEERS_H

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/heap_support.h"

struct bench_heap {
	const char *name;
	char version[64];
	struct heap_fixture *fx; /* ours */
	void *dl;		 /* peers */
	void *(*p_alloc)(size_t size, size_t align);
	void (*p_free)(void *p, size_t size, size_t align);
	void *(*p_realloc)(void *p, size_t old, size_t align, size_t n);
};


/* ---- peers ---------------------------------------------------------------- */

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

static void *glibc_alloc(size_t s, size_t a)
{
	return a <= 16 ? malloc(s) : aligned_alloc(a, MM_ALIGN_UP(MM_MAX(s, (size_t)1), a));
}
static void glibc_free(void *p, size_t s, size_t a)
{
	free(p);
}
static void *glibc_realloc(void *p, size_t o, size_t a, size_t n)
{
	if (a <= 16)
		return realloc(p, n);
	void *q = glibc_alloc(n, a);
	if (q) {
		memcpy(q, p, MM_MIN(o, n));
		free(p);
	}
	return q;
}
static void *mi_alloc(size_t s, size_t a)
{
	return mi_malloc_aligned_(s, a);
}
static void mi_free(void *p, size_t s, size_t a)
{
	mi_free_(p);
}
static void *mi_realloc(void *p, size_t o, size_t a, size_t n)
{
	return mi_realloc_aligned_(p, n, a);
}
static int je_flags(size_t a)
{
	return a <= 16 ? 0 : (int)mm_log2_floor(a); /* MALLOCX_LG_ALIGN */
}
static void *je_alloc(size_t s, size_t a)
{
	return je_mallocx_(MM_MAX(s, (size_t)1), je_flags(a));
}
static void je_free(void *p, size_t s, size_t a)
{
	je_sdallocx_(p, MM_MAX(s, (size_t)1), je_flags(a));
}
static void *je_realloc(void *p, size_t o, size_t a, size_t n)
{
	return je_rallocx_(p, MM_MAX(n, (size_t)1), je_flags(a));
}
static void *tc_alloc(size_t s, size_t a)
{
	return a <= 16 ? tc_malloc_(s) : tc_memalign_(a, s);
}
static void tc_free(void *p, size_t s, size_t a)
{
	tc_free_(p);
}
static void *tc_realloc(void *p, size_t o, size_t a, size_t n)
{
	if (a <= 16)
		return tc_realloc_(p, n);
	void *q = tc_memalign_(a, n);
	if (q) {
		memcpy(q, p, MM_MIN(o, n));
		tc_free_(p);
	}
	return q;
}

static void *sym(void *dl, const char *name, bool *ok)
{
	void *f = dlsym(dl, name);
	*ok = *ok && f;
	return f;
}

/* Loads a peer; false (with a line on stderr) if its library is missing. */
static bool peer_load(struct bench_heap *b)
{
	bool ok = true;
	if (!strcmp(b->name, "glibc")) {
		snprintf(b->version, sizeof(b->version), "glibc %s", gnu_get_libc_version());
		b->p_alloc = glibc_alloc, b->p_free = glibc_free, b->p_realloc = glibc_realloc;
		return true;
	}
	const char *lib = !strcmp(b->name, "mimalloc")	 ? "libmimalloc.so.2"
			  : !strcmp(b->name, "jemalloc") ? "libjemalloc.so.2"
							 : "libtcmalloc_minimal.so.4";
	b->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!b->dl) {
		fprintf(stderr, "heap_bench: skipping %s: %s\n", b->name, dlerror());
		return false;
	}
	if (!strcmp(b->name, "mimalloc")) {
		mi_malloc_aligned_ = sym(b->dl, "mi_malloc_aligned", &ok);
		mi_free_ = sym(b->dl, "mi_free", &ok);
		mi_realloc_aligned_ = sym(b->dl, "mi_realloc_aligned", &ok);
		int (*ver)(void) = sym(b->dl, "mi_version", &ok);
		if (ok)
			snprintf(b->version, sizeof(b->version), "mimalloc %d", ver());
		b->p_alloc = mi_alloc, b->p_free = mi_free, b->p_realloc = mi_realloc;
	} else if (!strcmp(b->name, "jemalloc")) {
		je_mallocx_ = sym(b->dl, "mallocx", &ok);
		je_sdallocx_ = sym(b->dl, "sdallocx", &ok);
		je_rallocx_ = sym(b->dl, "rallocx", &ok);
		int (*ctl)(const char *, void *, size_t *, void *, size_t) = sym(b->dl, "mallctl", &ok);
		const char *v = "?";
		size_t len = sizeof(v);
		if (ok)
			ctl("version", &v, &len, NULL, 0);
		snprintf(b->version, sizeof(b->version), "jemalloc %.40s", v);
		b->p_alloc = je_alloc, b->p_free = je_free, b->p_realloc = je_realloc;
	} else {
		tc_malloc_ = sym(b->dl, "tc_malloc", &ok);
		tc_memalign_ = sym(b->dl, "tc_memalign", &ok);
		tc_free_ = sym(b->dl, "tc_free", &ok);
		tc_realloc_ = sym(b->dl, "tc_realloc", &ok);
		const char *(*ver)(int *, int *, const char **) = sym(b->dl, "tc_version", &ok);
		if (ok)
			snprintf(b->version, sizeof(b->version), "%s", ver(NULL, NULL, NULL));
		b->p_alloc = tc_alloc, b->p_free = tc_free, b->p_realloc = tc_realloc;
	}
	if (!ok)
		fprintf(stderr, "heap_bench: skipping %s: missing symbols\n", b->name);
	return ok;
}

#endif
