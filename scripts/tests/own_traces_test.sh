#!/usr/bin/env bash
# own_traces_test.sh: workloads/traces/ is the one place for your own traces (README
# "Adding traces"): a sweep replays every malloc trace (any readable format) and every
# address-space trace (.vmt) found there, next to the bundled ones (MTB_TRACES,
# MTB_VM_TRACES), each named by its file name without suffixes. Run on a copy of the
# scripts (a temporary tree), so the repository's workloads/traces/ is left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
bin=$(cd "${MTB_BIN:-build/bin}" && pwd)
mkdir -p "$t/repo/workloads/traces" "$t/repo/workloads/core" "$t/shared" "$t/vm"
cp -r scripts Makefile "$t/repo/"
cp workloads/core/gen.c "$t/repo/workloads/core/"
"$bin"/trace gen larson "$t/repo/workloads/traces/mine.trc" --ops 2000 >/dev/null
"$bin"/trace gen xmalloc "$t/shared/bundled.trc" --ops 2000 >/dev/null
printf '# vmt\n1 1 map 7f0000000000 8192 rw- a\n1 1 unmap 7f0000000000 8192\n' >"$t/repo/workloads/traces/myprog.123.vmt"
printf '# vmt\n1 1 map 7f0000000000 4096 rw- a\n' >"$t/vm/shared-vm.vmt"
MTB_BIN=$bin MTB_TRACES=$t/shared MTB_VM_TRACES=$t/vm "$t/repo/scripts/run.sh" --engine host \
	--guest-check none --list --heaps talc --phys buddy --virt bitmap --peers none --cpus 1 \
	--traces mine,bundled,myprog.123,shared-vm >"$t/list" 2>&1 || { cat "$t/list"; fail "run.sh --list"; }
for w in 'buddy-bitmap-talc\.mine\.c1 .*/workloads/traces/mine\.trc' 'buddy-bitmap-talc\.bundled\.c1 ' \
	'va_frag\.myprog_123\.c1 .* va:.*/workloads/traces/myprog\.123\.vmt' 'va_frag\.shared-vm\.c1 '; do
	grep -q "^host\.$w" "$t/list" || fail "not listed: $w ($(cat "$t/list"))"
done
echo "own_traces_test: ok"
