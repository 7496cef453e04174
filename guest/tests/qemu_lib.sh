# qemu_lib.sh: helpers sourced by guest/tests/qemu_*_test.sh (not a test itself).
# Sets root, run (scripts/qemu_run.sh), elf ($MTB_GUEST), tmp; counts failures in $fails.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
run=$root/scripts/qemu_run.sh
elf=${MTB_GUEST:-$root/build/guest/buddy-bitmap-talc/guest.elf}
case $elf in /*) ;; *) elf=$PWD/$elf ;; esac
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: qemu-system-x86_64 is not installed"
	exit 77
fi
if [ ! -f "$elf" ]; then
	echo "FAIL: guest ELF '$elf' not found (make guest)"
	exit 1
fi

# fail MESSAGE: records a failure and shows the last run's output.
fail() {
	echo "FAIL: $*"
	sed 's/^/    /' "$tmp/stdout" "$tmp/stderr" 2>/dev/null | tail -20
	fails=$((fails + 1))
}

# qrun ARGS...: runs qemu_run.sh with the guest ELF; sets $rc, $tmp/{stdout,stderr,out}.
qrun() {
	rm -f "$tmp/out"
	"$run" --elf "$elf" --out "$tmp/out" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
}

# kvm_usable: true when /dev/kvm can be opened read-write.
kvm_usable() {
	[ -c /dev/kvm ] && { exec 9<>/dev/kvm; } 2>/dev/null && exec 9>&-
}
