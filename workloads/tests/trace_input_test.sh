#!/usr/bin/env bash
# trace_input_test.sh: how the trace readers (trace, va_replay, mtb_host; the vmm's
# files too) take hostile or unusual inputs (workloads/host/trace_read.c):
#   - devices (/dev/zero) are refused at once, under a small address-space limit;
#   - a FIFO with no writer is refused, never waited for (each run under timeout 20:
#     a regression fails instead of hanging); pipes and a FIFO with its writer are
#     read as streams;
#   - an xz bomb that is not a trace fails on its first 64 KiB: its truncated tail,
#     which a full read would reach first, is never reported; one that looks like a
#     trace stops at MTB_MAX_INPUT; a malformed MTB_MAX_INPUT is an error;
#   - a multi-stream .xz (cat a.xz b.xz) loads exactly as the plain file;
#   - CRLF line ends (.trc, .rep, .vmt) load as LF ones; ops=-1 in a header is an error.
set -u
cd "$(dirname "$0")/../.."
bin=${MTB_BIN:-build/bin}
vmm=${MTB_VMM:-$bin/vmm}
for b in trace va_replay mtb_host; do
	[ -x "$bin/$b" ] || { echo "FAIL: $bin/$b not built (make $bin/$b)"; exit 1; }
done
t=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$t"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect NAME RC NEEDLE CMD...: CMD exits RC (timeout 20) with NEEDLE in a one-line stderr.
expect() {
	local name=$1 want=$2 needle=$3 rc
	shift 3
	timeout 20 "$@" >"$t/out" 2>"$t/err"
	rc=$?
	if [ $rc -eq 124 ]; then
		fail "$name: still running after 20 s (blocked or unbounded)"
	elif [ $rc -ne "$want" ] || [ "$(wc -l <"$t/err")" -ne 1 ] || ! grep -qF -- "$needle" "$t/err"; then
		fail "$name: exit $rc (want $want), stderr not one line with '$needle': $(head -c 300 "$t/err")"
	else
		echo "ok: $name: $(cat "$t/err")"
	fi
}

cat >"$t/a.trc" <<'TRC'
# allocrec trace v1 exe=/bin/x pid=1 threads=2 ops=6 objects=4 peak_live=4196
0 a 7 100
0 c 3 50
5 m 9 4000 4096
5 r 7 146
0 f 3
5 a 3 1
TRC
"$bin/trace" convert "$t/a.trc" "$t/a.mtb" >/dev/null || { echo "FAIL: plain convert"; exit 1; }

# Devices: refused before any byte is read (the old reader took 7 GB from /dev/zero).
for tool in "trace stats" "va_replay --trace" "mtb_host --trace"; do
	set -- $tool
	expect "$1 /dev/zero" 1 "/dev/zero: not a regular file or pipe" \
		bash -c 'ulimit -v 1000000; exec "$0" "$@"' "$bin/$1" "${@:2}" /dev/zero
done

# FIFOs: no writer -> refused at once; the vmm (regular files only) refuses them too.
mkfifo "$t/fifo"
for tool in "trace stats" "va_replay --trace" "mtb_host --trace"; do
	set -- $tool
	expect "$1 FIFO without writer" 1 "fifo: FIFO or pipe with no writer" "$bin/$1" "${@:2}" "$t/fifo"
done
[ ! -x "$vmm" ] || expect "vmm FIFO as ELF" 2 "fifo: not a regular file" "$vmm" --dry-run "$t/fifo"
# A FIFO whose writer is there (fd 3 holds it open) is read to its end: the end comes
# when fd 3 is closed, once the reader has the FIFO open (waited for in /proc).
mkfifo "$t/wfifo"
exec 3<>"$t/wfifo"
cat "$t/a.trc" >&3
"$bin/trace" convert "$t/wfifo" "$t/w.mtb" >/dev/null 2>"$t/werr" 3>&- &
pid=$!
# until_gone N: polls (N x 0.05 s at most) until $pid has exited; false if it has not.
until_gone() { for _ in $(seq "$1"); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done; false; }
for _ in $(seq 400); do
	ls -l "/proc/$pid/fd" 2>/dev/null | grep -q wfifo && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
exec 3>&-
if until_gone 400; then
	wait "$pid"
	rc=$?
	[ $rc -eq 0 ] && cmp -s "$t/a.mtb" "$t/w.mtb" && echo "ok: FIFO with a writer read as a stream" ||
		fail "FIFO with a writer: exit $rc: $(cat "$t/werr")"
else
	kill "$pid"
	fail "FIFO with a writer: still reading 20 s after its writer closed"
fi
# Pipes (/dev/stdin, process substitution), plain and xz.
cat "$t/a.trc" | "$bin/trace" convert /dev/stdin "$t/p1.mtb" >/dev/null 2>"$t/err" &&
	cmp -s "$t/a.mtb" "$t/p1.mtb" && echo "ok: pipe on /dev/stdin" || fail "pipe: $(cat "$t/err")"
"$bin/trace" convert <(xz -c "$t/a.trc") "$t/p2.mtb" >/dev/null 2>"$t/err" &&
	cmp -s "$t/a.mtb" "$t/p2.mtb" && echo "ok: xz through a pipe" || fail "xz pipe: $(cat "$t/err")"
# An endless pipe of zeros: the format check on its first 64 KiB ends it.
expect "endless pipe of zeros" 1 ":1: unknown trace format" \
	bash -c 'ulimit -v 1000000; exec "$0" stats <(cat /dev/zero)' "$bin/trace"

# xz bombs. 4 MB of zeros with the stream's last 8 bytes cut: a reader that
# decompresses everything first reports the truncation; ours stops after 64 KiB.
head -c 4M /dev/zero | xz -1 -c >"$t/z.xz"
head -c -8 "$t/z.xz" >"$t/bomb.xz"
cp "$t/bomb.xz" "$t/bomb.trc.xz"
expect "xz bomb, no trace in it" 1 "bomb.xz:1: unknown trace format" "$bin/trace" stats "$t/bomb.xz"
expect "xz bomb named .trc.xz" 1 "bomb.trc.xz:1: not a text trace" "$bin/trace" stats "$t/bomb.trc.xz"
expect "xz bomb as .vmt" 1 "bomb.xz:1: not a text trace" "$bin/va_replay" --trace "$t/bomb.xz"
# A bomb that looks like a trace (4 MB of the same line) stops at the limit.
yes '0 a 1 16' | head -c 4M | xz -1 -c >"$t/lines.trc.xz"
expect "MTB_MAX_INPUT=1M" 1 "more than 1048576 bytes of data (the input limit" \
	env MTB_MAX_INPUT=1M "$bin/trace" stats "$t/lines.trc.xz"
expect "MTB_MAX_INPUT on a plain file" 1 "more than 100 bytes of data" \
	env MTB_MAX_INPUT=100 "$bin/trace" stats "$t/a.trc"
expect "MTB_MAX_INPUT on a .vmt" 1 "more than 1024 bytes" \
	env MTB_MAX_INPUT=1K "$bin/va_replay" --trace "$t/lines.trc.xz"
expect "MTB_MAX_INPUT malformed" 1 "MTB_MAX_INPUT=0x10: not a size" \
	env MTB_MAX_INPUT=0x10 "$bin/trace" stats "$t/a.trc"
"$bin/trace" --help | grep -q 'MTB_MAX_INPUT' && "$bin/va_replay" --help | grep -q 'MTB_MAX_INPUT' &&
	"$bin/mtb_host" --help | grep -q 'MTB_MAX_INPUT' && echo "ok: --help states the limit" ||
	fail "--help of trace, va_replay or mtb_host does not state MTB_MAX_INPUT"

# Multi-stream xz: two halves compressed separately and concatenated.
head -4 "$t/a.trc" | xz -c >"$t/m.trc.xz"
tail -n +5 "$t/a.trc" | xz -c >>"$t/m.trc.xz"
if "$bin/trace" convert "$t/m.trc.xz" "$t/m.mtb" >/dev/null 2>"$t/err" && cmp -s "$t/a.mtb" "$t/m.mtb"; then
	echo "ok: multi-stream xz = the plain file"
else
	fail "multi-stream xz: $(cat "$t/err")"
fi
printf 'junk' >>"$t/m.trc.xz"
expect "multi-stream xz with trailing junk" 1 "m.trc.xz: offset" "$bin/trace" stats "$t/m.trc.xz"

# CRLF line ends: same ops as LF.
sed 's/$/\r/' "$t/a.trc" >"$t/crlf.trc"
if "$bin/trace" convert "$t/crlf.trc" "$t/crlf.mtb" >/dev/null 2>"$t/err" && cmp -s "$t/a.mtb" "$t/crlf.mtb"; then
	echo "ok: CRLF .trc"
else
	fail "CRLF .trc: $(cat "$t/err")"
fi
printf '20000\r\n3\r\n4\r\n1\r\na 0 512\r\na 1 128\r\nr 0 640\r\nf 1\r\n' >"$t/crlf.rep"
"$bin/trace" stats "$t/crlf.rep" 2>"$t/err" | grep -q '^ops         4$' && echo "ok: CRLF .rep" ||
	fail "CRLF .rep: $(cat "$t/err")"
printf '1 1 exec /x\r\n1 1 map 10000 8192 rw- a\r\n1 1 brk 80000\r\n' >"$t/crlf.vmt"
"$bin/va_replay" --virt bitmap --trace "$t/crlf.vmt" 2>"$t/err" | grep -q '"kind":"va_frag"' &&
	echo "ok: CRLF .vmt" || fail "CRLF .vmt: $(cat "$t/err")"

# Header counts are decimal numbers or an error, never read as 0.
sed '1s/ops=6/ops=-1/' "$t/a.trc" >"$t/neg.trc"
expect "header ops=-1" 1 "neg.trc:1: bad header value ops=-1" "$bin/trace" stats "$t/neg.trc"
sed '1s/ops=6/ops=6x/' "$t/a.trc" >"$t/junk.trc"
expect "header ops=6x" 1 "junk.trc:1: bad header value ops=6x" "$bin/trace" stats "$t/junk.trc"
{ cat "$t/a.trc"; echo '# end ops=-6'; } >"$t/trail.trc"
expect "trailer ops=-6" 1 "trail.trc:8: bad trailer value ops=-6" "$bin/trace" stats "$t/trail.trc"

[ $fails -eq 0 ] || { echo "trace_input_test: $fails failure(s)"; exit 1; }
echo "trace_input_test: ok"
