#!/usr/bin/env bash
# libvirt_daemons_test.sh: scripts/libvirt_daemons.sh started and stopped twice in a
# row, as two tests in a row do: each start must start the daemons and answer, and each
# stop must leave no daemon it started behind (a libvirtd still dying when the next
# start looked made that start wait 30 s for an answer and fail: a clean-clone CI run).
# Skips where libvirt cannot start here or its daemons were already running.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v virsh >/dev/null && command -v libvirtd >/dev/null || { echo "SKIP: libvirt not installed"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to start libvirt's system daemons"; exit 77; }
if scripts/libvirt_daemons.sh status >/dev/null; then
	echo "SKIP: libvirt's daemons already run here (not this script's to stop)"
	exit 77
fi
fail() { echo "FAIL: $*"; exit 1; }

for round in 1 2; do
	state=$(scripts/libvirt_daemons.sh start) || fail "round $round: start failed"
	[ "$state" = started ] || fail "round $round: start said '$state', want 'started'"
	mapfile -t pids </run/mtb-libvirt.pids
	[ ${#pids[@]} -ge 1 ] || fail "round $round: no PID recorded"
	scripts/libvirt_daemons.sh stop
	for p in "${pids[@]}"; do
		! kill -0 "$p" 2>/dev/null || fail "round $round: daemon $p still there after stop"
	done
	[ ! -e /run/mtb-libvirt.pids ] || fail "round $round: PID file left"
	echo "ok: round $round: started and stopped ${#pids[@]} daemons"
done
echo "libvirt_daemons_test: ok"
