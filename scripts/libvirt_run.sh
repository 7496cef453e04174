#!/usr/bin/env bash
# libvirt_run.sh: run the guest ELF as a transient libvirt domain (direct kernel boot),
# collect its result rows from the serial log, exit with the guest's exit code.
#
# Usage: scripts/libvirt_run.sh [options] guest.elf [-- guest command line]
#   --uri URI        libvirt URI (default qemu:///system; qemu+ssh://[user@]host/system
#                    for a remote KVM host: the ELF is copied there with scp and the serial
#                    log read back with ssh)
#   --cpus N         vCPUs (default 1)        --mem MIB   memory in MiB (default 256)
#   --timeout SEC    destroy the domain and fail after SEC seconds (default 60)
#   --type kvm|qemu  domain type (default: kvm if /dev/kvm is usable, else qemu = TCG)
#   --out FILE       result rows (JSON lines), written atomically
#   --xml FILE       also save the generated domain XML there
#   --trace FILE     trace blob for the guest's `replay` (<initrd>: PVH module 0)
# Exit: the guest's exit code; 124 on timeout; 2 on bad usage; 1 on other failures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/results_lib.sh"

uri=qemu:///system cpus=1 mem=256 timeout=60 type= out= xmlsave= trace=
die() { echo "libvirt_run: $1" >&2; exit "${2:-1}"; }
# The header comment above, without its '# ' (everything up to the first code line).
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
while [ $# -gt 0 ]; do
	case $1 in
	--uri | --cpus | --mem | --timeout | --type | --out | --xml | --trace)
		[ $# -ge 2 ] || die "$1 needs a value" 2
		case $1 in
		--uri) uri=$2 ;; --cpus) cpus=$2 ;; --mem) mem=$2 ;; --timeout) timeout=$2 ;;
		--type) type=$2 ;; --out) out=$2 ;; --xml) xmlsave=$2 ;; --trace) trace=$2 ;;
		esac
		shift 2
		;;
	-h | --help) usage; exit 0 ;;
	--) break ;;
	-*) die "unknown option '$1' (see --help)" 2 ;;
	*) [ -z "${elf:-}" ] || die "more than one guest ELF given" 2; elf=$1; shift ;;
	esac
done
[ "${1:-}" = -- ] && shift
cmdline="exit=acpi $*"
[ -n "${elf:-}" ] || die "no guest ELF given (see --help)" 2
[ -f "$elf" ] || die "guest ELF '$elf' not found" 2
[ -z "$trace" ] || [ -f "$trace" ] || die "trace '$trace' not found" 2
[[ $cpus =~ ^[0-9]{1,9}$ ]] && [ $((10#$cpus)) -ge 1 ] && [ $((10#$cpus)) -le 64 ] ||
	die "--cpus must be 1..64, got '$cpus'" 2
[[ $mem =~ ^[0-9]{1,9}$ ]] && [ $((10#$mem)) -ge 32 ] || die "--mem must be at least 32 (MiB), got '$mem'" 2
[[ $timeout =~ ^[0-9]{1,9}$ ]] || die "--timeout must be whole seconds, got '$timeout'" 2
cpus=$((10#$cpus)) mem=$((10#$mem)) timeout=$((10#$timeout)) # decimal: 010 is ten
if [ -z "$type" ]; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then type=kvm; else type=qemu; fi
fi
case $type in kvm | qemu) ;; *) die "--type must be kvm or qemu" 2 ;; esac

remote=
case $uri in qemu+ssh://*) remote=${uri#qemu+ssh://}; remote=${remote%%/*} ;; esac
name=mtb-$$-$(date +%s)
work=$(mktemp -d /tmp/mtb-libvirt.XXXXXX)
chmod 755 "$work"
trap 'virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cp "$elf" "$work/guest.elf"
log=$work/serial.log
kernel=$work/guest.elf
initrd=
[ -n "$trace" ] && cp "$trace" "$work/trace.mtb" && initrd=$work/trace.mtb
if [ -n "$remote" ]; then
	rdir=/tmp/$name
	ssh "$remote" "mkdir -p $rdir" && scp -q "$elf" "$remote:$rdir/guest.elf" ||
		die "cannot copy the guest to $remote"
	kernel=$rdir/guest.elf log_remote=$rdir/serial.log
	if [ -n "$initrd" ]; then
		scp -q "$trace" "$remote:$rdir/trace.mtb" || die "cannot copy the trace to $remote"
		initrd=$rdir/trace.mtb
	fi
fi

cat >"$work/domain.xml" <<XML
<domain type='$type'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu>$cpus</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$kernel</kernel>${initrd:+
    <initrd>$initrd</initrd>}
    <cmdline>$cmdline</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='${log_remote:-$log}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
[ -n "$xmlsave" ] && cp "$work/domain.xml" "$xmlsave"

virsh -q -c "$uri" create "$work/domain.xml" >"$work/create.log" 2>&1 ||
	die "virsh create failed: $(tr '\n' ' ' <"$work/create.log")"
start=$(date +%s)
while virsh -q -c "$uri" domstate "$name" >/dev/null 2>&1; do
	if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
		virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
		echo "libvirt_run: guest hang: no exit within ${timeout}s (domain destroyed)" >&2
		exit 124
	fi
	sleep 0.2
done
[ -n "$remote" ] && ssh "$remote" "cat $log_remote; rm -rf $rdir" >"$log"
trusted=false
[ "$type" = kvm ] && kvm_is_accelerated && trusted=true
results_collect "$log" libvirt "$trusted" "$out"
