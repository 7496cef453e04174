#!/usr/bin/env bash
# libvirt_test.sh: the libvirt engine for real: starts libvirt's daemons itself (no systemd
# here), runs the guest as a transient domain (selftest, 2 vCPUs), checks the result row,
# then a replay of a generated trace, then a hanging guest that must be destroyed and reported. Stops the daemons it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
guest=${MTB_GUEST:-}
[ -n "$guest" ] && [ -f "$guest" ] || { echo "FAIL: no guest ELF (MTB_GUEST=$guest)"; exit 1; }
command -v virsh >/dev/null || { echo "SKIP: libvirt not installed"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to start libvirt's system daemons"; exit 77; }

state=$(scripts/libvirt_daemons.sh start)
echo "libvirt daemons: $state"
cleanup() { [ "$state" = started ] && scripts/libvirt_daemons.sh stop; rm -rf "$tmp"; }
tmp=$(mktemp -d)
trap cleanup EXIT

# First domain start may take ~50 s here (QEMU capability probe).
scripts/libvirt_run.sh --cpus 2 --mem 128 --timeout 180 --out "$tmp/rows.json" \
	--xml "$tmp/domain.xml" "$guest" -- selftest
grep -q "<vcpu>2</vcpu>" "$tmp/domain.xml"
grep -q '"engine":"libvirt"' "$tmp/rows.json" || { echo "FAIL: no libvirt row"; exit 1; }
grep -q '"kind":"selftest"' "$tmp/rows.json" || { echo "FAIL: no selftest row"; exit 1; }
grep -q '"cpus":2' "$tmp/rows.json" || { echo "FAIL: selftest did not see 2 CPUs"; cat "$tmp/rows.json"; exit 1; }
echo "selftest row: $(head -c 300 "$tmp/rows.json")"

# A trace handed to the domain (--trace: direct kernel boot initrd = PVH module 0) is
# replayed by the guest; its op count and peak must be the generator's.
"$MTB_BIN/trace" gen larson "$tmp/l.mtb" --ops 2000 --threads 2 --seed 3 >"$tmp/gen.txt"
peak=$(sed -n 's/.*peak_live \([0-9]*\).*/\1/p' "$tmp/gen.txt")
scripts/libvirt_run.sh --cpus 2 --mem 128 --timeout 180 --trace "$tmp/l.mtb" --out "$tmp/replay.json" \
	"$guest" -- replay
grep -q '"kind":"replay".*"ops":2000,' "$tmp/replay.json" || { echo "FAIL: no replay row of 2000 ops"; cat "$tmp/replay.json"; exit 1; }
grep -q "\"peak_live_bytes\":$peak," "$tmp/replay.json" || { echo "FAIL: replay peak_live_bytes is not $peak"; exit 1; }
echo "replay row: $(head -c 300 "$tmp/replay.json")"

# A hang is destroyed after the timeout and reported with exit 124, no result file left.
set +e
scripts/libvirt_run.sh --cpus 1 --mem 64 --timeout 5 --out "$tmp/hang.json" "$guest" -- fault=hang \
	2>"$tmp/hang.err"
rc=$?
set -e
[ $rc -eq 124 ] || { echo "FAIL: hang gave exit $rc"; cat "$tmp/hang.err"; exit 1; }
grep -q 'guest hang' "$tmp/hang.err" || { echo "FAIL: hang not reported"; exit 1; }
[ ! -e "$tmp/hang.json" ] || { echo "FAIL: result file left after a hang"; exit 1; }
echo "libvirt_test: ok"
