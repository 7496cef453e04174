/* recorder.c: libmtbrec.so, an LD_PRELOAD recorder of malloc, calloc, realloc,
 * reallocarray, free, memalign, posix_memalign, aligned_alloc, valloc and pvalloc
 * in the allocrec v1 text format (../shared/traces/README.md).
 *
 *   LD_PRELOAD=build/lib/libmtbrec.so MTB_REC_OUT=/tmp/rec  prog args
 *   -> /tmp/rec.<pid>.trc (or .<pid>.<k>.trc if taken, e.g. after exec)
 *
 * Order: one global lock; a record is written while it is held. free() writes its
 * record before the real free and realloc() holds the lock across the real call,
 * so a block's reuse by another thread is always recorded after its release:
 * the file order is one global order consistent with every object's lifetime.
 * Ids: a pointer -> id table (mmap'd, never malloc'd) gives each object an id that
 * lives until its free and survives realloc moves. Threads: numbered on first use
 * (0 = the first thread to allocate, normally main).
 * Durability: every record is one write(2), no user-space buffer, so a crash loses
 * nothing that was recorded (the kernel holds it). Cost: one syscall per op.
 * fork: the child copies the parent's file as it was at the fork (its heap's
 * history, so its frees of inherited objects stay valid), then goes on there.
 * exec: LD_PRELOAD and MTB_REC_OUT are inherited by the new image, which starts
 * a new file. A "# end ops=N" line is added at normal exit.
 * dlsym recursion: while the real functions are being resolved (dlsym may call
 * calloc), allocations come from a static bootstrap arena and are not recorded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/param.h>
#include <unistd.h>

#define TLS __attribute__((tls_model("initial-exec"))) __thread
#define EXPORT __attribute__((visibility("default")))

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

static int resolving;
static _Alignas(16) char arena[1 << 16];
static size_t arena_used;

static int rec_fd = -1;
static uint32_t rec_lock;
static uint64_t next_id = 1, nops, nthreads;
static TLS int64_t my_thread = -1;
static TLS int in_rec; /* recursion guard: calls made by the recorder itself */

/* ---- lock ------------------------------------------------------------------ */
static void lock(void)
{
	while (__atomic_exchange_n(&rec_lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&rec_lock, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static void unlock(void)
{
	__atomic_store_n(&rec_lock, 0, __ATOMIC_RELEASE);
}

/* ---- pointer -> id table: open addressing, backward-shift delete ----------- */
struct slot {
	uintptr_t p; /* 0 = empty */
	uint64_t id;
};
static struct slot *tab;
static size_t tab_cap, tab_n;

static size_t hash_p(uintptr_t p)
{
	return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ull >> 20);
}

static void tab_insert_raw(struct slot *t, size_t cap, uintptr_t p, uint64_t id)
{
	size_t i = hash_p(p) & (cap - 1);
	while (t[i].p && t[i].p != p)
		i = (i + 1) & (cap - 1);
	t[i].p = p;
	t[i].id = id;
}

static int tab_grow(void)
{
	size_t ncap = tab_cap ? tab_cap * 2 : 1 << 16;
	struct slot *n = mmap(NULL, ncap * sizeof(*n), PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (n == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < tab_cap; i++)
		if (tab[i].p)
			tab_insert_raw(n, ncap, tab[i].p, tab[i].id);
	if (tab)
		munmap(tab, tab_cap * sizeof(*tab));
	tab = n;
	tab_cap = ncap;
	return 0;
}

static void tab_put(uintptr_t p, uint64_t id)
{
	if ((tab_n + 1) * 2 > tab_cap && tab_grow())
		return;
	size_t i = hash_p(p) & (tab_cap - 1);
	while (tab[i].p && tab[i].p != p)
		i = (i + 1) & (tab_cap - 1);
	tab_n += !tab[i].p;
	tab[i].p = p;
	tab[i].id = id;
}

/* Removes p; its id, or 0 if p is unknown (allocated before recording began). */
static uint64_t tab_take(uintptr_t p)
{
	if (!tab_cap)
		return 0;
	size_t m = tab_cap - 1, i = hash_p(p) & m;
	while (tab[i].p && tab[i].p != p)
		i = (i + 1) & m;
	if (!tab[i].p)
		return 0;
	uint64_t id = tab[i].id;
	tab[i].p = 0;
	tab_n--;
	for (size_t j = (i + 1) & m; tab[j].p; j = (j + 1) & m) {
		size_t h = hash_p(tab[j].p) & m;
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			tab[i] = tab[j];
			tab[j].p = 0;
			i = j;
		}
	}
	return id;
}

/* ---- output ------------------------------------------------------------------ */
struct line {
	char b[160];
	size_t n;
};

static void put_s(struct line *l, const char *s)
{
	while (*s && l->n < sizeof(l->b))
		l->b[l->n++] = *s++;
}

static void put_u(struct line *l, uint64_t v)
{
	char d[20];
	int k = 0;
	do
		d[k++] = (char)('0' + v % 10);
	while (v /= 10);
	while (k && l->n < sizeof(l->b))
		l->b[l->n++] = d[--k];
}

static void write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		b += k;
		n -= (size_t)k;
	}
}

/* Opens PREFIX.PID.trc, or PREFIX.PID.K.trc when taken (exec keeps the pid). */
static int open_out(void)
{
	const char *pre = getenv("MTB_REC_OUT");
	pre = pre && *pre ? pre : "mtbrec";
	for (uint64_t k = 0; k < 1000; k++) {
		struct line l = {.n = 0};
		put_s(&l, pre);
		put_s(&l, ".");
		put_u(&l, (uint64_t)getpid());
		if (k) {
			put_s(&l, ".");
			put_u(&l, k);
		}
		put_s(&l, ".trc");
		if (l.n >= sizeof(l.b))
			return -1;
		l.b[l.n] = 0;
		int fd = open(l.b, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static void write_header(int fd)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	struct line l = {.n = 0};
	put_s(&l, "# allocrec trace v1 exe=");
	write_all(fd, l.b, l.n);
	write_all(fd, exe, strlen(exe));
	l.n = 0;
	put_s(&l, " pid=");
	put_u(&l, (uint64_t)getpid());
	put_s(&l, "\n");
	write_all(fd, l.b, l.n);
}

/* One record "T op ID [SIZE [ALIGN]]"; caller holds the lock. */
static void record(char op, uint64_t id, uint64_t size, uint64_t align)
{
	if (rec_fd < 0)
		return;
	if (my_thread < 0)
		my_thread = (int64_t)nthreads++;
	struct line l = {.n = 0};
	put_u(&l, (uint64_t)my_thread);
	char o[4] = {' ', op, ' ', 0};
	put_s(&l, o);
	put_u(&l, id);
	if (op != 'f') {
		put_s(&l, " ");
		put_u(&l, size);
	}
	if (op == 'm') {
		put_s(&l, " ");
		put_u(&l, align);
	}
	put_s(&l, "\n");
	write_all(rec_fd, l.b, l.n);
	nops++;
}

static void rec_alloc(char op, void *p, uint64_t size, uint64_t align)
{
	if (!p || in_rec || rec_fd < 0)
		return;
	in_rec = 1;
	lock();
	uint64_t id = next_id++;
	tab_put((uintptr_t)p, id);
	record(op, id, size, align);
	unlock();
	in_rec = 0;
}

/* ---- bootstrap --------------------------------------------------------------- */
static void *arena_alloc(size_t n)
{
	size_t off = __atomic_fetch_add(&arena_used, (n + 15) & ~(size_t)15, __ATOMIC_RELAXED);
	return off + n <= sizeof(arena) ? arena + off : NULL;
}

static int in_arena(const void *p)
{
	return (const char *)p >= arena && (const char *)p < arena + sizeof(arena);
}

static void resolve(void)
{
	if (real_malloc)
		return;
	resolving = 1;
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_valloc = dlsym(RTLD_NEXT, "valloc");
	real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	__atomic_store_n(&real_malloc, dlsym(RTLD_NEXT, "malloc"), __ATOMIC_RELEASE);
	resolving = 0;
}

static uint64_t pow2_ceil(uint64_t a)
{
	return a <= 1 ? 1 : (uint64_t)1 << (64 - __builtin_clzll(a - 1));
}

/* ---- the interposed functions -------------------------------------------- */
EXPORT void *malloc(size_t n)
{
	if (!real_malloc) {
		if (resolving)
			return arena_alloc(n);
		resolve();
	}
	void *p = real_malloc(n);
	rec_alloc('a', p, n, 0);
	return p;
}

EXPORT void *calloc(size_t a, size_t b)
{
	if (!real_malloc) {
		if (resolving)
			return arena_alloc(a * b); /* arena memory is zero */
		resolve();
	}
	void *p = real_calloc(a, b);
	if (p)
		rec_alloc('c', p, (uint64_t)a * b, 0);
	return p;
}

EXPORT void free(void *p)
{
	if (!p || in_arena(p))
		return;
	resolve();
	if (!in_rec && rec_fd >= 0) {
		in_rec = 1;
		lock();
		uint64_t id = tab_take((uintptr_t)p);
		if (id)
			record('f', id, 0, 0);
		unlock();
		in_rec = 0;
	}
	real_free(p);
}

static void *realloc_recorded(void *p, size_t n)
{
	in_rec = 1;
	lock();
	void *q = real_realloc(p, n);
	if (q || n == 0) { /* glibc: realloc(p, 0) frees p and returns NULL */
		uint64_t id = tab_take((uintptr_t)p);
		if (q && !id) {
			id = next_id++;
			record('a', id, n, 0);
		} else if (q) {
			record('r', id, n, 0);
		} else if (id) {
			record('f', id, 0, 0);
		}
		if (q)
			tab_put((uintptr_t)q, id);
	}
	unlock();
	in_rec = 0;
	return q;
}

EXPORT void *realloc(void *p, size_t n)
{
	if (!real_malloc) {
		if (resolving)
			return arena_alloc(n); /* only fresh blocks are asked for here */
		resolve();
	}
	if (p && in_arena(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, MIN(n, (size_t)(arena + sizeof(arena) - (char *)p)));
		return q;
	}
	if (!p) {
		void *q = real_realloc(NULL, n);
		rec_alloc('a', q, n, 0);
		return q;
	}
	if (in_rec || rec_fd < 0)
		return real_realloc(p, n);
	return realloc_recorded(p, n);
}

EXPORT void *reallocarray(void *p, size_t a, size_t b)
{
	if (b && a > SIZE_MAX / b) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, a * b);
}

EXPORT void *memalign(size_t al, size_t n)
{
	resolve();
	void *p = real_memalign(al, n);
	rec_alloc('m', p, n, pow2_ceil(al));
	return p;
}

EXPORT int posix_memalign(void **out, size_t al, size_t n)
{
	resolve();
	int rc = real_posix_memalign(out, al, n);
	if (!rc)
		rec_alloc('m', *out, n, al);
	return rc;
}

EXPORT void *aligned_alloc(size_t al, size_t n)
{
	resolve();
	void *p = real_aligned_alloc(al, n);
	rec_alloc('m', p, n, pow2_ceil(al));
	return p;
}

EXPORT void *valloc(size_t n)
{
	resolve();
	void *p = real_valloc(n);
	rec_alloc('m', p, n, (uint64_t)sysconf(_SC_PAGESIZE));
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	resolve();
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	void *p = real_pvalloc(n);
	rec_alloc('m', p, (n + pg - 1) / pg * pg, pg);
	return p;
}

/* ---- process lifecycle ------------------------------------------------------- */
static off_t fork_off; /* the parent's file size at the fork: what the child copies */

static void fork_prepare(void)
{
	lock();
	struct stat st;
	fork_off = rec_fd >= 0 && !fstat(rec_fd, &st) ? st.st_size : 0;
}

static void fork_parent(void)
{
	unlock();
}

/* Child: its own file, starting with the parent's history (copied). */
static void fork_child(void)
{
	int old = rec_fd;
	rec_fd = open_out();
	if (rec_fd >= 0 && old >= 0) {
		char buf[16384];
		off_t off = 0;
		ssize_t k;
		while (off < fork_off &&
		       (k = pread(old, buf, (size_t)MIN((off_t)sizeof(buf), fork_off - off), off)) > 0) {
			write_all(rec_fd, buf, (size_t)k);
			off += k;
		}
		struct line l = {.n = 0};
		put_s(&l, "# fork pid=");
		put_u(&l, (uint64_t)getpid());
		put_s(&l, "\n");
		write_all(rec_fd, l.b, l.n);
	}
	if (old >= 0)
		close(old);
	unlock();
}

__attribute__((constructor)) static void rec_init(void)
{
	resolve();
	in_rec = 1;
	int fd = open_out();
	if (fd >= 0) {
		write_header(fd);
		pthread_atfork(fork_prepare, fork_parent, fork_child);
	}
	lock();
	rec_fd = fd;
	unlock();
	in_rec = 0;
}

__attribute__((destructor)) static void rec_fini(void)
{
	lock();
	if (rec_fd >= 0) {
		struct line l = {.n = 0};
		put_s(&l, "# end ops=");
		put_u(&l, nops);
		put_s(&l, " threads=");
		put_u(&l, nthreads);
		put_s(&l, "\n");
		write_all(rec_fd, l.b, l.n);
	}
	unlock();
}
