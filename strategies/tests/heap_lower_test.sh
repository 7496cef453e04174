#!/usr/bin/env bash
# heap_lower_test.sh: the heap tests again, with the real frame strategies
# (buddy, freelist) under the heaps instead of the test stand-in, so the heaps
# are tested on the frames they get in the guest. heap_mt_test over buddy also
# runs under TSan. Fails if a test fails; skips (77, with the reason) while
# heap_fixture_frame_ops does not know buddy/freelist (branch run-e2e adds them).
set -u
b=${MTB_BUILD:-build}
fails=0
for t in "$b/host/bin/strategies/tests/heap_test" "$b/host/bin/strategies/tests/heap_mt_test" \
	"$b/tsan/bin/strategies/tests/heap_mt_test"; do
	[ -x "$t" ] || { echo "FAIL: $t not built"; exit 1; }
	for f in buddy freelist; do
		case $t in */tsan/*) [ $f = buddy ] || continue ;; esac
		MTB_FRAME_OPS=$f "$t" >"${TMPDIR:-/tmp}/heap_lower.$$" 2>&1
		rc=$?
		if [ $rc -eq 77 ]; then
			echo "SKIP: heap_fixture_frame_ops does not know '$f' yet (heap tests run on 'simple' only)"
			exit 77
		fi
		tail -1 "${TMPDIR:-/tmp}/heap_lower.$$" | sed "s|^|$f: $t: |"
		[ $rc -eq 0 ] || { echo "FAIL: MTB_FRAME_OPS=$f $t: exit $rc"; tail -20 "${TMPDIR:-/tmp}/heap_lower.$$"; fails=$((fails + 1)); }
	done
done
rm -f "${TMPDIR:-/tmp}/heap_lower.$$"
[ $fails -eq 0 ] || exit 1
echo "heap_lower_test: ok"
