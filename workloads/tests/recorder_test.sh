#!/usr/bin/env bash
# recorder_test: records demo programs (workloads/recorder/demo) and real programs
# (ls, sort) with build/lib/libmtbrec.so and reads every file back with the trace
# tool (strict): rec_demo's exact records (every malloc-family call, 4 threads whose
# blocks main frees, a 10 MiB peak), its fork + exec files (the child's inherited
# history and its free of an inherited block), a crash (abort: all recorded) and a
# kill -9 (cut short at the first lost record); rec_count's own op count and peak,
# and mtb_host's serial replay of it; rec_stress's cross-thread reuse in one valid
# order; rec_order's reuses before the release returned (what numbering a release
# after the real call gets wrong); unique names for recordings of one command; a
# program's view of its signal dispositions unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${MTB_BUILD:-build}
bin=${MTB_BIN:-$build/bin}
lib=$PWD/$build/lib/libmtbrec.so
tr=$bin/trace
[ -f "$lib" ] || { echo "FAIL: $lib not built (make recorder)" >&2; exit 1; }
[ -x "$tr" ] && [ -x "$bin/mtb_host" ] || { echo "FAIL: $tr or $bin/mtb_host not built" >&2; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
demo=workloads/recorder/demo
seq 1 3000 >"$t/rt_in"
for p in rec_demo rec_stress rec_count rec_order; do
	gcc -O1 -o "$t/$p" "$demo/$p.c" -lpthread
done
gcc -O1 -shared -fPIC -o "$t/libfakealloc.so" "$demo/rec_fakealloc.c"
rec() { MTB_REC_OUT=$1 LD_PRELOAD=$lib "${@:2}"; }
# stats FILE: strict parse, nothing skipped; the text trace next to it (FILE.trc)
stats() {
	"$tr" stats "$1" >"$1.stats" 2>"$1.err" || fail "$1 does not parse: $(cat "$1.err")"
	grep -q '^skipped     0$' "$1.stats" || fail "$1: records skipped: $(cat "$1.err")"
	"$tr" convert "$1" "$1.trc" >/dev/null || fail "$1: convert to text"
}
val() { awk -v k="$2" '$1 == k {print $2}' "$1.stats"; }
has() { grep -Eq "$2" "$1" || fail "$1 lacks /$2/"; }

# ---- rec_demo: every call kind, threads, fork + exec ---------------------------------
rec "$t/run" "$t/rec_demo"
files=("$t"/run.*.rec)
[ ${#files[@]} -eq 3 ] || fail "expected 3 files (parent, child, exec), got ${#files[@]}"
parent=$(grep -la 'exe=.*/rec_demo pid=[0-9]*$' "${files[@]}" || true)
child=$(grep -la '^# mtbrec v2 exe=.*/rec_demo pid=[0-9]* parent=' "${files[@]}" || true)
execd=$(grep -la '^# mtbrec v2 exe=/usr/bin/true' "${files[@]}" || true)
[ -n "$parent" ] && [ -n "$child" ] && [ -n "$execd" ] || fail "files: ${files[*]}"
for f in "${files[@]}"; do stats "$f"; done
p=$parent.trc
has "$p" '^0 a [0-9]+ 111111$'
has "$p" '^0 c [0-9]+ 99999$'
has "$p" '^0 m [0-9]+ 22222 64$'
has "$p" '^0 m [0-9]+ 22223 128$'
has "$p" '^0 m [0-9]+ 22224 256$'
has "$p" '^0 m [0-9]+ 22225 4096$'
has "$p" '^0 m [0-9]+ 24576 4096$'
has "$p" '^0 r [0-9]+ 211111$'
[ "$(val "$parent" threads)" -eq 5 ] || fail "parent: $(val "$parent" threads) threads, want 5"
threads=$(grep -E '^[0-9]+ a [0-9]+ 4242$' "$p" | cut -d' ' -f1 | sort -u | wc -l)
[ "$threads" -eq 4 ] || fail "4242-byte blocks from $threads distinct threads, want 4"
# main (thread 0) frees each worker's block (ids are reused: follow each one)
cross=$(awk '$2 != "f" && $3 in w {delete w[$3]} $2 == "a" && $4 == 4242 && $1 != 0 {w[$3] = 1}
	$1 == 0 && $2 == "f" && ($3 in w) {n++; delete w[$3]} END {print n + 0}' "$p")
[ "$cross" -eq 4 ] || fail "cross-thread frees of the workers' blocks: $cross, want 4"
peak=$(val "$parent" peak_live)
[ "$peak" -ge $((10 << 20)) ] && [ "$peak" -lt $((12 << 20)) ] || fail "peak_live $peak"
# The child has the parent's history, then its own ops, incl. the inherited free.
c=$child.trc
has "$c" '^0 a [0-9]+ 111111$'
has "$c" '^0 a [0-9]+ 777777$'
mid=$(grep -E '^0 r [0-9]+ 211111$' "$p" | cut -d' ' -f3)
awk -v id="$mid" '/^0 a [0-9]+ 777777$/ {s = 1} s && $0 == "0 f " id {ok = 1} END {exit !ok}' "$c" ||
	fail "child's free of the inherited block"
! grep -q 777777 "$p" || fail "child op leaked into the parent's file"
[ "$(val "$execd" ops)" -eq 0 ] || fail "/bin/true: $(val "$execd" ops) ops"

# ---- crash and kill ----------------------------------------------------------------
# abort(): the SIGABRT handler writes every buffer; the process still dies of it.
set +e
(rec "$t/crash" "$t/rec_demo" crash 2>/dev/null)
st=$?
(rec "$t/kill" "$t/rec_demo" kill 2>/dev/null)
kst=$?
set -e
[ "$st" -eq 134 ] || fail "crash run: exit status $st, want 134 (SIGABRT)"
cf=$(grep -La 'parent=' $(grep -la 'exe=.*/rec_demo' "$t"/crash.*.rec))
stats "$cf"
has "$cf.trc" '^0 a [0-9]+ 999999$'
# kill -9: the parked thread's 10 records were never written; the trace ends before them.
[ "$kst" -eq 137 ] || fail "kill run: exit status $kst, want 137 (SIGKILL)"
kf=$(grep -La 'parent=' $(grep -la 'exe=.*/rec_demo' "$t"/kill.*.rec))
"$tr" stats "$kf" >"$kf.stats" 2>"$kf.err" || fail "killed recording does not load: $(cat "$kf.err")"
grep -q 'recording cut short: seq [0-9]* missing, [0-9]* later records dropped' "$kf.err" ||
	fail "kill: no note of the dropped records: $(cat "$kf.err")"
dropped=$(val "$kf" skipped)
[ "$dropped" -ge 100000 ] || fail "kill: only $dropped records dropped after the gap"
"$tr" convert "$kf" "$kf.trc" >/dev/null 2>&1 || fail "kill: convert"
! grep -q ' 5555$' "$kf.trc" || fail "kill: the parked thread's blocks appear"

# ---- rec_count: the program's own counts; mtb_host replays the recording -------------
calls0=$(rec "$t/count0" "$t/rec_count" 0 | sed -n 's/^calls=\([0-9]*\) .*/\1/p')
out=$(rec "$t/count" "$t/rec_count" 20000)
calls=$(sed -n 's/^calls=\([0-9]*\) .*/\1/p' <<<"$out")
big=$(sed -n 's/.* big=\([0-9]*\)$/\1/p' <<<"$out")
f0=$(ls "$t"/count0.*.rec)
f=$(ls "$t"/count.*.rec)
stats "$f0"
stats "$f"
[ "$(val "$f" threads)" -eq 4 ] || fail "rec_count: $(val "$f" threads) threads, want 4"
[ $(($(val "$f" ops) - $(val "$f0" ops))) -eq $((calls - calls0)) ] ||
	fail "rec_count: $(val "$f" ops) - $(val "$f0" ops) recorded ops, the program counted $calls - $calls0"
peak=$(val "$f" peak_live)
[ "$peak" -ge "$big" ] && [ "$peak" -lt $((big + 65536)) ] || fail "rec_count: peak_live $peak, big block $big"
row=$("$bin/mtb_host" --trace "$f" --build test 2>/dev/null) || fail "mtb_host cannot replay $f"
for k in ops peak_live:peak_live_bytes; do # the trace's name:the row's
	grep -q "\"${k#*:}\":$(val "$f" "${k%:*}")," <<<"$row" || fail "mtb_host ${k#*:} differs from the trace's: $row"
done
grep -q '"failed":0,' <<<"$row" || fail "mtb_host replay failed ops: $row"

# ---- rec_stress: cross-thread frees and reallocs, one valid global order ---------------
rec "$t/stress" "$t/rec_stress"
sf=$(ls "$t"/stress.*.rec)
stats "$sf"
[ "$(val "$sf" threads)" -eq 5 ] || fail "stress threads: $(val "$sf" threads)"
[ "$(val "$sf" ops)" -gt 80000 ] || fail "stress: only $(val "$sf" ops) ops"
# The program frees all its blocks; glibc frees each thread's DTV (a 288-byte calloc
# in pthread_create) internally, unseen: at most those stay live.
left=$(awk '/^live at end/ {print $4}' "$sf.stats")
[ "$left" -le 4 ] || fail "stress: $left objects left live"

# ---- rec_order: reuse before the release returns (free, and a moving realloc) ----------
timeout 60 env MTB_REC_OUT="$t/order" LD_PRELOAD="$lib $t/libfakealloc.so" "$t/rec_order" \
	>/dev/null || fail "rec_order did not finish"
of=$(ls "$t"/order.*.rec)
"$tr" stats "$of" >"$of.stats" 2>"$of.err" || fail "reuse order: $(cat "$of.err")"
stats "$of"
[ "$(grep -c ' 779$' "$of.trc")" -eq 2 ] || fail "rec_order: want 2 reuses (malloc 779)"

# ---- names: two recordings of one command keep both files, in every step -------------
rec "$t/same" /usr/bin/true
rec "$t/same" /usr/bin/true
same=("$t"/same.*.rec)
[ ${#same[@]} -eq 2 ] || fail "two recordings of /usr/bin/true: ${same[*]}"
# run.sh's per-sweep binary copies (run_lib.sh wl_trace) stay two workloads
mtbs=$(bin=$bin dir=$t/sweep repo=$PWD bash -c '. scripts/run_lib.sh; wl_trace "$1"; wl_trace "$2"' \
	_ "${same[@]}")
[ "$(sort -u <<<"$mtbs" | wc -l)" -eq 2 ] && [ "$(ls "$t"/sweep/traces/*.mtb | wc -l)" -eq 2 ] ||
	fail "run_lib wl_trace: two recordings share one binary copy: $mtbs"
# record_traces.sh --as: twice the same command, two traces
for k in 1 2; do
	workloads/recorder/record_traces.sh --out "$t/traces" --as sorty -- sort -n "$t/rt_in" \
		>/dev/null || fail "record_traces.sh --as"
done
[ "$(ls "$t"/traces/sorty-sort-*.trc.xz | wc -l)" -eq 2 ] || fail "record_traces: $(ls "$t/traces")"
for f in "$t"/traces/*.xz; do
	"$tr" stats "$f" | grep -q '^ops         [1-9]' || fail "$f: no ops"
	xz -dc "$f" | head -1 | grep -q '^# allocrec trace v1 exe=/usr/bin/sort pid=[0-9]* threads=1 ops=' ||
		fail "$f: header: $(xz -dc "$f" | head -1)"
done

# ---- the program's view: SIGINT looks untouched (Python installs its handler then) -----
out=$(rec "$t/py" python3 -c 'import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)')
[ "$out" = True ] || fail "python under the recorder: SIGINT handler not installed ($out)"

# ---- real programs --------------------------------------------------------------------
seq 1 20000 | shuf --random-source=<(yes) >"$t/in"
rec "$t/sort" sort -n "$t/in" >"$t/out"
rec "$t/ls" ls -l / >/dev/null
for f in "$t"/sort.*.rec "$t"/ls.*.rec; do
	stats "$f"
	[ "$(val "$f" ops)" -gt 10 ] || fail "$f: only $(val "$f" ops) ops"
done
cmp -s "$t/out" <(seq 1 20000) || fail "sort output changed under the recorder"
echo "recorder_test: ok"
