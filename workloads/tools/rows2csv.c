/* rows2csv.c: turns result rows (one flat JSON object per line, guest/abi.h) into one CSV
 * table with a header: the union of all keys, provenance columns first, then the others in
 * order of first appearance. Nested values are kept as their JSON text. Written atomically.
 *
 * Invariant: every output line has exactly as many fields as the header (RFC 4180 quoting).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../host/out_file.h"

#define MAX_KEYS 256

struct field {
	char *key, *val;
};
struct row {
	struct field f[MAX_KEYS];
	int n;
};

static const char *const first_cols[] = {"engine", "timing_trusted", "kind", "combo", "phys",
					 "virt", "heap", "cpus", "workload", "trace",
					 "trace_hash", "seed", "build"};
static char *keys[MAX_KEYS];
static int nkeys;

static void die(const char *file, long line, const char *msg)
{
	fprintf(stderr, "rows2csv: %s:%ld: %s\n", file, line, msg);
	exit(1);
}

static void add_key(const char *k)
{
	for (int i = 0; i < nkeys; i++)
		if (!strcmp(keys[i], k))
			return;
	if (nkeys == MAX_KEYS)
		die("-", 0, "more than 256 distinct keys");
	keys[nkeys++] = strdup(k);
}

/* Scans a JSON string starting at *p == '"'; returns its unescaped text. */
static char *scan_string(const char **p)
{
	const char *s = *p + 1;
	char *out = malloc(strlen(s) + 1), *o = out;
	while (*s && *s != '"') {
		if (*s == '\\' && s[1]) {
			s++;
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
			s++;
		} else {
			*o++ = *s++;
		}
	}
	if (*s != '"') {
		free(out);
		return NULL;
	}
	*o = 0;
	*p = s + 1;
	return out;
}

/* Scans any other JSON value (number, literal, nested object/array) as raw text. */
static char *scan_raw(const char **p)
{
	const char *s = *p;
	int depth = 0, instr = 0;
	for (; *s; s++) {
		if (instr) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				instr = 0;
			continue;
		}
		if (*s == '"')
			instr = 1;
		else if (*s == '{' || *s == '[')
			depth++;
		else if (*s == '}' || *s == ']') {
			if (depth == 0)
				break;
			depth--;
		} else if (*s == ',' && depth == 0)
			break;
	}
	size_t n = (size_t)(s - *p);
	while (n && (*p)[n - 1] == ' ')
		n--;
	char *out = strndup(*p, n);
	*p = s;
	return n ? out : (free(out), NULL);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Parses one flat object line into r; returns an error message or NULL. */
static const char *parse_row(const char *p, struct row *r)
{
	r->n = 0;
	p = skip_ws(p);
	if (*p++ != '{')
		return "row does not start with '{'";
	for (p = skip_ws(p); *p != '}'; p = skip_ws(p)) {
		if (r->n == MAX_KEYS)
			return "more than 256 keys in a row";
		if (*p != '"')
			return "expected a key";
		char *k = scan_string(&p);
		p = skip_ws(p);
		if (!k || *p++ != ':')
			return "expected ':' after a key";
		p = skip_ws(p);
		char *v = *p == '"' ? scan_string(&p) : scan_raw(&p);
		if (!v)
			return "bad value";
		r->f[r->n++] = (struct field){k, v};
		p = skip_ws(p);
		if (*p == ',')
			p++;
		else if (*p != '}')
			return "expected ',' or '}'";
	}
	return *skip_ws(p + 1) ? "text after the closing '}'" : NULL;
}

static void put_csv(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static const char *row_get(const struct row *r, const char *k)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->f[i].key, k))
			return r->f[i].val;
	return "";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rows2csv [--out FILE] ROWS.jsonl...\n"
		   "Merges result rows (one flat JSON object per line) into one CSV table.\n"
		   "Without --out the CSV goes to stdout; with it, the file appears only when\n"
		   "complete. Exit 1 with file:line on a malformed row.\n");
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	int first = 1;
	for (; first < argc && argv[first][0] == '-' && argv[first][1]; first++) {
		if (!strcmp(argv[first], "--help") || !strcmp(argv[first], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[first], "--out") && first + 1 < argc) {
			out = argv[++first];
		} else {
			fprintf(stderr, "rows2csv: unknown option '%s' (see --help)\n", argv[first]);
			return 2;
		}
	}
	if (first == argc) {
		usage(stderr);
		return 2;
	}
	struct row *rows = NULL;
	size_t nrows = 0;
	for (int a = first; a < argc; a++) {
		FILE *in = fopen(argv[a], "r");
		if (!in)
			die(argv[a], 0, strerror(errno));
		char *line = NULL;
		size_t cap = 0;
		long ln = 0;
		while (getline(&line, &cap, in) > 0) {
			ln++;
			if (*skip_ws(line) == 0)
				continue;
			rows = realloc(rows, (nrows + 1) * sizeof(*rows));
			const char *err = parse_row(line, &rows[nrows]);
			if (err)
				die(argv[a], ln, err);
			nrows++;
		}
		free(line);
		fclose(in);
	}
	for (size_t c = 0; c < sizeof(first_cols) / sizeof(first_cols[0]); c++)
		for (size_t i = 0; i < nrows; i++)
			if (*row_get(&rows[i], first_cols[c])) {
				add_key(first_cols[c]);
				break;
			}
	for (size_t i = 0; i < nrows; i++)
		for (int k = 0; k < rows[i].n; k++)
			add_key(rows[i].f[k].key);

	struct out_file of = {.f = stdout};
	int e = out ? out_open(&of, out) : 0;
	if (e)
		return out_fail("rows2csv", out, e);
	FILE *f = of.f;
	for (int k = 0; k < nkeys; k++) {
		if (k)
			fputc(',', f);
		put_csv(f, keys[k]);
	}
	fputc('\n', f);
	for (size_t i = 0; i < nrows; i++) {
		for (int k = 0; k < nkeys; k++) {
			if (k)
				fputc(',', f);
			put_csv(f, row_get(&rows[i], keys[k]));
		}
		fputc('\n', f);
	}
	if (out && (e = out_commit(&of)))
		return out_fail("rows2csv", out, e);
	return 0;
}
