#!/usr/bin/env bash
# kvm_boot_test.sh: boots $MTB_GUEST under the VMM on /dev/kvm: selftest with
# 1, 2 and 4 vCPUs and with --holes (every CPU seen, "engine":"kvm" inserted,
# result file written atomically), calibration, a trace module, and the
# fault cases (div0, pf, hang + watchdog, bad hypercall pointer), each of
# which must end non-zero (1) with the right message and no result file.
# Skips (exit 77, "SKIP: reason") when /dev/kvm cannot be opened or the
# guest is not built: never a silent pass.
set -u
. "$(dirname "$0")/kvm_lib.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME ARGS...: runs the VMM, sets rc, keeps stdout/stderr, prints wall time.
run() {
	local name=$1 t0 t1
	shift
	rm -f "$tmp/r.jsonl"
	t0=$(date +%s.%N)
	"$VMM" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	t1=$(date +%s.%N)
	echo "== $name: exit $rc, wall $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s"
	sed 's/^/   | /' "$tmp/err" | tail -8
}

for n in 1 2 4; do
	run "selftest $n vCPU" --cpus $n --mem 256M --timeout 120 --out "$tmp/r.jsonl" "$GUEST" -- selftest
	[ $rc -eq 0 ] || fail "selftest $n vCPUs: exit $rc"
	grep -q '"engine":"kvm","timing_trusted":\(true\|false\),"calib_ratio":' "$tmp/r.jsonl" 2>/dev/null ||
		fail "selftest $n: no engine fields in $(cat "$tmp/r.jsonl" 2>/dev/null)"
	grep -q "\"kind\":\"selftest\".*\"cpus\":$n,\"cpus_seen\":$n,.*\"ok\":true" "$tmp/r.jsonl" 2>/dev/null ||
		fail "selftest $n: row not ok: $(cat "$tmp/r.jsonl" 2>/dev/null)"
	grep -q "VM exits" "$tmp/err" || fail "selftest $n: no VM exit count"
done

run "selftest holes" --cpus 2 --mem 1G --holes --timeout 120 --out "$tmp/r.jsonl" "$GUEST" -- selftest
[ $rc -eq 0 ] && grep -q '"ok":true' "$tmp/r.jsonl" 2>/dev/null || fail "selftest --holes: exit $rc"

head -c 100000 /dev/urandom >"$tmp/trace.bin"
run "calib + trace" --trace "$tmp/trace.bin" --timeout 300 --out "$tmp/r.jsonl" "$GUEST" -- calib
[ $rc -eq 0 ] || fail "calib: exit $rc"
grep -q "vmm: calibration: .* ratio" "$tmp/err" || fail "calib: no calibration line"
grep -q '"kind":"calib"' "$tmp/r.jsonl" 2>/dev/null && grep -q '"calib_ratio":[0-9]' "$tmp/r.jsonl" 2>/dev/null ||
	fail "calib: row lacks a ratio: $(cat "$tmp/r.jsonl" 2>/dev/null)"

# fault KIND NEEDLE [ARGS...]: must exit 1 with NEEDLE on stderr, no result file.
fault() {
	local kind=$1 needle=$2
	shift 2
	run "fault=$kind" --timeout 60 "$@" --out "$tmp/r.jsonl" "$GUEST" -- fault=$kind
	[ $rc -eq 1 ] || fail "fault=$kind: exit $rc, expected 1"
	grep -qF -- "$needle" "$tmp/err" || fail "fault=$kind: stderr lacks '$needle'"
	[ ! -e "$tmp/r.jsonl" ] || fail "fault=$kind: result file written"
}
fault div0 "#DE"
fault pf "#PF"
fault triple "triple fault (KVM_EXIT_SHUTDOWN)"
fault badhc "bad hypercall on port 0x500"
fault hang "watchdog" --timeout 5
grep -q "RIP=" "$tmp/err" || fail "fault=hang: no RIP printed"

[ $fails -eq 0 ] || { echo "kvm_boot_test: $fails failure(s)"; exit 1; }
echo "kvm_boot_test: ok"
