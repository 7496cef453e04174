# kvm_lib.sh: the preamble sourced by the tests that boot the guest under our VMM on
# /dev/kvm (vmm/tests/kvm_boot_test.sh, guest/tests/kvm_mm_test.sh; not a test itself).
# Sets VMM ($MTB_VMM, default build/bin/vmm) and GUEST ($MTB_GUEST); exits 77
# ("SKIP: reason") when /dev/kvm cannot be opened or the guest is not built, 1 when
# the VMM is not built. Then sets tmp (removed on exit) and fails=0.
VMM=${MTB_VMM:-build/bin/vmm}
GUEST=${MTB_GUEST:-}
# Probe without ever creating /dev/kvm (`<>` on a missing path would create it).
if [ ! -e /dev/kvm ]; then
	echo "SKIP: /dev/kvm: No such file or directory"
	exit 77
elif [ ! -c /dev/kvm ]; then
	echo "SKIP: /dev/kvm: not a character device"
	exit 77
elif ! reason=$( (exec 3<>/dev/kvm) 2>&1); then
	echo "SKIP: /dev/kvm: ${reason##*: }"
	exit 77
fi
[ -n "$GUEST" ] && [ -f "$GUEST" ] || { echo "SKIP: guest ELF not built (MTB_GUEST=$GUEST)"; exit 77; }
[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
