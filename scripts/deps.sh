#!/usr/bin/env bash
# deps.sh: installs the Debian/Ubuntu packages memtestbed needs, when missing.
# Quiet when everything is there. Needs root (or sudo) only to install.
# Usage: scripts/deps.sh [--check]   (--check: list what is missing, exit 1 if any)
set -euo pipefail

PKGS=(
	gcc g++ clang make binutils xz-utils liblzma-dev    # toolchain, trace decompression
	zlib1g-dev                                          # .zip traces (AOSP memory_replay)
	libclang-rt-14-dev                                  # libFuzzer for the parser fuzzers
	sqlite3 valgrind                                    # programs `make traces` records; valgrind logs
	strace                                              # address-space recorder (record_vmt.sh)
	qemu-system-x86                                     # QEMU engine
	libvirt-daemon-system libvirt-daemon-system-sysv    # libvirt engine (see PLATFORM-NOTES)
	libvirt-clients libvirt-daemon-driver-qemu libvirt-dev
	openssh-server openssh-client netcat-openbsd        # sweeps over several hosts (qemu+ssh; hosts_test)
	gnuplot-nox python3                                 # plots, report, test checks
	chromium                                            # the HTML report, checked headless
	libbenchmark-dev                                    # Google Benchmark
	libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev  # peer allocators
)

case "${1:-}" in
-h | --help)
	sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "${1:-}" = --check ]; then
	echo "deps: missing: ${missing[*]}"
	exit 1
fi

if ! command -v apt-get >/dev/null; then
	echo "deps: missing packages (${missing[*]}) and no apt-get: install them by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps: need root to install: ${missing[*]}" >&2
		exit 1
	}
	SUDO=sudo
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# libvirt's postinst tries to start services; without systemd that may warn, not fail.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/mtb-deps.log 2>&1 || {
	echo "deps: apt-get install failed, see /tmp/mtb-deps.log" >&2
	tail -20 /tmp/mtb-deps.log >&2
	exit 1
}
echo "deps: done"
