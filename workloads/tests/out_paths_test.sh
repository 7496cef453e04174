#!/usr/bin/env bash
# out_paths_test.sh: no output path of any tool replaces anything but a regular file
# (workloads/host/out_file.h, scripts/out_lib.sh; issue 17). For each writer (trace gen
# and convert, .bin and .trc, rows2csv, mtb_host, va_replay, heap_bench, frame_bench,
# va_bench, gbench_bench, out_lib.sh's out_install, out_lib.py's write_out, qemu_run.sh;
# the vmm below):
#   1. a regular file is replaced, no temp file left;
#   2. a symlink is kept and its target replaced;
#   3. a FIFO is written through (read by a background cat) and stays a FIFO;
#   4. a character device made here (mknod c 1 3, /dev/null) stays one;
#   5. a full device (mknod c 1 7 here, then /dev/full itself once the private one
#      survived): non-zero exit, "No space left" in one line, still a character device;
#   6. a directory: exit 2 and one line naming it.
# The vmm cannot run a guest without KVM: its directory case (exit 2) and that a FIFO, a
# device or a symlink survive it are checked here, the rest by vmm/tests/result_out_test.c.
# Parts that need root (mknod) print a SKIP: line. Tool paths: $MTB_BIN, $MTB_VMM.
set -u
bin=${MTB_BIN:-build/bin}
vmm=${MTB_VMM:-$bin/vmm}
lib=$(dirname "$0")/../../scripts/out_lib.sh
t=$(mktemp -d)
trap 'exec 5>&- 2>/dev/null; rm -rf "$t"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# errors_of PATH: the lines of stdin that name PATH (a tool's error, not its progress).
errors_of() { grep -F -- "$1" | grep -v ': wrote ' >&2; }

# The writers: w_NAME OUT writes NAME's output to OUT; the tool's exit status.
w_trace_gen() { "$bin/trace" gen larson "$1" --ops 300 --seed 3 >/dev/null; }
w_trace_convert() { "$bin/trace" convert "$t/in.bin" "$1" >/dev/null; }
w_rows2csv() { "$bin/rows2csv" --out "$1" "$t/rows.jsonl"; }
w_mtb_host() { "$bin/mtb_host" --gen larson --ops 300 --out "$1"; }
w_va_replay() {
	"$bin/va_replay" --gen mix --ops 300 --out "$1" 2>&1 >/dev/null | errors_of "$1"
	return "${PIPESTATUS[0]}"
}
w_heap_bench() {
	"$bin/heap_bench" --only hermit64 --heaps null --rounds 1 --duration-ms 10 --warmup-ms 0 \
		--out "$1" 2>&1 >/dev/null | errors_of "$1"
	return "${PIPESTATUS[0]}"
}
w_frame_bench() {
	"$bin/frame_bench" --mem 256 --churn-mem 64 --rounds 1 --out "$1" 2>&1 >/dev/null |
		errors_of "$1"
	return "${PIPESTATUS[0]}"
}
w_va_bench() {
	"$bin/va_bench" --rounds 1 --pairs 10 --virt bitmap --out "$1" 2>&1 >/dev/null |
		errors_of "$1"
	return "${PIPESTATUS[0]}"
}
w_gbench_bench() {
	"$bin/gbench_bench" --quick --benchmark_filter='^frame/buddy/order0/' --out "$1" \
		2>&1 >/dev/null | errors_of "$1"
	return "${PIPESTATUS[0]}"
}
w_out_lib() { (. "$lib" && out_install "$t/rows.jsonl" "$1" out_lib); }
# scripts/out_lib.py's write_out (report.py, crosscheck.py, merge_reps.py, hermit_case.py)
w_out_lib_py() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1])
from out_lib import write_out
write_out(sys.argv[2], open(sys.argv[3]).read(), "out_lib_py")' "$(dirname "$lib")" "$1" "$t/rows.jsonl"
}
# scripts/qemu_run.sh's --out (results through out_install): the guest's selftest row
w_qemu_run() {
	"$(dirname "$lib")/qemu_run.sh" --elf "$MTB_GUEST" --out "$1" -- selftest 2>&1 >/dev/null |
		errors_of "$1"
	return "${PIPESTATUS[0]}"
}

# run W OUT: runs writer W on OUT with its stderr in $t/err, exit status in $rc.
run() {
	"w_$1" "$2" 2>"$t/err" 5>&- 6<&-
	rc=$?
}

# one_line CASE NEEDLE: the error is one line containing NEEDLE.
one_line() {
	[ "$(wc -l <"$t/err")" -eq 1 ] && grep -q "$2" "$t/err" ||
		fail "$1: expected one line with '$2', got: $(cat "$t/err")"
}

# replaced FILE: FILE is a regular file with new content (not "old").
replaced() { [ -f "$1" ] && [ -s "$1" ] && ! cmp -s "$1" "$t/old"; }

# check_regular W D SFX: cases 1 and 2.
check_regular() {
	local w=$1 d=$2 s=$3
	echo old >"$d/reg$s"
	run "$w" "$d/reg$s"
	[ $rc -eq 0 ] || fail "$w: regular file: exit $rc: $(cat "$t/err")"
	replaced "$d/reg$s" || fail "$w: regular file not replaced"
	echo old >"$d/target$s"
	ln -s "target$s" "$d/link$s"
	run "$w" "$d/link$s"
	[ $rc -eq 0 ] || fail "$w: symlink: exit $rc: $(cat "$t/err")"
	[ -L "$d/link$s" ] && [ "$(readlink "$d/link$s")" = "target$s" ] ||
		fail "$w: the symlink was replaced"
	replaced "$d/target$s" || fail "$w: the symlink's target was not replaced"
}

# run_fifo W FIFO: run W on FIFO while a background cat copies it to FIFO.got. cat reads
# an fd opened here (fd 6: no blocking, fd 5 holds the FIFO read-write), so it reads from
# the start; fd 5 stays open until the writer is done, so that cat ends then, even when
# a writer replaced the FIFO instead of opening it.
run_fifo() {
	local cat_pid
	exec 5<>"$2" 6<"$2"
	cat <&6 >"$2.got" 5>&- 6<&- &
	cat_pid=$!
	exec 6<&-
	run "$1" "$2"
	exec 5>&-
	wait "$cat_pid"
}

# check_fifo W D SFX: case 3.
check_fifo() {
	local w=$1 f=$2/fifo$3
	mkfifo "$f"
	run_fifo "$w" "$f"
	[ -p "$f" ] || fail "$w: the FIFO was replaced (exit $rc)"
	if [ $rc -eq 2 ]; then
		one_line "$w: refused FIFO" "fifo"
	else
		[ $rc -eq 0 ] || fail "$w: FIFO: exit $rc: $(cat "$t/err")"
		[ -s "$f.got" ] || fail "$w: nothing came through the FIFO"
	fi
}

# devices_here D: makes D/null (c 1 3) and D/full (c 1 7); false where that is not
# allowed (not root, a nodev file system).
devices_here() {
	mknod "$1/null" c 1 3 2>/dev/null && mknod "$1/full" c 1 7 2>/dev/null &&
		: 2>/dev/null >"$1/null"
}

# check_devices W D: cases 4 and 5. /dev/full itself only once a private full device
# survived W, or when not root (then /dev cannot be written to).
check_devices() {
	local w=$1 d=$2 full fulls=(/dev/full)
	if devices_here "$d"; then
		run "$w" "$d/null"
		[ -c "$d/null" ] || fail "$w: the character device was replaced (exit $rc)"
		[ $rc -eq 0 ] || fail "$w: writing to a null device: exit $rc: $(cat "$t/err")"
		fulls=("$d/full" /dev/full)
	elif [ "$(id -u)" -eq 0 ]; then
		echo "SKIP: $w: no device nodes here (mknod failed as root); /dev/full not tried"
		return
	else
		echo "SKIP: $w: no device nodes here (mknod needs root)"
	fi
	for full in "${fulls[@]}"; do
		run "$w" "$full"
		[ -c "$full" ] || { fail "$w: $full was replaced (exit $rc)"; return; }
		[ $rc -ne 0 ] || fail "$w: $full: exit 0"
		one_line "$w: $full" "No space left"
	done
}

# check W SFX: every case for writer W, its outputs named *SFX (the format of trace).
check() {
	local w=$1 s=$2 d=$t/$1$2 before=$fails
	mkdir "$d"
	check_regular "$w" "$d" "$s"
	check_fifo "$w" "$d" "$s"
	check_devices "$w" "$d"
	mkdir "$d/dir$s"
	run "$w" "$d/dir$s"
	want=2
	[ "$w" != qemu_run ] || want=64 # its bad-usage status, before QEMU starts
	[ $rc -eq $want ] || fail "$w: directory: exit $rc, expected $want"
	one_line "$w: directory" "dir$s"
	[ -d "$d/dir$s" ] && [ -z "$(ls -A "$d/dir$s")" ] || fail "$w: directory changed"
	[ -z "$(find "$d" -name '*.tmp.*')" ] || fail "$w: temp files left: $(find "$d" -name '*.tmp.*')"
	[ $fails -ne "$before" ] || echo "ok: $w${s:+ ($s)}"
}

"$bin/trace" gen larson "$t/in.bin" --ops 200 >/dev/null || fail "cannot make the input trace"
printf '%s\n' '{"kind":"x","ops":1}' >"$t/rows.jsonl"
echo old >"$t/old"
check trace_gen .bin
check trace_gen .trc
check trace_convert .bin
check trace_convert .trc
for w in rows2csv mtb_host va_replay heap_bench frame_bench va_bench gbench_bench; do
	if [ -x "$bin/$w" ]; then
		check "$w" ""
	elif [ "$w" = gbench_bench ]; then
		echo "SKIP: $bin/$w not built (needs libbenchmark)"
	else
		fail "$bin/$w not built"
	fi
done
[ -f "$lib" ] && check out_lib "" || fail "no $lib"
check out_lib_py ""
if [ -n "${MTB_GUEST:-}" ] && [ -f "${MTB_GUEST:-}" ] && command -v qemu-system-x86_64 >/dev/null; then
	check qemu_run ""
else
	echo "SKIP: qemu_run: no guest ELF (\$MTB_GUEST) or no QEMU"
fi

# The vmm: --out is opened before KVM is; without KVM nothing is written (exit 3).
if [ -x "$vmm" ] && command -v gcc >/dev/null; then
	printf '%s\n' .globl\ _start _start: ' mov $0x502, %dx' ' xor %eax, %eax' \
		' out %eax, %dx' ' hlt' >"$t/t.S"
	gcc -nostdlib -static -no-pie -Wl,-Ttext-segment=0x100000 -Wl,--build-id=none \
		"$t/t.S" -o "$t/t.elf" || fail "cannot build the test ELF"
	w_vmm() { "$vmm" --out "$1" "$t/t.elf" >/dev/null; }
	d=$t/vmm before=$fails
	mkdir -p "$d/dir"
	run vmm "$d/dir"
	[ $rc -eq 2 ] || fail "vmm: directory: exit $rc, expected 2"
	one_line "vmm: directory" "Is a directory"
	mkfifo "$d/fifo"
	run_fifo vmm "$d/fifo"
	[ -p "$d/fifo" ] || fail "vmm: the FIFO was replaced"
	echo old >"$d/target"
	ln -s target "$d/link"
	run vmm "$d/link"
	[ -L "$d/link" ] || fail "vmm: the symlink was replaced"
	if devices_here "$d"; then
		run vmm "$d/null"
		[ -c "$d/null" ] || fail "vmm: the character device was replaced"
		run vmm "$d/full"
		[ -c "$d/full" ] || fail "vmm: the full device was replaced"
	fi
	[ -z "$(find "$d" -name '*.tmp.*')" ] || fail "vmm: temp files left"
	[ $fails -ne "$before" ] || echo "ok: vmm"
else
	echo "SKIP: vmm: $vmm not built or no gcc"
fi

[ $fails -eq 0 ] || {
	echo "out_paths_test: $fails failure(s)"
	exit 1
}
echo "out_paths_test: ok"
