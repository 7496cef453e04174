#!/usr/bin/env bash
# gbench_bench_test.sh: the Google Benchmark binary runs every layer's strategies and the
# peers in one process and writes valid JSON atomically; bad flags fail with one line.
set -euo pipefail
cd "$(dirname "$0")/../.."
b=${MTB_BIN:-build/bin}/gbench_bench
[ -x "$b" ] || { echo "FAIL: $b not built" >&2; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -q -- '--out FILE' <<<"$("$b" --help)" || fail "--help"
"$b" --quick --benchmark_filter='pair64/real_time/threads:1|order0/real_time/threads:2|64k' \
	--out "$t/g.json" >"$t/log" 2>&1 || { cat "$t/log"; fail "run"; }
ls "$t" | grep -q tmp && fail "temporary file left"
python3 - "$t/g.json" <<'PY'
import json, sys
names = [b["name"] for b in json.load(open(sys.argv[1]))["benchmarks"] if "error_occurred" not in b]
def has(prefix):
    return any(n.startswith(prefix) for n in names)
for want in ("heap/buddy-", "heap/glibc/", "frame/buddy/order0", "frame/freelist/order0", "va/"):
    assert has(want), (want, names)
assert any("-talc/" in n for n in names) and any("-slab/" in n for n in names), names
peers = [p for p in ("jemalloc", "tcmalloc", "mimalloc") if has("heap/%s/" % p)]
print("gbench_bench_test: %d benchmarks, peers %s" % (len(names), " ".join(peers) or "none"))
PY
set +e
"$b" --nosuch 2>"$t/e"; rc=$?
set -e
[ $rc -eq 2 ] && [ "$(wc -l <"$t/e")" -eq 1 ] || fail "bad flag: exit $rc"
echo "gbench_bench_test: ok"
