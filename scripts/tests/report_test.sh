#!/usr/bin/env bash
# report_test.sh: scripts/report.sh on the sample rows: Markdown and HTML written, one
# section and verdict per question, every [rN] citation names an existing row whose value
# is the one printed next to it (checked for the fragmentation table), the HTML embeds its
# plots, and bad usage / a missing sweep fail with one line.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${MTB_BIN:-build/bin}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$t/run"
"$bin/rows2csv" --out "$t/run/rows.csv" results/samples/sample.jsonl
echo "engine=sample cpus=2" >"$t/run/config"
plots/plot.sh --outdir "$t/run/plots" "$t/run/rows.csv" >/dev/null
scripts/report.sh --run "$t/run" --out "$t/out/report.md" >"$t/log" 2>&1 || { cat "$t/log"; fail "report.sh"; }
md=$t/out/report.md
[ -s "$md" ] && [ -s "$t/out/report.html" ] || fail "no report written"
for s in 'Heap fragmentation' 'Virtual address space' 'Scalability' 'Metadata cost' \
	'Latency percentiles' '2 MiB blocks'; do
	grep -q "^## .*$s" "$md" || fail "section '$s' missing"
done
for v in 'heap fragmentation' 'VA fragmentation' 'scalability' 'metadata' '2 MiB availability'; do
	grep -q "^\*\*Verdict ($v):\*\*" "$md" || fail "verdict '$v' missing"
done
ls "$t"/out/*.tmp.* 2>/dev/null && fail "temporary files left"
# Citations: every [rN] exists; a table cell "V [rN]" holds row N's value.
nrows=$(($(wc -l <"$t/run/rows.csv") - 1))
grep -o '\[r[0-9]*' "$md" | tr -d '[r' | sort -n | tail -1 | {
	read -r max
	[ "$max" -le "$nrows" ] || fail "cites r$max of $nrows rows"
}
python3 - "$t/run/rows.csv" "$md" <<'PY'
import csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
md = open(sys.argv[2]).read()
sec = md.split("## Heap fragmentation")[1].split("\n## ")[0]
n = 0
for v, i in re.findall(r"([0-9.e+-]+) \[r(\d+)\]", sec):
    r = rows[int(i) - 1]
    assert r["kind"] == "replay" and abs(float(r["frag4"]) - float(v)) <= 0.01 * abs(float(r["frag4"])) + 1e-9, (v, i, r["frag4"])
    n += 1
assert n >= 4, n
PY
grep -q 'src=.data:image/png;base64,' "$t/out/report.html" || fail "HTML has no embedded plot"
grep -q '](.*frag_heap.png)' "$md" || fail "Markdown does not link the fragmentation plot"

set +e
scripts/report.sh --bogus 2>"$t/e1"; r1=$?
scripts/report.sh --run "$t/nosuch" 2>"$t/e2"; r2=$?
set -e
[ $r1 -eq 2 ] && [ "$(wc -l <"$t/e1")" -eq 1 ] || fail "bad flag: exit $r1"
[ $r2 -eq 1 ] && [ "$(wc -l <"$t/e2")" -eq 1 ] || fail "missing sweep: exit $r2"
echo "report_test: ok"
