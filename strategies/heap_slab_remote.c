/* heap_slab_remote.c: frees of objects another CPU owns, sent home in batches.
 *
 * Messages (the common path): CPU c collects the addresses of objects owned by CPU
 * o in c->msg_out[o], one of c's SLAB_MSGS messages. When it holds SLAB_MSG_CAP
 * objects or SLAB_BATCH_BYTES requested bytes (or on flush), it is pushed on o's
 * msg_inbox, a multi-producer single-consumer stack, with one CAS. The owner takes
 * the whole stack with one atomic exchange (so no ABA problem), frees each object
 * into its slab locally and pushes the message back on its sender's msg_ret stack
 * (one CAS); the sender takes that stack whole when it runs out of idle messages.
 * A remote free so writes one pointer into a line of the sender's, and the owner
 * reads 8 addresses per line moved: no line of the object itself travels (the old
 * scheme linked the objects through their first word, so every remote free pulled
 * the object's line to the sender and the owner pulled it back: jemalloc's tcache,
 * an array of pointers, was 3.4x faster on xmalloc). Sizes: heap_bench's xmalloc at
 * 2 threads, against jemalloc in the same run: 29 x 16 messages 1.46x its time,
 * 61 x 8 2.4x (the fallback ran most of the time), 61 x 32 0.83x: what matters is
 * how much can be in transit before the owner's next slow path drains it.
 * Batches (the fallback, when all c's messages are in transit): the objects are
 * linked through their first word in c->out[o] and sent at SLAB_BATCH objects or
 * SLAB_BATCH_BYTES bytes on o's inbox the same way.
 * Invariant: every object is, at any moment, either live, on its slab's free
 * list, in exactly one message or batch (filling or in transit); the last two
 * count as used in their slab, so a slab (and its chunk) cannot be released while
 * an object of it is in transit. Every message of c is in exactly one of: c's idle
 * stack, c->msg_out[], some CPU's msg_inbox, being drained, c's msg_ret stack.
 * Memory in transit is bounded: a message or batch holds less than SLAB_BATCH_BYTES
 * bytes plus its last object (at most SLAB_CLASS_MAX), so the ones CPU c fills
 * strand at most 2 * (ncpus - 1) * (SLAB_BATCH_BYTES + SLAB_CLASS_MAX) until its
 * next flush; an inbox holds only objects its owner allocated, taken back at the
 * owner's next allocation slow path or flush.
 */
#include "heap_slab.h"

void slab_remote_init(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	for (unsigned k = 0; k < SLAB_MSGS; k++) {
		c->msgs[k].from = cpu;
		c->msgs[k].next = c->msg_idle;
		c->msg_idle = &c->msgs[k];
	}
}

/* Pushes the list first..last on the MPSC stack *top with one CAS (retried only
 * if another producer pushed meanwhile). */
static void mpsc_push(void **top, void *first, void **last_link)
{
	void *old = atomic_load_rlx(top);
	do {
		*last_link = old;
	} while (!atomic_cas(top, &old, first));
}

static void slab_send(struct slab_heap *h, unsigned owner, struct slab_batch *b)
{
	mpsc_push(&h->cpu[owner].inbox, b->head, (void **)b->tail);
	b->head = b->tail = NULL;
	b->n = b->bytes = 0;
}

static void msg_send(struct slab_heap *h, struct slab_cpu *c, unsigned owner)
{
	struct slab_msg *m = c->msg_out[owner];
	c->msg_out[owner] = NULL;
	mpsc_push((void **)&h->cpu[owner].msg_inbox, m, (void **)&m->next);
}

/* An empty message of c's own for a new destination, or NULL if all are in transit. */
static struct slab_msg *msg_get(struct slab_cpu *c)
{
	struct slab_msg *m = c->msg_idle;
	if (!m && atomic_load_rlx(&c->msg_ret))
		m = __atomic_exchange_n(&c->msg_ret, NULL, __ATOMIC_ACQUIRE);
	if (!m)
		return NULL;
	c->msg_idle = m->next;
	m->n = 0;
	m->bytes = 0;
	return m;
}

/* The fallback: p linked into c's batch for owner. */
static void batch_add(struct slab_heap *h, struct slab_cpu *c, unsigned owner, void *p, size_t size)
{
	struct slab_batch *b = &c->out[owner];
	*(void **)p = b->head;
	if (!b->head)
		b->tail = p;
	b->head = p;
	b->bytes += (uint32_t)size; /* size <= SLAB_CLASS_MAX: no overflow before a send */
	if (++b->n >= SLAB_BATCH || b->bytes >= SLAB_BATCH_BYTES)
		slab_send(h, owner, b);
}

void slab_remote_free(struct slab_heap *h, unsigned cpu, unsigned owner, void *p, size_t size)
{
	struct slab_cpu *c = &h->cpu[cpu];
	struct slab_msg *m = c->msg_out[owner];
	atomic_store_rlx(&c->remote_frees, c->remote_frees + 1);
	if (__builtin_expect(!m, 0) && !(m = c->msg_out[owner] = msg_get(c))) {
		batch_add(h, c, owner, p, size);
		return;
	}
	m->p[m->n++] = p;
	m->bytes += size;
	if (m->n == SLAB_MSG_CAP || m->bytes >= SLAB_BATCH_BYTES)
		msg_send(h, c, owner);
}

void slab_remote_send_all(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	for (unsigned o = 0; o < h->env.ncpus; o++) {
		if (c->out[o].n)
			slab_send(h, o, &c->out[o]);
		if (c->msg_out[o])
			msg_send(h, c, o);
	}
}

/* Frees one object sent home to cpu. */
static void drain_one(struct slab_heap *h, struct slab_cpu *c, unsigned cpu, void *p)
{
	struct slab_chunk *ch = slab_chunk_of(p);
	MM_ASSERT(ch->owner == cpu, "slab: a remote free reached the wrong CPU");
	slab_local_free(h, c, slab_of(ch, p), p);
}

void slab_remote_drain(struct slab_heap *h, unsigned cpu)
{
	struct slab_cpu *c = &h->cpu[cpu];
	struct slab_msg *m = NULL;
	if (atomic_load_rlx(&c->msg_inbox))
		m = __atomic_exchange_n(&c->msg_inbox, NULL, __ATOMIC_ACQUIRE);
	while (m) {
		struct slab_msg *next = m->next;
		for (uint32_t i = 0; i < m->n; i++)
			drain_one(h, c, cpu, m->p[i]);
		mpsc_push((void **)&h->cpu[m->from].msg_ret, m, (void **)&m->next);
		m = next;
	}
	if (!atomic_load_rlx(&c->inbox))
		return;
	void *p = __atomic_exchange_n(&c->inbox, NULL, __ATOMIC_ACQUIRE);
	while (p) {
		void *next = *(void **)p;
		drain_one(h, c, cpu, p);
		p = next;
	}
}
