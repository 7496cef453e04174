/* trace_rec_test: the mtbrec v2 reader (trace_rec.c) against the allocrec text the
 * old recorder would have written for the same calls. A seeded simulation of 4
 * threads over one allocator (LIFO reuse, cross-thread frees, reallocs whose old
 * block another thread reuses between their two numbers, frees and reallocs of
 * blocks from before the recording, failed reallocs, unaligned and far pointers)
 * writes both; blocks of all threads interleave in the file. The two load to the
 * same trace (payload hash, peak). Then each kind of damage: a cut-off last block
 * and a killed process (loads, dropped records counted), a lost block before END,
 * a reuse numbered before its release, a number used twice, bad magic, a malformed
 * record, bytes after a block's records: one-line errors, or skipped (lenient). */
#include "../../strategies/tests/testlib.h"

#include "../host/trace_file.h"
#include "../recorder/rec_format.h"

#define NT   4
#define NPTR 96 /* distinct addresses the simulated allocator hands out */

struct img {
	uint8_t *b;
	size_t n, cap;
};

struct thr {
	uint8_t buf[4096];
	uint32_t len, count, limit;
	uint64_t base;
	struct rec_state st;
};

struct sim {
	struct rng rng;
	struct img img;
	struct thr th[NT];
	char *text;
	size_t tn, tcap;
	uint64_t seq, next_id;
	uint64_t addr[NPTR];	/* the addresses */
	uint64_t live_id[NPTR]; /* text id of the live object at addr i, 0 = free */
	int pending[NT];	/* realloc in flight: addr index, -1 none */
	struct rec_rec pend_r[NT];
	uint64_t pend_id[NT];
	uint64_t nops_text;
};

static void put(struct img *m, const void *p, size_t n)
{
	if (m->n + n + 1 > m->cap) {
		m->cap = (m->n + n + 1) * 2;
		m->b = realloc(m->b, m->cap);
		CHECK(m->b, "oom");
	}
	memcpy(m->b + m->n, p, n);
	m->n += n;
	m->b[m->n] = 0;
}

static void textf(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void textf(struct sim *s, const char *fmt, ...)
{
	if (s->tn + 128 > s->tcap) {
		s->tcap = s->tcap * 2 + 4096;
		s->text = realloc(s->text, s->tcap);
		CHECK(s->text, "oom");
	}
	va_list ap;
	va_start(ap, fmt);
	s->tn += (size_t)vsnprintf(s->text + s->tn, s->tcap - s->tn, fmt, ap);
	va_end(ap);
	s->nops_text++;
}

static void flush(struct sim *s, int t)
{
	struct thr *h = &s->th[t];
	if (!h->count)
		return;
	struct rec_block_hdr hd = {REC_BLOCK_MAGIC, h->len, (uint32_t)t, h->count, h->base};
	put(&s->img, &hd, sizeof(hd));
	put(&s->img, h->buf, h->len);
	h->base = h->st.seq;
	h->st.ptr = 0;
	h->len = h->count = 0;
	h->limit = 64 + (uint32_t)rng_below(&s->rng, 3000);
}

static void emit(struct sim *s, int t, const struct rec_rec *r)
{
	struct thr *h = &s->th[t];
	h->len = (uint32_t)(rec_encode(h->buf + h->len, &h->st, r) - h->buf);
	h->count++;
	if (h->len > h->limit)
		flush(s, t);
}

/* A free address index chosen LIFO-ish (recently freed first), or -1. */
static int grab(struct sim *s)
{
	int start = (int)rng_below(&s->rng, 8);
	for (int k = 0; k < NPTR; k++) {
		int i = (start + k) % NPTR;
		if (!s->live_id[i])
			return i;
	}
	return -1;
}

static void do_alloc(struct sim *s, int t)
{
	int i = grab(s);
	if (i < 0)
		return;
	struct rec_rec r = {
	    .op = (unsigned)rng_below(&s->rng, 3), .seq = ++s->seq, .ptr = s->addr[i]};
	r.size = rng_below(&s->rng, 5) ? rng_below(&s->rng, 5000) : rng_below(&s->rng, 1ull << 30);
	r.align_log2 = 3 + (unsigned)rng_below(&s->rng, 10);
	s->live_id[i] = ++s->next_id;
	emit(s, t, &r);
	if (r.op == REC_MEMALIGN)
		textf(s, "%d m %llu %llu %llu\n", t, (unsigned long long)s->live_id[i],
		      (unsigned long long)r.size, 1ull << r.align_log2);
	else
		textf(s, "%d %c %llu %llu\n", t, r.op == REC_MALLOC ? 'a' : 'c',
		      (unsigned long long)s->live_id[i], (unsigned long long)r.size);
}

/* free (or realloc's first half) of a live block, or of an address from before
 * the recording (a pointer no allocation returned). */
static int pick_live(struct sim *s, uint64_t *ptr)
{
	if (!rng_below(&s->rng, 20)) {
		*ptr = 0x900000000ull + rng_below(&s->rng, 1000) * 16;
		return -1;
	}
	int start = (int)rng_below(&s->rng, NPTR);
	for (int k = 0; k < NPTR; k++) {
		int i = (start + k) % NPTR;
		if (s->live_id[i]) {
			*ptr = s->addr[i];
			return i;
		}
	}
	*ptr = 0x900000000ull;
	return -1;
}

static void do_free(struct sim *s, int t)
{
	struct rec_rec r = {.op = REC_FREE, .seq = ++s->seq};
	int i = pick_live(s, &r.ptr);
	emit(s, t, &r);
	if (i >= 0) {
		textf(s, "%d f %llu\n", t, (unsigned long long)s->live_id[i]);
		s->live_id[i] = 0;
	}
}

/* realloc, first half: the old block is released now (another thread may get it
 * before the second half); or the realloc fails: a NOP, the block stays. */
static void realloc_begin(struct sim *s, int t)
{
	struct rec_rec *r = &s->pend_r[t];
	*r = (struct rec_rec){.op = REC_REALLOC, .seq = ++s->seq, .size = rng_below(&s->rng, 9000)};
	int i = pick_live(s, &r->ptr);
	if (!rng_below(&s->rng, 30)) {
		r->op = REC_NOP;
		emit(s, t, r);
		return;
	}
	s->pend_id[t] = i >= 0 ? s->live_id[i] : 0;
	if (i >= 0)
		s->live_id[i] = 0;
	s->pending[t] = NPTR; /* in flight */
}

static void realloc_end(struct sim *s, int t)
{
	struct rec_rec *r = &s->pend_r[t];
	int i = grab(s);
	CHECK(i >= 0, "simulator: no free address");
	s->pending[t] = -1;
	r->seq2 = ++s->seq;
	r->ptr2 = s->addr[i];
	emit(s, t, r);
	s->live_id[i] = s->pend_id[t] ? s->pend_id[t] : ++s->next_id;
	textf(s, "%d %c %llu %llu\n", t, s->pend_id[t] ? 'r' : 'a',
	      (unsigned long long)s->live_id[i], (unsigned long long)r->size);
}

static int nlive(const struct sim *s)
{
	int n = 0;
	for (int i = 0; i < NPTR; i++)
		n += s->live_id[i] != 0;
	return n;
}

/* Runs the simulation: s->img holds the recording (END at the end if end), s->text
 * the allocrec text. */
static void simulate(struct sim *s, uint64_t seed, int steps, bool end)
{
	free(s->img.b);
	free(s->text);
	memset(s, 0, sizeof(*s));
	s->rng.s = seed;
	for (int i = 0; i < NPTR; i++) /* near each other, some unaligned, some far */
		s->addr[i] = i % 17 == 5   ? 0x7f0000000008ull + (uint64_t)i * 24
			     : i % 13 == 7 ? (1ull << 62) - (uint64_t)i * 4096
					   : 0x555500000000ull + (uint64_t)i * 48;
	for (int t = 0; t < NT; t++)
		s->pending[t] = -1, s->th[t].limit = 200;
	const char *hdr = REC_MAGIC_LINE " exe=/sim pid=1\n";
	put(&s->img, hdr, strlen(hdr));
	textf(s, "# allocrec trace v1 exe=/sim pid=1\n");
	s->nops_text = 0;
	for (int k = 0; k < steps; k++) {
		int t = (int)rng_below(&s->rng, NT);
		uint64_t c = rng_below(&s->rng, 100);
		if (s->pending[t] >= 0) {
			if (c < 50)
				realloc_end(s, t);
		} else if (c < 45 && nlive(s) < NPTR - 8) {
			do_alloc(s, t);
		} else if (c < 80) {
			do_free(s, t);
		} else {
			realloc_begin(s, t);
		}
	}
	for (int t = 0; t < NT; t++)
		if (s->pending[t] >= 0)
			realloc_end(s, t);
	for (int k = 0; k < NT; k++)
		flush(s, (k + (int)rng_below(&s->rng, NT)) % NT);
	for (int t = 0; t < NT; t++)
		flush(s, t);
	if (end) {
		struct rec_block_hdr e = {REC_BLOCK_MAGIC, 0, REC_CTL_END, 0, s->seq};
		put(&s->img, &e, sizeof(e));
	}
}

/* ---- checks ------------------------------------------------------------------------- */
static char err[1024];

static int load(const char *name, const void *data, size_t len, bool lenient,
		struct trace_loaded *lt)
{
	char *copy = malloc(len + 1);
	CHECK(copy, "oom");
	memcpy(copy, data, len);
	copy[len] = 0;
	int rc = trace_load_mem(name, copy, len, lenient, lt, err, sizeof(err));
	free(copy);
	return rc;
}

static void load_bad(const char *name, const void *data, size_t len, const char *want)
{
	struct trace_loaded lt;
	CHECK(load(name, data, len, false, &lt) == -1, "%s accepted", name);
	CHECK(strstr(err, want), "%s: message \"%s\" lacks \"%s\"", name, err, want);
	CHECK(!strchr(err, '\n'), "multi-line message");
	CHECK(load(name, data, len, true, &lt) == 0, "%s lenient: %s", name, err);
	CHECK(lt.skipped > 0, "%s lenient: nothing skipped", name);
	trace_loaded_free(&lt);
}

static void test_same_as_text(uint64_t seed)
{
	static struct sim s;
	for (int round = 0; round < 20; round++) {
		simulate(&s, seed + (uint64_t)round, 3000, round % 2);
		struct trace_loaded a, b;
		CHECK(load("sim.rec", s.img.b, s.img.n, false, &a) == 0, "round %d: %s", round,
		      err);
		CHECK(trace_load_mem("sim.trc", s.text, s.tn, false, &b, err, sizeof(err)) == 0,
		      "round %d: text: %s", round, err);
		CHECK(a.fmt == TFMT_REC && b.fmt == TFMT_TRC, "formats");
		CHECK(a.t.h.nops == s.nops_text && a.t.h.nops > 1000,
		      "round %d: %llu ops, text %llu", round, (unsigned long long)a.t.h.nops,
		      (unsigned long long)s.nops_text);
		CHECK(a.t.h.payload_hash == b.t.h.payload_hash &&
			  a.t.h.peak_live == b.t.h.peak_live && a.t.h.nthreads == b.t.h.nthreads &&
			  a.skipped == 0,
		      "round %d: the recording and the text differ", round);
		trace_loaded_free(&a);
		trace_loaded_free(&b);
	}
	free(s.img.b);
	free(s.text);
}

/* Offsets of the blocks of img (after the header line); their number. */
static int blocks(const struct img *m, size_t *off, int max)
{
	size_t o = (size_t)((uint8_t *)memchr(m->b, '\n', m->n) - m->b) + 1;
	int n = 0;
	while (o < m->n && n < max) {
		struct rec_block_hdr h;
		memcpy(&h, m->b + o, sizeof(h));
		off[n++] = o;
		o += sizeof(h) + (h.thread >= REC_CTL_SIGNAL ? 0 : h.len);
	}
	return n;
}

/* A copy of s's image without block k. */
static struct img drop_block(const struct sim *s, int k)
{
	size_t off[4096];
	int n = blocks(&s->img, off, 4096);
	CHECK(k < n - 1, "block %d of %d", k, n);
	struct img m = {0};
	put(&m, s->img.b, off[k]);
	put(&m, s->img.b + off[k + 1], s->img.n - off[k + 1]);
	return m;
}

static void test_damage(uint64_t seed)
{
	static struct sim s;
	struct trace_loaded lt;
	/* killed: no END; a lost block of one thread cuts the trace there */
	simulate(&s, seed, 3000, false);
	struct img m = drop_block(&s, 3);
	CHECK(load("kill.rec", m.b, m.n, false, &lt) == 0, "killed recording: %s", err);
	CHECK(lt.skipped > 0 && strstr(lt.first_skip, "recording cut short: seq "),
	      "killed: %llu skipped, note '%s'", (unsigned long long)lt.skipped, lt.first_skip);
	CHECK(lt.t.h.nops < s.nops_text, "killed: all ops");
	trace_loaded_free(&lt);
	free(m.b);
	/* a write cut off by the kill */
	CHECK(load("cut.rec", s.img.b, s.img.n - 5, false, &lt) == 0, "cut: %s", err);
	CHECK(strstr(lt.first_skip, "last block cut off") && lt.skipped > 0, "cut: note '%s'",
	      lt.first_skip);
	trace_loaded_free(&lt);
	/* with END, a lost block is corruption */
	simulate(&s, seed, 3000, true);
	m = drop_block(&s, 2);
	load_bad("lost.rec", m.b, m.n, "but the recording ended cleanly at seq");
	free(m.b);
	/* bytes after a block's records: its count says one record fewer */
	size_t off[4096];
	blocks(&s.img, off, 4096);
	m = (struct img){0};
	put(&m, s.img.b, s.img.n);
	struct rec_block_hdr h;
	memcpy(&h, m.b + off[1], sizeof(h));
	h.count--;
	memcpy(m.b + off[1], &h, sizeof(h));
	load_bad("tail.rec", m.b, m.n, "bytes after its records");
	/* a malformed record: op 7 */
	h.count++;
	memcpy(m.b + off[1], &h, sizeof(h));
	m.b[off[1] + sizeof(h)] = 7;
	load_bad("op.rec", m.b, m.n, "malformed record");
	m.b[off[1]] = 'X';
	load_bad("magic.rec", m.b, m.n, "not a block (bad magic)");
	free(m.b);
	free(s.img.b);
	free(s.text);
}

/* Hand-made streams: rec(thread, records...) as blocks of one record each. */
static void block1(struct img *m, uint32_t t, const struct rec_rec *r, uint64_t base)
{
	uint8_t b[REC_MAX_RECORD];
	struct rec_state st = {base, 0};
	uint32_t n = (uint32_t)(rec_encode(b, &st, r) - b);
	struct rec_block_hdr h = {REC_BLOCK_MAGIC, n, t, 1, base};
	put(m, &h, sizeof(h));
	put(m, b, n);
}

static void test_order(void)
{
	struct img m = {0};
	const char *hdr = REC_MAGIC_LINE " exe=/x pid=2\n";
	put(&m, hdr, strlen(hdr));
	struct rec_rec a = {.op = REC_MALLOC, .seq = 1, .ptr = 0x1000, .size = 10};
	block1(&m, 0, &a, 0);
	a.seq = 2; /* thread 1 gets 0x1000 before thread 0's free (seq 3) released it */
	block1(&m, 1, &a, 0);
	struct rec_rec f = {.op = REC_FREE, .seq = 3, .ptr = 0x1000};
	block1(&m, 0, &f, 1);
	load_bad("reuse.rec", m.b, m.n, "seq 2: thread 1: 0x1000 is returned again while live");
	a.seq = 3; /* a number used twice */
	m.n = strlen(hdr);
	a.seq = 1;
	block1(&m, 0, &a, 0);
	block1(&m, 1, &a, 0);
	load_bad("dup.rec", m.b, m.n, "seq 1: thread 1: number used twice");
	/* only the header: an empty trace; a v3 header: not this format */
	struct trace_loaded lt;
	CHECK(load("empty.rec", hdr, strlen(hdr), false, &lt) == 0 && lt.t.h.nops == 0, "%s", err);
	trace_loaded_free(&lt);
	CHECK(load("v3.rec", "# mtbrec v3 exe=/x\n", 19, false, &lt) == -1 &&
		  strstr(err, "unknown trace format"),
	      "v3: %s", err);
	free(m.b);
}

/* The encoder and decoder agree on extreme values. */
static void test_codec(struct rng *r)
{
	static const uint64_t ptrs[] = {0, 16, 8, 1ull << 47, UINT64_MAX, UINT64_MAX - 15, 0x7ff0};
	uint8_t buf[REC_MAX_RECORD * 8];
	for (int k = 0; k < 20000; k++) {
		struct rec_state w = {rng_below(r, 1ull << 40), ptrs[rng_below(r, 7)]}, rd = w;
		struct rec_rec in = {.op = (unsigned)rng_below(r, 6), .ptr = ptrs[rng_below(r, 7)]};
		in.seq = w.seq + 1 + (k % 3 ? rng_below(r, 40) : rng_below(r, REC_SEQ_MAX));
		in.seq2 = in.op == REC_REALLOC ? in.seq + 1 + rng_below(r, 100) : 0;
		in.ptr2 = in.op == REC_REALLOC ? ptrs[rng_below(r, 7)] + 16 * rng_below(r, 9) : 0;
		in.size =
		    in.op == REC_FREE || in.op == REC_NOP ? 0 : rng_next(r) >> rng_below(r, 64);
		in.align_log2 = in.op == REC_MEMALIGN ? (unsigned)rng_below(r, 64) : 0;
		if (in.op == REC_NOP)
			in.ptr = 0;
		uint8_t *e = rec_encode(buf, &w, &in);
		CHECK(e - buf <= REC_MAX_RECORD, "record of %d bytes", (int)(e - buf));
		const uint8_t *p = buf;
		struct rec_rec out;
		CHECK(rec_decode(&p, e, &rd, &out) && p == e, "decode %d", k);
		CHECK(!memcmp(&in, &out, sizeof(in)) && rd.seq == w.seq && rd.ptr == w.ptr,
		      "round trip %d (op %u)", k, in.op);
		p = buf;
		rd = (struct rec_state){in.seq - 1, 0};
		CHECK(e - buf < 2 || !rec_decode(&p, e - 1, &rd, &out), "cut record %d accepted",
		      k);
	}
}

int main(void)
{
	uint64_t seed = test_seed("trace_rec_test", 1);
	struct rng r = {seed};
	test_codec(&r);
	test_same_as_text(seed);
	test_damage(seed);
	test_order();
	printf("trace_rec_test: ok\n");
	return 0;
}
