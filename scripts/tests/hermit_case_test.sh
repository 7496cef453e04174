#!/usr/bin/env bash
# hermit_case_test.sh: the hermit_box generator through the tools (128 threads by
# default in `trace gen` and `mtb_host --gen`, the same ops either way), kept out of
# run.sh's generator sweep (run_lib.sh gen_names), and scripts/hermit_case.sh: --help,
# bad flags (one line, exit 2), a tiny run (4 threads, 2 heaps, 5 rounds) writing its
# CSV with every metric and interval and its raw rows atomically, the guest check under
# QEMU when installed, and hermit_case.py refusing a guest row that does not match.
set -euo pipefail
. "$(dirname "$0")/../../scripts/tests/test_lib.sh"
repo=$PWD
for b in mtb_host trace; do [ -x "$bin/$b" ] || fail "$bin/$b not built"; done
bin=$(cd "$bin" && pwd)
export MTB_BIN=$bin

# generator defaults and the sweep
"$bin/trace" gen hermit_box "$t/a.mtb" --ops 2560 >/dev/null
"$bin/trace" stats "$t/a.mtb" | grep -q '^threads     128$' || fail "trace gen hermit_box: not 128 threads"
"$bin/trace" stats "$t/a.mtb" | grep -q '^by op       malloc 0 calloc 1280 memalign 0 realloc 0 free 1280$' ||
	fail "trace gen hermit_box: not calloc + free"
h1=$("$bin/mtb_host" --gen hermit_box --ops 2560 --heap null | grep -o '"trace_hash":"[0-9a-f]*"')
h2=$("$bin/mtb_host" --trace "$t/a.mtb" --heap null | grep -o '"trace_hash":"[0-9a-f]*"')
[ "$h1" = "$h2" ] || fail "mtb_host --gen hermit_box is not the 128-thread trace: $h1 $h2"
names=$(bin=$bin repo=$repo bash -c '. scripts/run_lib.sh; gen_names' | tr '\n' ' ')
[[ " $names " == *" hermit64 "* && " $names " != *" hermit_box "* ]] ||
	fail "gen_names should list hermit64 and not hermit_box: $names"

# usage
grep -q -- '--threads T' <<<"$(scripts/hermit_case.sh --help)" || fail "--help"
usage_errors scripts/hermit_case.sh hermit_case -- "--bogus" "--threads 0" "--iters x" "--reps 4" \
	"--cpus 2,4" "--cpus 1,,2" "--heaps nosuch" "--out x.json" "--guest-cpus 0"

# a tiny run
guest=--no-guest
command -v qemu-system-x86_64 >/dev/null && [ -f build/guest/buddy-bitmap-talc/guest.elf ] &&
	[ -f build/guest/buddy-bitmap-slab/guest.elf ] && guest=
[ -n "$guest" ] && echo "SKIP: guest check (QEMU or the buddy-bitmap guests missing)"
scripts/hermit_case.sh --threads 4 --iters 200 --heaps talc,null --cpus 1,2,3 --reps 5 $guest \
	--out "$t/r/hc.csv" >"$t/log"
grep -Eq '^talc +3[* ] ' "$t/log" && grep -Eq '^guest|^hermit_case: wrote' "$t/log" || fail "table: $(cat "$t/log")"
grep -q '^\* oversubscribed' "$t/log" || [ "$(nproc)" -ge 3 ] || fail "oversubscribed point not flagged"
[ "$(ls "$t/r")" = "$(printf 'hc.csv\nhc.jsonl')" ] || fail "files: $(ls "$t/r")"
python3 - "$t/r/hc.csv" "$t/r/hc.jsonl" "$guest" <<'PY' || fail "CSV or rows"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
raw = [json.loads(l) for l in open(sys.argv[2])]
key = {(r["heap"], r["cpus"], r["metric"]) for r in rows}
for h in ("talc", "null"):
    for c in ("1", "2", "3"):
        assert (h, c, "ops_per_s") in key and (h, c, "speedup_vs_1") in key, (h, c)
    assert all(("talc/null", c, "ratio_ops_per_s") in key for c in ("1", "2", "3"))
for r in rows:
    if r["engine"] == "host":
        assert r["n"] == "5" and r["coverage"] == "0.9375", r
        assert float(r["lo"]) <= float(r["value"]) <= float(r["hi"]), r
        assert r["ops"] == "1600" and r["threads"] == "4" and r["failed"] == "0", r
        assert r["oversubscribed"] == ("true" if int(r["cpus"]) > int(r["cores"]) else "false"), r
    if r["metric"] == "speedup_vs_1" and r["cpus"] == "1":
        assert r["value"] == r["lo"] == r["hi"] == "1", r
host = [r for r in raw if r["engine"] == "host"]
assert len(host) == 2 * 3 * 5 and sorted({r["round"] for r in host}) == [1, 2, 3, 4, 5]
guest = [r for r in rows if r["engine"] == "qemu"]
if not sys.argv[3]:
    assert sorted((r["heap"], r["cpus"]) for r in guest) == [
        ("slab", "1"), ("slab", "2"), ("talc", "1"), ("talc", "2")], guest
    assert all(r["value"] == "1600" and r["timing_trusted"] == "false" for r in guest)
    assert len([r for r in raw if r["engine"] == "qemu"]) == 4
PY

# a guest row that does not match the host is refused
python3 - "$t/r/hc.jsonl" "$t/bad.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
g = dict(rows[0], engine="qemu", failed=1)
open(sys.argv[2], "w").write("\n".join(json.dumps(r) for r in rows + [g]) + "\n")
PY
set +e
scripts/hermit_case.py "$t/bad.jsonl" "$t/bad.csv" 1600 4 >/dev/null 2>"$t/e"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q '^hermit_case: guest' "$t/e" && [ ! -e "$t/bad.csv" ] ||
	fail "a mismatching guest row: exit $rc, $(cat "$t/e")"
echo "hermit_case_test: ok"
