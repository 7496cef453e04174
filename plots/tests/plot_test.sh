#!/usr/bin/env bash
# plot_test.sh: every figure is drawn from a synthetic sweep with known values
# (plots/tests/synth_rows.py) as a non-empty PNG (a real PNG signature) and SVG; the data
# behind the timing figures is what the report's verdicts use: scalability's speedups and
# intervals recomputed per round from the rows, oversubscribed points flagged, the series
# picked (talc and slab on buddy-btree, the fastest peer, glibc, the ceiling); latency's
# interval bounds (the median when n = 1); speed's per-round ratios; every timing figure
# draws error bars; sizes in binary units; --outdir writes nothing into plots/; gbench
# repetitions give a median and an interval; a CSV without matching rows is an error
# (exit 3); latency and metadata have a panel for every workload; titles match the axes
# and every reference line is in a legend; a full disk (a 16 KiB tmpfs the test mounts; skipped where mounting is not
# allowed) is exit 1 naming ENOSPC and leaves no partial figure under a final name.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
trap 'umount "$t/full" 2>/dev/null || true; rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
python3 plots/tests/synth_rows.py "$t/run"
"${MTB_BIN:-build/bin}"/rows2csv --out "$t/run/rows.csv" "$t/run/rows.jsonl"
before=$(find plots -newer "$t/run/rows.csv" -o -name '*.tmp' | sort)
plots/plot.sh --outdir "$t/p" "$t/run/rows.csv" >"$t/log" 2>&1 || { cat "$t/log"; fail "plot.sh"; }
[ "$(find plots -newer "$t/run/rows.csv" -o -name '*.tmp' | sort)" = "$before" ] || fail "plot.sh --outdir wrote into plots/"
for f in frag_heap va_frag speed scalability latency meta phys_2m; do
	[ -s "$t/p/$f.png" ] || { cat "$t/log"; fail "$f.png missing or empty"; }
	[ "$(head -c 8 "$t/p/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$f.png is not a PNG"
	size=$(stat -c %s "$t/p/$f.png")
	[ "$size" -gt 8000 ] || fail "$f.png suspiciously small ($size bytes)"
	grep -q '<svg' "$t/p/$f.svg" || fail "$f.svg is not SVG"
	[ -s "$t/p/$f.dat" ] || fail "$f.dat empty"
done
ls "$t"/p/*.tmp 2>/dev/null && fail "temporary files left"
# Every timing figure draws its data with error bars: each plot clause that reads data
# (a "using") has an error style, but for the ideal line and the latency without
# stand-ins (no interval exists for it); gbench's histogram style draws them from the
# clause's second and third columns.
for g in scalability latency speed; do
	grep -v '^ *#' "plots/$g.gp" | grep 'using' | grep -v 'without stand-ins' |
		grep -v 'errorbars\|errorlines' && fail "$g.gp: a data clause without error bars (above)"
done
grep -q '^set style histogram errorbars' plots/gbench.gp || fail "gbench.gp draws no error bars"
grep -v '^ *#' plots/gbench.gp | grep 'using' | grep -v 'using [0-9]*:[0-9]*:[0-9]*' &&
	fail "gbench.gp: a clause without its interval columns (above)"
# Sizes in binary units: metadata of 14 KiB (the axis labelled KiB and its ticks in KiB),
# VA metadata up to 3 MiB.
grep -q 'KiB of metadata' "$t/p/meta.svg" || fail "meta: not in KiB"
top=$(grep -o '> *[0-9.]*</text>' "$t/p/meta.svg" | tr -dc '0-9.\n' | sort -n | tail -1)
[ "${top%.*}" -le 64 ] || fail "meta: ticks up to $top, not KiB"
grep -q 'MiB (log scale)' "$t/p/va_frag.svg" || fail "va_frag: VA metadata not in MiB"
[ "$(awk '{print $1, $2}' "$t/p/frag_heap.dat" | sort | uniq -d | wc -l)" -eq 0 ] || fail "frag_heap.dat has duplicate (workload, heap) rows"

python3 - "$t/run/rows.jsonl" "$t/p" <<'PY' || fail "figure data (above)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
d = sys.argv[2]
def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
def est(v):  # n = 5 here: [min, max]
    s = sorted(v)
    return s[len(s) // 2], s[0], s[-1]
def close(a, b):
    return abs(a - b) <= 1e-4 * abs(b) + 1e-9
def series(r):
    return r["combo"] if r["phys"] != "-" else r["heap"]
host = [r for r in rows if r.get("kind") == "replay" and r["engine"] == "host"]
# scalability.dat: workload series cpus speedup lo hi over role bound
scal = [l.split() for l in open(d + "/scalability.dat")]
got = {}
bound = {}
for w, s, n, m, lo, hi, over, role, b in scal:
    got[(w, s, int(n))] = (float(m), float(lo), float(hi), over, role)
    bound[w] = b
    check(float(lo) <= float(m) <= float(hi), "interval order %s %s %s" % (w, s, n))
for w in ("larson", "xmalloc", "threadtest"):
    par = [r for r in host if r["trace"] == w + ".mtb" and r["mode"] == "parallel"]
    base = {series(r): r for r in par if r["cpus"] == 1}
    for r in par:
        s = series(r)
        if r["cpus"] == 1 or (w, s, r["cpus"]) not in got:
            continue
        em, el, eh = est([a / b for a, b in zip(r["ops_per_s_reps"], base[s]["ops_per_s_reps"])])
        m, lo, hi, over, _ = got[(w, s, r["cpus"])]
        check(close(m, em) and close(lo, el) and close(hi, eh),
              "%s %s at %d: %s %s %s, rows give %s %s %s" % (w, s, r["cpus"], m, lo, hi, em, el, eh))
        check(over == ("1" if r["cpus"] > r["cores"] else "0"), "oversubscribed flag %s %s %d" % (w, s, r["cpus"]))
picked = {s for (w, s, n) in got if w == "larson"}
check(picked == {"buddy-btree-talc", "buddy-btree-slab", "jemalloc", "glibc", "buddy-bitmap-null"},
      "larson's series: %s" % sorted(picked))
check(got[("larson", "buddy-bitmap-null", 2)][4] == "ceiling", "the null heap is the ceiling")
check(got[("larson", "buddy-btree-slab", 8)][3] == "1", "8 CPUs on 4 cores is oversubscribed")
check(bound == {"larson": "0", "xmalloc": "1", "threadtest": "1", "unbal": "0", "order": "0"},
      "harness-bound workloads (unbal is balance-bound, order order-bound): %s" % bound)
check(close(got[("unbal", "trace-bound", 2)][0], 1.6) and close(got[("unbal", "trace-bound", 4)][0], 1000 / 350) and
      close(got[("order", "trace-bound", 2)][0], 1000 / 700) and got[("order", "trace-bound", 2)][4] == "bound",
      "the trace's bound drawn where below ideal: %s" % {k: v for k, v in got.items() if k[1] == "trace-bound"})
check(not any(k[1] == "trace-bound" for k in got if k[0] in ("larson", "threadtest", "xmalloc")),
      "no trace bound drawn for balanced workloads (xmalloc's 1-op longer path is within 0.1%)")
# latency.dat: workload series p50 lo hi p99 lo hi p999 lo hi p99_ex
lat = {(l.split()[0], l.split()[1]): l.split() for l in open(d + "/latency.dat")}
check(lat[("gnu-as", "buddy-btree-talc")][5:8] == ["1000", "900", "1100"], "latency interval: %s" % lat.get(("gnu-as", "buddy-btree-talc")))
check(lat[("gnu-ld", "buddy-btree-slab")][5:8] == ["100", "100", "100"], "n = 1: the bounds are the median")
check(lat[("gnu-as", "glibc")][11] == "-", "a peer has no latency without stand-ins")
check(not any(k[0] == "nohost" for k in lat), "guest rows (timing not trusted) in the latency figure")
# speed.dat: workload series ratio lo hi n
sp = {(l.split()[0], l.split()[1]): l.split()[2:] for l in open(d + "/speed.dat")}
check(sp[("gnu-as", "buddy-btree-slab")] == ["1.5", "1.47", "1.53", "5"], "speed: %s" % sp.get(("gnu-as", "buddy-btree-slab")))
check(sp[("gnu-as", "buddy-btree-talc")] == ["1.2", "0.8", "1.3", "5"], "speed: %s" % sp.get(("gnu-as", "buddy-btree-talc")))
PY

# Google Benchmark repetitions: the median (not the mean) and the interval.
python3 - results/samples/gbench.json "$t/gb5.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
out = []
for b in d["benchmarks"]:
    for i, f in enumerate([0.9, 1.0, 1.3, 0.95, 1.05]):
        out.append(dict(b, real_time=b["real_time"] * f, repetitions=5, repetition_index=i))
d["benchmarks"] = out
json.dump(d, open(sys.argv[2], "w"))
PY
plots/bench_plot.sh --outdir "$t/gb" "$t/gb5.json" >"$t/blog" 2>&1 || { cat "$t/blog"; fail "bench_plot.sh"; }
[ "$(head -c 8 "$t/gb/gbench.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "gbench.png is not a PNG"
python3 - results/samples/gbench.json "$t/gb/gbench.dat" <<'PY' || fail "gbench.dat"
import json, sys
b = json.load(open(sys.argv[1]))["benchmarks"][0]
row = open(sys.argv[2]).readline().split()
m, lo, hi, n = float(row[3]), float(row[4]), float(row[5]), row[9]
t = b["real_time"]
assert abs(m - t) < 1e-3 * t and abs(lo - 0.9 * t) < 1e-3 * t and abs(hi - 1.3 * t) < 1e-3 * t and n == "5", row
PY

# Latency and metadata: one panel per workload with serial rows, all of them (six here,
# three more copied from gnu-as; one of them with GiB of heap metadata in its own unit).
python3 - "$t/run/rows.jsonl" "$t/more.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[2], "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
        if r.get("kind") == "replay" and r.get("trace") == "gnu-as.mtb" and r["engine"] == "host":
            for w in ("extra1", "extra2", "extra3"):
                x = dict(r, trace=w + ".mtb", case=r["case"].replace("gnu-as", w))
                x["heap_meta_bytes"] = 3 << 30 if w == "extra3" else x["heap_meta_bytes"]
                f.write(json.dumps(x) + "\n")
PY
"${MTB_BIN:-build/bin}"/rows2csv --out "$t/more.csv" "$t/more.jsonl"
plots/plot.sh --outdir "$t/m" "$t/more.csv" >"$t/mlog" 2>&1 || { cat "$t/mlog"; fail "plot.sh (more workloads)"; }
for w in gnu-as cfrac gnu-ld extra1 extra2 extra3; do
	grep -q ">workload $w<" "$t/m/latency.svg" || fail "latency: no panel for workload $w"
	grep -q ">workload $w<" "$t/m/meta.svg" || fail "metadata: no panel for workload $w"
done
grep -q '>GiB of metadata<' "$t/m/meta.svg" || fail "metadata: extra3's 3 GiB not in GiB"
grep -q '>KiB of metadata<' "$t/m/meta.svg" || fail "metadata: gnu-as's 14 KiB not in KiB"
# Titles match the axes: frag_heap plots footprint / live (frag4 + 1), so its title does
# not say "- 1". Reference lines are keyed plot clauses (in the legend), not bare arrows.
grep -q 'peak live - 1' "$t/p/frag_heap.svg" && fail "frag_heap: title says '- 1', the axis plots the plain ratio"
grep -q '>Heap fragmentation per workload: peak footprint / peak live' "$t/p/frag_heap.svg" || fail "frag_heap: title"
grep -l '^set arrow' plots/*.gp && fail "a reference line drawn as an arrow, not named in a legend (above)"
grep -q '>1 = as fast as freelist-freelist-talc<' "$t/p/speed.svg" || fail "speed: the line at 1 not in the legend"
grep -q '>LLFree paper' "$t/p/phys_2m.svg" || fail "phys_2m: the LLFree line not in the legend"

echo 'kind,x' >"$t/empty.csv"
if plots/plot.sh --outdir "$t/e" "$t/empty.csv" >/dev/null 2>"$t/err"; then fail "drew from nothing"; fi
grep -q 'nothing to draw' "$t/err" || fail "no 'nothing to draw' message"

mkdir "$t/full"
if mount -t tmpfs -o size=16k tmpfs "$t/full" 2>/dev/null; then
	for tool in plot bench_plot; do
		in=$t/run/rows.csv
		[ $tool = plot ] || in=$t/gb5.json
		rc=0
		plots/$tool.sh --outdir "$t/full/$tool" "$in" >/dev/null 2>"$t/ferr" || rc=$?
		[ $rc -eq 1 ] || fail "$tool.sh on a full disk: exit $rc, want 1"
		grep -q "^$tool: $t/full/$tool/[a-z_0-9]*\.[a-z]*: No space left on device\$" "$t/ferr" ||
			fail "$tool.sh on a full disk: $(cat "$t/ferr")"
		python3 - "$t/full/$tool" <<'PY' || fail "$tool.sh on a full disk left a partial file: $(ls -l "$t/full/$tool")"
import os, sys
d = sys.argv[1]
for f in os.listdir(d):
    b = open(os.path.join(d, f), "rb").read()
    assert ".tmp" not in f and b, f
    assert not f.endswith(".png") or b.endswith(b"IEND\xaeB`\x82"), f
    assert not f.endswith(".svg") or b.rstrip().endswith(b"</svg>"), f
PY
	done
	umount "$t/full"
else
	echo "SKIP (part): cannot mount a tmpfs here: no full-disk check"
fi
plots/plot.sh --bogus 2>"$t/err2" && fail "bad flag accepted"
[ "$(wc -l <"$t/err2")" -eq 1 ] || fail "bad flag: not one line"
echo "plot_test: ok"
