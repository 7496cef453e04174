/* rec_order.c: drives rec_fakealloc.c's two handoffs under libmtbrec.so: a block
 * released by free() in main and one released by a moving realloc() in main are
 * each returned to a second thread's malloc(779) before the release returns. A
 * correct recording converts strictly; one whose release is numbered after the real
 * call has a reuse of a live block (recorder_test.sh's mutation check). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile got, *volatile sink;

static void *taker(void *arg)
{
	got = malloc(779);  /* waits for the handed-off block */
	sink = malloc(778); /* tells the releasing thread it may return */
	free(sink);
	return NULL;
}

/* One handoff; the blocks it leaves are freed after both (a free of a size-777
 * block before would be taken for the next handoff). */
static void round_trip(int use_realloc, void **left)
{
	pthread_t t;
	void *p = malloc(777), *q = NULL;
	pthread_create(&t, NULL, taker, NULL);
	if (use_realloc)
		q = realloc(p, 5000);
	else
		free(p);
	pthread_join(t, NULL);
	if (got != p) {
		fprintf(stderr, "rec_order: block %p was not handed off (got %p)\n", p, got);
		exit(1);
	}
	left[0] = got;
	left[1] = q;
}

int main(void)
{
	void *left[4];
	round_trip(0, left);
	round_trip(1, left + 2);
	for (int i = 0; i < 4; i++)
		free(left[i]);
	puts("rec_order: 2 blocks reused before their release returned");
	return 0;
}
