#!/usr/bin/env bash
# schema_test.sh: results/README.md is the schema of every row the tools write. A tiny
# host sweep (serial, parallel and peer replay rows merged over 3 repetitions, va_frag
# rows of the mix, frame_churn rows) plus the rows a sweep does not make (a replay that
# runs out of heap, serial and parallel; va_replay on a .vmt trace in checked mode;
# the context mtb_host --context prints) and, where QEMU and the guest are built, the
# guest's self-test rows (one boot per command, TCG) go through scripts/schema_check.py:
# every column must be listed with its unit, byte-valued ones named *_bytes, and (with
# the guest rows) every listed column must come from some producer (but calib_ratio and
# guest_mem_mib: our VMM's and a guest sweep's).
# The committed samples (results/samples/scaling_*.csv, va_frag.csv) must conform too.
# Negative controls: a README without one column, a row with an old unit-less byte
# name, a _bytes column documented as a count: each must fail naming the column.
set -euo pipefail
. "$(dirname "$0")/../../scripts/tests/test_lib.sh"
check=scripts/schema_check.py

scripts/run.sh --engine host --quick --reps 3 --guest-check none --no-plots --out "$t/r" \
	--only 'host\.(buddy-btree-talc\.larson\.c(1|2)|glibc\.larson\.c1|frame_churn\.all\.c1|va_frag\.mix\.c1)$' \
	>"$t/log" 2>&1 || { tail -5 "$t/log"; fail "run.sh"; }
for k in replay va_frag frame_churn; do
	grep -q "\"kind\":\"$k\"" "$t/r/rows.jsonl" || fail "the sweep has no $k row"
done
"$bin"/mtb_host --gen larson --ops 2000 --heap talc --fixed-heap 65536 --cpus 1 --out "$t/fail1.jsonl" 2>/dev/null
"$bin"/mtb_host --gen larson --ops 2000 --heap talc --fixed-heap 65536 --cpus 2 --mode parallel \
	--out "$t/fail2.jsonl" 2>/dev/null
grep -q '"failure_note"' "$t/fail2.jsonl" || fail "no parallel failure row: $(head -c 300 "$t/fail2.jsonl")"
printf '1 1 exec /x\n1 1 map 10000 8192 rw- a\n1 1 brk 80000\n1 1 brk 90000\n' >"$t/s.vmt"
"$bin"/va_replay --trace "$t/s.vmt" --virt all --check-every 2 --out "$t/vmt.jsonl" 2>/dev/null
"$bin"/mtb_host --context >"$t/ctx.jsonl"
rows=("$t/r/rows.csv" "$t/r/rows.jsonl" "$t"/fail*.jsonl "$t/vmt.jsonl" "$t/ctx.jsonl")
unseen=(--unseen-ok "calib_ratio,guest_mem_mib")
guest=${MTB_GUEST:-build/guest/buddy-bitmap-talc/guest.elf}
if command -v qemu-system-x86_64 >/dev/null && [ -f "$guest" ]; then
	for c in selftest frametest heaptest mmtest vatest calib; do
		scripts/qemu_run.sh --elf "$guest" --cpus 2 --mem 128M --timeout 300 --out "$t/g_$c.jsonl" \
			-- "$c" >"$t/g.log" 2>&1 || { tail -3 "$t/g.log"; fail "guest $c"; }
		rows+=("$t/g_$c.jsonl")
	done
else
	echo "schema_test: note: no QEMU or no $guest: guest self-test rows and unlisted-column check skipped"
	unseen=()
fi
python3 $check "${unseen[@]}" "${rows[@]}" >"$t/out" ||
	{ cat "$t/out"; fail "the rows do not match results/README.md"; }
cat "$t/out"
python3 $check results/samples/scaling_*.csv results/samples/va_frag.csv >"$t/out" ||
	{ cat "$t/out"; fail "the samples do not match results/README.md"; }

# Negative controls: each must exit 1 and name the column.
neg() { # WHAT PATTERN ARGS...
	local what=$1 pat=$2 rc=0
	shift 2
	python3 $check "$@" >"$t/neg" || rc=$?
	[ $rc -eq 1 ] && grep -q "$pat" "$t/neg" || { cat "$t/neg"; fail "$what: exit $rc"; }
}
# shellcheck disable=SC2016 # backticks are the README's, not a command
grep -v '^| `peak_live_bytes` |' results/README.md >"$t/README.md"
neg "README without peak_live_bytes" 'column peak_live_bytes is not in the schema' \
	--readme "$t/README.md" "$t/r/rows.csv"
echo '{"kind":"replay","ops":1,"peak_live":5}' >"$t/old.jsonl"
neg "an old unit-less name" 'column peak_live looks byte-valued: name it peak_live_bytes' "$t/old.jsonl"
# shellcheck disable=SC2016
sed 's/^| `heap_va_bytes` | bytes |/| `heap_va_bytes` | count |/' results/README.md >"$t/README.md"
neg "a _bytes column counted" "heap_va_bytes: named _bytes but its unit is 'count'" \
	--readme "$t/README.md" "$t/ctx.jsonl"
sed 's/^| `cpus` | count | CPUs the guest runs |/| `cpus` | - | CPUs |/' results/README.md >"$t/README.md"
neg "a column listed with two units" "cpus: listed as 'count' and as '-'" --readme "$t/README.md" "$t/ctx.jsonl"
neg "a documented column no producer has" 'check_every: documented, but no row has it' \
	--unseen-ok calib_ratio,guest_mem_mib "$t/r/rows.csv"
rc=0
python3 $check --readme "$t/none.md" "$t/ctx.jsonl" 2>"$t/err" || rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$t/err")" -eq 1 ] || fail "missing README: exit $rc, $(cat "$t/err")"
echo "schema_test: ok"
