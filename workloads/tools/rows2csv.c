/* rows2csv.c: turns result rows (one flat JSON object per line, guest/abi.h) into one CSV
 * table with a header: the union of all keys, provenance columns first, then the others in
 * order of first appearance. Rows are read by the strict reader of json_read.h: strings
 * are unescaped (\uXXXX to UTF-8), numbers and literals kept as written, arrays and
 * objects kept as their JSON text; anything that is not JSON (a bare word, a duplicate
 * key, text after the object, a raw control character) stops the tool with
 * `rows2csv: FILE:LINE: reason` and exit 2 before any output is written. Written
 * atomically.
 *
 * Invariant: every output line has exactly as many fields as the header (RFC 4180 quoting).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../host/json_read.h"
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

/* Bad input (a row, an argument): one line, exit 2. line 0: the file as a whole. */
static void die_input(const char *file, long line, const char *msg)
{
	if (line)
		fprintf(stderr, "rows2csv: %s:%ld: %s\n", file, line, msg);
	else
		fprintf(stderr, "rows2csv: %s: %s\n", file, msg);
	exit(2);
}

static void add_key(const char *k)
{
	for (int i = 0; i < nkeys; i++)
		if (!strcmp(keys[i], k))
			return;
	if (nkeys == MAX_KEYS)
		die_input("rows", 0, "more than 256 distinct keys over all rows");
	keys[nkeys++] = strdup(k);
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* Parses one row line[0..n) into r; on bad input exits through die_input. */
static void parse_row(const char *file, long ln, const char *line, size_t n, struct row *r)
{
	struct json_object o;
	struct json_error e;
	char msg[160];
	if (json_read_object(line, n, MAX_KEYS, &o, &e)) {
		snprintf(msg, sizeof(msg), "%s (column %zu)", e.reason, e.at + 1);
		die_input(file, ln, msg);
	}
	for (size_t i = 0; i < o.n; i++)
		if (strlen(o.m[i].key) != o.m[i].key_len || strlen(o.m[i].val) != o.m[i].val_len)
			die_input(file, ln, "a \\u0000 (NUL) in a key or value cannot go into CSV");
	r->n = (int)o.n;
	for (size_t i = 0; i < o.n; i++)
		r->f[i] = (struct field){o.m[i].key, o.m[i].val};
	free(o.m); /* the strings now belong to r */
}

/* Appends the rows of one file to *rows; a directory, unreadable file or bad row exits 2. */
static void read_rows(const char *path, struct row **rows, size_t *nrows)
{
	struct stat st;
	FILE *in = fopen(path, "r");
	if (!in)
		die_input(path, 0, strerror(errno));
	if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode))
		die_input(path, 0, "is a directory, not a rows file");
	char *line = NULL;
	size_t cap = 0;
	long ln = 0;
	ssize_t n;
	errno = 0;
	while ((n = getline(&line, &cap, in)) > 0) {
		ln++;
		if (is_blank(line, (size_t)n))
			continue;
		if (!(*rows = realloc(*rows, (*nrows + 1) * sizeof(**rows))))
			die_input(path, ln, "out of memory");
		parse_row(path, ln, line, (size_t)n, &(*rows)[*nrows]);
		++*nrows;
	}
	if (ferror(in))
		die_input(path, ln + 1, errno ? strerror(errno) : "read error");
	free(line);
	fclose(in);
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
		   "complete. Every row must be one JSON object (RFC 8259) without duplicate\n"
		   "keys; anything else, or an argument that is not a readable file, exits 2\n"
		   "with `rows2csv: FILE:LINE: reason` and writes nothing.\n");
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
	for (int a = first; a < argc; a++)
		read_rows(argv[a], &rows, &nrows);
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
