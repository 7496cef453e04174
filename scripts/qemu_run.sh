#!/usr/bin/env bash
# qemu_run.sh: boots the guest ELF under QEMU (PVH), collects its result rows, maps its exit code.
# Usage: scripts/qemu_run.sh [options] [-- GUEST-CMDLINE...]
#   --cpus N           vCPUs, 1..64 (default 1)
#   --mem SIZE         guest RAM, e.g. 256M, 2G (default 256M)
#   --timeout SEC      wall-clock limit; past it the guest counts as hung (default 30)
#   --machine M        pc | microvm (default pc)
#   --accel A          tcg | kvm (default tcg)
#   --exit E           debug (isa-debug-exit, default) | acpi (ACPI poweroff, pc only, as libvirt)
#   --elf FILE         guest ELF (default $MTB_GUEST, else build/guest/buddy-bitmap-talc/guest.elf)
#   --out FILE         result rows as JSON lines, with "engine":"qemu","timing_trusted":B added
#                      (FILE's directory must exist: it is never created)
#   --log FILE         also keep the raw serial log there (its directory must exist too)
#   --topology T       CPU topology for -smp, e.g. sockets=2,cores=3 (APIC ids with gaps)
#   --trace FILE       trace blob for the guest's `replay`: -initrd FILE (PVH module 0)
#   --qemu-arg ARG     one more QEMU argument (repeatable), e.g. --qemu-arg -M --qemu-arg acpi=off
# The serial console is echoed on stdout. Exit status: the guest's exit code (0 = success;
# 99 = guest panic, e.g. an exception), 124 = hang (timeout), 125 = QEMU failed or no exit
# code from the guest, 64 = bad usage (a guest ELF that is not x86_64 included: checked
# before QEMU starts). Every failure also prints one line on stderr.
set -euo pipefail
. "$(dirname "$0")/out_lib.sh"

die_usage() {
	echo "qemu_run: $*" >&2
	exit 64
}

cpus=1 mem=256M timeout_s=30 machine=pc accel=tcg exit_mode=debug out= log= topology= trace=
extra=()
elf=${MTB_GUEST:-build/guest/buddy-bitmap-talc/guest.elf}
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
		exit 0
		;;
	--cpus | --mem | --timeout | --machine | --accel | --exit | --elf | --out | --log | --topology | --trace | --qemu-arg)
		[ $# -ge 2 ] || die_usage "$1 needs a value"
		case $1 in
		--cpus) cpus=$2 ;; --mem) mem=$2 ;; --timeout) timeout_s=$2 ;;
		--machine) machine=$2 ;; --accel) accel=$2 ;; --exit) exit_mode=$2 ;;
		--elf) elf=$2 ;; --out) out=$2 ;; --log) log=$2 ;;
		--topology) topology=$2 ;; --trace) trace=$2 ;; --qemu-arg) extra+=("$2") ;;
		esac
		shift 2
		;;
	--)
		shift
		break
		;;
	*) die_usage "unknown option '$1' (see --help)" ;;
	esac
done
cmdline="$*"

[[ $cpus =~ ^[0-9]{1,9}$ ]] && [ $((10#$cpus)) -ge 1 ] && [ $((10#$cpus)) -le 64 ] ||
	die_usage "--cpus must be 1..64, got '$cpus'"
[[ $mem =~ ^[0-9]{1,9}[MG]$ ]] || die_usage "--mem must look like 256M or 2G, got '$mem'"
# Decimal, as documented: QEMU would read a leading 0 as octal (-smp 010 = 8 CPUs).
cpus=$((10#$cpus)) mem=$((10#${mem%?}))${mem: -1}
[[ $timeout_s =~ ^[0-9]+(\.[0-9]+)?$ ]] || die_usage "--timeout must be seconds, got '$timeout_s'"
case $machine in pc | microvm) ;; *) die_usage "--machine must be pc or microvm, got '$machine'" ;; esac
case $accel in tcg | kvm) ;; *) die_usage "--accel must be tcg or kvm, got '$accel'" ;; esac
case $exit_mode in debug | acpi) ;; *) die_usage "--exit must be debug or acpi, got '$exit_mode'" ;; esac
[ "$exit_mode" = acpi ] && [ "$machine" != pc ] && die_usage "--exit acpi needs --machine pc"
[ -f "$elf" ] || die_usage "guest ELF '$elf' not found"
# ELF magic, 64-bit class, little endian (bytes 0-5), e_machine 62 = x86_64 (bytes 18-19):
# QEMU would take anything else for another kernel format and hang or fail obscurely.
ident=$(od -An -tx1 -N20 -v "$elf" | tr -d ' \n')
[[ $ident =~ ^7f454c460201.{24}3e00$ ]] ||
	die_usage "guest ELF '$elf': not an x86_64 ELF (ELF64, little endian, EM_X86_64)"
[ -z "$topology" ] || [[ $topology =~ ^[a-z]+=[0-9]+(,[a-z]+=[0-9]+)*$ ]] ||
	die_usage "--topology must look like sockets=2,cores=3, got '$topology'"
[ -z "$trace" ] || [ -f "$trace" ] || die_usage "--trace file '$trace' not found"
for f in out log; do
	[ -z "${!f}" ] || [ -d "$(dirname -- "${!f}")" ] ||
		die_usage "--$f ${!f}: directory '$(dirname -- "${!f}")' does not exist"
	[ -z "${!f}" ] || [ ! -d "${!f}" ] || die_usage "--$f ${!f}: is a directory"
done
[ "$exit_mode" = acpi ] && cmdline="exit=acpi $cmdline"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
serial=$tmp/serial
args=(-accel "$accel" -smp "$cpus${topology:+,$topology}" -m "$mem" -nodefaults -no-user-config -display none
	-monitor none -serial "file:$serial" -no-reboot -kernel "$elf" -append "$cmdline")
if [ "$machine" = microvm ]; then
	args=(-M microvm "${args[@]}")
else
	args=(-M pc "${args[@]}")
fi
[ "$exit_mode" = debug ] && args+=(-device isa-debug-exit,iobase=0xf4,iosize=0x04)
[ -n "$trace" ] && args+=(-initrd "$trace")
args+=("${extra[@]}")

set +e
timeout -k 2 "$timeout_s" qemu-system-x86_64 "${args[@]}" 2>"$tmp/stderr"
rc=$?
set -e
touch "$serial"
tr -d '\r' <"$serial" >"$tmp/log"
grep -av '^@@R ' "$tmp/log" || true
[ -n "$log" ] && cp "$tmp/log" "$log"

# timing_trusted: only under hardware-accelerated KVM (vmx/svm on the host).
trusted=false
[ "$accel" = kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && trusted=true
if [ -n "$out" ]; then
	sed -n "s/^@@R {/{\"engine\":\"qemu\",\"timing_trusted\":$trusted,/p" "$tmp/log" >"$tmp/out"
	out_install "$tmp/out" "$out" qemu_run || exit 125
fi

what="(${machine}, ${accel}, ${cpus} cpus, cmdline '$cmdline')"
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "qemu_run: hang: guest did not exit within ${timeout_s}s $what" >&2
	exit 124
fi
code=$(sed -n 's/^@@EXIT \([0-9-]*\)$/\1/p' "$tmp/log" | tail -1)
if [ -z "$code" ] && [ $rc -eq 0 ]; then
	# -no-reboot turns a guest reset into a clean QEMU exit: a triple fault looks like this.
	echo "qemu_run: guest reset without an exit code (triple fault?) $what" >&2
	exit 125
elif [ -z "$code" ]; then
	echo "qemu_run: QEMU exited with status $rc and no exit code from the guest $what: $(head -1 "$tmp/stderr")" >&2
	exit 125
fi
if [ "$exit_mode" = debug ] && [ $rc -ne $(((code << 1) | 1)) ]; then
	echo "qemu_run: guest printed exit code $code but QEMU exited with status $rc $what" >&2
	exit 125
fi
if [ "$code" -ne 0 ]; then
	panic=$(sed -n 's/^@@PANIC //p' "$tmp/log" | head -1)
	if [ -n "$panic" ]; then
		echo "qemu_run: guest panic: $panic $what" >&2
	else
		echo "qemu_run: guest exited with code $code $what" >&2
	fi
fi
exit "$code"
