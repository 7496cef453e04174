/* trace_bin.c: encode, open and validate memtestbed binary traces (see trace_bin.h).
 *
 * Freestanding (compiled into the guest, which gets the trace as a blob). The
 * reader trusts nothing: lengths are checked before any record is touched, both
 * FNV-1a hashes are recomputed, every record's fields are range checked, and
 * trace_validate replays liveness with one bit per id:
 *   live(id) == (#allocs of id - #frees of id) in {0, 1} at every step,
 *   live_bytes == sum of sizes of live ids, peak_live == max over steps.
 */
#include "trace_bin.h"

uint64_t trace_fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void trace_header_encode(const struct trace_header *h, uint8_t out[TRACE_HEADER_SIZE])
{
	const char *m = TRACE_MAGIC;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)m[i];
	put_u32(out + 8, TRACE_VERSION);
	put_u32(out + 12, TRACE_HEADER_SIZE);
	put_u64(out + 16, h->nops);
	put_u32(out + 24, h->nthreads);
	put_u32(out + 28, h->nids);
	put_u64(out + 32, h->nobjects);
	put_u64(out + 40, h->peak_live);
	put_u64(out + 48, h->payload_hash);
	put_u64(out + 56, trace_fnv1a(TRACE_FNV_INIT, out, 56));
}

static int fail(struct trace_err *err, int code, uint64_t off, const char *msg)
{
	err->code = code;
	err->offset = off;
	err->msg = msg;
	return -1;
}

static int header_decode(const uint8_t *b, uint64_t len, struct trace_header *h,
			 struct trace_err *err)
{
	if (len < TRACE_HEADER_SIZE)
		return fail(err, TERR_TRUNCATED, len, "file shorter than the 64-byte header");
	for (int i = 0; i < 8; i++)
		if (b[i] != (uint8_t)TRACE_MAGIC[i])
			return fail(err, TERR_MAGIC, (uint64_t)i, "bad magic (not an MTBTRACE file)");
	if (get_u32(b + 8) != TRACE_VERSION)
		return fail(err, TERR_VERSION, 8, "unsupported version");
	if (get_u32(b + 12) != TRACE_HEADER_SIZE)
		return fail(err, TERR_HEADER, 12, "bad header size");
	if (get_u64(b + 56) != trace_fnv1a(TRACE_FNV_INIT, b, 56))
		return fail(err, TERR_HEADER, 56, "header hash mismatch");
	h->nops = get_u64(b + 16);
	h->nthreads = get_u32(b + 24);
	h->nids = get_u32(b + 28);
	h->nobjects = get_u64(b + 32);
	h->peak_live = get_u64(b + 40);
	h->payload_hash = get_u64(b + 48);
	if (h->nthreads > TRACE_MAX_THREADS || (h->nops && (!h->nthreads || !h->nids)))
		return fail(err, TERR_HEADER, 24, "bad thread or id count");
	if (h->nobjects > h->nops)
		return fail(err, TERR_HEADER, 32, "more objects than ops");
	if (h->nops > (len - TRACE_HEADER_SIZE) / TRACE_OP_SIZE)
		return fail(err, TERR_TRUNCATED, len, "truncated: fewer records than nops");
	if (len != trace_bin_size(h->nops))
		return fail(err, TERR_HEADER, trace_bin_size(h->nops), "trailing bytes after records");
	return 0;
}

/* Field checks of one record that need no state. */
static int op_check(const struct trace_op *o, const struct trace_header *h, uint64_t off,
		    struct trace_err *err)
{
	if (o->op < TOP_ALLOC || o->op > TOP_FREE)
		return fail(err, TERR_OP, off, "unknown op code");
	if (o->thread >= h->nthreads)
		return fail(err, TERR_OP, off, "thread out of range");
	if (o->id >= h->nids)
		return fail(err, TERR_ID, off, "id out of range");
	if (o->size > TRACE_MAX_SIZE)
		return fail(err, TERR_SIZE, off, "absurd size");
	if (o->op == TOP_FREE && o->size)
		return fail(err, TERR_OP, off, "free with a size");
	if (o->align_log2 > TRACE_MAX_ALIGN_LOG2 || (o->align_log2 && o->op != TOP_MEMALIGN))
		return fail(err, TERR_SIZE, off, "bad alignment");
	return 0;
}

int trace_bin_open(const void *buf, uint64_t len, struct trace *t, struct trace_err *err)
{
	const uint8_t *b = buf;
	if (header_decode(b, len, &t->h, err))
		return -1;
	uint64_t nbytes = t->h.nops * TRACE_OP_SIZE;
	if (trace_fnv1a(TRACE_FNV_INIT, b + TRACE_HEADER_SIZE, nbytes) != t->h.payload_hash)
		return fail(err, TERR_CHECKSUM, 48, "payload checksum mismatch");
	t->ops = (const struct trace_op *)(const void *)(b + TRACE_HEADER_SIZE);
	for (uint64_t i = 0; i < t->h.nops; i++)
		if (op_check(&t->ops[i], &t->h, trace_bin_size(i), err))
			return -1;
	err->code = TERR_OK;
	return 0;
}

/* scratch[id] = 0 when id is free, 1 + size when live (size 0 objects are live too). */
int trace_validate(const struct trace *t, uint64_t *scratch, bool check_summary,
		   struct trace_err *err)
{
	for (uint32_t i = 0; i < t->h.nids; i++)
		scratch[i] = 0;
	uint64_t nobj = 0, live = 0, peak = 0;
	for (uint64_t i = 0; i < t->h.nops; i++) {
		const struct trace_op *o = &t->ops[i];
		uint64_t off = trace_bin_size(i);
		if (op_check(o, &t->h, off, err))
			return -1;
		uint64_t *s = &scratch[o->id];
		if (o->op == TOP_REALLOC && !*s)
			return fail(err, TERR_ID, off, "realloc of an id that is not live");
		if (o->op == TOP_FREE && !*s)
			return fail(err, TERR_ID, off, "free of an id that is not live");
		if (o->op <= TOP_MEMALIGN && *s)
			return fail(err, TERR_ID, off, "alloc of an id that is still live");
		live -= *s ? *s - 1 : 0;
		*s = o->op == TOP_FREE ? 0 : o->size + 1;
		live += *s ? *s - 1 : 0;
		peak = live > peak ? live : peak;
		nobj += o->op <= TOP_MEMALIGN;
	}
	if (check_summary && nobj != t->h.nobjects)
		return fail(err, TERR_SUMMARY, 32, "header nobjects differs from the ops");
	if (check_summary && peak != t->h.peak_live)
		return fail(err, TERR_SUMMARY, 40, "header peak_live differs from the ops");
	err->code = TERR_OK;
	return 0;
}

void trace_summarize(const struct trace_op *ops, uint64_t n, uint64_t *sizes, uint32_t nids,
		     struct trace_header *h)
{
	for (uint32_t i = 0; i < nids; i++)
		sizes[i] = 0;
	uint64_t live = 0, peak = 0, nobj = 0;
	uint32_t nthreads = 0;
	for (uint64_t i = 0; i < n; i++) {
		const struct trace_op *o = &ops[i];
		nthreads = o->thread + 1u > nthreads ? o->thread + 1u : nthreads;
		live -= sizes[o->id];
		sizes[o->id] = o->op == TOP_FREE ? 0 : o->size;
		live += sizes[o->id];
		peak = live > peak ? live : peak;
		nobj += o->op <= TOP_MEMALIGN;
	}
	h->nops = n;
	h->nthreads = nthreads;
	h->nids = nids;
	h->nobjects = nobj;
	h->peak_live = peak;
	h->payload_hash = trace_fnv1a(TRACE_FNV_INIT, ops, n * sizeof(*ops));
}

const char *trace_op_name(unsigned op)
{
	static const char *const names[] = {"?", "a", "c", "m", "r", "f"};
	return op <= TOP_FREE ? names[op] : "?";
}
