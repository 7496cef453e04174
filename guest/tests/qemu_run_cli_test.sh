#!/usr/bin/env bash
# qemu_run_cli_test.sh: scripts/qemu_run.sh rejects bad input with exactly one line on stderr
# and a non-zero exit (64 for usage, 125 when QEMU cannot load the file); --help works.
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
echo 'not an elf' >"$tmp/notelf"
bad 125 'QEMU exited with status' --elf "$tmp/notelf" --timeout 10 -- selftest
[ $fails -eq 0 ]
