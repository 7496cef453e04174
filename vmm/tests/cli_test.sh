#!/usr/bin/env bash
# cli_test.sh: the vmm command line: bad input gives one line on stderr and a
# non-zero exit (2 = usage/input; FIFOs and overlapping PT_LOAD segments included,
# each run bounded by timeout 20), --help exits 0, --dry-run lays out a tiny
# ELF built here (with and without holes, a trace, many CPUs), and without
# /dev/kvm a real run says so in one line and exits 3, leaving no --out file.
set -u
VMM=${MTB_VMM:-build/bin/vmm}
[ -x "$VMM" ] || { echo "FAIL: $VMM not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A tiny guest: exit(0) hypercall, headers inside the 1 MiB load segment.
printf '.globl _start\n_start:\n mov $0x502, %%dx\n xor %%eax, %%eax\n out %%eax, %%dx\n hlt\n' >"$tmp/t.S"
gcc -nostdlib -static -no-pie -Wl,-Ttext-segment=0x100000 -Wl,--build-id=none \
	"$tmp/t.S" -o "$tmp/t.elf" || { echo "FAIL: cannot build the test ELF"; exit 1; }
echo 'not an elf' >"$tmp/text.elf"
head -c 100 "$tmp/t.elf" >"$tmp/trunc.elf"
head -c 20000 /dev/urandom >"$tmp/trace.bin"
# ELF64 x86_64 executable, entry 0x100000, two PT_LOAD segments: [0x100000, 0x102000)
# (R+X) and [0x101000, 0x102000) (RW), which overlap.
python3 - "$tmp/overlap.elf" <<'PY'
import struct, sys
ph = lambda flags, off, pa, sz: struct.pack("<IIQQQQQQ", 1, flags, off, pa, pa, sz, sz, 0x1000)
eh = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x100000, 64, 0,
                                                    0, 64, 56, 2, 64, 0, 0)
body = eh + ph(5, 0, 0x100000, 0x2000) + ph(6, 0x1000, 0x101000, 0x1000)
open(sys.argv[1], "wb").write(body + bytes(0x2000 - len(body)))
PY
mkfifo "$tmp/fifo"

# expect_err NAME CODE NEEDLE ARGS...: exit CODE, one stderr line with NEEDLE.
expect_err() {
	local name=$1 code=$2 needle=$3
	shift 3
	timeout 20 "$VMM" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$? lines
	lines=$(wc -l <"$tmp/err")
	[ "$rc" -eq "$code" ] || fail "$name: exit $rc, expected $code"
	[ "$lines" -eq 1 ] || fail "$name: $lines stderr lines, expected 1: $(cat "$tmp/err")"
	grep -qF -- "$needle" "$tmp/err" || fail "$name: stderr lacks '$needle': $(cat "$tmp/err")"
	[ ! -s "$tmp/out" ] || fail "$name: wrote to stdout"
	echo "ok: $name: $(cat "$tmp/err")"
}

expect_err "unknown flag" 2 "--bogus" --bogus "$tmp/t.elf"
expect_err "--cpus 0" 2 "--cpus 0" --cpus 0 "$tmp/t.elf"
expect_err "--cpus 65" 2 "--cpus 65" --cpus 65 "$tmp/t.elf"
expect_err "--mem 1K" 2 "--mem 1K" --mem 1K "$tmp/t.elf"
expect_err "--mem 100G" 2 "between 16M and 64G" --mem 100G "$tmp/t.elf"
expect_err "--timeout x" 2 "--timeout x" --timeout x "$tmp/t.elf"
expect_err "no ELF" 2 "no guest ELF" --cpus 2
expect_err "missing file" 2 "No such file or directory" "$tmp/missing.elf"
expect_err "directory" 2 "Is a directory" "$tmp"
expect_err "non-ELF file" 2 "not an ELF file" "$tmp/text.elf"
expect_err "truncated ELF" 2 "truncated" "$tmp/trunc.elf"
expect_err "missing trace" 2 "--trace" --trace "$tmp/none.bin" "$tmp/t.elf"
truncate -s 20M "$tmp/big.bin"
expect_err "trace too big" 2 "does not fit" --mem 16M --trace "$tmp/big.bin" "$tmp/t.elf"
expect_err "trace not a file" 2 "not a regular file" --trace /dev/null "$tmp/t.elf"
expect_err "overlapping PT_LOAD" 2 "ELF PT_LOAD segments overlap: [0x100000, 0x102000) and [0x101000, 0x102000)" \
	--dry-run "$tmp/overlap.elf"
expect_err "missing value" 2 "vmm: --cpus needs a value" --cpus
expect_err "hex --cpus" 2 "--cpus 0x2" --cpus 0x2 "$tmp/t.elf"
expect_err "negative --timeout" 2 "--timeout -1" --timeout -1 "$tmp/t.elf"
# FIFOs are refused at once, never waited for (timeout: a regression fails, not hangs)
expect_err "FIFO ELF" 2 "fifo: not a regular file" --dry-run "$tmp/fifo"
expect_err "FIFO trace" 2 "--trace $tmp/fifo: not a regular file" --dry-run --trace "$tmp/fifo" "$tmp/t.elf"
expect_err "unwritable --out" 2 "--out $tmp/nodir/r.jsonl: No such file" --out "$tmp/nodir/r.jsonl" "$tmp/t.elf"

"$VMM" --help >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "--help: exit $rc"
grep -q "usage: vmm" "$tmp/out" && grep -q -- "--dry-run" "$tmp/out" &&
	grep -q "3 /dev/kvm" "$tmp/out" || fail "--help text incomplete"
[ ! -s "$tmp/err" ] || fail "--help wrote to stderr"

"$VMM" --dry-run "$tmp/t.elf" -- selftest x=1 >"$tmp/out" 2>"$tmp/err" || fail "dry-run: exit $?"
grep -q "guest RAM: 256 MiB in 1 region" "$tmp/out" || fail "dry-run: default RAM"
grep -q "page tables: \[0x10000" "$tmp/out" || fail "dry-run: page tables"
grep -q 'cmdline: "selftest x=1"' "$tmp/out" || fail "dry-run: cmdline"
grep -q "stacks: top 0x9f000" "$tmp/out" || fail "dry-run: stacks"
grep -q "host calibration: [1-9][0-9]* TSC cycles" "$tmp/out" || fail "dry-run: host calibration"

"$VMM" --dry-run --holes --mem 4G --cpus 16 --trace "$tmp/trace.bin" "$tmp/t.elf" >"$tmp/out" 2>"$tmp/err" ||
	fail "dry-run --holes: exit $?: $(cat "$tmp/err")"
regions=$(grep -c "^  region" "$tmp/out")
[ "$regions" -ge 4 ] || fail "dry-run --holes 4G: $regions regions, expected >= 4"
grep -q "trace: module 0 at .* 20000 bytes" "$tmp/out" || fail "dry-run: trace module"
[ "$(grep -c ' usable ' "$tmp/out")" -ge 3 ] || fail "dry-run --holes: usable entries"
grep -q "stacks: top 0x9f000" "$tmp/out" && fail "16 CPUs cannot use the abi.h stack area"
cat "$tmp/out"

if [ ! -e /dev/kvm ]; then
	expect_err "no /dev/kvm" 3 "vmm: cannot open /dev/kvm: No such file or directory" \
		--out "$tmp/r.jsonl" "$tmp/t.elf"
	[ ! -e "$tmp/r.jsonl" ] || fail "no KVM: --out file was written"
	ls "$tmp" | grep -q "r.jsonl.tmp" && fail "no KVM: temp file left behind"
fi

[ $fails -eq 0 ] || { echo "cli_test: $fails failure(s)"; exit 1; }
echo "cli_test: ok"
