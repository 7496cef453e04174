# test_lib.sh: the common start of a shell test, sourced right after `set -euo pipefail`
# as `. "$(dirname "$0")/../../scripts/tests/test_lib.sh"`: the working directory becomes
# the repository's root, $t a temporary directory removed when the test exits (a test
# that needs more on exit sets its own EXIT trap after this), fail MSG prints
# "FAIL: MSG" on stderr and exits 1, $bin is $MTB_BIN (default build/bin);
# usage_errors checks a command's bad flags.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
bin=${MTB_BIN:-build/bin}

# usage_errors SCRIPT PROG -- BAD...: each BAD (a string of words) given to SCRIPT after
# `--out $t/bad.csv` must exit 2 with one line "PROG: ..." on stderr, and no run may
# leave $t/bad.csv behind.
usage_errors() {
	local script=$1 prog=$2 bad rc
	shift 3
	for bad in "$@"; do
		set +e
		# shellcheck disable=SC2086
		"$script" --out "$t/bad.csv" $bad >"$t/o" 2>"$t/e"
		rc=$?
		set -e
		[ $rc -eq 2 ] && [ "$(wc -l <"$t/e")" -eq 1 ] && grep -q "^$prog: " "$t/e" ||
			fail "$script $bad: exit $rc, stderr: $(cat "$t/e")"
	done
	[ ! -e "$t/bad.csv" ] || fail "$script: a bad run wrote its CSV"
}
