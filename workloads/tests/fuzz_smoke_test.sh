#!/usr/bin/env bash
# fuzz_smoke_test: a short libFuzzer run of every parser fuzzer (build/fuzz/fuzz_*,
# built by `make test`) from its committed seed corpus (workloads/fuzz/corpus/NAME).
# MTB_FUZZ_RUNS (default 20000) and MTB_FUZZ_SECONDS (default 8) bound each run.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${MTB_BUILD:-build}
shopt -s nullglob
fuzzers=("$build"/fuzz/fuzz_*)
if [ ${#fuzzers[@]} -eq 0 ]; then
	echo "SKIP: no fuzzers in $build/fuzz (make fuzz; needs clang + libclang-rt-14-dev)"
	exit 77
fi
for f in "${fuzzers[@]}"; do
	name=${f##*/fuzz_}
	corpus=workloads/fuzz/corpus/$name
	[ -d "$corpus" ] || { echo "FAIL: no seed corpus $corpus" >&2; exit 1; }
	work=$(mktemp -d)
	# New inputs go to the scratch dir (first); the committed corpus is read only.
	if ! "$f" -runs="${MTB_FUZZ_RUNS:-20000}" -max_total_time="${MTB_FUZZ_SECONDS:-8}" \
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$work/" \
		"$work" "$corpus" >"$work/log" 2>&1; then
		tail -30 "$work/log"
		echo "FAIL: $f found a crash (artifacts in $work)" >&2
		exit 1
	fi
	echo "$name: $(grep -m1 'stat::number_of_executed_units' "$work/log" | awk '{print $2}') runs ok"
	rm -rf "$work"
done
echo "fuzz_smoke_test: ok"
