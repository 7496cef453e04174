#!/usr/bin/env bash
# qemu_boot_test.sh: boots the guest ELF under QEMU TCG on the pc and microvm machines with
# 1 and 4 CPUs; selftest must pass and report every CPU in one result row. Also: calib row,
# exit=acpi (libvirt's way out), unknown command -> exit 2, a CPU topology with gaps in the
# APIC ids (MADT) and a machine without ACPI (fw_cfg CPU count). The same boots under -accel kvm
# only when /dev/kvm is usable (else that part prints SKIP).
set -u
. "$(dirname "$0")/qemu_lib.sh"

# selftest MACHINE ACCEL CPUS [QEMU_RUN_ARGS...]
selftest() {
	local what="selftest $1/$2/$3 cpus${4:+ ${*:4}}"
	qrun --machine "$1" --accel "$2" --cpus "$3" --timeout 60 "${@:4}" -- selftest
	[ "$rc" -eq 0 ] || { fail "$what: exit $rc"; return; }
	[ "$(grep -c '"kind":"selftest"' "$tmp/out")" -eq 1 ] || { fail "$what: not exactly one row"; return; }
	grep -q "^{\"engine\":\"qemu\",\"timing_trusted\":\(true\|false\),\"kind\":\"selftest\"" "$tmp/out" ||
		fail "$what: engine fields missing"
	grep -q "\"cpus\":$3,\"cpus_seen\":$3,\"counter\":$(($3 * 100000)),\"expected\":$(($3 * 100000))," "$tmp/out" ||
		fail "$what: wrong cpu count or counter"
	grep -q '"combo":"[a-z]*-[a-z]*-[a-z]*","build":"[^"]\+"' "$tmp/out" || fail "$what: combo/build missing"
	grep -q '"ok":true' "$tmp/out" || fail "$what: ok is not true"
	echo "ok: $what"
}

for m in pc microvm; do
	for n in 1 4; do
		selftest "$m" tcg "$n"
	done
done

# APIC ids 0,1,2,4,5,6 (from the MADT), and the fw_cfg path without ACPI.
selftest pc tcg 6 --topology sockets=2,cores=3
grep -q "6 cpus (ACPI MADT)" "$tmp/stdout" || fail "topology run did not use the MADT"
selftest microvm tcg 3 --qemu-arg -M --qemu-arg acpi=off
grep -q "3 cpus (fw_cfg)" "$tmp/stdout" || fail "acpi=off run did not use fw_cfg"

qrun --machine microvm -- calib
if [ "$rc" -ne 0 ] || ! grep -q '"kind":"calib".*"iters":1000000,"tsc_cycles":[1-9]' "$tmp/out"; then
	fail "calib: exit $rc or no calib row"
else
	echo "ok: calib: $(cat "$tmp/out")"
fi

qrun --machine pc --exit acpi -- selftest
[ "$rc" -eq 0 ] && grep -q '"ok":true' "$tmp/out" && echo "ok: exit=acpi" || fail "exit=acpi: exit $rc"

qrun --machine microvm -- nosuchcommand
[ "$rc" -eq 2 ] && grep -q "unknown command 'nosuchcommand'" "$tmp/stdout" &&
	echo "ok: unknown command" || fail "unknown command: exit $rc (want 2)"

if kvm_usable; then
	selftest pc kvm 1
	selftest pc kvm 4
else
	echo "SKIP: -accel kvm part: /dev/kvm is not usable here"
fi
[ $fails -eq 0 ]
