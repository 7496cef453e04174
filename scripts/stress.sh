#!/usr/bin/env bash
# stress.sh: the long checks behind `make stress` (not part of `make test`).
#  1. Every libFuzzer target in build/fuzz (make fuzz) for M minutes each, from its
#     committed seed corpus (workloads/fuzz/corpus/NAME, read only; new inputs go to a
#     scratch directory): execs and crashes per target.
#  2. ROUNDS rounds on a small host sweep (buddy-bitmap talc and slab on larson, --quick):
#     two sweeps at once on one directory (the second must be refused naming the first's
#     pid, the first must complete to a clean run's case set), then a sweep killed
#     (SIGINT and SIGKILL in turn, at a different case each round: mtb_host is held at a
#     gate, scripts/tests/sweep_lib.sh, never after a guessed time) and resumed with the
#     same command: no partial file, and the rows' case set equal to a clean run's.
# Prints one line per fuzzer and per round and a summary; exit 1 on a crash or a failed
# check (crash inputs and logs are kept in the work directory it names), 2 on bad usage.
# Usage: scripts/stress.sh [--minutes M] [--seconds S] [--rounds N] [--no-fuzz]
#        [--no-sweeps] [--work DIR]
#   --minutes M   minutes per fuzzer (default 2); --seconds S overrides it (S >= 1)
#   --rounds N    sweep rounds (default 3)
#   --work DIR    keep scratch files here (default: a new temporary directory, removed
#                 at the end unless something failed)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
die() { echo "stress: $1" >&2; exit "${2:-2}"; }
minutes=2 seconds= rounds=3 fuzz=1 sweeps=1 work=
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--minutes | --seconds | --rounds | --work)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in --minutes) minutes=$2 ;; --seconds) seconds=$2 ;; --rounds) rounds=$2 ;; --work) work=$2 ;; esac
		shift 2 ;;
	--no-fuzz) fuzz=0; shift ;;
	--no-sweeps) sweeps=0; shift ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
[[ $minutes =~ ^[1-9][0-9]*$ ]] || die "--minutes must be a whole number >= 1, got '$minutes'"
[ -z "$seconds" ] || [[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a whole number >= 1, got '$seconds'"
[[ $rounds =~ ^[0-9]+$ ]] || die "--rounds must be a number, got '$rounds'"
secs=${seconds:-$((minutes * 60))}
bin=${MTB_BIN:-$repo/build/bin}
build=${MTB_BUILD:-$repo/build}
keep=0
if [ -n "$work" ]; then
	mkdir -p "$work" || die "cannot create $work" 1
	keep=1
else
	work=$(mktemp -d)
fi
work=$(cd "$work" && pwd)
trap '[ $keep = 1 ] || rm -rf "$work"' EXIT
problems=0
problem() { echo "stress: FAIL: $*" >&2; problems=$((problems + 1)); keep=1; }

# ---- 1. fuzzers --------------------------------------------------------------------------
total_execs=0 crashes=0 nfuzz=0
if [ "$fuzz" = 1 ]; then
	shopt -s nullglob
	fuzzers=("$build"/fuzz/fuzz_*)
	shopt -u nullglob
	[ ${#fuzzers[@]} -gt 0 ] || die "no fuzzers in $build/fuzz (make fuzz; needs clang and libclang-rt)" 1
	echo "stress: ${#fuzzers[@]} fuzzers, ${secs} s each"
	for f in "${fuzzers[@]}"; do
		name=${f##*/fuzz_}
		corpus=workloads/fuzz/corpus/$name
		d=$work/fuzz/$name
		mkdir -p "$d/new"
		seeds=()
		[ -d "$corpus" ] && seeds=("$corpus")
		rc=0
		timeout $((secs + 120)) "$f" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
			-artifact_prefix="$d/" "$d/new" "${seeds[@]}" >"$d/log" 2>&1 || rc=$?
		execs=$(awk '/stat::number_of_executed_units/ {print $2; exit}' "$d/log")
		nfuzz=$((nfuzz + 1))
		total_execs=$((total_execs + ${execs:-0}))
		if [ $rc -ne 0 ]; then
			crashes=$((crashes + 1))
			problem "fuzz_$name: exit $rc after ${execs:-?} execs: $(grep -m1 -E 'ERROR|SUMMARY|deadly signal|timeout' "$d/log" || tail -1 "$d/log") (inputs and log: $d)"
		else
			rm -rf "$d/new"
			echo "stress: fuzz_$name: ${execs:-?} execs, 0 crashes"
		fi
	done
fi

# ---- 2. sweeps: two at once, kill and resume -------------------------------------------
. scripts/tests/sweep_lib.sh
nrefused=0 nresumed=0 nkill_int=0 nkill_kill=0
if [ "$sweeps" = 1 ] && [ "$rounds" -gt 0 ]; then
	for b in mtb_host rows2csv trace; do [ -x "$bin/$b" ] || die "$bin/$b not built (make tools)" 1; done
	bin=$(cd "$bin" && pwd)
	export MTB_BIN=$bin
	unset ENGINE GATE
	gate_bin "$bin" "$work/gbin"
	args=(--engine host --quick --guest-check none --only 'host\.buddy-bitmap-(talc|slab)\.larson' --no-plots)
	cases_of() { python3 -c 'import json,sys; print(" ".join(sorted({json.loads(l)["case"] for l in open(sys.argv[1])})))' "$1"; }
	scripts/run.sh "${args[@]}" --out "$work/clean" >"$work/clean.log" 2>&1 ||
		die "the clean sweep failed: $(tail -1 "$work/clean.log") (log: $work/clean.log)" 1
	clean=$(cases_of "$work/clean/rows.jsonl")
	nclean=$(wc -l <"$work/clean/rows.jsonl")
	ncases=$(wc -w <<<"$clean")
	[ "$ncases" -ge 2 ] || die "the clean sweep has $ncases cases, want 2 or more" 1
	echo "stress: sweeps: $rounds rounds on $ncases cases ($nclean rows)"
	for ((i = 1; i <= rounds; i++)); do
		# Two at once: the first held before its second case, the second started then.
		d=$work/two.$i
		gate_new "$work/gate" 1
		GATE=$work/gate MTB_BIN=$work/gbin scripts/run.sh "${args[@]}" --out "$d" >"$d.a.log" 2>&1 &
		a=$!
		if wait_for 'compgen -G "$work/gate/blocked.*" >/dev/null' "round $i: the first sweep at its second case" $a; then
			rc=0
			scripts/run.sh "${args[@]}" --out "$d" >"$d.b.log" 2>&1 || rc=$?
			if [ $rc -eq 1 ] && grep -q "in use by another sweep (pid $a)" "$d.b.log"; then
				nrefused=$((nrefused + 1))
			else
				problem "round $i: the second sweep was not refused (exit $rc): $(tail -1 "$d.b.log")"
			fi
		fi
		touch "$work/gate/release"
		rc=0
		wait $a || rc=$?
		[ $rc -eq 0 ] && [ "$(cases_of "$d/rows.jsonl" 2>/dev/null)" = "$clean" ] && sweep_intact "$d" ||
			problem "round $i: the first of two sweeps: exit $rc, not a clean run's cases (log: $d.a.log)"

		# Kill and resume: held after k replays (1 .. ncases - 1, a different one each round).
		d=$work/kill.$i
		k=$((1 + (i - 1) % (ncases - 1)))
		sig=INT
		[ $((i % 2)) = 1 ] || sig=KILL
		gate_new "$work/gate" $k
		set -m
		GATE=$work/gate MTB_BIN=$work/gbin scripts/run.sh "${args[@]}" --out "$d" >"$d.k.log" 2>&1 &
		a=$!
		set +m
		if wait_for 'compgen -G "$work/gate/blocked.*" >/dev/null' "round $i: the sweep at replay $((k + 1))" $a; then
			kill -"$sig" $a
		else
			problem "round $i: the sweep to kill never reached replay $((k + 1)) (log: $d.k.log)"
		fi
		touch "$work/gate/release"
		{ wait $a; } 2>/dev/null || true
		wait_for '! pgrep -f -- "$d" >/dev/null' "round $i: the killed sweep's processes gone" || true
		if [ "$sig" = INT ]; then nkill_int=$((nkill_int + 1)); else nkill_kill=$((nkill_kill + 1)); fi
		rc=0
		scripts/run.sh "${args[@]}" --out "$d" >"$d.r.log" 2>&1 || rc=$?
		if [ $rc -eq 0 ] && [ "$(cases_of "$d/rows.jsonl")" = "$clean" ] &&
			[ "$(wc -l <"$d/rows.jsonl")" = "$nclean" ] && sweep_intact "$d"; then
			nresumed=$((nresumed + 1))
		else
			problem "round $i: SIG$sig after $k replays, resumed: exit $rc, not a clean run's rows (log: $d.r.log)"
		fi
		echo "stress: round $i: two at once: $([ -f "$work/two.$i.b.log" ] && grep -q 'in use' "$work/two.$i.b.log" && echo refused || echo NOT refused); SIG$sig after $k replays: $([ $rc -eq 0 ] && echo resumed || echo NOT resumed)"
	done
fi

summary="fuzzers: not run"
[ "$fuzz" = 0 ] || summary="fuzzers: $nfuzz targets, $secs s each, $total_execs execs, $crashes crashes"
if [ "$sweeps" = 1 ] && [ "$rounds" -gt 0 ]; then
	summary="$summary; sweeps: $rounds rounds, second sweep refused $nrefused/$rounds, killed (INT $nkill_int, KILL $nkill_kill) and resumed to a clean run's rows $nresumed/$rounds"
else
	summary="$summary; sweeps: not run"
fi
echo "stress: $summary; $problems problems"
[ $problems -eq 0 ] || { echo "stress: kept $work" >&2; exit 1; }
