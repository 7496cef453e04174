#!/usr/bin/env bash
# replay_direct_test.sh: scripts/replay_direct.sh, the replay's 2-CPU speedup against
# heap_bench's direct one: --help, bad flags (one line, exit 2, no CSV), a tiny run
# (glibc, larson and threadtest, 6 pairs) whose CSV has every metric for all pairs and
# the like ones, each median and interval recomputed from the raw rows it keeps (so a
# pair that joins two reps' runs, or a ratio the wrong way up, fails), and
# replay_direct.py refusing a replay that failed ops.
set -euo pipefail
. "$(dirname "$0")/../../scripts/tests/test_lib.sh"
for b in mtb_host heap_bench; do [ -x "$bin/$b" ] || fail "$bin/$b not built"; done
export MTB_BIN
MTB_BIN=$(cd "$bin" && pwd)

grep -q -- '--reps N' <<<"$(scripts/replay_direct.sh --help)" || fail "--help"
usage_errors scripts/replay_direct.sh replay_direct -- "--bogus" "--reps 5" "--reps x" "--ops 100" \
	"--workloads xmalloc" "--heaps nosuch" "--heaps slab" "--out x.json" "--duration-ms 0" "--ops"

scripts/replay_direct.sh --heaps glibc --workloads larson,threadtest --ops 16000 \
	--duration-ms 10 --reps 6 --out "$t/r/rd.csv" >"$t/log"
grep -q '^replay_direct: pair 6/6' "$t/log" || fail "no progress lines: $(cat "$t/log")"
grep -Eq '^glibc +threadtest +all +6 ' "$t/log" || fail "table: $(cat "$t/log")"
[ "$(ls "$t/r")" = "$(printf 'rd.csv\nrd.jsonl')" ] || fail "files: $(ls "$t/r")"
python3 - "$t/r/rd.csv" "$t/r/rd.jsonl" <<'PY' || fail "CSV against the raw rows"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
raw = [json.loads(l) for l in open(sys.argv[2])]
def med(v):
    s = sorted(v); n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
rep = [r for r in raw if r.get("kind") == "replay"]
assert len(rep) == 6 * 2 * 2 and all(r["ops"] == 16000 for r in rep), len(rep)
for wl in ("larson", "threadtest"):
    d = {r["rep"]: r["value"] for r in raw if r.get("source") == "direct"
         and r["metric"] == "speedup_2_1" and r["workload"] == wl}
    c2c = {r["rep"]: r["value"] for r in raw if r.get("source") == "direct"
           and r["metric"] == "c2c_roundtrip_ns" and r["heap"] == "glibc"}
    s = {k: {r["cpus"]: r for r in rep if r["rep"] == k and r["workload"] == wl} for k in d}
    sp = {k: s[k][2]["ops_per_s"] / s[k][1]["ops_per_s"] for k in d}
    like = [k for k in d if c2c.get(k, -1) > 0 and s[k][2].get("c2c_roundtrip_ns", -1) > 0
            and max(c2c[k], s[k][2]["c2c_roundtrip_ns"]) <= 1.25 * min(c2c[k], s[k][2]["c2c_roundtrip_ns"])]
    assert sorted(d) == [1, 2, 3, 4, 5, 6], d
    got = {(r["pairs"], r["metric"]): r for r in rows if r["workload"] == wl}
    for sub, ks in (("all", sorted(d)), ("like", like)):
        if not ks:
            assert not any(p == sub for p, _ in got), got.keys()
            continue
        want = {"speedup_direct": [d[k] for k in ks], "speedup_replay": [sp[k] for k in ks],
                "replay_over_direct": [sp[k] / d[k] for k in ks]}
        for m, v in want.items():
            r = got[(sub, m)]
            assert r["heap"] == "glibc" and r["n"] == str(len(ks)), r
            assert abs(float(r["value"]) - med(v)) <= 1e-3 * med(v), (sub, m, r["value"], med(v))
            assert float(r["lo"]) <= float(r["value"]) <= float(r["hi"]), r
            assert r["ops"] == "16000" and r["engine"] == "host" and r["build"], r
            assert r["timing_trusted"] == "true" and r["cores"] and r["cpu_model"] is not None, r
            assert float(r["c2c_min_ns"]) <= float(r["c2c_max_ns"]), r
    assert got[("all", "replay_over_direct")]["coverage"] == "0.9688", got[("all", "replay_over_direct")]
PY

# a replay that failed ops is refused: one line, exit 1, no CSV
python3 - "$t/r/rd.jsonl" "$t/bad.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    if r.get("kind") == "replay":
        r["failed"] = 3
        break
open(sys.argv[2], "w").write("\n".join(json.dumps(r) for r in rows) + "\n")
PY
set +e
scripts/replay_direct.py "$t/bad.jsonl" "$t/bad.csv" 16000 >/dev/null 2>"$t/e"
rc=$?
set -e
[ $rc -eq 1 ] && [ "$(wc -l <"$t/e")" -eq 1 ] && grep -q '^replay_direct: replay .* 3 failed' "$t/e" &&
	[ ! -e "$t/bad.csv" ] || fail "a failed replay: exit $rc, $(cat "$t/e")"
# heap_bench rows of another peer than the one run (a peer whose library did not load)
printf 'workload,allocator,metric,value\nlarson,glibc,speedup_2_1,1.5\n' >"$t/hb.csv"
set +e
scripts/replay_direct.py --csv-rows "$t/hb.csv" jemalloc 1 >"$t/o" 2>"$t/e"
rc=$?
set -e
[ $rc -eq 1 ] && [ ! -s "$t/o" ] && grep -q "^replay_direct: heap_bench wrote rows of \['glibc'\] for jemalloc" "$t/e" ||
	fail "rows of another peer: exit $rc, $(cat "$t/e")"
echo "replay_direct_test: ok"
