/* fuzz_json: libFuzzer target for the strict row reader (workloads/host/json_read.h).
 *
 * The whole input is one line of text. Properties: the reader never crashes, leaks or
 * reads past the input (ASan/UBSan); a rejection carries a reason and an offset inside
 * the input; an accepted object has unique keys, and writing it back as JSON (strings
 * re-escaped, other values as their text) reads back to the same members -- else abort.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/json_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Appends s[0..n) to out as a JSON string; returns the new end. */
static char *put_string(char *out, const char *s, size_t n)
{
	*out++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			out += sprintf(out, "\\u%04x", c);
		else
			*out++ = (char)c;
	}
	*out++ = '"';
	return out;
}

/* o written back as one JSON object (malloc'd, length in *len). */
static char *write_object(const struct json_object *o, size_t *len)
{
	size_t cap = 3;
	for (size_t i = 0; i < o->n; i++)
		cap += 6 * (o->m[i].key_len + o->m[i].val_len) + 8;
	char *buf = malloc(cap), *p = buf;
	*p++ = '{';
	for (size_t i = 0; i < o->n; i++) {
		const struct json_member *m = &o->m[i];
		if (i)
			*p++ = ',';
		p = put_string(p, m->key, m->key_len);
		*p++ = ':';
		if (m->kind == JSON_STRING)
			p = put_string(p, m->val, m->val_len);
		else
			p = memcpy(p, m->val, m->val_len), p += m->val_len;
	}
	*p++ = '}';
	*len = (size_t)(p - buf);
	return buf;
}

static int same_members(const struct json_object *a, const struct json_object *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct json_member *x = &a->m[i], *y = &b->m[i];
		if (x->kind != y->kind || x->key_len != y->key_len || x->val_len != y->val_len ||
		    memcmp(x->key, y->key, x->key_len) || memcmp(x->val, y->val, x->val_len))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object o, back;
	struct json_error e = {0};
	if (json_read_object((const char *)data, size, 64, &o, &e)) {
		if (!e.reason[0] || e.at > size)
			abort(); /* a rejection must say why and where */
		return 0;
	}
	for (size_t i = 0; i < o.n; i++)
		for (size_t j = i + 1; j < o.n; j++)
			if (o.m[i].key_len == o.m[j].key_len &&
			    !memcmp(o.m[i].key, o.m[j].key, o.m[i].key_len))
				abort(); /* a duplicate key got through */
	size_t len;
	char *text = write_object(&o, &len);
	if (json_read_object(text, len, 64, &back, &e) || !same_members(&o, &back))
		abort(); /* what was accepted does not survive a round trip */
	json_object_free(&back);
	json_object_free(&o);
	free(text);
	return 0;
}
