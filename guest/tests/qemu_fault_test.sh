#!/usr/bin/env bash
# qemu_fault_test.sh: the guest's fault commands under QEMU TCG. div0, pf, null, stack (overflow
# into the guard page: #DF, handled on the IST stack) and ap-pf must end in a guest panic
# (exit 99) whose one-line report names the vector, error code, RIP and CR2 (and the CPU); hang must be caught by qemu_run.sh's timeout (exit 124); badhc has no
# hypercalls to abuse under QEMU and must still exit non-zero; triple (empty IDT) resets the
# machine, which qemu_run.sh reports as exit 125.
set -u
. "$(dirname "$0")/qemu_lib.sh"

# expect_panic WHAT PATTERN QEMU_RUN_ARGS...
expect_panic() {
	local what=$1 pat=$2
	shift 2
	qrun "$@"
	if [ "$rc" -ne 99 ]; then
		fail "$what: exit $rc (want 99, guest panic)"
	elif [ "$(wc -l <"$tmp/stderr")" -ne 1 ] || ! grep -q "^qemu_run: guest panic: $pat" "$tmp/stderr"; then
		fail "$what: report does not match '$pat'"
	elif ! grep -q '^  rax=' "$tmp/stdout"; then
		fail "$what: no register dump on the console"
	else
		echo "ok: $what: $(cat "$tmp/stderr")"
	fi
}

expect_panic div0 'cpu 0: exception vector=0 (#DE divide error) error=0x0 rip=0x[0-9a-f]\+ cr2=' \
	--machine pc -- fault=div0
expect_panic pf 'cpu 0: exception vector=14 (#PF page fault) error=0x2 rip=0x[0-9a-f]\+ cr2=0x400000000000' \
	--machine microvm -- fault=pf
expect_panic null 'cpu 0: exception vector=14 (#PF page fault) error=0x2 rip=0x[0-9a-f]\+ cr2=0x8 ' \
	--machine microvm -- fault=null
expect_panic stack 'cpu 0: exception vector=8 (#DF double fault) error=0x0 rip=0x[0-9a-f]\+ cr2=0x[0-9a-f]\+' \
	--machine pc -- fault=stack
expect_panic ap-pf 'cpu 3: exception vector=14 (#PF page fault) error=0x2 rip=0x[0-9a-f]\+ cr2=0x400000000000' \
	--machine microvm --cpus 4 -- fault=ap-pf

qrun --machine microvm --timeout 3 -- fault=hang
[ "$rc" -eq 124 ] && grep -q '^qemu_run: hang: guest did not exit within 3s' "$tmp/stderr" &&
	echo "ok: hang: $(cat "$tmp/stderr")" || fail "hang: exit $rc (want 124)"

qrun --machine microvm -- fault=badhc
[ "$rc" -ne 0 ] && echo "ok: badhc: exit $rc: $(cat "$tmp/stderr")" || fail "badhc: exit 0"

qrun --machine microvm -- fault=triple
[ "$rc" -eq 125 ] && grep -q '^qemu_run: guest reset without an exit code (triple fault?)' "$tmp/stderr" &&
	echo "ok: triple: $(cat "$tmp/stderr")" || fail "triple: exit $rc (want 125, reset reported)"

qrun --machine microvm --cpus 1 -- fault=ap-pf
[ "$rc" -eq 2 ] && echo "ok: ap-pf on 1 cpu refused" || fail "ap-pf with 1 cpu: exit $rc (want 2)"
[ $fails -eq 0 ]
