/* trace_ptrlog.c: parsers of pointer-keyed allocation logs: valgrind
 * --trace-malloc=yes output and Android memory_replay text (formats in
 * trace_text.c's header). Objects are keyed by address; a realloc that moves
 * renames the object. Results of 0 (failed allocations) and free(NULL) are not ops.
 *
 * valgrind prints "realloc(P,N)" and its result separately; when the result goes to
 * the next line (realloc(P,0) prints "free(P)" first) the pieces are joined.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "trace_lex.h"

/* "--123-- ", "==123== " or "**123** ": the body after it, or NULL. */
static const char *vg_body(const char *l)
{
	char m = l[0];
	if (!((m == '-' || m == '=' || m == '*') && l[1] == m))
		return NULL;
	const char *p = l + 2;
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] != m || p[1] != m)
		return NULL;
	p += 2;
	return *p == ' ' ? p + 1 : p;
}

static bool expect(const char **s, const char *lit)
{
	skip_sp(s);
	size_t n = strlen(lit);
	if (strncmp(*s, lit, n))
		return false;
	*s += n;
	return true;
}

/* " = 0xP": the result pointer. */
static bool vg_result(const char **s, uint64_t *p)
{
	return expect(s, "=") && tok_u64(s, p) && at_end(*s);
}

static int vg_realloc(struct trace_builder *b, const char *s)
{
	uint64_t p, n, q, p2;
	if (!tok_u64(&s, &p) || !expect(&s, ",") || !tok_u64(&s, &n) || !expect(&s, ")"))
		return tb_bad(b, "malformed realloc");
	if (expect(&s, "free(")) { /* realloc(P, 0): a free */
		if (!tok_u64(&s, &p2) || p2 != p || !expect(&s, ")"))
			return tb_bad(b, "malformed realloc-free");
		return p ? tb_free(b, 0, p) : 0;
	}
	if (expect(&s, "malloc(")) { /* realloc(NULL, N): a malloc */
		if (!tok_u64(&s, &p2) || !expect(&s, ")") || !vg_result(&s, &q))
			return tb_bad(b, "malformed realloc-malloc");
		return q ? tb_alloc(b, 0, TOP_ALLOC, q, n, 0) : 0;
	}
	if (!vg_result(&s, &q))
		return tb_bad(b, "malformed realloc result");
	if (!q)
		return 0; /* failed: the old block stays */
	return p ? tb_realloc(b, 0, p, q, n) : tb_alloc(b, 0, TOP_ALLOC, q, n, 0);
}

static int vg_call(struct trace_builder *b, const char *name, const char *s)
{
	uint64_t a, n = 1, p;
	if (!strcmp(name, "realloc"))
		return vg_realloc(b, s);
	bool is_free = !strcmp(name, "free") || !strncmp(name, "_Zd", 3) ||
		       !strncmp(name, "__builtin_delete", 16) || !strcmp(name, "__builtin_vec_delete");
	if (is_free) {
		if (!tok_u64(&s, &p))
			return tb_bad(b, "malformed %s", name);
		return p ? tb_free(b, 0, p) : 0;
	}
	if (!strcmp(name, "memalign")) {
		if (!expect(&s, "al") || !tok_u64(&s, &a) || !expect(&s, ",") ||
		    !expect(&s, "size") || !tok_u64(&s, &n) || !expect(&s, ")") ||
		    !vg_result(&s, &p))
			return tb_bad(b, "malformed memalign");
		return p ? tb_alloc(b, 0, TOP_MEMALIGN, p, n, a) : 0;
	}
	bool is_calloc = !strcmp(name, "calloc");
	bool is_malloc = !strcmp(name, "malloc") || !strncmp(name, "_Zn", 3) ||
			 !strncmp(name, "__builtin_new", 13) || !strcmp(name, "__builtin_vec_new");
	if (!is_calloc && !is_malloc)
		return tb_bad(b, "unknown op '%s'", name);
	if (!tok_u64(&s, &a) || (is_calloc && (!expect(&s, ",") || !tok_u64(&s, &n))))
		return tb_bad(b, "malformed %s", name);
	/* C++ operators may carry an alignment argument: skip extra arguments. */
	while (!is_calloc && expect(&s, ",") && tok_u64(&s, &p))
		;
	if (!expect(&s, ")") || !vg_result(&s, &p))
		return tb_bad(b, "malformed %s", name);
	if (is_calloc && n && a > UINT64_MAX / n)
		return tb_bad(b, "absurd size (calloc overflow)");
	return p ? tb_alloc(b, 0, is_calloc ? TOP_CALLOC : TOP_ALLOC, p, a * n, 0) : 0;
}

/* One complete call text; lines that are not "ident(" calls are valgrind chatter. */
static int vg_stmt(struct trace_builder *b, const char *s)
{
	char name[64];
	size_t n = 0;
	while ((isalnum((unsigned char)s[n]) || s[n] == '_') && n + 1 < sizeof(name))
		name[n] = s[n], n++;
	name[n] = 0;
	if (!n || s[n] != '(')
		return 0;
	return vg_call(b, name, s + n + 1);
}

int trace_parse_valgrind(struct trace_builder *b, struct cursor *c)
{
	char pending[2048] = "";
	if (tb_thread(b, 0) < 0)
		return -1;
	while (next_line(c, b)) {
		const char *body = c->long_line ? NULL : vg_body(c->line);
		if (!body)
			continue; /* program output or memcheck messages */
		if (pending[0]) {
			char joined[sizeof(pending) + sizeof(c->line)];
			snprintf(joined, sizeof(joined), "%s%s", pending, body);
			pending[0] = 0;
			if (vg_stmt(b, joined))
				return -1;
			continue;
		}
		if (!strncmp(body, "realloc(", 8) && !strchr(body, '=')) {
			snprintf(pending, sizeof(pending), "%s", body);
			continue;
		}
		if (vg_stmt(b, body))
			return -1;
	}
	return pending[0] ? tb_bad(b, "truncated: realloc without its result") : 0;
}

/* ---- Android memory_replay ------------------------------------------------ */

static int an_op(struct trace_builder *b, int th, const char *op, const char *s)
{
	uint64_t p, x, y = 0;
	if (!strcmp(op, "thread_done"))
		return 0;
	if (!tok_u64(&s, &p))
		return tb_bad(b, "malformed %s", op);
	if (!strcmp(op, "free"))
		return p ? tb_free(b, th, p) : 0;
	if (!tok_u64(&s, &x))
		return tb_bad(b, "malformed %s", op);
	bool two = !strcmp(op, "calloc") || !strcmp(op, "memalign") || !strcmp(op, "realloc");
	if (two && !tok_u64(&s, &y))
		return tb_bad(b, "malformed %s", op);
	if (!strcmp(op, "malloc"))
		return p ? tb_alloc(b, th, TOP_ALLOC, p, x, 0) : 0;
	if (!strcmp(op, "calloc")) {
		if (y && x > UINT64_MAX / y)
			return tb_bad(b, "absurd size (calloc overflow)");
		return p ? tb_alloc(b, th, TOP_CALLOC, p, x * y, 0) : 0;
	}
	if (!strcmp(op, "memalign"))
		return p ? tb_alloc(b, th, TOP_MEMALIGN, p, y, x) : 0;
	if (strcmp(op, "realloc"))
		return tb_bad(b, "unknown op '%s'", op);
	/* realloc NEW OLD SIZE */
	if (!x)
		return p ? tb_alloc(b, th, TOP_ALLOC, p, y, 0) : 0;
	if (!p)
		return y ? 0 : tb_free(b, th, x); /* failed, or realloc(old, 0) */
	return tb_realloc(b, th, x, p, y);
}

int trace_parse_android(struct trace_builder *b, struct cursor *c)
{
	while (next_line(c, b)) {
		if (c->long_line) {
			if (tb_bad(b, "line too long or binary garbage"))
				return -1;
			continue;
		}
		const char *s = c->line;
		if (blank_or_comment(s))
			continue;
		uint64_t tid;
		char op[32];
		if (!tok_u64(&s, &tid) || *s != ':' || (s++, !tok_word(&s, op, sizeof(op)))) {
			if (tb_bad(b, "malformed line (expected 'TID: op ...')"))
				return -1;
			continue;
		}
		int th = tb_thread(b, tid);
		if (th == -1)
			return -1;
		if (th >= 0 && an_op(b, th, op, s))
			return -1;
	}
	return 0;
}
