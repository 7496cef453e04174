#!/usr/bin/env bash
# guest_commands_test.sh: the guest's commands are listed the same everywhere: what
# scripts/guest_commands.sh reads from guest/commands.c is what a booted guest's `-- help`
# prints (under QEMU TCG; that part skipped without qemu-system-x86_64 or a built guest),
# `make help` shows it, and README's command table has a row for every command.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
scripts/guest_commands.sh >"$t/list" || fail "guest_commands.sh"
[ "$(wc -l <"$t/list")" -ge 5 ] || fail "only $(wc -l <"$t/list") commands listed"
make --no-print-directory help >"$t/help" || fail "make help"
grep -qxFf "$t/list" "$t/help" || fail "make help lists no guest command"
[ "$(grep -cxFf "$t/list" "$t/help")" -eq "$(wc -l <"$t/list")" ] || fail "make help misses guest commands"
while read -r name _; do
	grep -q "^| \`$name[=\`[]" README.md || fail "README's command table has no row for '$name'"
done <"$t/list"
elf=${MTB_BUILD:-build}/guest/buddy-bitmap-talc/guest.elf
if command -v qemu-system-x86_64 >/dev/null && [ -f "$elf" ]; then
	timeout 120 scripts/qemu_run.sh --cpus 1 --elf "$elf" -- help >"$t/boot" 2>&1 || { cat "$t/boot"; fail "guest -- help"; }
	grep '^  [a-z]' "$t/boot" | tr -d '\r' >"$t/booted"
	diff "$t/list" "$t/booted" || fail "guest_commands.sh differs from the booted guest's -- help (above)"
else
	echo "SKIP (part): no qemu-system-x86_64 or no $elf: the booted guest's list not compared"
fi
echo "guest_commands_test: ok"
