#!/usr/bin/env bash
# libvirt_daemons.sh: start or stop libvirt's daemons by hand (hosts without systemd).
# Usage: scripts/libvirt_daemons.sh start|stop|status
#   start  starts virtlogd and libvirtd unless already answering; prints "started" or
#          "running"; records the PIDs it started in /run/mtb-libvirt.pids
#   stop   stops only the daemons this script started, and waits until they are gone
#          (SIGTERM, then SIGKILL after 30 s): a dying libvirtd still found by the next
#          start would be taken for a running one that never answers
set -euo pipefail
PIDS=/run/mtb-libvirt.pids
URI=qemu:///system

# libvirt runs QEMU as libvirt-qemu (group kvm). Without udev /dev/kvm stays root:root
# 0600 and a kvm domain fails with "Could not access KVM kernel module": give the node
# the owner and mode udev's rule gives it on a real host (group kvm, 0660).
kvm_node_like_udev() {
	[ -c /dev/kvm ] && getent group kvm >/dev/null || return 0
	[ "$(stat -c %G:%a /dev/kvm)" = kvm:660 ] && return 0
	chgrp kvm /dev/kvm && chmod 0660 /dev/kvm && echo "libvirt_daemons: /dev/kvm set to group kvm, mode 0660 (as udev does)" >&2
}

# gone PID: true once PID has exited (polled for up to 30 s), false if it is still there.
gone() {
	for _ in $(seq 1 300); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

answering() { timeout 20 virsh -c "$URI" version >/dev/null 2>&1; }

case "${1:-}" in
start)
	if answering; then
		echo running
		exit 0
	fi
	command -v libvirtd >/dev/null || {
		echo "libvirt_daemons: libvirtd not installed (scripts/deps.sh installs it)" >&2
		exit 1
	}
	[ "$(id -u)" -eq 0 ] || {
		echo "libvirt_daemons: must be root to start the system daemons" >&2
		exit 1
	}
	kvm_node_like_udev
	: >"$PIDS"
	# root's: another user's session daemons (libvirtd, virtlogd) are no system daemons.
	pgrep -u 0 -x virtlogd >/dev/null || { virtlogd -d && pgrep -u 0 -nx virtlogd >>"$PIDS"; }
	pgrep -u 0 -x libvirtd >/dev/null || { libvirtd -d && pgrep -u 0 -nx libvirtd >>"$PIDS"; }
	for _ in $(seq 1 60); do
		answering && { echo started; exit 0; }
		sleep 0.5
	done
	echo "libvirt_daemons: libvirtd did not answer on $URI within 30 s" >&2
	exit 1
	;;
stop)
	[ -f "$PIDS" ] || exit 0
	mapfile -t pids <"$PIDS"
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do gone "$pid" || kill -KILL "$pid" 2>/dev/null || true; done
	rm -f "$PIDS"
	;;
status)
	answering && echo running || { echo stopped; exit 1; }
	;;
-h | --help)
	sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
	;;
*)
	echo "usage: scripts/libvirt_daemons.sh start|stop|status" >&2
	exit 2
	;;
esac
