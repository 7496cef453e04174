# test_lib.sh: the common start of a shell test, sourced right after `set -euo pipefail`
# as `. "$(dirname "$0")/../../scripts/tests/test_lib.sh"`: the working directory becomes
# the repository's root, $t a temporary directory removed when the test exits (a test
# that needs more on exit sets its own EXIT trap after this), fail MSG prints
# "FAIL: MSG" on stderr and exits 1, $bin is $MTB_BIN (default build/bin).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
bin=${MTB_BIN:-build/bin}
