"""report_bench.py: `make bench`'s results in the report: results/frame_bench.csv,
va_bench.csv, va_holes.csv, heap_bench.csv and replay_direct.csv (scripts/bench.sh; columns in
results/README.md) read into {name: [row dict]} (load_bench) and shown as tables
(sec_bench): frame and VA operations per strategy (single medians, their unit),
heap_bench's ops/s and heap efficiency per allocator with their intervals, and each
peer's replay / direct speedup ratio with its interval and whether its median is within
15% (issue 12's figure). Google Benchmark's JSON stays report.py's sec_gbench.
"""
import csv
import os

from replay_direct import within
from report_lib import fmt, num

BENCHES = ("frame_bench", "va_bench", "va_holes", "heap_bench", "replay_direct")


def load_bench(d):
    """{name: rows} for each bench CSV present in directory d ({} when d is None). A file
    that is not whole raises ValueError "PATH:LINE: reason"."""
    out = {}
    for name in BENCHES if d else ():
        path = os.path.join(d, name + ".csv")
        if not os.path.exists(path):
            continue
        with open(path, newline="") as f:
            text = f.read()
        if text and not text.endswith("\n"):
            raise ValueError("%s:%d: the last line is incomplete (no newline)" % (path, text.count("\n") + 1))
        rd = csv.DictReader(text.splitlines())
        rows = []
        for r in rd:
            if None in r or None in r.values():
                raise ValueError("%s:%d: not as many fields as the header" % (path, rd.line_num))
            rows.append(r)
        out[name] = rows
    return out


def pivot(rows, key, col, cell):
    """Rows keyed by key(r), one column per distinct col(r): (columns, [[key..., cells]])."""
    cols = list(dict.fromkeys(col(r) for r in rows))
    table = {}
    for r in rows:
        table.setdefault(key(r), {})[col(r)] = cell(r)
    return cols, [list(k) + [v.get(c, "-") for c in cols] for k, v in table.items()]


def ctx_line(rows):
    """The machine of a bench file's rows, when they carry it."""
    m = sorted({(r.get("cpu_model", ""), r.get("cores", ""), r.get("kernel", ""), r.get("kvm", ""))
                for r in rows} - {("", "", "", "")})
    return "; ".join("%s, %s cores, kernel %s, KVM %s" % t for t in m) or "not recorded in this file"


def sec_bench(doc, bench, where):
    if not bench:
        return
    doc.h(2, "Benchmarks (make bench, %s)" % where)
    doc.p("The microbenchmarks of `make bench` (scripts/bench.sh), from the files in %s: their "
          "own runs, not this sweep's (build and machine as each file says). Frame and VA "
          "figures are single medians (no interval: shown, never a verdict); va_holes, heap_bench "
          "and replay_direct give each median with its 95%% interval [lo, hi]." % where)
    fb = [r for r in bench.get("frame_bench", []) if not r.get("op", "").endswith(("_mean", "_mean_over_rounds"))]
    if fb:
        cols, t = pivot(fb, lambda r: (r["kind"], r["op"], r.get("fill_pct", ""), r.get("unit", "")),
                        lambda r: r["phys"], lambda r: fmt(num(r["value"])))
        doc.h(3, "frame_bench (builds %s; machine: %s)" % ("/".join(sorted({r.get("build", "") for r in fb})),
                                                           ctx_line(fb)))
        doc.table(["kind", "op", "fill %", "unit"] + cols, t)
    vb = [r for r in bench.get("va_bench", []) if not r.get("op", "").endswith("_mean")]
    if vb:
        cols, t = pivot(vb, lambda r: (r["kind"], r["op"], r.get("live", ""), r.get("cpus", ""), r.get("unit", "")),
                        lambda r: r["virt"], lambda r: fmt(num(r["value"])))
        doc.h(3, "va_bench (builds %s; machine: %s)" % ("/".join(sorted({r.get("build", "") for r in vb})),
                                                        ctx_line(vb)))
        doc.table(["kind", "op", "live", "cpus", "unit"] + cols, t)
    sec_va_holes(doc, bench.get("va_holes", []))
    hb = [r for r in bench.get("heap_bench", []) if r.get("metric") in ("ops_per_s", "heap_efficiency_pct")]
    if hb:
        cols, t = pivot(hb, lambda r: (r["workload"], r["threads"], r.get("param", ""), r["metric"]),
                        lambda r: r["allocator"], ci_cell)
        doc.h(3, "heap_bench (builds %s; machine: %s)" % ("/".join(sorted({r.get("build", "") for r in hb})),
                                                          ctx_line(hb)))
        doc.table(["workload", "threads", "param", "metric"] + cols, t)
    sec_replay_direct(doc, bench.get("replay_direct", []))


def sec_va_holes(doc, rows):
    """va_holes.csv (va_bench --holes): per op, a column per strategy; an op with _lo and
    _hi rows shows its median with that interval."""
    if not rows:
        return
    val = {(r["virt"], r["op"]): num(r["value"]) for r in rows}
    main = [r for r in rows if not r["op"].endswith(("_mean", "_lo", "_hi"))]

    def cell(r):
        lo, hi = val.get((r["virt"], r["op"] + "_lo")), val.get((r["virt"], r["op"] + "_hi"))
        return ci_cell({"value": r["value"], "lo": lo, "hi": hi})
    cols, t = pivot(main, lambda r: (r["op"], r.get("live", ""), r.get("unit", "")), lambda r: r["virt"], cell)
    doc.h(3, "va_holes: every other page live (builds %s; machine: %s)" % (
        "/".join(sorted({r.get("build", "") for r in rows})), ctx_line(rows)))
    doc.table(["op", "holes", "unit"] + cols, t)


def ci_cell(r, f=fmt):
    """A row's median and its 95% interval, "v [lo, hi]" (f formats each number; the
    interval left out when the row has none; "-" without a value)."""
    v, lo, hi = num(r.get("value")), num(r.get("lo")), num(r.get("hi"))
    if v is None:
        return "-"
    return f(v) + (" [%s, %s]" % (f(lo), f(hi)) if lo is not None and hi is not None else "")


def sec_replay_direct(doc, rows):
    """replay_direct.csv: per (peer, workload, pairs) the ratio with both speedups."""
    by = {(r["heap"], r["workload"], r["pairs"], r["metric"]): r for r in rows}
    keys = list(dict.fromkeys((h, w, p) for h, w, p, m in by if m == "replay_over_direct"))
    if not keys:
        return

    def ci(r):
        return ci_cell(r, lambda x: "%.2f" % x)

    t = []
    for h, w, p in keys:
        q = by[(h, w, p, "replay_over_direct")]
        d, r = by.get((h, w, p, "speedup_direct"), {}), by.get((h, w, p, "speedup_replay"), {})
        v = num(q.get("value"))
        t.append([h, w, p, q.get("n", ""), ci(q), ci(d), ci(r),
                  "%s-%s" % (fmt(num(q.get("c2c_min_ns"))), fmt(num(q.get("c2c_max_ns")))),
                  "-" if v is None else ("yes" if within(v) else "no")])
    doc.h(3, "replay_direct (builds %s; machine: %s)" % (
        "/".join(sorted({r.get("build", "") for r in rows})), ctx_line(rows)))
    doc.p("Each peer's 1 -> 2 CPU speedup replaying the generated workload (mtb_host --mode "
          "parallel) over its speedup in heap_bench's direct version, the two run as a pair "
          "seconds apart: median of the per-pair ratios [95% interval]; `like` keeps the pairs "
          "whose two cache-line round trips agree within 25%. Within 15%: the median's "
          "distance from 1, the figure issue 12 asks for (a statement about this window's "
          "pairs, not a verdict).")
    doc.table(["peer", "workload", "pairs", "n", "replay / direct", "direct speedup",
               "replay speedup", "round trip ns", "within 15%"], t)
