#!/usr/bin/env bash
# valgrind_log_test: a real `valgrind --trace-malloc=yes` log of the recorder demo
# program converts with `workloads/trace` (into allocrec text), and the demo's
# known calls appear with their sizes and alignments. Skipped without valgrind.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed (scripts/deps.sh)"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
gcc -O1 -o "$t/demo" workloads/recorder/demo/rec_demo.c -lpthread
valgrind --trace-malloc=yes --log-file="$t/vg.%p.log" "$t/demo" valgrind >/dev/null 2>&1 ||
	fail "demo failed under valgrind"
# The parent's log is the one that has the 10 MiB block (the child's starts at fork).
log=$(grep -l 'malloc(10485760)' "$t"/vg.*.log | head -1)
[ -n "$log" ] || fail "no valgrind log with the demo's calls"
workloads/trace convert "$log" "$t/vg.trc" >/dev/null
has() { grep -Eq "$1" "$t/vg.trc" || fail "converted log lacks /$1/"; }
has '^0 a [0-9]+ 111111$'
has '^0 c [0-9]+ 99999$'
has '^0 m [0-9]+ 22222 64$'
has '^0 m [0-9]+ 22223 128$'
has '^0 m [0-9]+ 22225 4096$'
has '^0 r [0-9]+ 211111$'
[ "$(grep -Ec '^0 a [0-9]+ 4242$' "$t/vg.trc")" -eq 4 ] || fail "4 worker blocks expected"
workloads/trace stats "$log" | grep -Eq '^peak_live   1[01][0-9]{6}$' || fail "peak_live"
echo "valgrind_log_test: ok"
