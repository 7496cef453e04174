#!/usr/bin/env bash
# layers_test.sh: the split strategy families (heap_slab*, frame_buddy*, va_btree*),
# the hosted library as a whole, heap_bench's files and the guest kernel form layers (no
# two files call each other, no longer circle either), and
# scripts/layers_check.py, which checks that, finds a circle: two files calling
# each other, a three-file circle, a reference through an ops table; and ignores
# static functions, comments, strings and declarations.
set -euo pipefail
cd "$(dirname "$0")/../.."
chk=scripts/layers_check.py
fail() { echo "layers_test: $*"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for fam in 'heap_slab*.c' 'frame_buddy*.c' 'va_btree*.c'; do
	# shellcheck disable=SC2086
	out=$(python3 $chk strategies/$fam) || fail "strategies/$fam: $out"
	[[ $out == *"no cycle"* ]] || fail "strategies/$fam: unexpected output: $out"
done
# The hosted library as a whole (strategies, the freestanding workload core, the host
# side, the VMM's library), heap_bench's files, and the guest kernel (its interrupt
# entry reaches the shootdown handler through cpu_set_ipi_handler, not by name).
for set in 'strategies/*.c workloads/core/*.c workloads/host/*.c vmm/*.c' 'workloads/bench/*.c' \
	'guest/*.c'; do
	# shellcheck disable=SC2086
	out=$(python3 $chk $set) || fail "$set: $out"
	[[ $out == *"no cycle"* ]] || fail "$set: unexpected output: $out"
done

# Two files calling each other: rc 1 and the cycle named.
cat >"$tmp/a.c" <<'C'
/* a_low(): a comment naming b_high() is not a call */
static int a_helper(void) { return 1; }
int a_low(int x)
{
	return x + a_helper();
}
int a_calls_up(void)
{
	return b_high(2);
}
C
cat >"$tmp/b.c" <<'C'
int b_high(int x)
{
	return a_low(x);
}
C
set +e
out=$(python3 $chk "$tmp/a.c" "$tmp/b.c"); rc=$?
set -e
[ $rc -eq 1 ] || fail "a <-> b: rc $rc, want 1 ($out)"
[[ $out == *"cycle:"*"a.c uses a_low"* || $out == *"cycle:"*"b.c uses a_low"* ]] ||
	fail "a <-> b: cycle not named: $out"

# Layered: b calls a, a calls nothing of b's; a declaration and a string are no use.
cat >"$tmp/a.c" <<'C'
int b_high(int x);
static const char *name = "b_high()";
int a_low(int x)
{
	return x + (name != 0);
}
C
out=$(python3 $chk "$tmp/a.c" "$tmp/b.c") || fail "layered a < b: $out"
[[ $out == "layers: 2 files, 1 edges, no cycle" ]] || fail "layered a < b: $out"

# A circle of three, one edge through an ops table (a reference, not a call).
cat >"$tmp/c.c" <<'C'
int c_check(const void *st)
{
	return b_high(0);
}
C
cat >"$tmp/a.c" <<'C'
struct ops { int (*check)(const void *); };
int a_low(int x)
{
	return x;
}
const struct ops a_ops = {
	.check = c_check,
};
C
set +e
out=$(python3 $chk "$tmp/a.c" "$tmp/b.c" "$tmp/c.c"); rc=$?
set -e
[ $rc -eq 1 ] && [[ $out == *"a.c uses c_check"* ]] || fail "three-file circle: rc $rc: $out"

# Bad usage, unreadable file: rc 2 and a message.
set +e
python3 $chk >/dev/null 2>&1; rc=$?
out=$(python3 $chk "$tmp/none.c" 2>&1); rc2=$?
set -e
[ $rc -eq 2 ] || fail "no arguments: rc $rc, want 2"
[ $rc2 -eq 2 ] && [[ $out == "layers: $tmp/none.c: "* ]] || fail "missing file: rc $rc2: $out"
echo "layers_test: ok"
