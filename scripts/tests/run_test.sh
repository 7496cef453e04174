#!/usr/bin/env bash
# run_test.sh: scripts/run.sh on its --quick subset with the host engine: one result file
# per case with well-formed rows, rows.jsonl + rows.csv with a header, a rerun skips every
# finished case, a run killed by SIGINT or SIGKILL leaves no partial case file and the
# rerun completes it to the same case set; --help, bad flags (one line, exit 2), and the
# default engine falls back with a reason where KVM is emulated. With QEMU: a guest check
# whose cases are replays that agree with the host on every deterministic metric, and the
# same check with a metric perturbed in the guest (MTB_PERTURB) failing the run; repeated
# cases (--reps 3) carry medians with intervals; every row, guest rows too, names the
# machine (cpu_model, cores, mem_bytes, kernel, kvm).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/tests/sweep_lib.sh
need_bin mtb_host rows2csv frame_bench
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset ENGINE

# --help, bad usage
# (into a file: grep -q would close the pipe early, and pipefail takes run.sh's SIGPIPE)
scripts/run.sh --help >"$t/help" && grep -q -- '--engine E' "$t/help" || fail "--help"
for bad in "--bogus" "--engine nosuch" "--cpus 0" "--cpus 1,x" "--ops x" "--reps 0" "--only ["; do
	set +e
	# shellcheck disable=SC2086
	scripts/run.sh $bad --out "$t/bad" >"$t/o" 2>"$t/e"
	rc=$?
	set -e
	[ $rc -eq 2 ] || fail "'$bad': exit $rc, want 2"
	[ "$(wc -l <"$t/e")" -eq 1 ] || fail "'$bad': not one line: $(cat "$t/e")"
	[ ! -e "$t/bad" ] || fail "'$bad' created the results directory"
done

# Default engine: kvm only where the VMM's calibration finds hardware KVM.
scripts/run.sh --quick --list >"$t/list" 2>"$t/e"
if grep -q 'falling back to the host engine' "$t/e"; then
	head -1 "$t/list" | grep -q '^host\.' || fail "fell back but the cases are not host"
else
	head -1 "$t/list" | grep -q '^kvm\.' || fail "no fallback message and not kvm: $(head -1 "$t/list")"
fi

# A full quick sweep.
scripts/run.sh --engine host --quick --out "$t/r" --no-plots >"$t/log1" 2>&1 ||
	{ cat "$t/log1"; fail "quick sweep"; }
ENGINE=host scripts/run.sh --quick --list 2>/dev/null | awk '{print $1}' >"$t/ids"
n=$(wc -l <"$t/ids")
[ "$n" -ge 20 ] || fail "only $n cases"
while read -r id; do
	[ -s "$t/r/cases/$id.jsonl" ] || fail "case $id has no file"
done <"$t/ids"
grep -q "^\[1/$n\] " "$t/log1" || fail "no progress lines"
grep -q 'elapsed .* eta ' "$t/log1" || fail "progress lacks elapsed/eta"
python3 - "$t/r/rows.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows, "no rows"
kinds = {r["kind"] for r in rows}
assert {"replay", "frame_churn"} <= kinds, kinds
for r in rows:
    assert r["engine"] == "host" and r["timing_trusted"] is True, r
    assert r["case"].startswith("host."), r
    assert "build" in r, r
    # The machine, in every row (frame_churn rows get the sweep's).
    assert r.get("kvm") in ("hardware", "emulated", "absent") and r.get("cores", 0) >= 1 and \
        r.get("mem_bytes", 0) > 0 and r.get("kernel") and "cpu_model" in r, r
rep = [r for r in rows if r["kind"] == "replay"]
assert {r["cpus"] for r in rep} >= {1}, "no 1-CPU rows"
assert any(r["heap"] == "talc" for r in rep) and any(r["heap"] == "slab" for r in rep)
assert any(r["heap"] == "glibc" for r in rep), "no peer baseline"
assert any(r["heap"] == "null" and r["mode"] == "parallel" for r in rep), "no harness ceiling"
assert {r["cpus"] for r in rep if r["mode"] == "parallel"} >= {1, 2}, "no scaling points"
for r in rep:
    if r["heap"] in ("talc", "slab"):
        assert r["phys_meta_bytes"] > 0 and r["va_meta_bytes"] >= 0 and r["reps"] >= 1, r
PY
head -1 "$t/r/rows.csv" | grep -q '^engine,timing_trusted,kind,' || fail "CSV header: $(head -1 "$t/r/rows.csv")"
[ "$(($(wc -l <"$t/r/rows.csv") - 1))" -eq "$(wc -l <"$t/r/rows.jsonl")" ] || fail "CSV rows != JSON rows"

# Resume: a rerun runs nothing and leaves the case files as they were.
sum1=$(cat "$t/r/cases/"*.jsonl | md5sum)
scripts/run.sh --engine host --quick --out "$t/r" --no-plots >"$t/log2" 2>&1 || { cat "$t/log2"; fail "rerun"; }
grep -q "(0 run now, $n already done)" "$t/log2" || fail "rerun did not skip: $(tail -3 "$t/log2")"
grep -q '^\[' "$t/log2" && fail "rerun ran cases again"
[ "$(cat "$t/r/cases/"*.jsonl | md5sum)" = "$sum1" ] || fail "rerun changed finished cases"

# Interrupted runs: mtb_host behind a gate (scripts/tests/sweep_lib.sh) that holds the
# sweep's 4th replay, so the signal lands mid-sweep at a known point, however slow the
# machine (never after a guessed time).
gate_bin "$bin" "$t/slow"
check_partial() { # DIR: every case file is complete; no temporary files (unless $2 = any)
	python3 - "$1" <<'PY'
import json, os, sys
d = os.path.join(sys.argv[1], "cases")
for f in os.listdir(d):
    if ".tmp." in f:
        continue
    rows = [json.loads(l) for l in open(os.path.join(d, f))]
    base = f.split(".r")[0] + ".jsonl" if ".jsonl" in f and f.rsplit(".", 2)[-2].startswith("r") else f
    assert rows and all(r["case"] + ".jsonl" in (f, base) for r in rows), f
PY
}
ksel='buddy-bitmap-(talc|slab)|\.glibc\.|frame_churn' # a subset keeps the test short
kn=$(ENGINE=host scripts/run.sh --quick --list --only "$ksel" 2>/dev/null | wc -l)
krows=$(grep -cE "\"case\":\"[^\"]*($ksel)" "$t/r/rows.jsonl")
for sig in INT KILL; do
	d=$t/k$sig
	gate_new "$t/gate" 3
	set -m # job control: the background run gets SIGINT like a terminal's Ctrl-C would
	GATE=$t/gate MTB_BIN=$t/slow scripts/run.sh --engine host --quick --only "$ksel" --out "$d" --no-plots >"$t/klog" 2>&1 &
	pid=$!
	set +m
	# The signal lands while the 4th replay is held (3 cases done, the 4th in flight).
	wait_for 'compgen -G "$t/gate/blocked.*" >/dev/null' "SIG$sig: the sweep at its 4th replay" "$pid" ||
		{ cat "$t/klog"; exit 1; }
	kill -"$sig" "$pid"
	set +e
	{ wait "$pid"; } 2>/dev/null # no "Killed" job notice
	rc=$?
	set -e
	if [ "$sig" = INT ]; then
		[ $rc -eq 130 ] || fail "SIGINT: exit $rc, want 130"
		grep -q 'interrupted; finished cases are kept' "$t/klog" || fail "SIGINT: no message"
		[ -z "$(find "$d" -name '*.tmp.*')" ] || fail "SIGINT left temporary files: $(find "$d" -name '*.tmp.*')"
		[ ! -e "$d/rows.jsonl" ] || fail "SIGINT: rows.jsonl written"
	fi
	# A case job may outlive run.sh (after SIGKILL it goes on, past the gate, and may
	# finish its case; after SIGINT it is still cleaning up): wait until no process of
	# that sweep is left (all of them name its directory), then count.
	touch "$t/gate/release"
	wait_for '! pgrep -f -- "$d" >/dev/null' "SIG$sig: the sweep's processes gone" || exit 1
	got=$(find "$d/cases" -name '*.jsonl' ! -name '*.r[0-9]*.jsonl' | wc -l)
	reps_left=$(find "$d/cases" -name '*.r[0-9]*.jsonl' | wc -l)
	[ "$got" -gt 0 ] && [ "$got" -lt "$kn" ] || fail "SIG$sig: $got of $kn cases done, want some"
	check_partial "$d" || fail "SIG$sig left a partial case file"
	scripts/run.sh --engine host --quick --only "$ksel" --out "$d" --no-plots >"$t/klog2" 2>&1 ||
		{ cat "$t/klog2"; fail "SIG$sig: resume"; }
	grep -q ", $((got + reps_left)) already done)" "$t/klog2" ||
		fail "SIG$sig: resume did not skip the $got done: $(grep 'already done' "$t/klog2")"
	[ "$(find "$d/cases" -name '*.jsonl' | wc -l)" -eq "$kn" ] || fail "SIG$sig: resume incomplete"
	[ -z "$(find "$d" -name '*.tmp.*')" ] || fail "SIG$sig: temporary files after resume"
	[ "$(wc -l <"$d/rows.jsonl")" -eq "$krows" ] || fail "SIG$sig: $(wc -l <"$d/rows.jsonl") rows, want $krows"
done
# Repetitions: medians with intervals, interleaved (every case's rep 1 before any rep 2).
scripts/run.sh --engine host --quick --reps 3 --only 'host\.(buddy-bitmap-talc|glibc)\.larson' \
	--out "$t/reps" --no-plots >"$t/rlog" 2>&1 || { cat "$t/rlog"; fail "--reps 3"; }
awk '/^\[/ {print $2, $4}' "$t/rlog" | awk '{r[NR] = $2} END {exit !(r[1] == "1/3" && r[NR] == "3/3")}' ||
	fail "repetitions not interleaved: $(grep '^\[' "$t/rlog" | head -4)"
python3 - "$t/reps/rows.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 6, len(rows)
for r in rows:
    assert r["reps"] == 3 and len(r["ops_per_s_reps"]) == 3, r
    assert r["ops_per_s_ci_lo"] <= r["ops_per_s"] <= r["ops_per_s_ci_hi"], r
    assert r["ci_coverage"] == 0.75 and r["cpu_model"] is not None and "load_before" in r, r
PY

# The guest check under QEMU: replays (never selftest), cross-checked with the host.
if command -v qemu-system-x86_64 >/dev/null; then
	sel='^(host|qemu)\.buddy-bitmap-(talc|null)\.(gnu-ld|larson)'
	scripts/run.sh --engine host --quick --guest-check qemu --only "$sel" --out "$t/g" --no-plots \
		>"$t/glog" 2>&1 || { cat "$t/glog"; fail "guest check"; }
	grep -q 'crosscheck: [1-9][0-9]* host/guest pairs, .* 0 mismatches' "$t/glog" || fail "no cross-check: $(tail -3 "$t/glog")"
	# Every guest case the sweep listed (larson at 1 and 2 CPUs per heap, and gnu-ld where
	# the bundled traces are present) gave replay rows.
	nq=$(ENGINE=host scripts/run.sh --quick --guest-check qemu --only "$sel" --list | grep -c '^qemu\.')
	python3 - "$t/g/rows.jsonl" "$nq" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
q = [r for r in rows if r["engine"] == "qemu"]
assert int(sys.argv[2]) >= 4, "listed guest cases: " + sys.argv[2]
assert len(q) == int(sys.argv[2]) and all(r["kind"] == "replay" for r in q), [r["kind"] for r in q]
assert {r["heap"] for r in q} == {"talc", "null"} and {r["mode"] for r in q} == {"serial", "parallel"}
host = [r for r in rows if r["engine"] == "host"][0]
for r in q:  # a guest row names the machine the sweep ran on, as the host rows do
    assert all(r.get(k) == host[k] for k in ("cpu_model", "cores", "mem_bytes", "kernel", "kvm")), r
PY
	set +e
	MTB_PERTURB=footprint_end_bytes scripts/run.sh --engine host --quick --guest-check qemu --only "$sel" \
		--out "$t/gp" --no-plots >"$t/gplog" 2>&1
	rc=$?
	set -e
	[ $rc -eq 1 ] || fail "a perturbed guest metric: exit $rc, want 1"
	grep -q 'MISMATCH .*footprint_end_bytes: host' "$t/gplog" && grep -q 'guest cross-check FAILED' "$t/gplog" ||
		fail "a perturbed guest metric was not reported: $(tail -3 "$t/gplog")"
else
	echo "SKIP (part): no qemu-system-x86_64: no guest check"
fi
echo "run_test: ok ($n cases)"
