/* json_read.h: a strict reader for one JSON object (RFC 8259), the shape of a result
 * row: one object per line whose members are strings, numbers, true, false, null, or
 * arrays/objects of those (kept as their JSON text, validated to the same rules).
 *
 * What it rejects, each with a one-line reason and the byte offset: anything that is
 * not JSON (bare words, "nan", leading zeros, trailing commas, single quotes), text
 * after the object, raw control characters or invalid UTF-8 in a string, lone UTF-16
 * surrogates in \u escapes, duplicate keys (compared after unescaping, at any depth),
 * nesting deeper than JSON_READ_MAX_DEPTH, and more than max_members members in an
 * object. Strings are decoded to UTF-8 (\uXXXX, surrogate pairs included); a decoded
 * string may hold a NUL (\u0000), so lengths are given alongside.
 */
#ifndef WL_JSON_READ_H
#define WL_JSON_READ_H

#include <stddef.h>

#define JSON_READ_MAX_DEPTH 64

enum json_kind {
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL,
	JSON_ARRAY,
	JSON_OBJECT
};

struct json_member {
	char *key; /* decoded UTF-8, NUL-terminated */
	size_t key_len;
	char *val; /* JSON_STRING: decoded UTF-8; others: the value's text as written */
	size_t val_len;
	enum json_kind kind;
};

struct json_object {
	struct json_member *m; /* in the order written */
	size_t n;
};

struct json_error {
	size_t at;	 /* byte offset of the problem in the text */
	char reason[96]; /* e.g. "duplicate key \"ops\"" */
};

/* Parses text[0..len) as exactly one JSON object with optional whitespace around it
 * (text need not be NUL-terminated; a NUL byte in it is an error). 0 with *out filled
 * (release with json_object_free), or -1 with *err set and *out empty. */
int json_read_object(const char *text, size_t len, size_t max_members, struct json_object *out,
		     struct json_error *err);

/* Frees what json_read_object put in o and empties it; o may be empty. */
void json_object_free(struct json_object *o);

#endif
