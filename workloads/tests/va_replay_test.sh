#!/usr/bin/env bash
# va_replay_test.sh: the va_replay command contract: --help; a one-line error and a
# non-zero exit on bad usage and on a bad trace (naming FILE:LINE); a run over one
# shared .vmt trace (or a built-in sample without ../shared) and the synthetic mix
# with --virt all writes one complete kind=va_frag row per strategy and workload,
# atomically. Skipped (77) while no VA strategy is linked into the build.
set -u
cd "$(dirname "$0")/../.."
bin=${MTB_BIN:-build/bin}/va_replay
[ -x "$bin" ] || { echo "va_replay_test: $bin not built (make $bin)"; exit 1; }
fail() { echo "va_replay_test: $*"; exit 1; }
"$bin" --help | grep -q -- '--virt' || fail "--help does not describe --virt"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '1 1 map 1000 4096 rw- a\n1 1 frob 2\n' >"$dir/bad.vmt"
for bad in "" "--bogus" "--virt nope --gen mix" "--gen nope" "--gen mix --ops x" \
	"--gen mix extra" "--trace $dir/missing.vmt" "--trace $dir/bad.vmt" "--gen mix --ops"; do
	# shellcheck disable=SC2086
	err=$("$bin" $bad 2>&1 >/dev/null) && fail "'$bad' exited 0"
	[ -n "$err" ] || fail "'$bad' printed no error"
	[ "$(grep -vc '^va_replay: note:' <<<"$err")" -eq 1 ] || fail "'$bad': not one line: $err"
done
nvirt=$("$bin" --gen mix --ops 10 2>&1 >/dev/null | grep -c ' ops, ')
[ "$nvirt" -gt 0 ] || { echo "SKIP: no VA strategy in this build"; exit 77; }
err=$("$bin" --trace "$dir/bad.vmt" 2>&1 >/dev/null)
grep -q "bad.vmt:2: unknown event 'frob'" <<<"$err" || fail "bad trace message: $err"
trace=../shared/traces/vm/xz-T2-compress.vmt
if [ ! -r "$trace" ]; then
	trace=$dir/sample.vmt
	printf '1 1 exec /x\n1 1 map 10000 8192 rw- a\n1 1 brk 80000\n1 1 brk 90000\n' >"$trace"
fi
mkdir "$dir/out"
"$bin" --virt all --trace "$trace" --gen mix --ops 4000 --slots 64 --seed 7 \
	--build test --out "$dir/out/r.jsonl" 2>"$dir/progress" ||
	fail "run failed: $(tail -3 "$dir/progress")"
[ "$(ls "$dir/out")" = "r.jsonl" ] || fail "temporary file left: $(ls "$dir/out")"
rows=$dir/out/r.jsonl
[ "$(wc -l <"$rows")" -eq $((2 * nvirt)) ] || fail "want $((2 * nvirt)) rows: $(cat "$rows")"
for v in bitmap btree btree-bare freelist; do
	grep -q "\"virt\":\"$v\"" "$rows" || { echo "va_replay_test: note: no $v rows (not in this build)"; continue; }
	for w in "${trace##*/}" mix; do
		row=$(grep "\"virt\":\"$v\"" "$rows" | grep "\"trace\":\"$w\"")
		[ -n "$row" ] || fail "no row for $v on $w"
		for f in '"engine":"host"' '"kind":"va_frag"' '"build":"test"' '"failed":0' \
			'"peak_reserved_bytes":[1-9]' '"peak_free_ranges":[1-9]' \
			'"peak_largest_free":[1-9]' '"end_meta_bytes":[1-9]' \
			'"peak_reserved_per_requested":[1-9]' '"trace_hash":"[0-9a-f]\{16\}"'; do
			grep -q "$f" <<<"$row" || fail "$v on $w: no $f in $row"
		done
	done
	grep "\"virt\":\"$v\"" "$rows" | grep '"trace":"mix"' | grep -q '"seed":7' || fail "mix seed"
done
# Only btree (the tree behind its per-CPU caches) reports its cache hit rate.
grep '"virt":"btree"' "$rows" | grep -q '"qcache_hit_rate":[01]' || fail "btree: no qcache_hit_rate"
! grep -v '"virt":"btree"' "$rows" | grep -q qcache_hit_rate || fail "qcache_hit_rate on another strategy"
# The invariant check after every op (small window: the bitmap check scans it all).
"$bin" --check --size-tib 1 --trace "$trace" --out "$dir/check.jsonl" 2>"$dir/progress" ||
	fail "--check run failed: $(tail -3 "$dir/progress")"
[ "$(grep -c '"failed":0' "$dir/check.jsonl")" -eq "$nvirt" ] || fail "--check rows"
# The bitmap at a 64 KiB granule (not in "all").
"$bin" --virt bitmap-64k --size-tib 1 --trace "$trace" 2>/dev/null | grep -q '"granule":65536' ||
	fail "bitmap-64k row"
echo "va_replay_test: ok ($(wc -l <"$rows") rows)"
