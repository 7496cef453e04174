#!/usr/bin/env bash
# cli_numbers_test.sh: numbers on the command line of every host tool and benchmark
# (trace, va_replay, mtb_host, frame_bench, va_bench, heap_bench, gbench_bench,
# frame_overlap; the
# vmm's are in vmm/tests/cli_test.sh) are strict decimal: a leading 0 is decimal
# (010 is ten, not octal 8), and hex, a sign, a blank, trailing text, an empty
# element of a list and overflow are refused with exit 2 and one line naming the
# option and the value; an option given last without its value says "OPT needs a
# value" (not "unknown option"). frame_bench checks --mem against the least its
# figures need before it runs anything.
set -u
cd "$(dirname "$0")/../.."
bin=${MTB_BIN:-build/bin}
for b in trace va_replay mtb_host frame_bench va_bench heap_bench; do
	[ -x "$bin/$b" ] || { echo "FAIL: $bin/$b not built (make $bin/$b)"; exit 1; }
done
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# bad NEEDLE CMD...: CMD exits 2 within 20 s, one stderr line containing NEEDLE.
bad() {
	local needle=$1 rc
	shift
	timeout 20 "$@" >"$t/out" 2>"$t/err"
	rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$t/err")" -ne 1 ] || ! grep -qF -- "$needle" "$t/err"; then
		fail "${*#"$bin/"}: exit $rc (want 2), stderr not one line with '$needle': $(head -c 300 "$t/err")"
	else
		echo "ok: ${*#"$bin/"}: $(cat "$t/err")"
	fi
}

# Leading zeros are decimal.
"$bin/trace" gen larson "$t/g.mtb" --ops 010 >/dev/null 2>&1
"$bin/trace" stats "$t/g.mtb" 2>/dev/null | grep -q '^ops         10$' && echo "ok: trace gen --ops 010 = 10 ops" ||
	fail "trace gen --ops 010: $("$bin/trace" stats "$t/g.mtb" 2>&1 | grep '^ops')"
"$bin/mtb_host" --gen larson --ops 010 2>/dev/null | grep -q '"ops":10,' && echo "ok: mtb_host --ops 010 = 10 ops" ||
	fail "mtb_host --ops 010 is not 10 ops"
if "$bin/va_replay" --gen mix --ops 10 2>&1 >/dev/null | grep -q ' ops, '; then
	"$bin/va_replay" --gen mix --ops 010 2>/dev/null | grep -q '"ops":10,' && echo "ok: va_replay --ops 010 = 10 ops" ||
		fail "va_replay --ops 010 is not 10 ops"
fi

for v in 0x10 -1 +5 ' 5' 5x '' 99999999999999999999; do
	bad "trace: --ops: bad value '$v'" "$bin/trace" gen larson "$t/x.mtb" --ops "$v"
done
bad "trace: --seed: bad value '-1'" "$bin/trace" gen larson "$t/x.mtb" --seed -1
bad "trace: --threads: bad value '0x2'" "$bin/trace" gen larson "$t/x.mtb" --threads 0x2
bad "trace: --ops needs a value" "$bin/trace" gen larson "$t/x.mtb" --ops

bad "va_replay: --ops: bad value '0x10'" "$bin/va_replay" --gen mix --ops 0x10
bad "va_replay: --seed: bad value '-1'" "$bin/va_replay" --gen mix --seed -1
bad "va_replay: --size-tib: bad value '010x'" "$bin/va_replay" --gen mix --size-tib 010x
bad "va_replay: --ops needs a value" "$bin/va_replay" --gen mix --ops

for v in 1,,2 ,1 1, 0x2 -1 ' 1'; do
	bad "mtb_host: bad --cpus (decimal counts 1..64, comma separated): $v" "$bin/mtb_host" --gen larson --cpus "$v"
done
bad "mtb_host: --seed: bad value '-1'" "$bin/mtb_host" --gen larson --seed -1
bad "mtb_host: --ops: bad value '0x10'" "$bin/mtb_host" --gen larson --ops 0x10
bad "mtb_host: --mem: bad value '010M'" "$bin/mtb_host" --gen larson --mem 010M
bad "mtb_host: --ops needs a value" "$bin/mtb_host" --gen larson --ops

# frame_bench: the range is checked before any figure (the old check came 30 s late).
bad "frame_bench: --mem: bad value '64' (a decimal number in 96..1048576)" "$bin/frame_bench" --mem 64
bad "frame_bench: --seed: bad value '-1'" "$bin/frame_bench" --seed -1
bad "frame_bench: --rounds: bad value '0x10'" "$bin/frame_bench" --rounds 0x10
bad "frame_bench: --mem needs a value" "$bin/frame_bench" --mem
"$bin/frame_bench" --help | grep -q -- '--mem MIB .*96\.\.1048576' && echo "ok: frame_bench --help states the --mem range" ||
	fail "frame_bench --help does not state the --mem range"

bad "va_bench: --seed: bad value '-1'" "$bin/va_bench" --seed -1
bad "va_bench: --pairs: bad value ' 5'" "$bin/va_bench" --pairs ' 5'
bad "va_bench: --rounds needs a value" "$bin/va_bench" --rounds

bad "heap_bench: --rounds: bad value '0x10'" "$bin/heap_bench" --out "$t/h.csv" --rounds 0x10
bad "heap_bench: --seed: bad value '-1'" "$bin/heap_bench" --out "$t/h.csv" --seed -1
bad "heap_bench: --out needs a value" "$bin/heap_bench" --out

if [ -x "$bin/frame_overlap" ]; then
	bad "frame_overlap: --seed: bad value '-1'" "$bin/frame_overlap" --seed -1
	bad "frame_overlap: --fill: bad value '0x5'" "$bin/frame_overlap" --fill 0x5
	bad "frame_overlap: --mem needs a value" "$bin/frame_overlap" --mem
fi
if [ -x "$bin/gbench_bench" ]; then
	bad "gbench_bench: --out needs a value" "$bin/gbench_bench" --out
else
	echo "SKIP: $bin/gbench_bench not built (Google Benchmark missing)"
fi

[ $fails -eq 0 ] || { echo "cli_numbers_test: $fails failure(s)"; exit 1; }
echo "cli_numbers_test: ok"
