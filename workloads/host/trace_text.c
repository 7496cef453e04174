/* trace_text.c: parsers of the text trace formats into a trace_builder.
 *
 *   allocrec .trc   "# allocrec trace v1 ... threads=T ops=N objects=N peak_live=B",
 *                   then "<thread> a|c <id> <size>", "<thread> m <id> <size> <align>",
 *                   "<thread> r <id> <size>", "<thread> f <id>" (../shared/traces/README.md)
 *   CS:APP .rep     4 header numbers (heap size, ids, ops, weight), then "a id size",
 *                   "f id", "r id size"
 *   valgrind        "--PID-- malloc(N) = 0xP", "calloc(A,B) = 0xP", "memalign(al A, size
 *                   N) = 0xP", "realloc(0xP,N) = 0xQ" (the " = " may be on the next
 *                   line), "free(0xP)"; C++ _Zn* / _Zd* as malloc / free; one thread
 *   Android         "TID: malloc PTR SIZE", "calloc PTR NMEMB SIZE", "memalign PTR
 *                   ALIGN SIZE", "realloc NEW OLD SIZE", "free PTR", "thread_done 0x0"
 *                   (memory_replay; trailing timestamps ignored)
 *
 * Each line is copied (<= 1023 chars) and tokenized; every number is range checked.
 * Line numbers in messages are 1-based.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "trace_lex.h"
#include "trace_rec.h"

/* "key=value" in an allocrec header line into *v: 1 when present and a decimal
 * number ending at a blank or the end, 0 when absent (v = 0), -1 when malformed
 * (ops=-1, ops=12x: never read as 0 or 12). */
static int hdr_val(const char *line, const char *key, uint64_t *v)
{
	const char *p = strstr(line, key);
	*v = 0;
	while (p && p != line && p[-1] != ' ')
		p = strstr(p + 1, key);
	if (!p)
		return 0;
	p += strlen(key);
	uint64_t x = 0;
	const char *q = p;
	for (; isdigit((unsigned char)*q); q++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*q - '0');
	}
	if (q == p || (*q && *q != ' '))
		return -1;
	*v = x;
	return 1;
}

/* The counts of an allocrec v1 header line; 0, or -1 (b->err) on a malformed one. */
static int trc_header(struct trace_builder *b, const char *l)
{
	static const char *const keys[] = {"threads=", "ops=", "objects=", "peak_live="};
	uint64_t *vals[] = {&b->src.threads, &b->src.ops, &b->src.objects, &b->src.peak_live};
	if (strncmp(l, "# allocrec trace v1", 19))
		return 0;
	b->src.present = true;
	for (int i = 0; i < 4; i++) {
		int r = hdr_val(l, keys[i], vals[i]);
		if (r < 0) {
			const char *v = strstr(l, keys[i]) + strlen(keys[i]);
			tb_bad(b, "bad header value %s%.*s (a decimal number)", keys[i],
			       (int)strcspn(v, " "), v);
			return -1;
		}
		if (i == 1)
			b->src.has_counts = r > 0;
	}
	return 0;
}

static int trc_line(struct trace_builder *b, const char *s)
{
	uint64_t tid, id, size = 0, align = 0;
	char op[8];
	if (!tok_u64(&s, &tid) || !tok_word(&s, op, sizeof(op)) || !tok_u64(&s, &id))
		return tb_bad(b, "malformed line");
	if (strlen(op) != 1 || !strchr("acmrf", op[0]))
		return tb_bad(b, "unknown op '%s'", op);
	if (op[0] != 'f' && !tok_u64(&s, &size))
		return tb_bad(b, "missing or out-of-range size");
	if (op[0] == 'm' && !tok_u64(&s, &align))
		return tb_bad(b, "missing or out-of-range alignment");
	if (!at_end(s))
		return tb_bad(b, "trailing garbage");
	int th = tb_thread(b, tid);
	if (th < 0)
		return th == -1 ? -1 : 0;
	switch (op[0]) {
	case 'a': return tb_alloc(b, th, TOP_ALLOC, id, size, 0);
	case 'c': return tb_alloc(b, th, TOP_CALLOC, id, size, 0);
	case 'm': return tb_alloc(b, th, TOP_MEMALIGN, id, size, align);
	case 'r': return tb_realloc(b, th, id, id, size);
	default: return tb_free(b, th, id);
	}
}

static int parse_trc(struct trace_builder *b, struct cursor *c)
{
	uint64_t nops = 0;
	while (next_line(c, b)) {
		if (c->long_line) {
			if (tb_bad(b, "line too long or binary garbage"))
				return -1;
			continue;
		}
		if (c->line[0] == '#') {
			if (b->line == 1 && trc_header(b, c->line))
				return -1;
			if (!strncmp(c->line, "# end ops=", 10)) {
				b->src.has_end = true;
				if (hdr_val(c->line + 6, "ops=", &b->src.end_ops) < 0)
					return tb_bad(b, "bad trailer value %s (a decimal number)",
						      c->line + 6), -1;
			}
			continue;
		}
		if (blank_or_comment(c->line))
			continue;
		nops++;
		if (c->no_newline && tb_bad(b, "truncated: last line has no newline"))
			return -1;
		if (trc_line(b, c->line))
			return -1;
	}
	if (b->src.has_end && b->src.end_ops != nops)
		return tb_bad(b, "trailer says ops=%llu, file has %llu",
			      (unsigned long long)b->src.end_ops, (unsigned long long)nops);
	if (b->src.has_counts && b->src.ops != nops) {
		b->line++;
		return tb_bad(b, "truncated or padded: header says ops=%llu, file has %llu",
			      (unsigned long long)b->src.ops, (unsigned long long)nops);
	}
	return 0;
}

static int rep_line(struct trace_builder *b, const char *s, uint64_t nids)
{
	char op[8];
	uint64_t id, size = 0;
	if (!tok_word(&s, op, sizeof(op)) || !tok_u64(&s, &id))
		return tb_bad(b, "malformed line");
	if (strlen(op) != 1 || !strchr("afr", op[0]))
		return tb_bad(b, "unknown op '%s'", op);
	if (op[0] != 'f' && !tok_u64(&s, &size))
		return tb_bad(b, "missing or out-of-range size");
	if (!at_end(s))
		return tb_bad(b, "trailing garbage");
	if (id >= nids)
		return tb_bad(b, "id %llu >= num_ids %llu", (unsigned long long)id,
			      (unsigned long long)nids);
	if (op[0] == 'a')
		return tb_alloc(b, 0, TOP_ALLOC, id, size, 0);
	return op[0] == 'r' ? tb_realloc(b, 0, id, id, size) : tb_free(b, 0, id);
}

static int parse_rep(struct trace_builder *b, struct cursor *c)
{
	uint64_t h[4], nops = 0;
	for (int i = 0; i < 4; i++) {
		const char *s = c->line;
		if (!next_line(c, b))
			b->line++; /* the missing line */
		else if (tok_u64(&s, &h[i]) && at_end(s))
			continue;
		tb_bad(b, "bad .rep header (4 numbers expected)");
		return -1;
	}
	b->src = (struct trace_src_header){true, h[2], h[1], 0, 1, true, false, 0};
	if (tb_thread(b, 0) < 0)
		return -1;
	while (next_line(c, b)) {
		if (blank_or_comment(c->line))
			continue;
		nops++;
		if (c->long_line ? tb_bad(b, "line too long or binary garbage")
				 : rep_line(b, c->line, h[1]))
			return -1;
	}
	if (nops != h[2]) {
		b->line++;
		return tb_bad(b, "header says %llu ops, file has %llu",
			      (unsigned long long)h[2], (unsigned long long)nops);
	}
	return 0;
}


int trace_parse_text(struct trace_builder *b, enum trace_fmt f, const char *data, size_t len)
{
	struct cursor c = {.p = data, .end = data + len};
	switch (f) {
	case TFMT_TRC: return parse_trc(b, &c);
	case TFMT_REP: return parse_rep(b, &c);
	case TFMT_VALGRIND: return trace_parse_valgrind(b, &c);
	case TFMT_ANDROID: return trace_parse_android(b, &c);
	case TFMT_REC: return trace_parse_rec(b, data, len);
	default: return tb_bad(b, "not a text trace format"), -1;
	}
}
