#!/usr/bin/env bash
# workload_field_test.sh: every replay row names its workload (results/README.md): mtb_host
# writes it (the generator; the trace file's name without .xz and its format suffix;
# --workload NAME, JSON-escaped), and a sweep's rows carry the sweep's name of the
# workload, the guest's replay rows (whose trace is "module0") included; two recordings
# of one program (sort.14676.trc, sort.99999.trc) stay two workloads; build is a string in
# every row, an all-digit id too. The guest part
# needs qemu-system-x86_64 and guests of this build (make guests-available); skipped
# otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
trap "cat \"\$t\"/r/failed/* 2>/dev/null || true; rm -rf \"\$t\"" EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
bin=${MTB_BIN:-build/bin}
wl() { python3 -c 'import json, sys; print(json.loads(sys.stdin.readline()).get("workload"))'; }
mkdir "$t/tr"
"$bin"/trace gen larson "$t/tr/sort.14676.trc" --ops 2000 >/dev/null
"$bin"/trace gen xmalloc "$t/tr/sort.99999.trc" --ops 2000 --threads 1 >/dev/null
xz -k "$t/tr/sort.14676.trc" && mv "$t/tr/sort.14676.trc.xz" "$t/x.trc.xz"
[ "$("$bin"/mtb_host --gen larson --ops 1000 --heap talc | wl)" = larson ] || fail "generator row"
[ "$("$bin"/mtb_host --trace "$t/x.trc.xz" --heap talc | wl)" = x ] || fail "x.trc.xz row"
[ "$("$bin"/mtb_host --trace "$t/tr/sort.14676.trc" --heap glibc | wl)" = sort.14676 ] || fail "sort.14676.trc row"
[ "$("$bin"/mtb_host --trace "$t/x.trc.xz" --heap talc --workload 'a"b\c' | wl)" = 'a"b\c' ] || fail "--workload"
# build is always a string, an all-digit id too (and the CSV keeps its leading zeros).
"$bin"/mtb_host --gen larson --ops 1000 --heap talc --build 00123 >"$t/b.jsonl"
python3 -c 'import json, sys; b = json.loads(open(sys.argv[1]).readline())["build"]; sys.exit(b != "00123")' "$t/b.jsonl" ||
	fail "an all-digit build id is not the string 00123: $(grep -o '"build":[^,]*' "$t/b.jsonl")"
"$bin"/rows2csv --out "$t/b.csv" "$t/b.jsonl"
python3 -c 'import csv, sys; sys.exit(next(csv.DictReader(open(sys.argv[1])))["build"] != "00123")' "$t/b.csv" ||
	fail "rows2csv changed the build id 00123"
sel='^(host|qemu)\.buddy-bitmap-talc\.sort_'
check=qemu
if ! command -v qemu-system-x86_64 >/dev/null; then
	check=none
	echo "SKIP (part): no qemu-system-x86_64: no guest rows"
fi
MTB_TRACES=$t/tr scripts/run.sh --engine host --quick --guest-check $check --only "$sel" --cpus 1 --traces sort.14676,sort.99999 \
	--out "$t/r" --no-plots >"$t/log" 2>&1 || { cat "$t/log"; fail "run.sh"; }
python3 - "$t/r/rows.jsonl" "$check" <<'PY' || fail "sweep rows (above)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    assert r["kind"] == "replay", r["kind"]
    assert isinstance(r["build"], str), r["build"]
    by.setdefault(r["engine"], set()).add(r.get("workload"))
assert by["host"] == {"sort.14676", "sort.99999"}, by
if sys.argv[2] == "qemu":
    # the guest check replays one trace per combination
    assert by.get("qemu") and by["qemu"] <= {"sort.14676", "sort.99999"}, by
PY
echo "workload_field_test: ok"
