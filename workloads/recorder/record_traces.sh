#!/usr/bin/env bash
# record_traces.sh: records programs with libmtbrec.so into DIR (default
# workloads/traces, where `make run` finds them): one trace per process, as
# allocrec text with the shared traces' header (threads= ops= objects= peak_live=),
# xz-compressed, named NAME-EXE-PID.trc.xz (-K added if taken): recordings never
# overwrite each other (delete old ones by hand to replay only new ones).
# Usage: record_traces.sh [DIR]
#          the built-in set: python3 (and with two threads), gcc (cc1, as, ld: one file
#          per process), sort,
#          sqlite3 when installed, git pack-objects --threads=2 (two delta-search
#          threads, ~440k-535k ops each, over a repository made here)
#        record_traces.sh [--out DIR] --as NAME -- CMD [ARGS...]
#          your command (run in the current directory, its output shown)
set -euo pipefail
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/workloads/traces
name=
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
while [ $# -gt 0 ]; do
	case $1 in
	--out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift 2 ;;
	--as) [ $# -ge 2 ] || { usage >&2; exit 2; }; name=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "record_traces: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) [ -z "$name" ] && [ $# -eq 1 ] || { usage >&2; exit 2; }; out=$1; shift ;;
	esac
done
if [ -n "$name" ]; then
	[ $# -gt 0 ] || { echo "record_traces: --as $name: no command after --" >&2; exit 2; }
	case $name in */* | .* | *' '*) echo "record_traces: bad name '$name'" >&2; exit 2 ;; esac
fi
lib=$root/build/lib/libmtbrec.so
tr=$root/build/bin/trace
[ -f "$lib" ] && [ -x "$tr" ] || { echo "record_traces: build $lib and $tr first (make traces)" >&2; exit 1; }
mkdir -p "$out"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT

# keep NAME: every recording in $w/NAME/ as $out/NAME-EXE-PID.trc.xz.
keep() {
	local name=$1 f n=0
	for f in "$w/$name"/rec.*.rec; do
		[ -e "$f" ] || continue
		local hdr exe pid dst k=1
		hdr=$(head -1 "$f")
		exe=$(sed -n 's/.* exe=\([^ ]*\) .*/\1/p' <<<"$hdr")
		pid=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' <<<"$hdr")
		"$tr" stats "$f" >"$w/stats" || { echo "record_traces: $f does not load" >&2; return 1; }
		if [ "$(awk '$1 == "ops" {print $2}' "$w/stats")" = 0 ]; then
			echo "record_traces: $name: ${exe##*/} (pid $pid) made no allocations, not kept"
			continue
		fi
		dst=$out/$name-${exe##*/}-$pid.trc
		while [ -e "$dst.xz" ]; do k=$((k + 1)); dst=$out/$name-${exe##*/}-$pid-$k.trc; done
		"$tr" convert "$f" "$w/t.trc" >/dev/null
		# the header names the program, not the temporary file
		{
			printf '# allocrec trace v1 exe=%s pid=%s %s\n' "$exe" "$pid" "$(head -1 "$w/t.trc" | sed 's/.* pid=0 //')"
			tail -n +2 "$w/t.trc"
		} >"$dst.tmp"
		"$tr" stats "$dst.tmp" >/dev/null || { echo "record_traces: $dst.tmp: does not load" >&2; return 1; }
		xz -f -T1 "$dst.tmp" && mv -f "$dst.tmp.xz" "$dst.xz"
		n=$((n + 1))
		printf '%-44s %s ops, peak_live %s\n' "$(basename "$dst").xz" \
			"$(awk '/^ops/ {print $2}' "$w/stats")" "$(awk '/^peak_live/ {print $2}' "$w/stats")"
	done
	[ "$n" -gt 0 ] || { echo "record_traces: $name: nothing recorded" >&2; return 1; }
}

# record NAME CMD...: runs CMD (output discarded) under the recorder, keeps every process.
record() {
	local name=$1
	shift
	mkdir -p "$w/$name"
	(cd "$w/$name" && MTB_REC_OUT=$w/$name/rec LD_PRELOAD=$lib "$@" >/dev/null 2>&1) ||
		{ echo "record_traces: $name: command failed: $*" >&2; return 1; }
	keep "$name"
}

if [ -n "$name" ]; then
	mkdir -p "$w/$name"
	rc=0
	MTB_REC_OUT=$w/$name/rec LD_PRELOAD=$lib "$@" || rc=$?
	[ "$rc" -eq 0 ] || echo "record_traces: $name: the command exited with $rc (recordings kept)" >&2
	keep "$name"
	echo "traces in $out"
	exit 0
fi

# Python with two worker threads building and dropping dicts (every object through
# malloc): ~2,000,000 ops, threads 1 and 2 ~900,000 each. The threads hand objects to
# each other (the interpreter's shared state): 2 CPUs can replay it at ~1.48x only
# (critical_path_ops), below its 1.85x op balance.
cat >"$w/threads.py" <<'PY'
import threading
def work(k):
    out = []
    for i in range(60000):
        out.append({"k": i, "v": [i, k, str(i)]})
        if len(out) > 1000:
            out = out[500:]
ts = [threading.Thread(target=work, args=(k,)) for k in range(2)]
for t in ts: t.start()
for t in ts: t.join()
PY
cat >"$w/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
struct node { struct node *next; int v; };
int main(void) { struct node *h = NULL; for (int i = 0; i < 1000; i++) { struct node *n = malloc(sizeof *n); n->v = i; n->next = h; h = n; } printf("%d\n", h->v); return 0; }
C
py=$(python3 -c 'import sys; print(sys.executable)') # past pyenv-style shims
record python3-json "$py" -c 'import json, random; random.seed(1); d=[{"k": i, "v": [random.random() for _ in range(20)]} for i in range(20000)]; s=json.dumps(d); json.loads(s)'
PYTHONMALLOC=malloc record python3-threads "$py" "$w/threads.py"
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
# objects). A window of 300 candidates makes the two search threads most of the work:
# ~1,000,000 ops, thread 0 (reading the objects) ~29,000, threads 1 and 2 ~440,000-
# 535,000 each (git splits the work as it goes), so 2 CPUs can replay it at ~1.9x (a
# window of 50 gave 105,000 each and a 1.78x bound: thread 0 shares CPU 0 with thread 2).
# Not the user's git config.
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
	record git-pack git -C "$w/repo" pack-objects --revs --threads=2 --window=300 --depth=50 \
		--no-reuse-delta --stdout <"$w/revs"
else
	echo "record_traces: git not installed, git-pack skipped"
fi
echo "traces in $out"
