#!/usr/bin/env bash
# recorder_test: records a demo program (every malloc-family call, threads with
# cross-thread frees, a 10 MiB peak, fork + exec, a crash) and real programs (ls,
# sort) with build/lib/libmtbrec.so, then parses every file back with the trace
# tool: exact records for the demo's known calls, thread ids, fork/exec files, the
# child's inherited history, nothing lost at a crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${MTB_BUILD:-build}
lib=$PWD/$build/lib/libmtbrec.so
tr=workloads/trace
[ -f "$lib" ] || { echo "FAIL: $lib not built (make recorder)" >&2; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
gcc -O1 -o "$t/demo" workloads/recorder/demo/rec_demo.c -lpthread

MTB_REC_OUT=$t/run LD_PRELOAD=$lib "$t/demo"
files=("$t"/run.*.trc)
[ ${#files[@]} -eq 3 ] || fail "expected 3 files (parent, child, exec), got ${#files[@]}"
parent=$(grep -l 'exe=.*/demo' "${files[@]}" | xargs grep -L '^# fork')
child=$(grep -l '^# fork pid=' "${files[@]}")
execd=$(grep -l 'exe=/usr/bin/true' "${files[@]}")
[ -n "$parent" ] && [ -n "$child" ] && [ -n "$execd" ] || fail "files: ${files[*]}"
for f in "${files[@]}"; do
	$tr stats "$f" >"$f.stats" || fail "$f does not parse"
done
has() { grep -Eq "$2" "$1" || fail "$1 lacks /$2/"; }
has "$parent" '^0 a [0-9]+ 111111$'
has "$parent" '^0 c [0-9]+ 99999$'
has "$parent" '^0 m [0-9]+ 22222 64$'
has "$parent" '^0 m [0-9]+ 22223 128$'
has "$parent" '^0 m [0-9]+ 22224 256$'
has "$parent" '^0 m [0-9]+ 22225 4096$'
has "$parent" '^0 m [0-9]+ 24576 4096$'
has "$parent" '^0 r [0-9]+ 211111$'
has "$parent" '^# end ops=[0-9]+ threads=5$'
threads=$(grep -E '^[0-9]+ a [0-9]+ 4242$' "$parent" | cut -d' ' -f1 | sort -u | wc -l)
[ "$threads" -eq 4 ] || fail "4242-byte blocks from $threads distinct threads, want 4"
# main (thread 0) frees each worker's block: find the ids and their frees.
for id in $(grep -E '^[1-4] a [0-9]+ 4242$' "$parent" | cut -d' ' -f3); do
	grep -q "^0 f $id\$" "$parent" || fail "cross-thread free of $id missing"
done
peak=$(awk '/^peak_live/ {print $2}' "$parent.stats")
[ "$peak" -ge $((10 << 20)) ] && [ "$peak" -lt $((12 << 20)) ] || fail "peak_live $peak"
# The child has the parent's history, then its own ops, incl. the inherited free.
has "$child" '^0 a [0-9]+ 111111$'
has "$child" '^0 a [0-9]+ 777777$'
mid=$(grep -E '^0 r [0-9]+ 211111$' "$parent" | cut -d' ' -f3)
sed -n '/^# fork/,$p' "$child" | grep -q "^0 f $mid\$" || fail "child's free of the inherited block"
grep -q 777777 "$parent" && fail "child op leaked into the parent's file"

# Crash: everything up to abort() is on disk.
set +e
{ MTB_REC_OUT=$t/crash LD_PRELOAD=$lib "$t/demo" crash; } 2>/dev/null
set -e
cf=$(grep -L '^# fork' $(grep -l 'exe=.*/demo' "$t"/crash.*.trc))
has "$cf" '^0 a [0-9]+ 999999$'
grep -q '^# end' "$cf" && fail "crash run has an end line"
$tr stats "$cf" >/dev/null || fail "crash trace does not parse"

# Threads freeing and reallocating each other's blocks: the one global order must
# still be valid (strict reader), with every thread's ops in it.
gcc -O1 -o "$t/stress" workloads/recorder/demo/rec_stress.c -lpthread
MTB_REC_OUT=$t/stress LD_PRELOAD=$lib "$t/stress"
sf=$(ls "$t"/stress.*.trc)
$tr stats "$sf" >"$sf.stats" || fail "stress trace invalid"
grep -q '^threads     5$' "$sf.stats" || fail "stress threads: $(grep threads "$sf.stats")"
ops=$(awk '/^ops/ {print $2}' "$sf.stats")
[ "$ops" -gt 80000 ] || fail "stress: only $ops ops"
# The program frees all its blocks; glibc frees each thread's DTV (a 288-byte calloc
# in pthread_create) internally, unseen: at most those stay live.
left=$(awk '/^live at end/ {print $4}' "$sf.stats")
[ "$left" -le 4 ] || fail "stress: $left objects left live"

# Real programs.
seq 1 20000 | shuf --random-source=<(yes) >"$t/in"
MTB_REC_OUT=$t/sort LD_PRELOAD=$lib sort -n "$t/in" >"$t/out"
MTB_REC_OUT=$t/ls LD_PRELOAD=$lib ls -l / >/dev/null
for f in "$t"/sort.*.trc "$t"/ls.*.trc; do
	$tr stats "$f" >"$f.stats" || fail "$f does not parse"
	ops=$(awk '/^ops/ {print $2}' "$f.stats")
	[ "$ops" -gt 10 ] || fail "$f: only $ops ops"
done
cmp -s "$t/out" <(seq 1 20000) || fail "sort output changed under the recorder"
echo "recorder_test: ok"
