#!/usr/bin/env bash
# latest_test.sh: `make plots` redraws the latest sweep: plots/latest.sh draws
# RESULTS/latest/rows.csv into RESULTS/latest/plots/ and refreshes the figures in --to
# (here temporary directories: the repository's plots/ is left alone, which is checked),
# the gbench figure too when RESULTS/gbench.json exists; without a sweep it is exit 2 with
# one line naming `make run`; the Makefile's plots target runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$t/res"
python3 plots/tests/synth_rows.py "$t/res/run-1"
"${MTB_BIN:-build/bin}"/rows2csv --out "$t/res/run-1/rows.csv" "$t/res/run-1/rows.jsonl"
ln -s run-1 "$t/res/latest"
cp results/samples/gbench.json "$t/res/gbench.json"
before=$(find plots -newer "$t/res/run-1/rows.csv" | sort)
plots/latest.sh --results "$t/res" --to "$t/to" >"$t/log" 2>&1 || { cat "$t/log"; fail "latest.sh"; }
[ "$(find plots -newer "$t/res/run-1/rows.csv" | sort)" = "$before" ] || fail "latest.sh --to wrote into plots/"
for f in frag_heap va_frag speed scalability latency meta phys_2m; do
	[ -s "$t/res/run-1/plots/$f.png" ] || fail "$f.png not drawn into the sweep's plots/"
	cmp -s "$t/res/run-1/plots/$f.png" "$t/to/$f.png" || fail "$f.png not copied to --to"
	cmp -s "$t/res/run-1/plots/$f.svg" "$t/to/$f.svg" || fail "$f.svg not copied to --to"
done
[ -s "$t/to/gbench.png" ] || fail "gbench.png not redrawn"
ls -a "$t/to" | grep -q '\.tmp\.' && fail "temporary files left in --to"
# Redrawing replaces the old figures.
echo old >"$t/to/speed.png"
plots/latest.sh --results "$t/res" --to "$t/to" >/dev/null 2>&1 || fail "second run"
cmp -s "$t/res/run-1/plots/speed.png" "$t/to/speed.png" || fail "speed.png not replaced"
rc=0
plots/latest.sh --results "$t/none" --to "$t/to2" >/dev/null 2>"$t/err" || rc=$?
[ $rc -eq 2 ] || fail "no sweep: exit $rc, want 2"
[ "$(wc -l <"$t/err")" -eq 1 ] && grep -q 'make run' "$t/err" || fail "no sweep: $(cat "$t/err")"
[ -e "$t/to2" ] && fail "no sweep: --to made anyway"
grep -q 'plots/latest.sh' <<<"$(make -n --no-print-directory plots)" || fail "make plots does not run plots/latest.sh"
echo "latest_test: ok"
