#!/usr/bin/env bash
# libvirt_run.sh: run the guest ELF as a transient libvirt domain (direct kernel boot),
# collect its result rows from the serial log, exit with the guest's exit code.
#
# Usage: scripts/libvirt_run.sh [options] guest.elf [-- guest command line]
#   --uri URI        libvirt URI (default qemu:///system; qemu+ssh://[user@]host[:port]/system
#                    for a remote KVM host: the ELF is copied there with scp and the serial
#                    log read back with ssh, with the URI's user, port and keyfile=)
#   --cpus N         vCPUs (default 1)        --mem MIB   memory in MiB (default 256)
#   --timeout SEC    destroy the domain and fail after SEC seconds (default 60)
#   --type kvm|qemu  domain type (default: kvm if /dev/kvm is usable, else qemu = TCG)
#   --out FILE       result rows (JSON lines), written atomically
#   --xml FILE       also save the generated domain XML there
#   --trace FILE     trace blob for the guest's `replay` (<initrd>: PVH module 0)
#   --kvm-kind K     the host's KVM (hardware | emulated | absent, scripts/hosts_lib.sh):
#                    rows are timing_trusted only on hardware KVM (default: this machine's)
# Exit: the guest's exit code; 124 on timeout; 75 when the host is lost (the connection
# fails, the daemon is gone, ssh fails: the guest's fate is unknown); 2 on bad usage; 1 on
# other failures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/results_lib.sh"
. "$here/hosts_lib.sh"

uri=qemu:///system cpus=1 mem=256 timeout=60 type= out= xmlsave= trace= kvm_kind=
die() { echo "libvirt_run: $1" >&2; exit "${2:-1}"; }
lost() { echo "libvirt_run: host lost: $1" >&2; exit 75; }
# The header comment above, without its '# ' (everything up to the first code line).
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
while [ $# -gt 0 ]; do
	case $1 in
	--uri | --cpus | --mem | --timeout | --type | --out | --xml | --trace | --kvm-kind)
		[ $# -ge 2 ] || die "$1 needs a value" 2
		case $1 in
		--uri) uri=$2 ;; --cpus) cpus=$2 ;; --mem) mem=$2 ;; --timeout) timeout=$2 ;;
		--type) type=$2 ;; --out) out=$2 ;; --xml) xmlsave=$2 ;; --trace) trace=$2 ;;
		--kvm-kind) kvm_kind=$2 ;;
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
case $kvm_kind in '' | hardware | emulated | absent) ;; *) die "--kvm-kind must be hardware, emulated or absent" 2 ;; esac

remote= rdir=
if uri_ssh "$uri"; then remote=$ssh_target; fi
rsh() { timeout 60 ssh "${ssh_opts[@]}" "$remote" "$@"; }
name=mtb-$$-$(date +%s)
work=$(mktemp -d /tmp/mtb-libvirt.XXXXXX)
chmod 755 "$work"
cleanup() {
	timeout 30 virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
	[ -z "$rdir" ] || rsh "rm -rf $rdir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
cp "$elf" "$work/guest.elf"
log=$work/serial.log
kernel=$work/guest.elf
initrd=
[ -n "$trace" ] && cp "$trace" "$work/trace.mtb" && initrd=$work/trace.mtb
if [ -n "$remote" ]; then
	rdir=/tmp/$name
	m=$(rsh "mkdir -p $rdir && chmod 755 $rdir" 2>&1 && timeout 300 scp "${scp_opts[@]}" "$elf" "$remote:$rdir/guest.elf" 2>&1) ||
		lost "cannot copy the guest to $remote: $(first_err "$m")"
	kernel=$rdir/guest.elf log_remote=$rdir/serial.log
	if [ -n "$initrd" ]; then
		m=$(timeout 300 scp "${scp_opts[@]}" "$trace" "$remote:$rdir/trace.mtb" 2>&1) ||
			lost "cannot copy the trace to $remote: $(first_err "$m")"
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

# A failure that is the connection's (the host does not answer now), not the domain's.
host_gone() { ! timeout 60 virsh -q -c "$uri" version >/dev/null 2>&1; }
if ! timeout 300 virsh -q -c "$uri" create "$work/domain.xml" >"$work/create.log" 2>&1; then
	host_gone && lost "virsh create: $(first_err "$(cat "$work/create.log")")"
	die "virsh create failed: $(tr '\n' ' ' <"$work/create.log")"
fi
start=$(date +%s)
# The domain (transient) is gone once the guest powered off: "failed to get domain",
# "Domain not found" (gone between the lookup and the query).
# Any other failure (the connection, the daemon) loses the host.
while st=$(timeout 60 virsh -q -c "$uri" domstate "$name" 2>&1); do
	if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
		timeout 60 virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
		echo "libvirt_run: guest hang: no exit within ${timeout}s (domain destroyed)" >&2
		exit 124
	fi
	sleep 0.2
done
case $st in *"failed to get domain"* | *"Domain not found"*) ;; *) lost "virsh domstate: $(first_err "$st")" ;; esac
if [ -n "$remote" ]; then
	rsh "cat $log_remote" >"$log" 2>"$work/ssh.err" || lost "cannot read the serial log back: $(first_err "$(cat "$work/ssh.err")")"
fi
trusted=false
if [ -n "$kvm_kind" ]; then
	[ "$type" = kvm ] && [ "$kvm_kind" = hardware ] && trusted=true
else
	[ "$type" = kvm ] && kvm_is_accelerated && trusted=true
fi
results_collect "$log" libvirt "$trusted" "$out"
