#!/usr/bin/env bash
# headline_test.sh: the end of a sweep shows the headline figures and the next command:
# scripts/headline.py on a synthetic sweep (plots/tests/synth_rows.py, known values) gives
# each series' speed over freelist-freelist-talc (geometric mean of per-workload ratios),
# footprint / live, metadata ('-' for a peer), fastest first, and the VA and frame lines;
# a damaged rows.csv is exit 2 with one line; a real (tiny) host sweep prints the table
# and then `make report` as the next command; with --out, no figure lands in plots/.
set -euo pipefail
. "$(dirname "$0")/../../scripts/tests/test_lib.sh"
python3 plots/tests/synth_rows.py "$t/s"
"$bin"/rows2csv --out "$t/s/rows.csv" "$t/s/rows.jsonl"
python3 scripts/headline.py "$t/s" >"$t/out" || { cat "$t/out"; fail "headline.py"; }
has() { grep -Eq "$1" "$t/out" || { cat "$t/out"; fail "no line matching '$1'"; }; }
has '^Headline \(1 CPU, serial replay; .* 7 of 7 series\):$'
has '^  series +workloads +speed +footprint/live +metadata +failed$'
has '^  buddy-btree-slab +3 +1\.44x +1\.33 +14 KiB +0$'
has '^  glibc +2 +0\.894x +1\.25 +- +0$'
has '^  freelist-freelist-talc +3 +1x '
[ "$(sed -n 3p "$t/out" | awk '{print $1}')" = buddy-bitmap-null ] || fail "not fastest first: $(sed -n 3p "$t/out")"
has '^VA, reserved / requested at the peak \(mean over the traces\): bitmap 1\.5, btree 1\.01$'
has '^Frames, free memory in whole 2 MiB blocks after churn \(mean\): buddy 90\.0%, freelist 40\.0%$'
# A sweep of parallel cases only (no 1-CPU serial row): the table of its parallel rows
# at the most CPUs not oversubscribed (synth: 4 of 4 cores; 8 is oversubscribed), never
# "no replay rows"; the baseline did not run in parallel there: speed -.
mkdir "$t/par"
python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("kind") == "replay" and r.get("mode") == "parallel":
        print(l, end="")' "$t/s/rows.jsonl" >"$t/par/rows.jsonl"
"$bin"/rows2csv --out "$t/par/rows.csv" "$t/par/rows.jsonl"
python3 scripts/headline.py "$t/par" >"$t/out" || { cat "$t/out"; fail "headline.py, parallel only"; }
has '^Headline \(parallel replay on 4 CPUs; .* 5 of 5 series\):$'
has '^  buddy-bitmap-null +4 +- +1\.25 +14 KiB +0$'
has '^  glibc +4 +- +1\.25 +- +0$'
grep -q 'no replay' "$t/out" && fail "parallel only: $(cat "$t/out")"
has "^  speed '-': the baseline freelist-freelist-talc has no row here at this CPU count "
grep -q "^  speed '-'" <<<"$(python3 scripts/headline.py "$t/s")" && fail "a '-' note where the baseline ran"
grep -q '^Usage: scripts/headline.py RUN_DIR' <<<"$(python3 scripts/headline.py --help)" || fail "--help"
rc=0
python3 scripts/headline.py 2>"$t/err" || rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$t/err")" -eq 1 ] || fail "no RUN_DIR: exit $rc, $(cat "$t/err")"
head -c 100 "$t/s/rows.csv" >"$t/s/cut.csv" && mkdir "$t/cut" && mv "$t/s/cut.csv" "$t/cut/rows.csv"
rc=0
python3 scripts/headline.py "$t/cut" >/dev/null 2>"$t/err" || rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$t/err")" -eq 1 ] || fail "damaged rows.csv: exit $rc, $(cat "$t/err")"
# A real sweep's end (host engine, two cases); with --out its figures go to DIR/plots
# only, never into the repository's plots/.
touch "$t/mark"
scripts/run.sh --engine host --quick --guest-check none --out "$t/r" \
	--only 'host\.(freelist-freelist-talc|glibc)\.gnu-ld\.c1$' >"$t/log" 2>&1 || { cat "$t/log"; fail "run.sh"; }
[ -s "$t/r/plots/frag_heap.png" ] || fail "--out: no figures in $t/r/plots ($(grep '^run: plots' "$t/log"))"
[ -z "$(find plots -newer "$t/mark")" ] || fail "run.sh --out wrote into plots/: $(find plots -newer "$t/mark")"
tail -5 "$t/log" >"$t/out"
has '^Headline \(1 CPU'
has '^  glibc +1 +[0-9.]+x +[0-9.]+ +- +0$'
[ "$(tail -1 "$t/log")" = "run: next: make report (results/report.md and report.html from $t/r)" ] ||
	fail "last line: $(tail -1 "$t/log")"
echo "headline_test: ok"
