#!/usr/bin/env bash
# heap_peer_snmalloc_test.sh: snmalloc, the optional peer loaded from the library that
# $MTB_SNMALLOC_LIB names (README, peers), in the tools that take peers. Unset, set to a
# path that does not exist, or set to a library that is not snmalloc, it is left out with
# one line giving the reason (the variable, the path, the missing symbol), exactly as a
# missing jemalloc: heap_bench skips it and runs the others (exit 0), mtb_host --list
# leaves it out and mtb_host --heap snmalloc exits 2 with that one line. Where
# MTB_SNMALLOC_LIB names a file, a short real run: heap_peer_test's reference model on
# snmalloc, mtb_host rows (serial and 2 CPUs), heap_bench's hermit64 cells beside slab;
# without it that part is left out, saying so.
set -u
bin=${MTB_BIN:-build/bin}
peer_test=${MTB_BUILD:-build}/host/bin/strategies/tests/heap_peer_test
fail() { echo "heap_peer_snmalloc_test: $*"; exit 1; }
for b in "$bin/heap_bench" "$bin/mtb_host" "$peer_test"; do
	[ -x "$b" ] || fail "$b not built"
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# left_out WHAT VALUE: snmalloc with MTB_SNMALLOC_LIB=VALUE ("-": unset) is left out with
# one line containing WHAT, in heap_bench, mtb_host --list and mtb_host --heap.
left_out() {
	local what=$1 env=(env -u MTB_SNMALLOC_LIB)
	[ "$2" = - ] || env=(env "MTB_SNMALLOC_LIB=$2")
	"${env[@]}" "$bin/heap_bench" --callgrind 100 --heaps glibc,snmalloc >"$dir/out" 2>"$dir/err"
	rc=$?
	[ $rc -eq 0 ] || fail "heap_bench ($what): exit $rc: $(cat "$dir/err")"
	[ "$(cat "$dir/err")" = "heap_bench: skipping snmalloc: $what" ] ||
		fail "heap_bench ($what): stderr '$(cat "$dir/err")'"
	grep -q "callgrind glibc:" "$dir/out" || fail "heap_bench ($what): glibc did not run"
	! grep -q snmalloc "$dir/out" || fail "heap_bench ($what) ran snmalloc: $(cat "$dir/out")"
	"${env[@]}" "$bin/mtb_host" --list | grep '^peers ' | grep -qw snmalloc &&
		fail "mtb_host --list ($what) lists snmalloc"
	"${env[@]}" "$bin/mtb_host" --gen larson --ops 1000 --heap snmalloc >"$dir/out" 2>"$dir/err"
	rc=$?
	[ $rc -eq 2 ] || fail "mtb_host --heap snmalloc ($what): exit $rc"
	[ ! -s "$dir/out" ] || fail "mtb_host --heap snmalloc ($what) wrote a row"
	[ "$(cat "$dir/err")" = "mtb_host: peer not usable: snmalloc: $what" ] ||
		fail "mtb_host --heap snmalloc ($what): stderr '$(cat "$dir/err")'"
	echo "  left out, one line: snmalloc: $what"
}
left_out "MTB_SNMALLOC_LIB not set (the path of its shared library)" -
left_out "MTB_SNMALLOC_LIB not set (the path of its shared library)" ""
none=$dir/none/libsnmallocshim.so
left_out "$none: cannot open shared object file: No such file or directory" "$none"
if command -v cc >/dev/null; then
	echo 'int not_snmalloc(void) { return 1; }' | cc -shared -fPIC -x c - -o "$dir/libfake.so" ||
		fail "cannot build a stand-in library"
	left_out "$dir/libfake.so lacks __malloc_end_pointer" "$dir/libfake.so"
else
	echo "  (no C compiler: the not-snmalloc library case is left out)"
fi

lib=${MTB_SNMALLOC_LIB:-}
if [ -z "$lib" ] || [ ! -f "$lib" ]; then
	echo "heap_peer_snmalloc_test: ok (MTB_SNMALLOC_LIB names no file: the real run is left out)"
	exit 0
fi
MTB_PEER_ONLY=snmalloc "$peer_test" >"$dir/out" 2>&1 || fail "heap_peer_test on $lib: $(tail -3 "$dir/out")"
grep -q '^  snmalloc  ok' "$dir/out" || fail "heap_peer_test did not run snmalloc: $(cat "$dir/out")"
"$bin/mtb_host" --list | grep '^peers ' | grep -qw snmalloc || fail "mtb_host --list lacks snmalloc"
"$bin/mtb_host" --gen random_actions --ops 20000 --heap snmalloc --cpus 1,2 --out "$dir/rows.json" \
	2>"$dir/err" || fail "mtb_host --heap snmalloc: $(cat "$dir/err")"
python3 - "$dir/rows.json" "$(basename "$lib")" <<'PY' || fail "mtb_host rows (above)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [r["cpus"] for r in rows] == [1, 2], rows
for r in rows:
    assert (r["heap"], r["heap_version"], r["failed"]) == ("snmalloc", sys.argv[2], 0), r
    assert r["peak_footprint"] > 0 and r["peak_live"] > 0, r
assert rows[0]["frag4"] is not None and rows[0]["frag4"] >= 0, rows[0]
PY
"$bin/heap_bench" --out "$dir/h.csv" --only hermit64 --heaps slab,snmalloc --duration-ms 10 \
	--warmup-ms 0 --rounds 1 2>"$dir/err" || fail "heap_bench with snmalloc: $(tail -3 "$dir/err")"
python3 - "$dir/h.csv" "$(basename "$lib")" <<'PY' || fail "heap_bench rows (above)"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sn = [r for r in rows if r["allocator"] == "snmalloc" and r["metric"] == "ops_per_s"]
assert sorted(r["threads"] for r in sn) == ["1", "2"], rows
assert all(r["version"] == sys.argv[2] and float(r["value"]) > 0 for r in sn), sn
assert any(r["allocator"] == "slab/snmalloc" for r in rows), "no slab/snmalloc ratio"
PY
echo "heap_peer_snmalloc_test: ok (real run on $lib)"
