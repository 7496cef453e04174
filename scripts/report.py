#!/usr/bin/env python3
"""report.py: results/report.md and results/report.html (self-contained: plots embedded)
from one sweep directory of scripts/run.sh (rows.csv, plots/, config).

Every number in a table or verdict cites its row as [rN]: data row N of the sweep's
rows.csv (line N + 1), whose `case` column names the case file it came from. Verdicts are
computed here from those rows; nothing is typed in by hand.
Usage: scripts/report.py RUN_DIR OUT.md OUT.html [--gbench FILE.json]
"""
import base64
import csv
import html
import json
import math
import os
import sys
import time


def num(v):
    try:
        x = float(v)
        return x if math.isfinite(x) else None
    except (TypeError, ValueError):
        return None


def fmt(x, digits=3):
    if x is None:
        return "-"
    if abs(x) >= 1e6:
        return "%.3g" % x
    if abs(x) >= 100 or x == int(x):
        return "%d" % round(x)
    return ("%." + str(digits) + "g") % x


def gmean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


class Doc:
    """The report as blocks, written out as Markdown and as HTML."""

    def __init__(self):
        self.blocks = []
        self.aggs = []

    def agg(self, rows, what):
        """Label [An] for an aggregate over rows; listed in the appendix."""
        self.aggs.append((what, [r["_id"] for r in rows]))
        return "[A%d]" % len(self.aggs)

    def h(self, level, text):
        self.blocks.append(("h", level, text))

    def p(self, text):
        self.blocks.append(("p", text))

    def table(self, head, rows):
        self.blocks.append(("t", head, rows))

    def img(self, path, alt):
        self.blocks.append(("i", path, alt))

    def markdown(self, base):
        out = []
        for b in self.blocks:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "t":
                out.append("| " + " | ".join(b[1]) + " |")
                out.append("|" + "---|" * len(b[1]))
                out += ["| " + " | ".join(r) + " |" for r in b[2]]
            else:
                out.append("![%s](%s)" % (b[2], os.path.relpath(b[1], base)))
            out.append("")
        return "\n".join(out)

    def html(self):
        e = html.escape
        out = ["<!doctype html><html><head><meta charset='utf-8'><title>memtestbed report</title>",
               "<style>body{font-family:sans-serif;max-width:1150px;margin:auto}"
               "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
               "padding:2px 6px;text-align:right}th{background:#eee}img{max-width:100%}</style>",
               "</head><body>"]
        for b in self.blocks:
            if b[0] == "h":
                out.append("<h%d>%s</h%d>" % (b[1], e(b[2]), b[1]))
            elif b[0] == "p":
                out.append("<p>%s</p>" % e(b[1]).replace("**", ""))
            elif b[0] == "t":
                out.append("<table><tr>" + "".join("<th>%s</th>" % e(c) for c in b[1]) + "</tr>")
                out += ["<tr>" + "".join("<td>%s</td>" % e(c) for c in r) + "</tr>" for r in b[2]]
                out.append("</table>")
            else:
                with open(b[1], "rb") as f:
                    data = base64.b64encode(f.read()).decode()
                out.append("<p><img alt='%s' src='data:image/png;base64,%s'></p>" % (e(b[2]), data))
        out.append("</body></html>")
        return "\n".join(out)


def load(run_dir):
    with open(os.path.join(run_dir, "rows.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    for i, r in enumerate(rows, 1):
        r["_id"] = "r%d" % i
        w = r.get("trace") or r.get("workload") or ""
        for suf in (".xz", ".trc", ".mtb"):
            w = w[: -len(suf)] if w.endswith(suf) else w
        r["_wl"] = w
        p, v = r.get("phys", ""), r.get("virt", "")
        r["_series"] = "%s-%s-%s" % (p, v, r.get("heap")) if p not in ("", "-") and v else r.get("heap", "")
    return rows


def cite(r, key, digits=3):
    return "%s [%s]" % (fmt(num(r.get(key)), digits), r["_id"])


def replay(rows, engine="host"):
    """Rows of the timing source: the host engine (or hand-made samples)."""
    return [r for r in rows if r.get("kind") == "replay" and r.get("engine") in (engine, "sample")]


def serial1(r):
    """The 1-CPU serial replay (not the parallel 1-CPU baseline of scalability)."""
    return r.get("cpus") == "1" and r.get("mode") != "parallel"


def bests(d, low=True):
    """The key(s) with the best value; ties (within 0.5%) joined with 'and'."""
    b = min(d.values()) if low else max(d.values())
    return " and ".join(k for k, v in d.items() if abs(v - b) <= 0.005 * abs(b))


def first_by(rows, keyf):
    seen = {}
    for r in rows:
        seen.setdefault(keyf(r), r)
    return seen


def sec_frag(doc, rows):
    rep = [r for r in replay(rows) if serial1(r) and num(r.get("frag4")) is not None]
    if not rep:
        return
    cell = first_by(rep, lambda r: (r["_wl"], r["heap"]))
    heaps = list(dict.fromkeys(r["heap"] for r in rep))
    wls = list(dict.fromkeys(r["_wl"] for r in rep))
    doc.h(2, "Heap fragmentation (J&W #4, 1 CPU, serial replay)")
    doc.p("frag4 = peak footprint / peak live - 1 (lower is better). For our heaps the first "
          "combination in the sweep is shown; frag4 depends on the heap, not on the layers below.")
    doc.table(["workload"] + heaps,
              [[w] + [cite(cell[(w, h)], "frag4") if (w, h) in cell else "-" for h in heaps] for w in wls])
    g = {h: gmean([num(cell[(w, h)]["frag4"]) + 1 for w in wls if (w, h) in cell]) for h in heaps}
    ours = [h for h in heaps if h in ("talc", "slab")]
    if len(ours) == 2:
        a, b = ours
        wins = [w for w in wls if (w, a) in cell and (w, b) in cell
                and num(cell[(w, a)]["frag4"]) < num(cell[(w, b)]["frag4"])]
        both = [w for w in wls if (w, a) in cell and (w, b) in cell]
        best = a if g[a] <= g[b] else b
        doc.p("**Verdict (heap fragmentation):** %s fragments less: geometric mean of "
              "footprint/live %.3f vs %.3f for %s; %s is lower on %d of %d workloads (cells above)."
              % (best, g[best], g[b if best == a else a], b if best == a else a, a, len(wins), len(both)))


def sec_va(doc, rows):
    va = [r for r in rows if r.get("kind") == "va_frag" and num(r.get("peak_reserved_per_requested"))]
    doc.h(2, "Virtual address space per VA strategy")
    if va:
        doc.p("build/bin/va_replay on the address-space traces (.vmt) and its mix generator: at "
              "the peak of each trace, reserved / requested bytes (the strategy's rounding), "
              "maximal free ranges, and metadata bytes.")
        doc.table(["workload", "virt", "granule", "reserved/requested", "free ranges", "meta bytes"],
                  [[r["_wl"], r["virt"], fmt(num(r.get("granule"))), cite(r, "peak_reserved_per_requested"),
                    cite(r, "peak_free_ranges"), cite(r, "peak_meta_bytes")] for r in va])
        virts = list(dict.fromkeys(r["virt"] for r in va))
        g = {v: [r for r in va if r["virt"] == v] for v in virts}
        rr = {v: gmean([num(r["peak_reserved_per_requested"]) for r in g[v]]) for v in virts}
        fr = {v: gmean([num(r["peak_free_ranges"]) for r in g[v]]) for v in virts}
        mb = {v: gmean([num(r["peak_meta_bytes"]) for r in g[v]]) for v in virts}
        lab = {v: doc.agg(g[v], "va_frag rows of " + v) for v in virts}
        best, few, cheap = min(rr, key=rr.get), min(fr, key=fr.get), min(mb, key=mb.get)
        doc.p("**Verdict (VA fragmentation):** %s: the least address space wasted, reserved/requested "
              "%s at the peak (geometric mean; %s); fewest free ranges: %s (%s; %s); least metadata: %s "
              "(%s bytes; %s)." % (
                  bests(rr), fmt(rr[best]), ", ".join("%s %s %s" % (v, fmt(rr[v]), lab[v]) for v in virts),
                  bests(fr), fmt(fr[few]), ", ".join("%s %s" % (v, fmt(fr[v])) for v in virts),
                  bests(mb), fmt(mb[cheap]), ", ".join("%s %s" % (v, fmt(mb[v])) for v in virts)))
    rep = [r for r in replay(rows) if serial1(r) and r.get("phys") == "buddy"
           and num(r.get("va_reserved_bytes")) and num(r.get("heap_va_bytes"))]
    if not rep:
        if not va:
            doc.p("No VA rows in this sweep.")
        return
    doc.h(3, "Under the heaps (malloc trace replays)")
    doc.p("At the end of each trace replay (phys buddy, 1 CPU): address space the VA strategy "
          "holds for the heap (va_reserved_bytes, after its rounding) over what the heap asked "
          "for (heap_va_bytes), the free ranges left, and the VA metadata.")
    virts = list(dict.fromkeys(r["virt"] for r in rep))
    heaps = list(dict.fromkeys(r["heap"] for r in rep))
    table, score = [], {}
    for v in virts:
        for h in heaps:
            rs = [r for r in rep if r["virt"] == v and r["heap"] == h]
            if not rs:
                continue
            ratio = gmean([num(r["va_reserved_bytes"]) / num(r["heap_va_bytes"]) for r in rs])
            fr = gmean([num(r["va_free_ranges"]) for r in rs])
            meta = max(num(r["va_meta_bytes"]) or 0 for r in rs)
            worst = max(rs, key=lambda r: num(r["va_reserved_bytes"]) / num(r["heap_va_bytes"]))
            score.setdefault(v, []).append(ratio)
            a = doc.agg(rs, "VA %s under %s, phys buddy, 1 CPU serial" % (v, h))
            table.append([v, h, str(len(rs)), fmt(ratio) + " " + a, fmt(fr) + " " + a, fmt(meta) + " " + a,
                          "%s %s" % (worst["_wl"], fmt(num(worst["va_reserved_bytes"]) / num(worst["heap_va_bytes"])))
                          + " [%s]" % worst["_id"]])
    doc.table(["virt", "heap", "traces", "reserved/requested (gmean)", "free ranges (gmean)",
               "VA meta bytes (max)", "worst trace"], table)
    if len(score) >= 2:
        s = {v: gmean(x) for v, x in score.items()}
        best = min(s, key=s.get)
        fr = {v: gmean([num(r["va_free_ranges"]) for r in rep if r["virt"] == v]) for v in score}
        few = min(fr, key=fr.get)
        doc.p("**Verdict (VA under the heaps):** %s: the least address space wasted, reserved/requested "
              "%s over both heaps (others: %s); %s: the fewest free ranges (%s; others: %s). "
              "Inputs: the rows of the table's %s." % (
                  bests(s), fmt(s[best]), ", ".join("%s %s" % (v, fmt(x)) for v, x in s.items() if v != best),
                  bests(fr), fmt(fr[few]), ", ".join("%s %s" % (v, fmt(x)) for v, x in fr.items() if v != few),
                  "/".join(sorted({c.split()[-1] for row in table for c in row[3:4]}))))


def sec_scal(doc, rows, ncpu):
    rep = [r for r in replay(rows) if r["trace"] in ("larson", "xmalloc", "threadtest", "random_actions")
           and r.get("mode") == "parallel"]
    if not rep or ncpu == "1":
        return
    doc.h(2, "Scalability (throughput at 1 and %s CPUs)" % ncpu)
    doc.p("ops_per_s of the host engine (median of the repetitions), parallel replay at 1 and "
          "%s CPUs (one thread per CPU, the same %s-thread trace, cross-CPU frees as in the trace). "
          "Speedup = ops_per_s(%s) / ops_per_s(1)." % (ncpu, ncpu, ncpu))
    cell = first_by(rep, lambda r: (r["_series"], r["_wl"], r["cpus"]))
    series = list(dict.fromkeys(r["_series"] for r in rep))
    wls = list(dict.fromkeys(r["_wl"] for r in rep))
    table, med = [], {}
    for s in series:
        row, sp = [s], []
        for w in wls:
            a, b = cell.get((s, w, "1")), cell.get((s, w, ncpu))
            if a and b and num(a["ops_per_s"]) and num(b["ops_per_s"]):
                x = num(b["ops_per_s"]) / num(a["ops_per_s"])
                sp.append(x)
                row.append("%.2fx [%s/%s]" % (x, a["_id"], b["_id"]))
            else:
                row.append("-")
        med[s] = sorted(sp)[len(sp) // 2] if sp else None
        table.append(row + [fmt(med[s])])
    allmed = [m for m in med.values() if m is not None]
    doc.table(["series"] + wls + ["median speedup"], table)
    ours = {s: m for s, m in med.items() if m is not None and "-" in s}
    if ours:
        best = max(ours, key=ours.get)
        worst = min(ours, key=ours.get)
        by_heap = {}
        for s, m in ours.items():
            by_heap.setdefault(s.split("-")[-1], []).append(m)
        doc.p("**Verdict (scalability):** %s scales best (median speedup %s); %s least (%s). "
              "By heap, median over its combinations: %s. Peers: %s. Timings: host engine, "
              "shared 2-core machine (see ops_per_s_spread in the rows)."
              % (best, fmt(ours[best]), worst, fmt(ours[worst]),
                 ", ".join("%s %s" % (h, fmt(sorted(v)[len(v) // 2])) for h, v in by_heap.items()),
                 ", ".join("%s %s" % (s, fmt(m)) for s, m in med.items() if "-" not in s and m)))
        if max(allmed) < 1.2:
            doc.p("Caution: no allocator, peers included, gains 1.2x from the second CPU in this "
                  "sweep (best median %s), so the machine's other load dominates: these speedups "
                  "rank how well each heap tolerates contention here, not its scalability on an "
                  "idle multi-core host." % fmt(max(allmed)))


def sec_meta(doc, rows, lat_wl):
    rep = [r for r in replay(rows) if serial1(r) and r.get("phys") not in ("", "-")
           and num(r.get("heap_meta_bytes")) is not None]
    if not rep:
        return
    doc.h(2, "Metadata cost")
    doc.p("Bytes of metadata at the end of each trace (heap + VA + frame allocator), 1 CPU; "
          "mean over the workloads, and the workload %s with its row." % lat_wl)
    series = list(dict.fromkeys(r["_series"] for r in rep))
    table, tot = [], {}
    for s in series:
        rs = [r for r in rep if r["_series"] == s]
        t = [num(r["heap_meta_bytes"]) + (num(r["va_meta_bytes"]) or 0) + (num(r["phys_meta_bytes"]) or 0) for r in rs]
        tot[s] = sum(t) / len(t)
        one = [r for r in rs if r["_wl"] == lat_wl]
        table.append([s, str(len(rs)), fmt(sum(num(r["heap_meta_bytes"]) for r in rs) / len(rs)),
                      fmt(sum(num(r["va_meta_bytes"]) or 0 for r in rs) / len(rs)),
                      fmt(sum(num(r["phys_meta_bytes"]) or 0 for r in rs) / len(rs)), fmt(tot[s]),
                      ("%s [%s]" % (fmt(num(one[0]["heap_meta_bytes"])), one[0]["_id"])) if one else "-"])
    doc.table(["series", "workloads", "heap meta", "VA meta", "frame meta", "total (mean)",
               "heap meta on " + lat_wl], table)
    lo, hi = min(tot, key=tot.get), max(tot, key=tot.get)
    alo = doc.agg([r for r in rep if r["_series"] == lo], "metadata of " + lo)
    ahi = doc.agg([r for r in rep if r["_series"] == hi], "metadata of " + hi)
    doc.p("**Verdict (metadata):** %s is cheapest (%s bytes on average %s), %s the most expensive "
          "(%s bytes %s)." % (lo, fmt(tot[lo]), alo, hi, fmt(tot[hi]), ahi))


def sec_latency(doc, rows, lat_wl):
    rep = [r for r in replay(rows) if serial1(r) and r["_wl"] == lat_wl]
    if not rep:
        return
    doc.h(2, "Latency percentiles (%s, 1 CPU)" % lat_wl)
    doc.table(["series", "p50 ns", "p99 ns", "p99.9 ns", "max ns"],
              [[r["_series"]] + [cite(r, k) for k in ("lat_p50_ns", "lat_p99_ns", "lat_p999_ns", "lat_max_ns")]
               for r in rep])


def sec_phys(doc, rows):
    fc = [r for r in rows if r.get("kind") == "frame_churn"]
    if not fc:
        return
    doc.h(2, "Physical memory: free memory in whole 2 MiB blocks after churn")
    doc.table(["churn", "phys", "share of free memory in 2 MiB blocks"],
              [[r["variant"], r["phys"], "%.1f%% [%s]" % (100 * num(r["free_2m_share"]), r["_id"])] for r in fc])
    by = {}
    for r in fc:
        by.setdefault(r["phys"], []).append(num(r["free_2m_share"]))
    best = max(by, key=lambda p: min(by[p]))
    doc.p("**Verdict (2 MiB availability):** %s keeps more whole 2 MiB blocks in its worst churn "
          "pattern (%.1f%% vs %s)." % (best, 100 * min(by[best]),
                                       ", ".join("%s %.1f%%" % (p, 100 * min(v)) for p, v in by.items() if p != best)))


def sec_guest(doc, rows):
    g = [r for r in rows if r.get("kind") == "replay" and r.get("engine") not in ("host", "sample")]
    if not g:
        return
    host = first_by(replay(rows), lambda r: (r.get("combo"), r.get("trace"), r.get("cpus")))
    doc.h(2, "Guest engine cross-check")
    doc.p("The deterministic metrics of a serial replay (trace_hash, ops, peak_live, "
          "cross_cpu_frees, frag4) must be the same in every engine; of a parallel one, the trace "
          "and the op counts (trace_hash, ops, allocs, frees, cross_cpu_frees). Guest timings are "
          "not compared (timing_trusted=false under TCG or emulated KVM). Guests get 128 MiB of "
          "RAM, where talc's fixed heap is the host engine's 2 MiB, unless the trace needs more.")
    table, same = [], 0
    for r in g:
        h = host.get((r.get("combo"), r.get("trace"), r.get("cpus")))
        if not h:
            table.append([r["engine"], r["_series"], r["_wl"], r["cpus"], "no host row", "", r["_id"]])
            continue
        keys = (["trace_hash", "ops", "peak_live", "cross_cpu_frees", "frag4"] if r.get("mode") == "serial"
                else ["trace_hash", "ops", "allocs", "frees", "cross_cpu_frees"])
        big = r.get("heap") == "talc" and (num(r.get("guest_mem_mib")) or 0) > 128
        if big:  # talc's fixed heap is 1/32 of the guest's RAM, the host's 2 MiB
            keys = [k for k in keys if k != "frag4"]
        diff = [k for k in keys if r.get(k) != h.get(k)]
        same += not diff
        table.append([r["engine"], r["_series"], r["_wl"], r["cpus"],
                      ("same" + (" (frag4 not compared: talc's fixed heap follows the %s MiB guest RAM)"
                                 % r.get("guest_mem_mib") if big else "")) if not diff else "differs: " + " ".join("%s %s/%s" % (k, r.get(k), h.get(k)) for k in diff),
                      r.get("timing_trusted", ""), "%s vs %s" % (r["_id"], h["_id"])])
    doc.table(["engine", "series", "workload", "cpus", "deterministic metrics vs host",
               "timing trusted", "rows"], table)
    doc.p("**Verdict (engines agree):** %d of %d guest rows agree with the host engine's row of "
          "the same combination, trace and CPU count." % (same, len(g)))


def sec_gbench(doc, path):
    d = json.load(open(path))
    doc.h(2, "Google Benchmark microbenchmarks (%s)" % os.path.basename(path))
    t = {}
    for b in d.get("benchmarks", []):
        if "error_occurred" in b:
            continue
        k = "/".join(b["name"].split("/")[:3])
        t.setdefault(k, {})[b["threads"]] = b["real_time"]
    doc.table(["benchmark", "ns/iter, 1 thread", "ns/iter, 2 threads"],
              [[k, fmt(v.get(1)), fmt(v.get(2))] for k, v in t.items()])


def main(argv):
    if len(argv) < 4 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[-1])
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    run_dir, out_md, out_html = argv[1:4]
    gb = argv[5] if len(argv) > 5 and argv[4] == "--gbench" else None
    rows = load(run_dir)
    cfg = open(os.path.join(run_dir, "config")).read().strip() if os.path.exists(os.path.join(run_dir, "config")) else "?"
    ncpu = next((p.split("=")[1] for p in cfg.split() if p.startswith("cpus=")), "2")
    lat_wl = os.environ.get("PLOT_LAT_WL", "gnu-as")
    doc = Doc()
    doc.h(1, "memtestbed comparison report")
    engines = sorted({r.get("engine", "") for r in rows})
    trusted = sorted({r.get("timing_trusted", "") for r in rows})
    doc.p("Sweep %s (%s), %d rows, engines %s, timing_trusted %s, builds %s. Generated %s by "
          "scripts/report.sh. [rN] = data row N of %s/rows.csv (its `case` column names the "
          "case file)." % (os.path.basename(os.path.realpath(run_dir)), cfg, len(rows), "/".join(engines),
                           "/".join(trusted), "/".join(sorted({r.get("build", "") for r in rows} - {""})),
                           time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.path.basename(os.path.realpath(run_dir))))
    plots = os.path.join(run_dir, "plots")
    sections = [(sec_frag, (rows,), "frag_heap"), (sec_va, (rows,), "va_frag"),
                (sec_scal, (rows, ncpu), "scalability"), (sec_meta, (rows, lat_wl), "meta"),
                (sec_latency, (rows, lat_wl), "latency"), (sec_phys, (rows,), "phys_2m"),
                (sec_guest, (rows,), None)]
    base = os.path.dirname(os.path.abspath(out_md))
    for f, args, img in sections:
        n = len(doc.blocks)
        f(doc, *args)
        if img and len(doc.blocks) > n and os.path.exists(os.path.join(plots, img + ".png")):
            doc.img(os.path.join(plots, img + ".png"), img)
    if gb and os.path.exists(gb):
        sec_gbench(doc, gb)
        png = os.path.join(os.path.dirname(gb), "..", "plots", "gbench.png")
        if os.path.exists(png):
            doc.img(png, "gbench")
    if doc.aggs:
        doc.h(2, "Appendix: the rows behind each aggregate")
        doc.table(["label", "aggregate over", "rows"],
                  [["A%d" % i, w, " ".join(ids)] for i, (w, ids) in enumerate(doc.aggs, 1)])
    for path, text in ((out_md, doc.markdown(base)), (out_html, doc.html())):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = "%s.tmp.%d" % (path, os.getpid())
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, KeyError, ValueError) as e:
        print("report: %s" % e, file=sys.stderr)
        sys.exit(1)
