#!/usr/bin/env bash
# trace_tool_test: the `workloads/trace` command: --help, convert between formats
# (bytes identical after text -> binary -> text -> binary), stats, one-line errors
# with file:line and exit 1 on bad input, --lenient, usage errors exit 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
tr=workloads/trace
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

grep -q 'trace convert' <<<"$($tr --help)" || fail "--help"

cat >"$t/a.trc" <<'TRC'
# allocrec trace v1 exe=/bin/x pid=1 threads=2 ops=6 objects=4 peak_live=4196
0 a 7 100
0 c 3 50
5 m 9 4000 4096
5 r 7 146
0 f 3
5 a 3 1
TRC
$tr convert "$t/a.trc" "$t/a.mtb" >/dev/null
$tr stats "$t/a.mtb" >"$t/stats"
grep -q '^peak_live   4196$' "$t/stats" || fail "stats peak_live: $(cat "$t/stats")"
grep -q '^threads     2$' "$t/stats" || fail "stats threads"
grep -q 'malloc 2 calloc 1 memalign 1 realloc 1 free 1' "$t/stats" || fail "stats by op"
grep -q 'live at end 3 objects, 4147 bytes' "$t/stats" || fail "stats live at end"
$tr convert "$t/a.mtb" "$t/b.trc" >/dev/null
$tr convert "$t/b.trc" "$t/b.mtb" >/dev/null
cmp -s "$t/a.mtb" "$t/b.mtb" || fail "binary differs after a text round trip"
xz -k "$t/b.trc"
$tr convert "$t/b.trc.xz" "$t/c.mtb" >/dev/null
cmp -s "$t/a.mtb" "$t/c.mtb" || fail "xz input differs"

printf '0 a 1 5\n0 x 1\n0 f 1\n' >"$t/bad.trc"
set +e
$tr convert "$t/bad.trc" "$t/bad.mtb" 2>"$t/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "bad input exit $rc"
[ "$(wc -l <"$t/err")" -eq 1 ] || fail "error is not one line: $(cat "$t/err")"
grep -q "bad.trc:2: unknown op 'x'" "$t/err" || fail "error text: $(cat "$t/err")"
[ ! -e "$t/bad.mtb" ] || fail "output written on error"
ls "$t" | grep -q tmp && fail "temp file left behind"
$tr convert --lenient "$t/bad.trc" "$t/bad.mtb" >/dev/null 2>"$t/err" || fail "--lenient"
grep -q 'skipped 1 bad ops' "$t/err" || fail "lenient report: $(cat "$t/err")"

head -c 100 "$t/a.mtb" >"$t/trunc.mtb"
set +e
$tr stats "$t/trunc.mtb" 2>"$t/err"
rc=$?
$tr stats 2>/dev/null
rc2=$?
$tr frobnicate a b 2>/dev/null
rc3=$?
set -e
[ $rc -eq 1 ] && grep -q 'trunc.mtb: offset' "$t/err" || fail "truncated binary: $rc $(cat "$t/err")"
[ $rc2 -eq 2 ] && [ $rc3 -eq 2 ] || fail "usage errors exit $rc2 $rc3"

# Generators: seeded, byte-identical for a seed, valid, and mtb_host agrees on the hash.
$tr gen xmalloc "$t/g1.mtb" --ops 3000 --threads 4 --seed 9 >/dev/null
$tr gen xmalloc "$t/g2.mtb" --ops 3000 --threads 4 --seed 9 >/dev/null
$tr gen random_actions "$t/g3.mtb" --ops 3000 --seed 10 >/dev/null
$tr gen random_actions "$t/g4.mtb" --ops 3000 --seed 11 >/dev/null
cmp -s "$t/g1.mtb" "$t/g2.mtb" || fail "gen not deterministic"
cmp -s "$t/g3.mtb" "$t/g4.mtb" && fail "gen ignores the seed"
$tr stats "$t/g1.mtb" | grep -q '^threads     4$' || fail "gen threads"
if [ -x "${MTB_BIN:-build/bin}/mtb_host" ]; then
	h1=$("${MTB_BIN:-build/bin}/mtb_host" --trace "$t/g1.mtb" | grep -o '"trace_hash":"[0-9a-f]*"')
	h2=$("${MTB_BIN:-build/bin}/mtb_host" --gen xmalloc --ops 3000 --threads 4 --seed 9 |
		grep -o '"trace_hash":"[0-9a-f]*"')
	[ "$h1" = "$h2" ] || fail "generated file and --gen differ: $h1 $h2"
fi
set +e
$tr gen nosuch "$t/x.mtb" 2>/dev/null
rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown generator exit $rc"

# Address-space blobs for the guest's vareplay: a .vmt (by name) converts to the ops
# va_replay replays, and va_churn with the mix's bounds is va_replay's --gen mix (the
# same trace_hash, which the engines' cross-check matches rows by).
vr=${MTB_BIN:-build/bin}/va_replay
if [ -x "$vr" ]; then
	printf '1 1 exec /x\n1 1 map 10000 8192 rw- a\n1 1 brk 80000\n1 1 brk 90000\n1 1 unmap 10000 4096\n' >"$t/s.vmt"
	$tr convert "$t/s.vmt" "$t/s.mtb" >/dev/null || fail "convert .vmt"
	$tr stats "$t/s.vmt" | grep -q '^format      vmt$' || fail "stats of a .vmt: format"
	h1=$($tr stats "$t/s.mtb" | awk '$1 == "hash" {print $2}')
	h2=$("$vr" --trace "$t/s.vmt" --virt bitmap 2>/dev/null | grep -o '"trace_hash":"[0-9a-f]*"' | cut -d'"' -f4)
	[ -n "$h1" ] && [ "$h1" = "$h2" ] || fail "converted .vmt and va_replay differ: '$h1' '$h2'"
	$tr gen va_churn "$t/m.mtb" --ops 3000 --slots 64 --seed 5 --min-size 4096 \
		--max-size 1073741824 >/dev/null || fail "gen va_churn with sizes"
	h1=$($tr stats "$t/m.mtb" | awk '$1 == "hash" {print $2}')
	h2=$("$vr" --gen mix --ops 3000 --slots 64 --seed 5 --virt bitmap 2>/dev/null |
		grep -o '"trace_hash":"[0-9a-f]*"' | cut -d'"' -f4)
	[ "$h1" = "$h2" ] || fail "va_churn with the mix's sizes and --gen mix differ: $h1 $h2"
	for bad in "--max-size 0" "--min-size x" "--max-size 2000000000000"; do
		set +e
		# shellcheck disable=SC2086
		err=$($tr gen va_churn "$t/x.mtb" $bad 2>&1 >/dev/null)
		rc=$?
		set -e
		[ $rc -eq 2 ] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "gen $bad: exit $rc: $err"
	done
fi

shared=${MTB_SHARED:-../shared}/traces/malloc/xz-T2.trc.xz
if [ -f "$shared" ]; then
	$tr stats "$shared" | grep -q '^peak_live   147944415$' || fail "shared trace stats"
fi
echo "trace_tool_test: ok"
