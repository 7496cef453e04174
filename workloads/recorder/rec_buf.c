/* rec_buf.c: libmtbrec.so's per-thread buffers, its output file, and fork.
 *
 * File: PREFIX.PID.rec (PREFIX = $MTB_REC_OUT, default "mtbrec"), or PREFIX.PID.K.rec
 * when taken (exec keeps the pid); format in rec_format.h. Buffers are mmap'd (the
 * recorder never mallocs), kept in a registry that only grows, and reused by new
 * threads once their thread has exited (its key destructor flushed it).
 * What a crash loses: nothing on exit, _exit, exec or a fatal signal whose handler
 * ran (rec_exit.c); on SIGKILL, or a signal the program itself handles by dying,
 * each thread's unwritten buffer (< 64 KiB, some 10,000 records): the reader keeps
 * the ops before the first missing number.
 * fork: the child's file starts with the parent's history (its blocks as written
 * up to the fork, then every thread's unwritten records), so its frees of inherited
 * blocks are valid; the parent's other threads are gone in the child, their buffers
 * are freed there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec_internal.h"

int rec_on, rec_sync;
uint64_t rec_seq;
TLS struct rec_tbuf *rec_my_buf;
TLS int rec_in;

static int rec_fd = -1;
static size_t hdr_len; /* the header line's length in this file */
static uint32_t reg_lock, file_lock, nthreads;
static struct rec_tbuf *reg_head;
static pthread_key_t thread_key;
static int key_ok;
static off_t fork_off; /* the file's size at the fork: what the child copies */

/* ---- the file ----------------------------------------------------------------- */
static int write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Writes n bytes at the end of the file; caller holds file_lock. On failure the
 * recording stops, with one message. */
static void file_write(const void *p, size_t n)
{
	if (rec_fd < 0 || write_all(rec_fd, p, n) == 0)
		return;
	char msg[160];
	int k = snprintf(msg, sizeof(msg), "mtbrec: pid %d: write failed (%s): recording stopped\n",
			 (int)getpid(), strerror(errno));
	if (k > 0)
		write_all(2, msg, (size_t)k < sizeof(msg) ? (size_t)k : sizeof(msg) - 1);
	__atomic_store_n(&rec_on, 0, __ATOMIC_RELAXED);
	rec_fd = -1;
}

static void write_ctl(uint32_t kind, uint32_t count, uint64_t seq)
{
	struct rec_block_hdr h = {REC_BLOCK_MAGIC, 0, kind, count, seq};
	file_write(&h, sizeof(h));
}

/* Opens PREFIX.PID.rec (or .PID.K.rec) and writes the header line: the fd, or -1. */
static int open_out(pid_t parent)
{
	const char *pre = getenv("MTB_REC_OUT");
	pre = pre && *pre ? pre : "mtbrec";
	char path[4096], exe[2048], line[4200];
	int fd = -1;
	for (unsigned k = 0; k < 1000 && fd < 0; k++) {
		int n = k ? snprintf(path, sizeof(path), "%s.%d.%u.rec", pre, (int)getpid(), k)
			  : snprintf(path, sizeof(path), "%s.%d.rec", pre, (int)getpid());
		if (n < 0 || (size_t)n >= sizeof(path))
			return -1;
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			  0644); /* read: a fork copies it */
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	/* out of the way of programs that reuse low descriptor numbers */
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 700);
	if (hi >= 0)
		close(fd), fd = hi;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	for (char *c = exe; *c; c++)
		*c = *c == '\n' ? '?' : *c;
	int l = parent ? snprintf(line, sizeof(line), REC_MAGIC_LINE " exe=%s pid=%d parent=%d\n",
				  exe, (int)getpid(), (int)parent)
		       : snprintf(line, sizeof(line), REC_MAGIC_LINE " exe=%s pid=%d\n", exe,
				  (int)getpid());
	if (write_all(fd, line, (size_t)l)) {
		close(fd);
		return -1;
	}
	hdr_len = (size_t)l;
	return fd;
}

/* ---- buffers ------------------------------------------------------------------ */
static void flush_locked(struct rec_tbuf *b) /* caller holds b->lock and file_lock */
{
	if (!b->count)
		return;
	b->hdr = (struct rec_block_hdr){REC_BLOCK_MAGIC, b->len, b->thread, b->count, b->base_seq};
	file_write(&b->hdr, sizeof(b->hdr) + b->len);
	b->base_seq = b->st.seq;
	b->st.ptr = 0;
	__atomic_store_n(&b->len_count, 0, __ATOMIC_RELEASE);
}

void rec_buf_flush(struct rec_tbuf *b)
{
	rec_lock(&file_lock);
	flush_locked(b);
	rec_unlock(&file_lock);
}

/* Key destructor at a thread's exit: its records to the file, its buffer free. Ops
 * the thread still makes later (other destructors) get a new buffer. */
static void thread_gone(void *v)
{
	struct rec_tbuf *b = v;
	int was_in = rec_in;
	rec_in = 1;
	rec_lock(&b->lock);
	rec_buf_flush(b);
	rec_unlock(&b->lock);
	rec_lock(&reg_lock);
	b->owned = 0;
	rec_unlock(&reg_lock);
	rec_my_buf = NULL;
	rec_in = was_in;
}

struct rec_tbuf *rec_buf_acquire(void)
{
	rec_lock(&reg_lock);
	struct rec_tbuf *b = reg_head;
	while (b && b->owned)
		b = b->next;
	if (!b) {
		b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
		if (b == MAP_FAILED) {
			rec_unlock(&reg_lock);
			return NULL;
		}
		b->next = reg_head;
		__atomic_store_n(&reg_head, b, __ATOMIC_RELEASE);
	}
	b->owned = 1;
	b->thread = nthreads++;
	b->len_count = 0;
	b->base_seq = 0;
	b->st = (struct rec_state){0, 0};
	rec_unlock(&reg_lock);
	rec_my_buf = b;
	if (key_ok)
		pthread_setspecific(thread_key, b);
	return b;
}

static void lock_all(void)
{
	rec_lock(&reg_lock);
	for (struct rec_tbuf *b = reg_head; b; b = b->next)
		rec_lock(&b->lock);
	rec_lock(&file_lock);
}

static void unlock_all(void)
{
	rec_unlock(&file_lock);
	for (struct rec_tbuf *b = reg_head; b; b = b->next)
		rec_unlock(&b->lock);
	rec_unlock(&reg_lock);
}

void rec_flush_all(int end, int sync)
{
	if (rec_in || !__atomic_load_n(&rec_on, __ATOMIC_RELAXED))
		return; /* inside the recorder (a signal handler?): cannot lock safely */
	rec_in = 1;
	lock_all();
	for (struct rec_tbuf *b = reg_head; b; b = b->next)
		flush_locked(b);
	if (end)
		write_ctl(REC_CTL_END, 0, rec_seq);
	rec_sync |= sync;
	unlock_all();
	rec_in = 0;
}

/* Takes l unless another thread holds it for long (or this one, interrupted). */
static int try_lock(uint32_t *l)
{
	for (unsigned i = 0; i < 20000; i++) {
		if (!__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
			return 1;
		sched_yield();
	}
	return 0;
}

void rec_flush_signal(int sig)
{
	int was_in = rec_in;
	rec_in = 1;
	if (!__atomic_load_n(&rec_on, __ATOMIC_RELAXED))
		return;
	for (struct rec_tbuf *b = __atomic_load_n(&reg_head, __ATOMIC_ACQUIRE); b; b = b->next) {
		/* this thread, interrupted inside the recorder, may hold its own lock:
		 * its len and count still describe whole records */
		int mine = b == rec_my_buf && was_in;
		if (!mine && !try_lock(&b->lock))
			continue;
		if (!try_lock(&file_lock))
			return;
		flush_locked(b);
		rec_unlock(&file_lock);
	}
	if (try_lock(&file_lock))
		write_ctl(REC_CTL_SIGNAL, (uint32_t)sig, rec_seq);
	/* every lock taken stays taken: the process is about to die */
}

/* ---- fork ----------------------------------------------------------------------- */
static void fork_prepare(void)
{
	rec_in = 1;
	lock_all();
	struct stat st;
	fork_off = rec_fd >= 0 && !fstat(rec_fd, &st) ? st.st_size : 0;
}

static void fork_parent(void)
{
	unlock_all();
	rec_in = 0;
}

/* Copies [from, to) of fd in to the end of fd out; 0 or -1. */
static int copy_range(int in, off_t from, off_t to, int out)
{
	while (from < to) {
		ssize_t k = copy_file_range(in, &from, out, NULL, (size_t)(to - from), 0);
		if (k > 0)
			continue;
		if (k == 0 ||
		    (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP))
			return -1;
		char buf[1 << 14];
		size_t want = to - from < (off_t)sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
		k = pread(in, buf, want, from);
		if (k <= 0 || write_all(out, buf, (size_t)k))
			return -1;
		from += k;
	}
	return 0;
}

/* Child: its own file with the parent's history, then its own records. */
static void fork_child(void)
{
	int old = rec_fd;
	off_t old_hdr = (off_t)hdr_len;
	rec_fd = old >= 0 ? open_out(getppid()) : -1;
	if (rec_fd >= 0 && copy_range(old, old_hdr, fork_off, rec_fd)) {
		close(rec_fd);
		rec_fd = -1;
	}
	if (old >= 0)
		close(old);
	if (rec_fd < 0)
		__atomic_store_n(&rec_on, 0, __ATOMIC_RELAXED);
	for (struct rec_tbuf *b = reg_head; b; b = b->next) {
		flush_locked(b);
		if (b != rec_my_buf)
			b->owned = 0; /* its thread does not exist here */
	}
	write_ctl(REC_CTL_FORK, (uint32_t)getpid(), rec_seq);
	unlock_all();
	rec_in = 0;
}

int rec_start(void)
{
	rec_fd = open_out(0);
	if (rec_fd < 0)
		return -1;
	key_ok = pthread_key_create(&thread_key, thread_gone) == 0;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	__atomic_store_n(&rec_on, 1, __ATOMIC_RELEASE);
	return 0;
}
