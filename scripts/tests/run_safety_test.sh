#!/usr/bin/env bash
# run_safety_test.sh: scripts/run.sh where users collide with it: bad filters (an invalid
# or empty --only, unknown --phys/--virt/--heaps names: exit 2 naming them, nothing
# created); a case listing that fails (mtb_host --list, an unreadable trace: exit 1 with
# the tool's message, not a shorter sweep); two sweeps on one directory (the second
# refused naming the first's pid, the first completes intact); runs started in the same
# second (distinct run directories); a full disk while plotting and mid-sweep, on a small
# tmpfs this test mounts (ENOSPC named, a summary, exit 1, nothing partial under a final
# name; once space is freed the same command completes the sweep). Sweeps are stopped
# at a gate (scripts/tests/sweep_lib.sh), never after a guessed time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/tests/sweep_lib.sh
need_bin mtb_host rows2csv trace
t=$(mktemp -d)
mounts=()
cleanup() {
	local m
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	rm -rf "$t"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset ENGINE GATE
gate_bin "$bin" "$t/gbin"
sel='host\.buddy-bitmap-talc\.larson'
args=(--engine host --quick --guest-check none --only "$sel")
scripts/run.sh "${args[@]}" --list | awk '{print $1}' | sort >"$t/ids"
n=$(wc -l <"$t/ids")
[ "$n" -ge 3 ] || fail "the selection lists $n cases"
row_cases() { python3 -c 'import json,sys; print("\n".join(sorted({json.loads(l)["case"] for l in open(sys.argv[1])})))' "$1"; }

# ---- filters: exit 2, one line naming the bad pattern or name, nothing created ----------
bad_filter() { # TEXT-TO-NAME ARGS...
	local want=$1 rc=0
	shift
	scripts/run.sh --engine host --quick --guest-check none "$@" --out "$t/bad" >"$t/o" 2>"$t/e" || rc=$?
	[ $rc -eq 2 ] || fail "$*: exit $rc, want 2: $(cat "$t/e")"
	[ "$(wc -l <"$t/e")" -eq 1 ] && grep -qF -- "$want" "$t/e" || fail "$*: want one line naming $want: $(cat "$t/e")"
	[ ! -e "$t/bad" ] || fail "$*: created the results directory"
}
bad_filter "'['" --only '['
bad_filter "'\\'" --only '\'
bad_filter "'zzz'" --only zzz
bad_filter "'bogus'" --heaps talc,bogus
bad_filter "'nope'" --virt nope
bad_filter "'buddyy'" --phys buddyy
bad_filter "''" --heaps ''
# The names narrow the sweep: slab on btree and the glibc peer only.
scripts/run.sh --engine host --quick --guest-check none --heaps slab,glibc --virt btree --list >"$t/narrow"
[ "$(awk '$3 != "-" {print $3}' "$t/narrow" | sort -u | tr '\n' ' ')" = "buddy-btree-slab freelist-btree-slab glibc " ] ||
	fail "--heaps slab,glibc --virt btree lists: $(awk '{print $3}' "$t/narrow" | sort -u | tr '\n' ' ')"

# ---- a case listing that fails stops the run with its message ---------------------------
mkdir "$t/brk"
for b in "$bin"/*; do ln -s "$b" "$t/brk/"; done
rm "$t/brk/mtb_host"
printf '#!/bin/sh\n[ "$1" = --list ] && { echo "mtb_host: simulated listing failure" >&2; exit 1; }\nexec %s "$@"\n' \
	"$bin/mtb_host" >"$t/brk/mtb_host"
chmod +x "$t/brk/mtb_host"
rc=0
MTB_BIN=$t/brk scripts/run.sh "${args[@]}" --list >"$t/o" 2>"$t/e" || rc=$?
[ $rc -eq 1 ] && grep -q 'simulated listing failure' "$t/e" && grep -q '^run: case listing: ' "$t/e" ||
	fail "a failing mtb_host --list: exit $rc: $(cat "$t/e")"
mkdir "$t/tr"
echo 'not a trace' >"$t/tr/broken.trc"
rc=0
MTB_TRACES=$t/tr scripts/run.sh --engine host --guest-check none --list >"$t/o" 2>"$t/e" || rc=$?
[ $rc -eq 1 ] && grep -q '^run: case listing: .*broken\.trc' "$t/e" ||
	fail "an unreadable trace in the listing: exit $rc: $(cat "$t/e")"

# ---- two sweeps on one directory ------------------------------------------------------
gate_new "$t/g" 1 # the first sweep holds before its second case
GATE=$t/g MTB_BIN=$t/gbin scripts/run.sh "${args[@]}" --out "$t/two" --no-plots >"$t/alog" 2>&1 &
apid=$!
wait_for 'compgen -G "$t/g/blocked.*" >/dev/null' "the first sweep at its second case" $apid ||
	{ cat "$t/alog"; exit 1; }
rc=0
scripts/run.sh "${args[@]}" --out "$t/two" --no-plots >"$t/blog" 2>"$t/berr" || rc=$?
touch "$t/g/release"
[ $rc -eq 1 ] || { kill "$apid" 2>/dev/null; fail "the second sweep: exit $rc, want 1: $(cat "$t/berr")"; }
[ "$(wc -l <"$t/berr")" -eq 1 ] && grep -q "^run: .*/two is in use by another sweep (pid $apid)" "$t/berr" ||
	fail "the second sweep's refusal: $(cat "$t/berr")"
[ ! -s "$t/blog" ] || fail "the refused sweep printed: $(cat "$t/blog")"
rc=0
wait "$apid" || rc=$?
[ $rc -eq 0 ] || { cat "$t/alog"; fail "the first sweep: exit $rc"; }
grep -q "($n run now, 0 already done), 0 failed" "$t/alog" || fail "the first sweep: $(grep 'already done' "$t/alog")"
sweep_intact "$t/two" || fail "the first sweep's directory is not intact"
[ "$(row_cases "$t/two/rows.jsonl")" = "$(cat "$t/ids")" ] || fail "the first sweep's rows lack cases"

# ---- runs started in the same second: distinct directories ------------------------------
# A copy of the repository's scripts (results/ of its own) and a clock stopped at one
# second for run.sh's directory name.
fr=$t/repo
mkdir -p "$fr/scripts" "$fr/plots" "$t/clock"
for f in scripts/* plots/*; do [ ! -f "$f" ] || ln -s "$PWD/$f" "$fr/$f"; done
ln -s "$PWD/Makefile" "$fr/Makefile"
printf '#!/bin/sh\n[ "$*" = "-u +%%Y%%m%%d-%%H%%M%%S" ] && { echo 20240101-000000; exit 0; }\nexec %s "$@"\n' \
	"$(command -v date)" >"$t/clock/date"
chmod +x "$t/clock/date"
one=(--engine host --quick --guest-check none --only "$sel\\.c1\$" --fresh --no-plots)
PATH=$t/clock:$PATH "$fr/scripts/run.sh" "${one[@]}" >"$t/s1" 2>&1 &
p1=$!
PATH=$t/clock:$PATH "$fr/scripts/run.sh" "${one[@]}" >"$t/s2" 2>&1 &
p2=$!
r1=0 r2=0
wait $p1 || r1=$?
wait $p2 || r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] || fail "same-second runs: exit $r1 and $r2: $(cat "$t/s1" "$t/s2")"
dirs=$(cd "$fr/results" && ls -d run-20240101-000000* | sort | tr '\n' ' ')
[ "$dirs" = "run-20240101-000000 run-20240101-000000-2 " ] || fail "same-second runs got directories: $dirs"
for d in run-20240101-000000 run-20240101-000000-2; do
	[ "$(wc -l <"$fr/results/$d/rows.jsonl")" -ge 1 ] || fail "$d: no rows"
	sweep_intact "$fr/results/$d" || fail "$d is not intact"
done

# ---- a full disk (small tmpfs mounts) -----------------------------------------------------
mkdir "$t/probe"
if ! mount -t tmpfs -o size=64k tmpfs "$t/probe" 2>/dev/null; then
	echo "SKIP: full-disk parts: cannot mount a tmpfs here (not root, or no mount permission)"
	echo "run_safety_test: ok (without the full-disk parts)"
	exit 0
fi
umount "$t/probe"
valid_plots() { # DIR: every .png ends with IEND, every .svg with </svg>; no temp files
	python3 - "$1" <<'PY'
import os, sys
d = sys.argv[1]
for f in os.listdir(d):
    b = open(os.path.join(d, f), "rb").read()
    assert ".tmp" not in f, "temporary file " + f
    if f.endswith(".png"):
        assert b.endswith(b"IEND\xaeB`\x82"), "truncated " + f
    if f.endswith(".svg"):
        assert b.rstrip().endswith(b"</svg>"), "truncated " + f
PY
}
# While plotting: plots/ of the finished sweep above on a 16 KiB tmpfs.
mkdir -p "$t/two/plots"
mount -t tmpfs -o size=16k tmpfs "$t/two/plots"
mounts+=("$t/two/plots")
rc=0
scripts/run.sh "${args[@]}" --out "$t/two" >"$t/plog" 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat "$t/plog"; fail "full disk while plotting: exit $rc, want 1"; }
grep -q '^run: stopped: .*/two/plots/[a-z_0-9]*\.[a-z]*: No space left on device' "$t/plog" ||
	fail "full disk while plotting: ENOSPC not named: $(tail -3 "$t/plog")"
grep -q '^run: plots in\|^run: next' "$t/plog" && fail "full disk while plotting: a success line: $(tail -3 "$t/plog")"
valid_plots "$t/two/plots" || fail "full disk while plotting left a partial figure: $(ls -l "$t/two/plots")"
umount "$t/two/plots"
mounts=()
scripts/run.sh "${args[@]}" --out "$t/two" >"$t/plog2" 2>&1 || { cat "$t/plog2"; fail "plots once space is free"; }
grep -q '^run: plots in' "$t/plog2" || fail "no plots once space is free: $(tail -3 "$t/plog2")"
valid_plots "$t/two/plots" || fail "plots once space is free"
[ -n "$(ls "$t/two/plots"/*.png)" ] || fail "no figure drawn"

# Mid-sweep: the results on a 1 MiB tmpfs filled up while the first case is done and
# the second is held at the gate.
mkdir "$t/mid"
mount -t tmpfs -o size=1m tmpfs "$t/mid"
mounts+=("$t/mid")
gate_new "$t/g2" 1
GATE=$t/g2 MTB_BIN=$t/gbin scripts/run.sh "${args[@]}" --out "$t/mid/r" --no-plots >"$t/mlog" 2>&1 &
mpid=$!
wait_for 'compgen -G "$t/g2/blocked.*" >/dev/null' "the mid-sweep run at its second case" $mpid ||
	{ cat "$t/mlog"; exit 1; }
dd if=/dev/zero of="$t/mid/fill" bs=4k 2>/dev/null || true
touch "$t/g2/release"
rc=0
wait "$mpid" || rc=$?
[ $rc -eq 1 ] || { cat "$t/mlog"; fail "full disk mid-sweep: exit $rc, want 1"; }
grep -q "^run: stopped: .*/mid/r: No space left on device; .*rerun the same command to resume" "$t/mlog" ||
	fail "full disk mid-sweep: ENOSPC not named: $(tail -3 "$t/mlog")"
grep -q "^run: $n cases, $n runs (1 run now, 0 already done, $((n - 1)) not run), 0 failed" "$t/mlog" ||
	fail "full disk mid-sweep: no summary: $(tail -3 "$t/mlog")"
[ ! -e "$t/mid/r/rows.jsonl" ] || fail "full disk mid-sweep: rows.jsonl written"
[ -z "$(ls "$t/mid/r/failed")" ] || fail "full disk mid-sweep: cases marked failed: $(ls "$t/mid/r/failed")"
sweep_intact "$t/mid/r" || fail "full disk mid-sweep left a partial file"
rm "$t/mid/fill"
scripts/run.sh "${args[@]}" --out "$t/mid/r" --no-plots >"$t/mlog2" 2>&1 || { cat "$t/mlog2"; fail "resume once space is free"; }
grep -q "($((n - 1)) run now, 1 already done), 0 failed" "$t/mlog2" || fail "resume: $(grep 'already done' "$t/mlog2")"
[ "$(row_cases "$t/mid/r/rows.jsonl")" = "$(cat "$t/ids")" ] || fail "resume: the rows lack cases"
sweep_intact "$t/mid/r" || fail "resume: not intact"
echo "run_safety_test: ok"
