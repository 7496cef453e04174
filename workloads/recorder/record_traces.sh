#!/usr/bin/env bash
# record_traces.sh: records a few programs available here with libmtbrec.so into
# DIR (default workloads/traces): python3, gcc (cc1, as, ld: one file per process),
# sort, sqlite3 when installed, and git pack-objects --threads=2 (multi-threaded: two
# delta-search threads, ~100k ops each, over a repository made here with
# git fast-import). Each process's file is checked with the trace
# tool, gets the shared traces' header (threads= ops= objects= peak_live=) and is
# xz-compressed as NAME-EXE[-K].trc.xz. Usage: record_traces.sh [DIR]
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/workloads/traces}
lib=$root/build/lib/libmtbrec.so
tr=$root/build/bin/trace
[ -f "$lib" ] && [ -x "$tr" ] || { echo "record_traces: build $lib and $tr first (make traces)" >&2; exit 1; }
mkdir -p "$out"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT

# record NAME CMD...: runs CMD under the recorder in $w/NAME/, keeps every process.
record() {
	local name=$1
	shift
	mkdir -p "$w/$name"
	(cd "$w/$name" && MTB_REC_OUT=$w/$name/rec LD_PRELOAD=$lib "$@" >/dev/null 2>&1) ||
		{ echo "record_traces: $name: command failed: $*" >&2; return 1; }
	rm -f "$out/$name".trc.xz "$out/$name"-*.trc.xz
	for f in "$w/$name"/rec.*.trc; do
		local exe dst k=1
		exe=$(basename "$(head -1 "$f" | sed -n 's/.* exe=\([^ ]*\).*/\1/p')")
		dst=$out/$name-$exe.trc
		while [ -e "$dst.xz" ]; do k=$((k + 1)); dst=$out/$name-$exe-$k.trc; done
		"$tr" stats "$f" >"$w/stats" || { echo "record_traces: $f does not parse" >&2; return 1; }
		# the shared traces' header: counts from stats (the recorder streams, so it
		# cannot write them first); checked by parsing the result again
		{
			head -1 "$f" | sed 's/ threads=.*//'
			awk '/^(threads|ops|objects|peak_live) / { v[$1] = $2 }
				END { printf " threads=%s ops=%s objects=%s peak_live=%s\n", v["threads"], v["ops"], v["objects"], v["peak_live"] }' "$w/stats"
		} | paste -sd '' >"$dst.tmp"
		tail -n +2 "$f" >>"$dst.tmp"
		"$tr" stats "$dst.tmp" >/dev/null || { echo "record_traces: $dst.tmp: header does not match" >&2; return 1; }
		xz -f -T1 "$dst.tmp" && mv -f "$dst.tmp.xz" "$dst.xz"
		printf '%-40s %s ops, peak_live %s\n' "$(basename "$dst").xz" \
			"$(awk '/^ops/ {print $2}' "$w/stats")" "$(awk '/^peak_live/ {print $2}' "$w/stats")"
	done
}

cat >"$w/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
struct node { struct node *next; int v; };
int main(void) { struct node *h = NULL; for (int i = 0; i < 1000; i++) { struct node *n = malloc(sizeof *n); n->v = i; n->next = h; h = n; } printf("%d\n", h->v); return 0; }
C
py=$(python3 -c 'import sys; print(sys.executable)') # past pyenv-style shims
record python3-json "$py" -c 'import json, random; random.seed(1); d=[{"k": i, "v": [random.random() for _ in range(20)]} for i in range(20000)]; s=json.dumps(d); json.loads(s)'
record gcc-O2 gcc -O2 -o "$w/prog" "$w/prog.c"
seq 1 200000 | sort -R --random-source=<(yes) >"$w/in"
record sort sort -n "$w/in" -o "$w/sorted"
if command -v sqlite3 >/dev/null; then
	record sqlite3 sqlite3 "$w/db" 'create table t(a, b); with recursive c(x) as (select 1 union all select x+1 from c limit 50000) insert into t select x, hex(randomblob(40)) from c; create index i on t(b); select count(*) from t;'
else
	echo "record_traces: sqlite3 not installed (scripts/deps.sh installs it), skipped"
fi
# A multi-threaded program: git's delta search in two threads (--no-reuse-delta: every
# delta computed again) over a seeded history of 100 text files x 60 commits (~2000
# objects); ~240,000 ops, threads 1 and 2 ~105,000 each. Not the user's git config.
if command -v git >/dev/null; then
	export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
	git init -q "$w/repo"
	python3 - <<'PY' | git -C "$w/repo" fast-import --quiet
import random, sys
random.seed(1)
out = sys.stdout.buffer
words = ["w%05d" % i for i in range(5000)]
def line():
    return " ".join(random.choice(words) for _ in range(12))
files = [[line() for _ in range(300)] for _ in range(100)]
for c in range(60):
    out.write(b"commit refs/heads/main\ncommitter t <t@t> %d +0000\ndata 3\nc%02d\n" % (1700000000 + c, c))
    for i, lines in enumerate(files):
        if c == 0 or random.random() < 0.3:
            for _ in range(random.randint(1, 8)):
                lines[random.randrange(len(lines))] = line()
            data = ("\n".join(lines) + "\n").encode()
            out.write(b"M 644 inline src/f%03d.txt\ndata %d\n%s\n" % (i, len(data), data))
PY
	git -C "$w/repo" rev-parse main >"$w/revs"
	record git-pack git -C "$w/repo" pack-objects --revs --threads=2 --window=50 --depth=50 \
		--no-reuse-delta --stdout <"$w/revs"
else
	echo "record_traces: git not installed, git-pack skipped"
fi
echo "traces in $out"
