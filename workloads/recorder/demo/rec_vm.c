/* rec_vm.c: a program for vmt_recorder_test.sh with known address-space calls:
 * mmap of 3 pages (rw-, anonymous), mprotect to r--, madvise(DONTNEED), mremap to 8
 * pages (may move), munmap; the heap grown by 64 KiB with sbrk and given back; a
 * thread that maps and unmaps 1 MiB + 1 page; a fork child that maps 2 pages
 * (PROT_NONE) and exits; a vfork child that execs /bin/true. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread_maps(void *arg)
{
	void *p = mmap(NULL, (1 << 20) + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p != MAP_FAILED)
		munmap(p, (1 << 20) + 4096);
	return NULL;
}

int main(void)
{
	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	p[0] = 1;
	mprotect(p, 3 * 4096, PROT_READ);
	madvise(p, 3 * 4096, MADV_DONTNEED);
	char *q = mremap(p, 3 * 4096, 8 * 4096, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return 1;
	munmap(q, 8 * 4096);
	if (sbrk(65536) == (void *)-1 || sbrk(-65536) == (void *)-1)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, thread_maps, NULL);
	pthread_join(t, NULL);
	pid_t c = fork();
	if (c == 0) {
		mmap(NULL, 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	c = vfork();
	if (c == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(c, &st, 0);
	printf("rec_vm: done\n");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
