/* json_read.c: the strict one-object JSON reader (contract in json_read.h).
 *
 * A recursive-descent parser over (text, len) that never reads past len. Grammar and
 * escapes follow RFC 8259 sections 2-8: whitespace is only space, tab, LF and CR;
 * a bare value is a maximal run of [A-Za-z0-9+-._] that must be true, false, null
 * or a number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), so "nan", "0x10" and
 * "01" are one error each rather than a value followed by garbage. Every object keeps
 * its decoded keys while it is read, so a duplicate is found at any depth.
 */
#define _GNU_SOURCE
#include "json_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jr {
	const unsigned char *s;
	size_t len, pos;
	size_t max_members;
	unsigned depth;
	struct json_error *err;
};

/* A growing byte buffer; p is NUL-terminated after jbuf_end. */
struct jbuf {
	char *p;
	size_t n, cap;
};

static int fail(struct jr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct jr *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err->reason, sizeof(r->err->reason), fmt, ap);
	va_end(ap);
	r->err->at = r->pos;
	return -1;
}

static int at(const struct jr *r)
{
	return r->pos < r->len ? r->s[r->pos] : -1;
}

static void skip_ws(struct jr *r)
{
	for (int c = at(r); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = at(r))
		r->pos++;
}

static int jbuf_put(struct jr *r, struct jbuf *b, const void *src, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return fail(r, "out of memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
	b->p[b->n] = 0;
	return 0;
}

/* The length (1-4) of the valid UTF-8 sequence at p[0..n), or 0: overlong forms,
 * surrogates (U+D800-DFFF) and code points past U+10FFFF are invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0], cp, min;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F, min = 0x80;
	else if ((c & 0xF0) == 0xE0)
		len = 3, cp = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static int utf8_put(struct jr *r, struct jbuf *b, unsigned cp)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | cp >> 12), n = 3;
	} else {
		u[0] = (unsigned char)(0xF0 | cp >> 18), n = 4;
	}
	for (size_t i = 1; i < n; i++)
		u[i] = (unsigned char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3F));
	return jbuf_put(r, b, u, n);
}

/* Four hex digits at pos into *v. */
static int hex4(struct jr *r, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, r->pos++) {
		int c = at(r);
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16;
		if (d == 16)
			return fail(r, "\\u escape needs four hex digits");
		*v = *v << 4 | d;
	}
	return 0;
}

/* After "\u" (pos on the first hex digit): one code point, a surrogate pair joined. */
static int read_u_escape(struct jr *r, struct jbuf *b)
{
	size_t start = r->pos - 2;
	unsigned cp, lo;
	if (hex4(r, &cp))
		return -1;
	if (cp >= 0xDC00 && cp <= 0xDFFF) {
		r->pos = start;
		return fail(r, "lone low surrogate \\u%04X", cp);
	}
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (r->pos + 2 > r->len || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u') {
			r->pos = start;
			return fail(r, "high surrogate \\u%04X without a low one", cp);
		}
		r->pos += 2;
		if (hex4(r, &lo))
			return -1;
		if (lo < 0xDC00 || lo > 0xDFFF) {
			r->pos = start;
			return fail(r, "high surrogate \\u%04X followed by \\u%04X", cp, lo);
		}
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	return utf8_put(r, b, cp);
}

/* After a backslash (pos on the escape letter). */
static int read_escape(struct jr *r, struct jbuf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	int c = at(r);
	const char *e = c > 0 && c < 0x80 ? strchr(from, c) : NULL;
	if (e) {
		r->pos++;
		return jbuf_put(r, b, &to[e - from], 1);
	}
	if (c != 'u') {
		r->pos--;
		return fail(r, "invalid escape in a string");
	}
	r->pos++;
	return read_u_escape(r, b);
}

/* At '"': decodes the string into b (NUL-terminated); pos after the closing quote. */
static int read_string(struct jr *r, struct jbuf *b)
{
	if (jbuf_put(r, b, "", 0))
		return -1;
	for (r->pos++;;) {
		int c = at(r);
		if (c < 0)
			return fail(r, "unterminated string");
		if (c == '"') {
			r->pos++;
			return 0;
		}
		if (c == '\\') {
			r->pos++;
			if (read_escape(r, b))
				return -1;
			continue;
		}
		if (c == '\n' || c == '\r')
			return fail(r, "unterminated string (a raw line break in it)");
		if (c < 0x20)
			return fail(r, "raw control character 0x%02X in a string (escape it)", c);
		size_t n = utf8_seq(r->s + r->pos, r->len - r->pos);
		if (!n)
			return fail(r, "invalid UTF-8 in a string");
		if (jbuf_put(r, b, r->s + r->pos, n))
			return -1;
		r->pos += n;
	}
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Whether t[0..n) is a JSON number. */
static int is_number(const unsigned char *t, size_t n)
{
	size_t i = 0, d;
	if (i < n && t[i] == '-')
		i++;
	for (d = i; i < n && is_digit(t[i]); i++)
		;
	if (i == d || (t[d] == '0' && i - d > 1))
		return 0;
	if (i < n && t[i] == '.') {
		for (d = ++i; i < n && is_digit(t[i]); i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		if (++i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		for (d = i; i < n && is_digit(t[i]); i++)
			;
		if (i == d)
			return 0;
	}
	return i == n;
}

static int is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' ||
	       c == '-' || c == '.' || c == '_';
}

/* A literal or a number: the whole run of bare characters must be one. */
static int read_bare(struct jr *r, enum json_kind *kind)
{
	static const char *const lit[] = {"true", "false", "null"};
	static const enum json_kind lk[] = {JSON_TRUE, JSON_FALSE, JSON_NULL};
	size_t start = r->pos;
	while (is_bare(at(r)))
		r->pos++;
	const unsigned char *t = r->s + start;
	size_t n = r->pos - start;
	for (int i = 0; i < 3; i++)
		if (n == strlen(lit[i]) && !memcmp(t, lit[i], n)) {
			*kind = lk[i];
			return 0;
		}
	*kind = JSON_NUMBER;
	if (n && is_number(t, n))
		return 0;
	r->pos = start;
	if (!n && at(r) < 0)
		return fail(r, "missing value at the end of the line");
	if (!n)
		return fail(r,
			    at(r) >= 0x20 && at(r) < 0x7F
				? "unexpected '%c' where a value belongs"
				: "unexpected byte 0x%02X where a value belongs",
			    at(r));
	return fail(r, "invalid value '%.*s'%s (not a JSON number, true, false or null)",
		    (int)(n > 24 ? 24 : n), (const char *)t, n > 24 ? "..." : "");
}

static int read_value(struct jr *r, enum json_kind *kind, struct jbuf *str);
static int read_members(struct jr *r, struct json_object *o, int keep);

/* One array, validated (pos on '['). */
static int read_array(struct jr *r)
{
	for (r->pos++, skip_ws(r); at(r) != ']'; skip_ws(r)) {
		struct jbuf tmp = {0};
		enum json_kind k;
		int rc = read_value(r, &k, &tmp);
		free(tmp.p);
		if (rc)
			return -1;
		skip_ws(r);
		if (at(r) == ']')
			break;
		if (at(r) != ',')
			return fail(r, "expected ',' or ']' after an array element");
		r->pos++;
		skip_ws(r);
		if (at(r) == ']')
			return fail(r, "trailing ',' before ']'");
	}
	r->pos++;
	return 0;
}

/* Any value at pos; a string decoded into str. */
static int read_value(struct jr *r, enum json_kind *kind, struct jbuf *str)
{
	int c = at(r), rc;
	if (c == '"') {
		*kind = JSON_STRING;
		return read_string(r, str);
	}
	if (c != '[' && c != '{')
		return read_bare(r, kind);
	if (r->depth == JSON_READ_MAX_DEPTH)
		return fail(r, "nesting deeper than %d levels", JSON_READ_MAX_DEPTH);
	r->depth++;
	if (c == '[') {
		*kind = JSON_ARRAY;
		rc = read_array(r);
	} else {
		struct json_object nested = {0};
		*kind = JSON_OBJECT;
		rc = read_members(r, &nested, 0);
		json_object_free(&nested);
	}
	r->depth--;
	return rc;
}

static const struct json_member *find_key(const struct json_object *o, const char *k, size_t n)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->m[i].key_len == n && !memcmp(o->m[i].key, k, n))
			return &o->m[i];
	return NULL;
}

/* A key for an error message: at most 40 bytes, control characters as '?'. */
static void printable_key(char *out, size_t cap, const char *k, size_t n)
{
	size_t i;
	for (i = 0; i < n && i + 1 < cap && i < 40; i++)
		out[i] = (unsigned char)k[i] < 0x20 ? '?' : k[i];
	out[i] = 0;
}

/* Appends m to o (o owns its strings from here on). */
static int add_member(struct jr *r, struct json_object *o, const struct json_member *m)
{
	if ((o->n & (o->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to the next power of two */
		struct json_member *p = realloc(o->m, (o->n ? 2 * o->n : 1) * sizeof(*p));
		if (!p)
			return fail(r, "out of memory");
		o->m = p;
	}
	o->m[o->n++] = *m;
	return 0;
}

/* "key": value at pos into o; keep: also the value (else only the key, for the
 * duplicate check). */
static int read_member(struct jr *r, struct json_object *o, int keep)
{
	struct jbuf key = {0}, str = {0};
	struct json_member m = {0};
	size_t key_at = r->pos, v_at;
	char shown[48];
	if (o->n == r->max_members)
		return fail(r, "more than %zu members in an object", r->max_members);
	if (at(r) != '"')
		return fail(r, "expected a key (a string)");
	if (read_string(r, &key))
		goto err;
	if (find_key(o, key.p, key.n)) {
		printable_key(shown, sizeof(shown), key.p, key.n);
		r->pos = key_at;
		fail(r, "duplicate key \"%s\"", shown);
		goto err;
	}
	skip_ws(r);
	if (at(r) != ':') {
		fail(r, "expected ':' after a key");
		goto err;
	}
	r->pos++;
	skip_ws(r);
	v_at = r->pos;
	if (read_value(r, &m.kind, &str))
		goto err;
	m.key = key.p, m.key_len = key.n;
	if (m.kind == JSON_STRING && keep) {
		m.val = str.p, m.val_len = str.n, str.p = NULL;
	} else if (keep) {
		m.val_len = r->pos - v_at;
		if (!(m.val = strndup((const char *)r->s + v_at, m.val_len))) {
			fail(r, "out of memory");
			goto err;
		}
	}
	free(str.p);
	if (add_member(r, o, &m) == 0)
		return 0;
	free(m.val);
	str.p = NULL;
err:
	free(key.p);
	free(str.p);
	return -1;
}

/* An object at pos ('{') into o. */
static int read_members(struct jr *r, struct json_object *o, int keep)
{
	for (r->pos++, skip_ws(r); at(r) != '}'; skip_ws(r)) {
		if (read_member(r, o, keep))
			return -1;
		skip_ws(r);
		if (at(r) == '}')
			break;
		if (at(r) != ',')
			return fail(r, "expected ',' or '}' after a member");
		r->pos++;
		skip_ws(r);
		if (at(r) == '}')
			return fail(r, "trailing ',' before '}'");
	}
	r->pos++;
	return 0;
}

int json_read_object(const char *text, size_t len, size_t max_members, struct json_object *out,
		     struct json_error *err)
{
	struct jr r = {(const unsigned char *)text, len, 0, max_members, 1, err};
	*out = (struct json_object){0};
	skip_ws(&r);
	if (at(&r) != '{') {
		fail(&r, "expected '{' (a row is one JSON object)");
		return -1;
	}
	if (read_members(&r, out, 1) == 0) {
		skip_ws(&r);
		if (r.pos == r.len)
			return 0;
		fail(&r, "text after the object's closing '}'");
	}
	json_object_free(out);
	return -1;
}

void json_object_free(struct json_object *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->m[i].key);
		free(o->m[i].val);
	}
	free(o->m);
	*o = (struct json_object){0};
}
