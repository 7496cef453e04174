#!/usr/bin/env bash
# vareplay_engines_test.sh: address-space traces (.vmt) replayed inside the guest give
# the host's metrics (and va_replay's mix generator, as trace gen va_churn makes it). Each bundled trace (../shared/traces/vm/*.vmt, or $MTB_VM_TRACES;
# a built-in sample without them) is converted (trace convert: the ops va_replay
# replays) and replayed by the guest's `vareplay` on every VA strategy under QEMU TCG
# (-initrd), under our VMM when /dev/kvm opens, and under libvirt (one trace) when
# virsh is installed and we are root (libvirt_daemons.sh); build/bin/va_replay replays
# the .vmt on the host. Both run workloads/core/va_run.c, so scripts/crosscheck.py must
# find every guest row's host twin equal on every field but timing and the host's
# vmt_* parse counts (at least 29 fields a pair). Negative controls: perturb=FIELD on
# the guest's command line, and a host row of another window size (--size-tib 32),
# must each make the comparison fail, naming the field. An engine that cannot run here
# is skipped with a note; the test skips (77) only when no guest engine can run. On an
# emulated /dev/kvm (no vmx/svm flag: about 1000x slower than native, and a first touch
# of guest memory far slower still) our VMM replays the trees and the free list one by
# one but not the bitmaps (the first touch of their 10-320 MB of metadata outlasts the
# 240 s timeout there), and libvirt runs its domains under TCG; the QEMU engine still
# replays every strategy.
set -u
BIN=${MTB_BIN:-build/bin}
VMM=${MTB_VMM:-build/bin/vmm}
GUEST=${MTB_GUEST:-build/guest/buddy-bitmap-talc/guest.elf}
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$GUEST" ] || { echo "SKIP: guest ELF not built (MTB_GUEST=$GUEST)"; exit 77; }
for b in va_replay trace; do
	[ -x "$BIN/$b" ] || { echo "FAIL: $BIN/$b not built"; exit 1; }
done
kvm=false qemu=false libvirt=false
[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null && [ -x "$VMM" ] && kvm=true
command -v qemu-system-x86_64 >/dev/null && qemu=true
command -v virsh >/dev/null && [ "$(id -u)" -eq 0 ] && libvirt=true
$kvm || echo "note: /dev/kvm cannot be opened: the VMM engine is skipped"
$qemu || echo "note: qemu-system-x86_64 not installed: the QEMU engine is skipped"
$libvirt || echo "note: no virsh or not root: the libvirt engine is skipped"
$kvm || $qemu || $libvirt || { echo "SKIP: no guest engine (no /dev/kvm, QEMU or libvirt)"; exit 77; }
. "$root/scripts/results_lib.sh" # kvm_is_accelerated
kvm_fast=true lv_type=()
if [ -c /dev/kvm ] && ! kvm_is_accelerated; then
	kvm_fast=false lv_type=(--type qemu)
	echo "note: /dev/kvm is emulated (no vmx/svm flag): our VMM skips the bitmaps, libvirt runs TCG"
fi
tmp=$(mktemp -d)
state=
cleanup() { [ "$state" = started ] && "$root/scripts/libvirt_daemons.sh" stop >/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

vd=${MTB_VM_TRACES:-$root/../shared/traces/vm}
traces=()
[ -d "$vd" ] && mapfile -t traces < <(find "$vd" -maxdepth 1 -name '*.vmt' | sort)
if [ ${#traces[@]} -eq 0 ]; then
	echo "note: no .vmt in $vd: a built-in sample"
	printf '1 1 exec /x\n1 1 map 10000 8192 rw- a\n1 1 brk 80000\n1 1 brk 90000\n1 1 map 40000 4096 r-- f\n1 1 unmap 10000 4096\n' >"$tmp/sample.vmt"
	traces=("$tmp/sample.vmt")
fi
extra=(bitmap-64k btree-best btree-bare-best) # besides --virt all's four (the host: on every trace)

# Guest rows name the trace "module0": named as the host names it (run_lib's guest_rows).
name_rows() { # ROWS NAME
	sed -i "s/\"trace\":\"module0\"/\"trace\":\"$2\"/" "$1"
}
# ENGINE BLOB OUT COMMAND...: one guest run (256 MiB; 2 GiB for bitmap-64k, whose
# 320 MB of metadata for the 64 TiB window are one block); 0, or 1 (its log's tail printed).
guest_run() {
	local e=$1 blob=$2 out=$3 rc=0 mib=256
	shift 3
	[ "$1" = vareplay=bitmap-64k ] && mib=2048
	case $e in
	qemu) "$root/scripts/qemu_run.sh" --elf "$GUEST" --cpus 1 --mem "${mib}M" --timeout 240 \
		--trace "$blob" --out "$out" -- "$@" >"$out.log" 2>&1 || rc=1 ;;
	kvm) "$VMM" --cpus 1 --mem "${mib}M" --timeout 240 --trace "$blob" --out "$out" "$GUEST" \
		-- "$@" >"$out.log" 2>&1 || rc=1 ;;
	libvirt) "$root/scripts/libvirt_run.sh" "${lv_type[@]}" --cpus 1 --mem "$mib" --timeout 240 \
		--trace "$blob" --out "$out" "$GUEST" -- "$@" >"$out.log" 2>&1 || rc=1 ;;
	esac
	[ $rc -eq 0 ] || { tail -3 "$out.log"; return 1; }
}

# ENGINE BLOB TRACE K OUT COMMAND...: one guest run whose K rows, named after TRACE,
# join the comparison (rows, want); 1 (a failure counted) if the run fails.
guest_rows() {
	local e=$1 blob=$2 n=$3 k=$4 out=$5
	shift 5
	guest_run "$e" "$blob" "$out" "$@" || { fail "$n: $e $*"; return 1; }
	name_rows "$out" "$n"
	rows+=("$out")
	want=$((want + k))
}

engines=()
$qemu && engines+=(qemu)
$kvm && engines+=(kvm)
if $libvirt; then
	if state=$("$root/scripts/libvirt_daemons.sh" start 2>"$tmp/lv.err"); then
		engines+=(libvirt)
	else
		state=started # a start that timed out may have left the daemons it started
		echo "note: libvirt's daemons do not start ($(head -1 "$tmp/lv.err")): libvirt skipped"
	fi
fi
rows=() want=0
for t in "${traces[@]}"; do
	n=$(basename "$t")
	b=$tmp/${n%.vmt}
	"$BIN/trace" convert "$t" "$b.mtb" >/dev/null || { fail "trace convert $n"; continue; }
	"$BIN/va_replay" --trace "$t" --virt all --out "$b.host" 2>/dev/null || fail "$n: va_replay"
	for v in "${extra[@]}"; do
		"$BIN/va_replay" --trace "$t" --virt "$v" --out "$b.host.$v" 2>/dev/null || fail "$n: va_replay $v"
		rows+=("$b.host.$v")
	done
	rows+=("$b.host")
	for e in "${engines[@]}"; do
		# libvirt: the first trace only (each domain start takes seconds)
		[ "$e" = libvirt ] && [ "$t" != "${traces[0]}" ] && continue
		if [ "$e" = kvm ] && ! $kvm_fast; then # emulated: one strategy a run, no bitmap
			for v in btree btree-bare freelist btree-best btree-bare-best; do
				guest_rows kvm "$b.mtb" "$n" 1 "$b.kvm.$v" "vareplay=$v"
			done
			continue
		fi
		guest_rows "$e" "$b.mtb" "$n" 4 "$b.$e" vareplay || continue
		for v in "${extra[@]}"; do
			# bitmap-64k zeroes 320 MB (seconds under TCG): the first trace only
			[ "$v" = bitmap-64k ] && [ "$t" != "${traces[0]}" ] && continue
			guest_rows "$e" "$b.mtb" "$n" 1 "$b.$e.$v" "vareplay=$v"
		done
	done
done
# va_replay's mix generator: trace gen va_churn with its bounds and slots makes the same
# ops (run.sh's guest va:mix case), replayed with workload=mix; the first engine only.
if [ ${#engines[@]} -gt 0 ]; then
	"$BIN/trace" gen va_churn "$tmp/mix.mtb" --ops 4000 --slots 64 --seed 7 --min-size 4096 \
		--max-size 1073741824 >/dev/null || fail "trace gen va_churn"
	"$BIN/va_replay" --gen mix --ops 4000 --slots 64 --seed 7 --virt all --out "$tmp/mix.host" \
		2>/dev/null || fail "va_replay --gen mix"
	if guest_run "${engines[0]}" "$tmp/mix.mtb" "$tmp/mix.guest" vareplay workload=mix; then
		name_rows "$tmp/mix.guest" mix
		rows+=("$tmp/mix.host" "$tmp/mix.guest")
		want=$((want + 4))
	else
		fail "mix: ${engines[0]} vareplay"
	fi
fi
if python3 "$root/scripts/crosscheck.py" --out "$tmp/cc.json" "${rows[@]}" >"$tmp/cc.out"; then
	tail -1 "$tmp/cc.out"
else
	fail "engines disagree:"; head -20 "$tmp/cc.out"
fi
python3 - "$tmp/cc.json" "$want" <<'PY' || fail "not every guest row was compared"
import json, sys
c, want = json.load(open(sys.argv[1])), int(sys.argv[2])
va = [p for p in c["pairs"] if p["kind"] == "va_frag"]
assert len(va) == want and c["summary"]["unmatched_guest_rows"] == 0, (len(va), want, c["summary"])
assert all(p["fields"] >= 29 for p in va), [p["fields"] for p in va]
virts = {p["combo"] for p in va}
assert virts == {"bitmap", "btree", "btree-bare", "freelist", "bitmap-64k", "btree-best",
                 "btree-bare-best"}, virts
PY

# Negative controls, on the first trace and the first engine.
e=${engines[0]:-}
t=${traces[0]}
n=$(basename "$t")
b=$tmp/${n%.vmt}
neg() { # WHAT FIELD ROWFILE...
	local what=$1 field=$2
	shift 2
	if python3 "$root/scripts/crosscheck.py" "$@" >"$tmp/neg.out" 2>&1; then
		fail "$what: a changed $field was not caught"
	else
		grep -q "MISMATCH .*: $field: " "$tmp/neg.out" || fail "$what: $(head -2 "$tmp/neg.out")"
	fi
}
if [ -n "$e" ] && [ -f "$b.$e" ]; then
	if guest_run "$e" "$b.mtb" "$b.perturbed" vareplay perturb=peak_free_ranges; then
		name_rows "$b.perturbed" "$n"
		neg "guest perturbed" peak_free_ranges "$b.host" "$b.perturbed"
	else
		fail "perturbed vareplay"
	fi
	"$BIN/va_replay" --trace "$t" --virt all --size-tib 32 --out "$b.host32" 2>/dev/null || fail "va_replay 32 TiB"
	neg "host window 32 TiB" va_size_bytes "$b.host32" "$b.$e"
fi
# The command's contract: no blob, a bad strategy.
if [ "$e" = qemu ]; then
	"$root/scripts/qemu_run.sh" --elf "$GUEST" --cpus 1 --mem 256M --timeout 60 -- vareplay \
		>"$tmp/noblob.log" 2>&1 && fail "vareplay without a blob exited 0"
	grep -q 'vareplay: no trace blob' "$tmp/noblob.log" || fail "no-blob message: $(tail -2 "$tmp/noblob.log")"
	guest_run qemu "$b.mtb" "$tmp/bad" vareplay=nope >/dev/null && fail "vareplay=nope exited 0"
	grep -q "vareplay: unknown strategy 'nope'" "$tmp/bad.log" || fail "bad strategy message: $(tail -2 "$tmp/bad.log")"
fi
[ $fails -eq 0 ] || { echo "vareplay_engines_test: $fails failure(s)"; exit 1; }
echo "vareplay_engines_test: ok (${engines[*]})"
