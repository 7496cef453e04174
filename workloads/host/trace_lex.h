/* trace_lex.h: line cursor and tokenizer shared by the text trace parsers (internal).
 * Lines are copied into a fixed buffer without their line end (LF or CRLF); a longer
 * line, or one with a NUL byte, is flagged long_line and reported by the parser as
 * garbage. */
#ifndef WL_TRACE_LEX_H
#define WL_TRACE_LEX_H

#include <ctype.h>
#include <string.h>

#include "trace_file.h"

struct cursor {
	const char *p, *end;
	char line[1024];
	bool long_line, no_newline;
};

/* Next line into c->line; false at the end of the data. */
static inline bool next_line(struct cursor *c, struct trace_builder *b)
{
	if (c->p >= c->end)
		return false;
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	size_t n = nl ? (size_t)(nl - c->p) : (size_t)(c->end - c->p);
	c->no_newline = !nl;
	c->long_line = n >= sizeof(c->line);
	n = c->long_line ? sizeof(c->line) - 1 : n;
	memcpy(c->line, c->p, n);
	c->line[n] = 0;
	if (n && c->line[n - 1] == '\r') /* CRLF line end */
		c->line[--n] = 0;
	if (memchr(c->line, 0, n))
		c->long_line = true; /* embedded NUL: treat as garbage */
	c->p = nl ? nl + 1 : c->end;
	b->line++;
	return true;
}

static inline void skip_sp(const char **s)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
}

/* Unsigned number (decimal, or hex with 0x); false on none or overflow. */
static inline bool tok_u64(const char **s, uint64_t *v)
{
	skip_sp(s);
	const char *p = *s;
	int base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2]))
		base = 16, p += 2;
	if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
		return false;
	uint64_t x = 0;
	for (;; p++) {
		int d = isdigit((unsigned char)*p) ? *p - '0'
		      : base == 16 && isxdigit((unsigned char)*p) ? (tolower(*p) - 'a' + 10) : -1;
		if (d < 0)
			break;
		if (x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		x = x * (uint64_t)base + (uint64_t)d;
	}
	*v = x;
	*s = p;
	return true;
}

static inline bool tok_word(const char **s, char *w, size_t cap)
{
	skip_sp(s);
	size_t n = 0;
	while (**s && **s != ' ' && **s != '\t' && n + 1 < cap)
		w[n++] = *(*s)++;
	w[n] = 0;
	return n > 0;
}

static inline bool at_end(const char *s)
{
	skip_sp(&s);
	return !*s;
}

static inline bool blank_or_comment(const char *s)
{
	skip_sp(&s);
	return !*s || *s == '#';
}

/* Parsers of the pointer-keyed logs (trace_ptrlog.c); 0 or -1 (b->err). */
int trace_parse_valgrind(struct trace_builder *b, struct cursor *c);
int trace_parse_android(struct trace_builder *b, struct cursor *c);

#endif
