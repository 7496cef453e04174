#!/usr/bin/env bash
# libvirt_cli_test.sh: scripts/libvirt_run.sh's command line without libvirt: --help
# prints the usage (the header comment, none of the script's code) and exits 0; an
# option given last without its value, a bad number and a missing ELF exit 2 with
# one line on stderr, before any domain is made.
set -u
cd "$(dirname "$0")/../.."
run=scripts/libvirt_run.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

bash "$run" --help >"$tmp/help" 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ] || [ -s "$tmp/err" ]; then
	fail "--help: exit $rc, stderr: $(cat "$tmp/err")"
elif ! grep -q '^Usage: scripts/libvirt_run.sh \[options\] guest.elf' "$tmp/help" ||
	! grep -q '^Exit: ' "$tmp/help"; then
	fail "--help lacks the usage or exit lines: $(cat "$tmp/help")"
elif grep -qE '^(set |here=|\. |#!)|\$\(|^[a-z_]+=' "$tmp/help"; then
	fail "--help prints script code: $(grep -E '^(set |here=|\. |#!)|\$\(|^[a-z_]+=' "$tmp/help")"
else
	echo "ok: --help ($(wc -l <"$tmp/help") lines)"
fi

# bad NEEDLE ARGS...: exit 2, one stderr line with NEEDLE.
bad() {
	local needle=$1 rc
	shift
	timeout 20 bash "$run" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qF -- "$needle" "$tmp/err"; then
		fail "'$*': exit $rc (want 2), stderr not one line with '$needle': $(cat "$tmp/err")"
	else
		echo "ok: '$*': $(cat "$tmp/err")"
	fi
}
printf '\177ELF' >"$tmp/g.elf"
for o in --uri --cpus --mem --timeout --type --out --xml --trace; do
	bad "libvirt_run: $o needs a value" "$tmp/g.elf" "$o"
done
bad "--cpus must be 1..64, got '0x2'" --cpus 0x2 "$tmp/g.elf"
bad "--mem must be at least 32 (MiB), got '-64'" --mem -64 "$tmp/g.elf"
bad "--timeout must be whole seconds, got '1e3'" --timeout 1e3 "$tmp/g.elf"
bad "guest ELF '$tmp/none.elf' not found" "$tmp/none.elf"
bad "unknown option '--bogus'" --bogus "$tmp/g.elf"

[ $fails -eq 0 ] || { echo "libvirt_cli_test: $fails failure(s)"; exit 1; }
echo "libvirt_cli_test: ok"
