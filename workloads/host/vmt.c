/* vmt.c: the .vmt address-space trace parser (model and error conventions: vmt.h).
 *
 * Per proc a sorted array of its live reservations (disjoint, half-open, page
 * aligned [lo, hi), each with the builder key of its TOP_ALLOC) plus the brk heap,
 * and a sorted table tid -> proc of the tid's latest event (for exec).
 * Invariants: every live reservation has exactly one live builder key, so
 * b->objs.n == sum over procs of (ranges + (heap_hi > heap_lo)); a line's ops are
 * emitted only after the whole line was checked, so a skipped (lenient) line changes
 * nothing. Lookups are binary searches; inserting or releasing moves the tail of the
 * array (O(ranges) per event, plenty for traces of mmap calls).
 */
#define _GNU_SOURCE
#include "vmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_lex.h"

#define VMT_PAGE 4096ull

struct vrange {
	uint64_t lo, hi, key;
};

struct vproc {
	struct vrange *r;
	uint64_t n, cap;
	uint64_t heap_lo, heap_hi, heap_key;
	bool heap_known;
};

/* A tid and the proc (dense thread number) of its latest event. */
struct vtid {
	uint64_t tid;
	uint32_t th;
};

struct vmt {
	struct trace_builder *b;
	struct vmt_counts *c;
	struct vproc *p; /* indexed by the proc's dense thread number */
	uint64_t np;
	uint64_t next_key;
	struct vtid *tids; /* sorted by tid */
	uint64_t ntids, cap_tids;
};

/* ---- tokens ------------------------------------------------------------------- */

static bool delim(const char *s)
{
	return !*s || *s == ' ' || *s == '\t';
}

/* Hex number (optional 0x) followed by a blank or the end; false otherwise. */
static bool tok_hex(const char **s, uint64_t *v)
{
	skip_sp(s);
	const char *p = *s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	uint64_t x = 0;
	const char *d0 = p;
	for (; isxdigit((unsigned char)*p); p++) {
		if (x >> 60)
			return false;
		unsigned d = isdigit((unsigned char)*p) ? (unsigned)(*p - '0')
						       : (unsigned)(tolower(*p) - 'a' + 10);
		x = x << 4 | d;
	}
	if (p == d0 || !delim(p))
		return false;
	*v = x;
	*s = p;
	return true;
}

/* Decimal number followed by a blank or the end. */
static bool tok_dec(const char **s, uint64_t *v)
{
	skip_sp(s);
	const char *p = *s;
	return isdigit((unsigned char)*p) && tok_u64(s, v) && delim(*s);
}

/* "rwx" with '-' for any missing permission. */
static bool prot_ok(const char *w)
{
	if (strlen(w) != 3)
		return false;
	for (int i = 0; i < 3; i++)
		if (w[i] != "rwx"[i] && w[i] != '-')
			return false;
	return true;
}

/* Checks a Linux range and rounds it out: NULL, or the reason it is bad. */
static const char *range_of(uint64_t a, uint64_t len, uint64_t *lo, uint64_t *hi)
{
	if (a & (VMT_PAGE - 1))
		return "address not page aligned";
	if (!len)
		return "zero length";
	if (len > TRACE_MAX_SIZE)
		return "absurd length";
	uint64_t l = (len + VMT_PAGE - 1) & ~(VMT_PAGE - 1);
	if (a + l < a)
		return "range wraps around the address space";
	*lo = a;
	*hi = a + l;
	return NULL;
}

/* ---- reservations ------------------------------------------------------------- */

/* First index whose range ends above addr (p->n if none). */
static uint64_t first_over(const struct vproc *p, uint64_t addr)
{
	uint64_t a = 0, z = p->n;
	while (a < z) {
		uint64_t m = a + (z - a) / 2;
		if (p->r[m].hi > addr)
			z = m;
		else
			a = m + 1;
	}
	return a;
}

static bool overlaps(const struct vproc *p, uint64_t lo, uint64_t hi)
{
	uint64_t i = first_over(p, lo);
	return i < p->n && p->r[i].lo < hi;
}

/* Emits an op with strict error handling: after a line was checked, a failure here
 * (out of memory) must stop the parse, never skip half a line. */
static int emit(struct vmt *v, int th, bool alloc, uint64_t key, uint64_t size)
{
	bool lenient = v->b->lenient;
	v->b->lenient = false;
	int rc = alloc ? tb_alloc(v->b, th, TOP_ALLOC, key, size, 0) : tb_free(v->b, th, key);
	v->b->lenient = lenient;
	return rc;
}

/* Reserves [lo, hi) (free in p): one TOP_ALLOC and a new array entry. 0 or -1. */
static int range_insert(struct vmt *v, struct vproc *p, int th, uint64_t lo, uint64_t hi)
{
	if (p->n == p->cap) {
		uint64_t ncap = p->cap ? p->cap * 2 : 64;
		struct vrange *n = realloc(p->r, ncap * sizeof(*n));
		if (!n) {
			v->b->lenient = false;
			return tb_bad(v->b, "out of memory");
		}
		p->r = n;
		p->cap = ncap;
	}
	uint64_t key = ++v->next_key, i = first_over(p, lo);
	if (emit(v, th, true, key, hi - lo))
		return -1;
	memmove(p->r + i + 1, p->r + i, (p->n - i) * sizeof(*p->r));
	p->r[i] = (struct vrange){lo, hi, key};
	p->n++;
	return 0;
}

/* Releases every reservation overlapping [lo, hi); the parts outside it survive as
 * new reservations. *nover: reservations touched, *partial: some part survived. */
static int release_span(struct vmt *v, struct vproc *p, int th, uint64_t lo, uint64_t hi,
			uint64_t *nover, bool *partial)
{
	uint64_t i = first_over(p, lo), j = i;
	while (j < p->n && p->r[j].lo < hi)
		j++;
	*nover = j - i;
	*partial = false;
	if (i == j)
		return 0;
	uint64_t head_lo = p->r[i].lo, tail_hi = p->r[j - 1].hi;
	for (uint64_t k = i; k < j; k++)
		if (emit(v, th, false, p->r[k].key, 0))
			return -1;
	memmove(p->r + i, p->r + j, (p->n - j) * sizeof(*p->r));
	p->n -= j - i;
	*partial = head_lo < lo || tail_hi > hi;
	if (head_lo < lo && range_insert(v, p, th, head_lo, lo))
		return -1;
	return tail_hi > hi ? range_insert(v, p, th, hi, tail_hi) : 0;
}

/* Reserves the parts of [lo, hi) no live reservation covers; *ngaps: how many. */
static int reserve_gaps(struct vmt *v, struct vproc *p, int th, uint64_t lo, uint64_t hi,
			uint64_t *ngaps)
{
	*ngaps = 0;
	for (uint64_t cur = lo; cur < hi;) {
		uint64_t i = first_over(p, cur);
		if (i < p->n && p->r[i].lo <= cur) {
			cur = p->r[i].hi;
			continue;
		}
		uint64_t next = i < p->n && p->r[i].lo < hi ? p->r[i].lo : hi;
		if (range_insert(v, p, th, cur, next))
			return -1;
		(*ngaps)++;
		cur = next;
	}
	return 0;
}

/* Releases all of p (exec): ranges in address order, then the heap. */
static int reset_proc(struct vmt *v, struct vproc *p, int th)
{
	for (uint64_t k = 0; k < p->n; k++)
		if (emit(v, th, false, p->r[k].key, 0))
			return -1;
	p->n = 0;
	if (p->heap_known && p->heap_hi > p->heap_lo && emit(v, th, false, p->heap_key, 0))
		return -1;
	p->heap_known = false;
	p->heap_lo = p->heap_hi = 0;
	return 0;
}

/* ---- events ------------------------------------------------------------------- */

static int ev_map(struct vmt *v, struct vproc *p, int th, const char *s)
{
	uint64_t a, len, lo, hi;
	char prot[8], kind[8], fixed[8] = "";
	if (!tok_hex(&s, &a) || !tok_dec(&s, &len) || !tok_word(&s, prot, sizeof(prot)) ||
	    !tok_word(&s, kind, sizeof(kind)))
		return tb_bad(v->b, "malformed map (want: map ADDR LEN PROT a|f [fixed])");
	tok_word(&s, fixed, sizeof(fixed));
	if (!at_end(s) || (fixed[0] && strcmp(fixed, "fixed")))
		return tb_bad(v->b, "trailing garbage");
	if (!prot_ok(prot) || strlen(kind) != 1 || (kind[0] != 'a' && kind[0] != 'f'))
		return tb_bad(v->b, "bad map protection '%s' or kind '%s'", prot, kind);
	const char *why = range_of(a, len, &lo, &hi);
	if (why)
		return tb_bad(v->b, "map: %s", why);
	if (!fixed[0] && overlaps(p, lo, hi))
		return tb_bad(v->b, "map at %#llx overlaps a live mapping (missed unmap?)",
			      (unsigned long long)a);
	v->c->maps++;
	uint64_t ngaps;
	if (reserve_gaps(v, p, th, lo, hi, &ngaps))
		return -1;
	v->c->maps_fixed_inside += ngaps == 0;
	return 0;
}

static int ev_unmap(struct vmt *v, struct vproc *p, int th, const char *s)
{
	uint64_t a, len, lo, hi, nover;
	bool partial;
	if (!tok_hex(&s, &a) || !tok_dec(&s, &len) || !at_end(s))
		return tb_bad(v->b, "malformed unmap (want: unmap ADDR LEN)");
	const char *why = range_of(a, len, &lo, &hi);
	if (why)
		return tb_bad(v->b, "unmap: %s", why);
	if (release_span(v, p, th, lo, hi, &nover, &partial))
		return -1;
	v->c->unmaps++;
	v->c->unmaps_partial += partial;
	v->c->unmaps_untracked += nover == 0;
	return 0;
}

static int ev_remap(struct vmt *v, struct vproc *p, int th, const char *s)
{
	uint64_t a, len, na, nlen, lo, hi, nlo, nhi, nover, ngaps;
	bool partial;
	if (!tok_hex(&s, &a) || !tok_dec(&s, &len) || !tok_hex(&s, &na) || !tok_dec(&s, &nlen) ||
	    !at_end(s))
		return tb_bad(v->b, "malformed remap (want: remap OLDADDR OLDLEN NEWADDR NEWLEN)");
	const char *why = range_of(a, len, &lo, &hi);
	if (why || (why = range_of(na, nlen, &nlo, &nhi)))
		return tb_bad(v->b, "remap: %s", why);
	if (!overlaps(p, lo, hi))
		return tb_bad(v->b, "remap of %#llx: no live mapping there", (unsigned long long)a);
	v->c->remaps++;
	if (release_span(v, p, th, lo, hi, &nover, &partial))
		return -1;
	return reserve_gaps(v, p, th, nlo, nhi, &ngaps);
}

static int ev_brk(struct vmt *v, struct vproc *p, int th, const char *s)
{
	uint64_t e;
	if (!tok_hex(&s, &e) || !at_end(s) || e > UINT64_MAX - VMT_PAGE)
		return tb_bad(v->b, "malformed brk (want: brk NEWEND)");
	uint64_t hi = (e + VMT_PAGE - 1) & ~(VMT_PAGE - 1);
	if (p->heap_known && (hi < p->heap_lo || hi - p->heap_lo > TRACE_MAX_SIZE))
		return tb_bad(v->b, "brk %#llx %s the heap start %#llx", (unsigned long long)e,
			      hi < p->heap_lo ? "below" : "absurdly far above",
			      (unsigned long long)p->heap_lo);
	v->c->brks++;
	if (!p->heap_known) {
		p->heap_known = true;
		p->heap_lo = p->heap_hi = hi;
		return 0;
	}
	if (hi == p->heap_hi)
		return 0;
	if (p->heap_hi > p->heap_lo && emit(v, th, false, p->heap_key, 0))
		return -1;
	p->heap_hi = hi;
	if (hi == p->heap_lo)
		return 0;
	p->heap_key = ++v->next_key;
	return emit(v, th, true, p->heap_key, hi - p->heap_lo);
}

/* prot ADDR LEN PROT, advise ADDR LEN ADVICE: checked, counted. */
static int ev_attr(struct vmt *v, bool prot, const char *s)
{
	uint64_t a, len, lo, hi;
	char w[32];
	if (!tok_hex(&s, &a) || !tok_dec(&s, &len) || !tok_word(&s, w, sizeof(w)) || !at_end(s))
		return tb_bad(v->b, "malformed %s (want: %s ADDR LEN %s)", prot ? "prot" : "advise",
			      prot ? "prot" : "advise", prot ? "PROT" : "ADVICE");
	if (prot && !prot_ok(w))
		return tb_bad(v->b, "bad protection '%s'", w);
	const char *why = len ? range_of(a, len, &lo, &hi) : NULL;
	if (why)
		return tb_bad(v->b, "%s: %s", prot ? "prot" : "advise", why);
	*(prot ? &v->c->prots : &v->c->advises) += 1;
	return 0;
}

/* ---- tids --------------------------------------------------------------------- */

/* Index of tid in v->tids, or where it would go. */
static uint64_t tid_pos(const struct vmt *v, uint64_t tid)
{
	uint64_t a = 0, z = v->ntids;
	while (a < z) {
		uint64_t m = a + (z - a) / 2;
		if (v->tids[m].tid < tid)
			a = m + 1;
		else
			z = m;
	}
	return a;
}

/* The proc of tid's latest event, or -1 if tid is new. */
static int tid_proc(const struct vmt *v, uint64_t tid)
{
	uint64_t i = tid_pos(v, tid);
	return i < v->ntids && v->tids[i].tid == tid ? (int)v->tids[i].th : -1;
}

/* Records that tid's latest event was in proc th; 0, or -1 on out of memory. */
static int tid_set(struct vmt *v, uint64_t tid, int th)
{
	uint64_t i = tid_pos(v, tid);
	if (i < v->ntids && v->tids[i].tid == tid) {
		v->tids[i].th = (uint32_t)th;
		return 0;
	}
	if (v->ntids == v->cap_tids) {
		uint64_t ncap = v->cap_tids ? v->cap_tids * 2 : 64;
		struct vtid *n = realloc(v->tids, ncap * sizeof(*n));
		if (!n) {
			v->b->lenient = false;
			return tb_bad(v->b, "out of memory");
		}
		v->tids = n;
		v->cap_tids = ncap;
	}
	memmove(v->tids + i + 1, v->tids + i, (v->ntids - i) * sizeof(*v->tids));
	v->tids[i] = (struct vtid){tid, (uint32_t)th};
	v->ntids++;
	return 0;
}

/* exec in proc th by tid: the tid's previous proc, if another one, ended (its image
 * was replaced: the recorder names the new image a new proc); then th starts empty. */
static int ev_exec(struct vmt *v, struct vproc *p, int th, uint64_t tid, const char *s)
{
	skip_sp(&s);
	if (!*s)
		return tb_bad(v->b, "exec without a path");
	v->c->execs++;
	int old = tid_proc(v, tid);
	if (old >= 0 && old != th) {
		v->c->execs_replacing++;
		if (reset_proc(v, &v->p[old], old))
			return -1;
	}
	return reset_proc(v, p, th);
}

/* ---- lines -------------------------------------------------------------------- */

/* The state of proc thread th, created on first use; NULL on out of memory. */
static struct vproc *proc_at(struct vmt *v, int th)
{
	if ((uint64_t)th >= v->np) {
		uint64_t n = (uint64_t)th + 1 > v->np * 2 ? (uint64_t)th + 1 : v->np * 2;
		struct vproc *p = realloc(v->p, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + v->np, 0, (n - v->np) * sizeof(*p));
		v->p = p;
		v->np = n;
	}
	return &v->p[th];
}

static int vmt_line(struct vmt *v, const char *s)
{
	uint64_t proc, tid;
	char ev[16];
	if (!tok_dec(&s, &proc) || !tok_dec(&s, &tid) || !tok_word(&s, ev, sizeof(ev)))
		return tb_bad(v->b, "malformed line (want: <proc> <tid> EVENT ...)");
	static const char *const evs[] = {"exec", "map", "unmap", "remap", "brk", "prot", "advise"};
	unsigned e = 0;
	while (e < 7 && strcmp(ev, evs[e]))
		e++;
	if (e == 7)
		return tb_bad(v->b, "unknown event '%s'", ev);
	int th = tb_thread(v->b, proc);
	if (th < 0)
		return th == -1 ? -1 : 0;
	struct vproc *p = proc_at(v, th);
	if (!p) {
		v->b->lenient = false;
		return tb_bad(v->b, "out of memory");
	}
	uint64_t skipped = v->b->skipped;
	int rc;
	switch (e) {
	case 0: rc = ev_exec(v, p, th, tid, s); break;
	case 1: rc = ev_map(v, p, th, s); break;
	case 2: rc = ev_unmap(v, p, th, s); break;
	case 3: rc = ev_remap(v, p, th, s); break;
	case 4: rc = ev_brk(v, p, th, s); break;
	default: rc = ev_attr(v, e == 5, s); break;
	}
	return rc || v->b->skipped != skipped ? rc : tid_set(v, tid, th);
}

int vmt_parse(struct trace_builder *b, const char *data, size_t len, struct vmt_counts *c)
{
	struct cursor cur = {.p = data, .end = data + len};
	struct vmt v = {.b = b, .c = c};
	memset(c, 0, sizeof(*c));
	int rc = 0;
	while (!rc && next_line(&cur, b)) {
		if (cur.long_line) {
			rc = tb_bad(b, "line too long or binary garbage");
			continue;
		}
		if (blank_or_comment(cur.line))
			continue;
		c->events++;
		if (cur.no_newline && (rc = tb_bad(b, "truncated: last line has no newline")))
			break;
		rc = vmt_line(&v, cur.line);
	}
	c->procs = b->next_thread;
	for (uint64_t i = 0; i < v.np; i++) {
		c->live_end += v.p[i].n + (v.p[i].heap_hi > v.p[i].heap_lo);
		free(v.p[i].r);
	}
	free(v.p);
	free(v.tids);
	return rc ? -1 : 0;
}

/* ---- loading ------------------------------------------------------------------ */

static int open_validate(const char *name, struct trace_loaded *tl, char *err, size_t errlen)
{
	struct trace_err e;
	if (trace_bin_open(tl->img, tl->img_len, &tl->t, &e) == 0) {
		uint64_t *scratch = malloc(((uint64_t)tl->t.h.nids + 1) * 8);
		if (!scratch) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
		int rc = trace_validate(&tl->t, scratch, true, &e);
		free(scratch);
		if (rc == 0)
			return 0;
	}
	snprintf(err, errlen, "%s: internal error: ops fail validation at offset %llu: %s", name,
		 (unsigned long long)e.offset, e.msg);
	return -1;
}

int vmt_load_mem(const char *name, const char *data, size_t len, bool lenient,
		 struct vmt_loaded *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct trace_builder b;
	tb_init(&b, name, lenient);
	int rc = vmt_parse(&b, data, len, &out->c);
	out->tl.skipped = b.skipped;
	snprintf(out->tl.first_skip, sizeof(out->tl.first_skip), "%s", b.err);
	if (rc)
		snprintf(err, errlen, "%s", b.err);
	else if (tb_image(&b, &out->tl.img, &out->tl.img_len))
		rc = -1, snprintf(err, errlen, "%s: out of memory", name);
	tb_free_all(&b);
	if (!rc)
		rc = open_validate(name, &out->tl, err, errlen);
	if (rc)
		vmt_loaded_free(out);
	return rc;
}

int vmt_load(const char *path, bool lenient, struct vmt_loaded *out, char *err, size_t errlen)
{
	char *data;
	size_t len;
	memset(out, 0, sizeof(*out));
	if (trace_read_input(path, trace_probe_text, &data, &len, err, errlen))
		return -1;
	int rc = vmt_load_mem(path, data, len, lenient, out, err, errlen);
	free(data);
	return rc;
}

void vmt_loaded_free(struct vmt_loaded *v)
{
	trace_loaded_free(&v->tl);
}
