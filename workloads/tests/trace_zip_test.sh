#!/usr/bin/env bash
# trace_zip_test.sh: a trace inside a .zip archive (AOSP ships its memory_replay traces as
# NAME.zip holding NAME.txt) reads as the file itself (workloads/host/trace_zip.c):
# deflated, stored, with data descriptors (a streaming zipper's), an allocrec .trc inside,
# from a pipe; trace convert of the archive gives the same bytes as of the plain file;
# mtb_host replays it as workload NAME; run.sh's sweep finds .zip and every other format
# suffix in MTB_TRACES. Refused with exit 1 (as a corrupt .xz is) and one line naming the file: two files, no
# file, a truncated archive, corrupt deflate data, a CRC mismatch, another method (bzip2),
# a file over MTB_MAX_INPUT.
set -euo pipefail
. "$(dirname "$0")/../../scripts/tests/test_lib.sh"
# An Android memory_replay trace: two threads, malloc/calloc/realloc/memalign/free.
python3 - "$t/aosp.txt" <<'PY'
import random, sys
random.seed(3)
live, out, nxt = [], [], 0x1000
for i in range(3000):
    tid = 100 + (i % 2)
    if live and random.random() < 0.45:
        p = live.pop(random.randrange(len(live)))
        out.append("%d: free 0x%x" % (tid, p))
    else:
        nxt += 0x40
        k = random.random()
        if k < 0.1:
            out.append("%d: calloc 0x%x 4 %d" % (tid, nxt, random.randint(1, 64)))
        elif k < 0.15:
            out.append("%d: memalign 0x%x 64 %d" % (tid, nxt, random.randint(1, 500)))
        else:
            out.append("%d: malloc 0x%x %d" % (tid, nxt, random.randint(1, 4000)))
        live.append(nxt)
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
"$bin"/trace gen larson "$t/g.trc" --ops 5000 --threads 2 >/dev/null
python3 - "$t" <<'PY'
import io, os, sys, zipfile
d = sys.argv[1]
txt = open(d + "/aosp.txt", "rb").read()
def mk(name, method, files, stream=False):
    buf = io.BytesIO()
    class Unseekable(io.RawIOBase):  # a pipe: zipfile writes data descriptors
        def writable(self): return True
        def write(self, b): return buf.write(b)
    with zipfile.ZipFile(Unseekable() if stream else buf, "w", method) as z:
        for n, data in files:
            z.writestr(n, data)
    open(os.path.join(d, name), "wb").write(buf.getvalue())
mk("deflate.zip", zipfile.ZIP_DEFLATED, [("traces/", b""), ("aosp.txt", txt)])
mk("stored.zip", zipfile.ZIP_STORED, [("aosp.txt", txt)])
mk("stream.zip", zipfile.ZIP_DEFLATED, [("aosp.txt", txt)], stream=True)
mk("trc.zip", zipfile.ZIP_DEFLATED, [("g.trc", open(d + "/g.trc", "rb").read())])
mk("two.zip", zipfile.ZIP_DEFLATED, [("a.txt", txt), ("b.txt", txt)])
mk("none.zip", zipfile.ZIP_DEFLATED, [("dir/", b"")])
mk("bzip2.zip", zipfile.ZIP_BZIP2, [("aosp.txt", txt)])
z = open(d + "/deflate.zip", "rb").read()
open(d + "/cut.zip", "wb").write(z[:-10])
i = z.index(b"aosp.txt") + len(b"aosp.txt") + 40  # inside the deflate data
open(d + "/corrupt.zip", "wb").write(z[:i] + bytes(b ^ 0x55 for b in z[i:i + 64]) + z[i + 64:])
s = bytearray(open(d + "/stored.zip", "rb").read())
s[s.index(b"aosp.txt") + len(b"aosp.txt") + 5] ^= 1  # one byte of the stored data
open(d + "/crc.zip", "wb").write(bytes(s))
PY
"$bin"/trace convert "$t/aosp.txt" "$t/plain.mtb" >/dev/null || fail "plain trace"
for z in deflate stored stream; do
	"$bin"/trace convert "$t/$z.zip" "$t/$z.mtb" >/dev/null 2>"$t/err" || fail "$z.zip: $(cat "$t/err")"
	cmp -s "$t/plain.mtb" "$t/$z.mtb" || fail "$z.zip converts differently from the plain file"
done
"$bin"/trace stats "$t/trc.zip" | grep -q '^format *trc' || fail "a .trc inside a zip: $("$bin"/trace stats "$t/trc.zip" 2>&1)"
"$bin"/trace stats /dev/stdin <"$t/deflate.zip" | grep -q '^format *android' || fail "a zip from a pipe"
w=$("$bin"/mtb_host --trace "$t/deflate.zip" --heap talc |
	python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); print(r["workload"], r["ops"])')
[ "$w" = "deflate $(awk '$1 == "ops" {print $2}' <("$bin"/trace stats "$t/aosp.txt"))" ] || fail "mtb_host on deflate.zip: $w"
refuse() { # FILE NEEDLE [ENV...]
	local f=$1 needle=$2 rc=0
	shift 2
	env "$@" "$bin"/trace stats "$t/$f" >/dev/null 2>"$t/err" || rc=$?
	[ $rc -eq 1 ] || fail "$f: exit $rc, want 1 ($(cat "$t/err"))"
	[ "$(wc -l <"$t/err")" -eq 1 ] && grep -qF "$t/$f: zip: $needle" "$t/err" || fail "$f: $(cat "$t/err")"
}
refuse two.zip "2 files in the archive (one trace file expected)"
refuse none.zip "0 files in the archive"
refuse cut.zip "no end of central directory record"
refuse corrupt.zip "deflate data corrupt"
refuse crc.zip "CRC mismatch"
refuse bzip2.zip "compression method 12 (only stored and deflate)"
lim=$(($(stat -c %s "$t/deflate.zip") + 1)) # the archive fits, its file does not
refuse deflate.zip "more than $lim bytes of data (the input limit" MTB_MAX_INPUT=$lim
# The sweep finds every format in MTB_TRACES (and names the workloads without suffixes).
mkdir "$t/tr"
cp "$t/deflate.zip" "$t/tr/aosp-a.zip"
cp "$t/aosp.txt" "$t/tr/aosp-b.txt"
xz -c "$t/aosp.txt" >"$t/tr/aosp-c.txt.xz"
cp "$t/g.trc" "$t/tr/g.trc"
echo 'not a trace' >"$t/tr/notes.md"
MTB_TRACES=$t/tr scripts/run.sh --engine host --guest-check none --list --heaps talc --phys buddy --virt bitmap \
	--peers none --cpus 1 --traces aosp-a,aosp-b,aosp-c,g >"$t/list" 2>&1 || { cat "$t/list"; fail "run.sh --list"; }
for w in aosp-a.zip aosp-b.txt aosp-c.txt.xz g.trc; do
	grep -q "^host\.buddy-bitmap-talc\.${w%%.*}\.c1 .*/$w 1\$" "$t/list" || fail "the sweep does not list $w: $(cat "$t/list")"
done
grep -q notes "$t/list" && fail "a non-trace file listed"
echo "trace_zip_test: ok"
