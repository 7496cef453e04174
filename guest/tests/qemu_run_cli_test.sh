#!/usr/bin/env bash
# qemu_run_cli_test.sh: scripts/qemu_run.sh rejects bad input with exactly one line on stderr
# and a non-zero exit (64 for usage: a file that is not an x86_64 ELF and an --out in a
# directory that does not exist included, both before QEMU starts); --help works.
set -u
. "$(dirname "$0")/qemu_lib.sh"

"$run" --help >"$tmp/stdout" 2>&1 && grep -q -- '--cpus N' "$tmp/stdout" && echo "ok: --help" ||
	fail "--help"

# bad WANT_RC PATTERN ARGS...
bad() {
	local want=$1 pat=$2
	shift 2
	"$run" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	if [ "$rc" -ne "$want" ] || [ "$(wc -l <"$tmp/stderr")" -ne 1 ] || ! grep -q -- "$pat" "$tmp/stderr"; then
		fail "'$*': exit $rc (want $want) or message not one line matching '$pat'"
	else
		echo "ok: '$*': $(cat "$tmp/stderr")"
	fi
}
bad 64 "unknown option '--bogus'" --elf "$elf" --bogus
bad 64 'cpus must be 1..64' --elf "$elf" --cpus 0
bad 64 'cpus must be 1..64' --elf "$elf" --cpus 65
bad 64 'mem must look like' --elf "$elf" --mem 1K
bad 64 'machine must be pc or microvm' --elf "$elf" --machine q35
bad 64 'accel must be tcg or kvm' --elf "$elf" --accel hvf
bad 64 'needs --machine pc' --elf "$elf" --machine microvm --exit acpi
bad 64 '--timeout needs a value' --elf "$elf" --timeout
bad 64 "guest ELF '/nonexistent' not found" --elf /nonexistent
bad 64 'topology must look like' --elf "$elf" --topology 'cores=2;rm'
bad 64 '--qemu-arg needs a value' --elf "$elf" --qemu-arg
# Not an x86_64 ELF: refused before QEMU starts (QEMU took random bytes for another
# kernel format and hung until the timeout). --timeout 10 bounds a regression.
echo 'not an elf' >"$tmp/notelf"
bad 64 "guest ELF '$tmp/notelf': not an x86_64 ELF" --elf "$tmp/notelf" --timeout 10 -- selftest
head -c 65536 /dev/urandom >"$tmp/random.bin"
bad 64 "guest ELF '$tmp/random.bin': not an x86_64 ELF" --elf "$tmp/random.bin" --timeout 10 -- selftest
cp "$tmp/random.bin" "$tmp/random.elf"
printf '\177ELF' | dd of="$tmp/random.elf" conv=notrunc status=none # magic right, rest random
bad 64 "guest ELF '$tmp/random.elf': not an x86_64 ELF" --elf "$tmp/random.elf" --timeout 10 -- selftest
# the guest's own header with e_machine (bytes 18-19) set to EM_AARCH64 (183)
cp "$elf" "$tmp/arm.elf"
printf '\267\000' | dd of="$tmp/arm.elf" bs=1 seek=18 conv=notrunc status=none
bad 64 'not an x86_64 ELF' --elf "$tmp/arm.elf" --timeout 10 -- selftest
# --out (and --log) in a directory that does not exist: refused, nothing created.
bad 64 "--out $tmp/no/such/r.jsonl: directory '$tmp/no/such' does not exist" \
	--elf "$elf" --out "$tmp/no/such/r.jsonl" --timeout 10 -- selftest
bad 64 "--log $tmp/no/serial.log: directory '$tmp/no' does not exist" \
	--elf "$elf" --log "$tmp/no/serial.log" --timeout 10 -- selftest
[ ! -e "$tmp/no" ] && echo "ok: no directory created" || fail "qemu_run created $tmp/no"
# Numbers are decimal: --cpus 010 is ten CPUs (QEMU's -smp 010 alone would be 8).
"$run" --elf "$elf" --cpus 010 --timeout 120 --out "$tmp/c.jsonl" -- selftest >/dev/null 2>"$tmp/stderr" &&
	grep -q '"cpus_seen":10,' "$tmp/c.jsonl" && echo "ok: --cpus 010 = 10 CPUs" ||
	fail "--cpus 010: $(cat "$tmp/stderr") $(grep -o '"cpus_seen":[0-9]*' "$tmp/c.jsonl")"
[ $fails -eq 0 ]
