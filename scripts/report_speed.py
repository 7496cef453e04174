"""report_speed.py: the timing sections of scripts/report.py: speed at 1 CPU, latency
percentiles and scalability, every figure a median with its interval and every verdict
drawn only where an interval excludes 1 (report_lib.py states the statistics).

speedups() is also the source of plots/scalability.gp's data (plots/scal_dat.py).
"""
import math
import os

from report_lib import (Est, PEERS, coverage_note, first_by, fmt, is_true, num, per_round,
                        replay, reps_of, row_interval, serial1)

# Today's Hermit: the baseline of the speed comparisons (REPORT_BASELINE overrides).
BASELINE = "freelist-freelist-talc"
PROPOSAL = "buddy-btree-slab"
PER_DOUBLING = 1.8  # a ceiling below this per doubling of CPUs is harness-bound
BALANCE_SHARE = 0.9  # ... or below this share of the trace's bound (trace_bound), where lower
ORDER_SLACK = 1.01  # the trace's order bounds it when its critical path is this much longer

TIMING_INCLUDES = (
    "What a timing includes (host engine): the heap call, the harness's bookkeeping around "
    "it and touching the returned memory (first and last byte; calloc: all of it); for our "
    "heaps also the replay machine's page-table code, with an mmap system call standing in "
    "for each page-table edit (and the page faults that follow): lat_ex_* are the same "
    "latencies without those stand-ins. The peers (glibc, jemalloc, tcmalloc, mimalloc, snmalloc) get "
    "their memory from Linux directly, so their latencies include their own mmap calls and "
    "page faults. The null heap (the harness ceiling) is the harness with an allocator that "
    "costs almost nothing: every allocation returns the CPU's scratch memory, hot in its "
    "cache.")


def verdict(est, a, b, what="faster"):
    """The verdict on a per-round ratio est of a over b (higher = a better)."""
    if est is None or est.n == 0:
        return "not comparable (no common rounds)"
    if est.n < 2:
        return "n = 1: the data cannot support a verdict"
    side = est.excludes(1.0)
    worse = {"faster": "slower", "lower": "higher"}.get(what, "not " + what)
    if side > 0:
        return "%s is %s than %s" % (a, what, b)
    if side < 0:
        return "%s is %s than %s" % (a, worse, b)
    return "no clear difference"


def standin_share(r):
    """The share of a serial row's elapsed time spent in the host's stand-ins for
    page-table edits (standin_ns / elapsed_ns, both medians), or None (peers, guests)."""
    s, e = num(r.get("standin_ns")), num(r.get("elapsed_ns"))
    return s / e if s is not None and e else None


def share_text(r):
    v = standin_share(r)
    return "-" if v is None else "%.0f%%" % (100 * v)


def ratio_est(ra, rb, field="ops_per_s"):
    v = per_round(reps_of(ra, field), reps_of(rb, field))
    return Est(v) if v is not None else None


def sec_speed(doc, rows):
    rep = [r for r in replay(rows) if serial1(r) and num(r.get("ops_per_s"))]
    if not rep:
        return
    base_name = os.environ.get("REPORT_BASELINE", BASELINE)
    doc.h(2, "Speed (1 CPU, serial replay)")
    ns = sorted({len(reps_of(r)) for r in rep})
    doc.p("ops_per_s of the host engine: the median over the repetitions with its interval "
          "(FIELD_ci_lo, FIELD_ci_hi). Each series is compared with %s (today's Hermit; "
          "REPORT_BASELINE overrides) by the ratio of the two in the same round, then the "
          "median of those ratios with its interval: a verdict only where that interval "
          "excludes 1, otherwise \"no clear difference\". %s. %s \"stand-ins\": the share of "
          "the series' time spent in those mmap calls (standin_ns / elapsed_ns): where it is "
          "large the figure measures the host engine's machine model more than the heap "
          "(a page-table edit in the guest costs a store, not a system call); compare "
          "lat_ex_* (below) or a guest engine."
          % (base_name, "; ".join(coverage_note(n) for n in ns), TIMING_INCLUDES))
    verdicts = []
    for w in dict.fromkeys(r["_wl"] for r in rep):
        cell = first_by([r for r in rep if r["_wl"] == w], lambda r: r["_series"])
        base = cell.get(base_name) or next(iter(cell.values()))
        bname = base["_series"]
        table = []
        for s, r in cell.items():
            if r is base:
                table.append([s, row_interval(r, "ops_per_s") + " [%s]" % r["_id"], share_text(r),
                              "1 (baseline)", ""])
                continue
            e = ratio_est(r, base)
            table.append([s + (" (ceiling)" if r.get("heap") == "null" else ""),
                          row_interval(r, "ops_per_s") + " [%s]" % r["_id"], share_text(r),
                          (e.text("x") + " [%s/%s]" % (r["_id"], base["_id"])) if e else "-",
                          verdict(e, s, bname)])
        doc.h(3, "%s (vs %s)" % (w, bname))
        doc.table(["series", "ops/s median [95% interval]", "stand-ins", "ratio to %s per round" % bname,
                   "verdict"], table)
        prop = cell.get(PROPOSAL)
        if prop is not None and prop is not base:
            e = ratio_est(prop, base)
            sh = standin_share(prop)
            verdicts.append("%s: %s (%s, %s%s)" % (
                w, verdict(e, PROPOSAL, bname), e.text("x") if e else "-",
                "n = %d" % e.n if e else "no common rounds",
                "; %.0f%% of %s's time in the host's stand-ins" % (100 * sh, PROPOSAL)
                if sh is not None and sh >= 0.25 else ""))
    if verdicts:
        doc.p("**Verdict (speed):** the proposal (%s) against %s, per workload: %s."
              % (PROPOSAL, base_name, "; ".join(verdicts)))


LAT = (("lat_p50_ns", "p50"), ("lat_p99_ns", "p99"), ("lat_p999_ns", "p99.9"), ("lat_max_ns", "max"))


def lat_lower(rs, field):
    """The series whose interval of FIELD lies wholly below every other's, or None."""
    iv = []
    for r in rs:
        m, lo, hi = num(r.get(field)), num(r.get(field + "_ci_lo")), num(r.get(field + "_ci_hi"))
        if m is None:
            continue
        if lo is None or hi is None or (num(r.get("reps")) or 1) < 2:
            return None, "n = 1: the data cannot support a verdict"
        iv.append((m, lo, hi, r))
    if len(iv) < 2:
        return None, "fewer than two series"
    iv.sort(key=lambda t: t[0])
    best = iv[0]
    if all(best[2] < o[1] for o in iv[1:]):
        return best[3], None
    tied = [t[3]["_series"] for t in iv[1:] if not best[2] < t[1]]
    more = " and %d more" % (len(tied) - 4) if len(tied) > 4 else ""
    return None, "no clear difference between %s and %s%s (intervals overlap)" % (
        best[3]["_series"], ", ".join(tied[:4]), more)


def sec_latency(doc, rows, lat_wl):
    rep = [r for r in replay(rows) if serial1(r) and num(r.get("lat_p99_ns")) is not None]
    if not rep:
        return
    wls = list(dict.fromkeys(r["_wl"] for r in rep))
    main = lat_wl if lat_wl in wls else wls[0]
    cell = first_by([r for r in rep if r["_wl"] == main], lambda r: r["_series"])
    doc.h(2, "Latency percentiles (%s, 1 CPU)" % main)
    doc.p("Per-op latency in ns: the median over the repetitions with its interval "
          "(FIELD_ci_lo, FIELD_ci_hi). %s \"p99 w/o stand-ins\" = lat_ex_p99_ns. A latency "
          "verdict names a series only when its interval lies wholly below every other "
          "series' interval (no per-round pairing exists for percentiles)." % TIMING_INCLUDES)
    doc.table(["series"] + ["%s ns" % n for _, n in LAT] + ["p99 w/o stand-ins ns", "row"],
              [[s] + [row_interval(r, f) for f, _ in LAT] + [row_interval(r, "lat_ex_p99_ns"), r["_id"]]
               for s, r in cell.items()])
    lines = []
    for w in wls:
        rs = list(first_by([r for r in rep if r["_wl"] == w], lambda r: r["_series"]).values())
        best, why = lat_lower(rs, "lat_p99_ns")
        lines.append("%s: %s" % (w, "%s has the lowest p99 (%s ns [%s])" % (
            best["_series"], row_interval(best, "lat_p99_ns"), best["_id"]) if best else why))
    doc.p("**Verdict (latency):** " + "; ".join(lines) + ".")
    if len(wls) > 1:
        series = list(dict.fromkeys(r["_series"] for r in rep))
        cells = first_by(rep, lambda r: (r["_series"], r["_wl"]))
        doc.h(3, "p99 latency per workload (ns, median [interval])")
        doc.table(["series"] + wls, [[s] + [
            (row_interval(cells[(s, w)], "lat_p99_ns") + " [%s]" % cells[(s, w)]["_id"])
            if (s, w) in cells else "-" for w in wls] for s in series])


# ---- scalability ------------------------------------------------------------------------

def speedups(rows):
    """{workload: {"points": [N...], "cores": C, "series": {s: {N: point}}}} where a point
    is {"est": Est of speedup(N) = ops_per_s(N) / ops_per_s(1p) per round, "share": Est of
    speedup / the null heap's speedup per round (or None), "over": oversubscribed,
    "rows": (row 1p, row N)}. Host engine, parallel rows only."""
    par = [r for r in replay(rows) if r.get("mode") == "parallel" and num(r.get("ops_per_s"))]
    out = {}
    for w in dict.fromkeys(r["_wl"] for r in par):
        rs = [r for r in par if r["_wl"] == w]
        cell = first_by(rs, lambda r: (r["_series"], int(r["cpus"])))
        points = sorted({int(r["cpus"]) for r in rs if r["cpus"] != "1"})
        cores = max([int(num(r.get("cores"))) for r in rs if num(r.get("cores"))] or [0]) or None
        series = {}
        for s in dict.fromkeys(r["_series"] for r in rs):
            base = cell.get((s, 1))
            if base is None:
                continue
            for n in points:
                r = cell.get((s, n))
                if r is None:
                    continue
                v = per_round(reps_of(r), reps_of(base))
                if v is None:
                    continue
                over = is_true(r.get("oversubscribed")) or (cores is not None and n > cores)
                series.setdefault(s, {})[n] = {"est": Est(v), "rounds": v, "over": over,
                                               "rows": (base, r), "heap": r.get("heap")}
        ceil = next((s for s in series if series[s][next(iter(series[s]))]["heap"] == "null"), None)
        for s, pts in series.items():
            for n, p in pts.items():
                c = series[ceil].get(n) if ceil else None
                v = per_round(p["rounds"], c["rounds"]) if c else None
                p["share"] = Est(v) if v is not None else None
        if series:
            out[w] = {"points": points, "cores": cores, "series": series, "ceiling": ceil}
    return out


def trace_bound(row):
    """(bound, kind, why) of a parallel row: the most any heap's speedup can be on this
    trace at this CPU count. ops / critical_path_ops (the shortest schedule when every op
    costs the same and waits as the replay's do) where the row has it and it is more than
    1% longer than the busiest CPU's share (xmalloc's consumer trails by one op): order-bound; else ops / busiest_cpu_ops (the threads
    load the CPUs unevenly): balance-bound. (None, None, None) when the row says neither."""
    ops, busiest, crit = (num(row.get(k)) for k in ("ops", "busiest_cpu_ops", "critical_path_ops"))
    if ops and busiest and crit and crit > ORDER_SLACK * busiest:
        return ops / crit, "order-bound", (
            "the trace's order: with equal op costs its shortest schedule is %d of %d ops, "
            "its busiest CPU's share %d" % (crit, ops, busiest))
    if ops and busiest:
        return ops / busiest, "balance-bound", "its busiest CPU runs %d of %d ops" % (busiest, ops)
    return None, None, None


def wait_text(row, n):
    """'; its CPUs waited X% ...' when a parallel row at n CPUs says how long its CPUs
    waited for each other's ops (wait_ns / (n x elapsed_ns), 1% or more), else ''."""
    w, e = num(row.get("wait_ns")), num(row.get("elapsed_ns"))
    if w is None or not e or w < 0.01 * n * e:
        return ""
    return ("; its CPUs waited %.0f%% of the time for another CPU's op (the trace's order: "
            "time no heap can use)" % (100 * w / (n * e)))


def work_text(row, n):
    """'; its CPUs' own work was uneven ...' when a parallel row at n CPUs says how much
    each CPU worked (busy_sum_ns / busy_max_ns below 95% of n), else ''."""
    m, t = num(row.get("busy_max_ns")), num(row.get("busy_sum_ns"))
    if not m or t is None or t / m >= 0.95 * n:
        return ""
    return ("; its CPUs' own work was uneven (op costs included): the busiest did %.0f%% of "
            "what all did, so %.2fx at most from this work" % (100 * m / t, t / m))


def c2c_text(d):
    """'; its multi-CPU rows were taken with a cache line's round trip of ...' from the
    rows' c2c_roundtrip_ns (what moving one line between CPUs 0 and 1 cost just before
    each replay, workloads/host/c2c.c), else ''. On a VM it follows the vCPU placement,
    and every speedup of a heap that shares lines moves with it."""
    v = sorted(num(p["rows"][1].get("c2c_roundtrip_ns")) for pts in d["series"].values()
               for p in pts.values() if num(p["rows"][1].get("c2c_roundtrip_ns")))
    if not v:
        return ""
    span = "%.0f ns" % v[0] if v[0] == v[-1] else "%.0f-%.0f ns" % (v[0], v[-1])
    return ("; its multi-CPU rows were taken with a cache line's round trip between CPUs 0 "
            "and 1 of %s (c2c_roundtrip_ns: every line CPUs share costs that; compare "
            "speedups only at like values)" % span)


def ceiling_point(p, n):
    """(low, text) for the ceiling's point p at n CPUs: low when it gains less than
    PER_DOUBLING per doubling, or less than BALANCE_SHARE of the trace's bound where that
    is lower (trace_bound: then the trace's balance or order, not the harness, limits
    every heap). The text says how long the CPUs waited on the trace's order, where the
    row knows (wait_ns)."""
    need = PER_DOUBLING ** math.log2(n)
    bal, kind, why = trace_bound(p["rows"][1])
    waited = wait_text(p["rows"][1], n) + work_text(p["rows"][1], n)
    if bal is not None and BALANCE_SHARE * bal < need:
        low = p["est"].med < BALANCE_SHARE * bal
        return low, ("%s at %d CPUs (%s %.0f%% of %.2fx, the most the trace allows: %s; %s%s)" % (
            p["est"].text("x"), n, "below" if low else "reaches", 100 * BALANCE_SHARE, bal, why,
            kind, waited))
    low = p["est"].med < need
    return low, "%s at %d CPUs (%s %.2fx%s)" % (p["est"].text("x"), n, "below" if low else "reaches",
                                              need, waited)


def ceiling_low(d):
    """The trusted CPU counts of a workload of speedups() where the ceiling is low
    (ceiling_point): there the harness or the trace's balance, not the heap, limits."""
    ceil = d["ceiling"]
    if ceil is None:
        return set()
    return {n for n, p in d["series"][ceil].items() if not p["over"] and ceiling_point(p, n)[0]}


def ceiling_check(d):
    """(harness_bound, text) for a workload of speedups(): harness-bound when the null
    heap's point is low (ceiling_point) at any trusted N."""
    ceil = d["ceiling"]
    if ceil is None:
        return False, "no null-heap rows: neither the ceiling nor the share of it can be given"
    bound, parts = False, []
    for n, p in sorted(d["series"][ceil].items()):
        if p["over"]:
            continue
        low, text = ceiling_point(p, n)
        bound |= low
        parts.append(text)
    if not parts:
        return False, "the ceiling has no trusted point"
    return bound, "the ceiling (%s) scales %s" % (ceil, "; ".join(parts))


def scal_winner(d):
    """(text) which non-null series scales best at the largest trusted N, by per-round
    ratios of speedups; named only when every such ratio's interval lies above 1."""
    trusted = [n for n in d["points"] if not (d["cores"] and n > d["cores"])]
    if not trusted:
        return "no trusted point (every point oversubscribed)"
    n = max(trusted)
    cand = {s: p[n] for s, p in d["series"].items() if s != d["ceiling"] and n in p and not p[n]["over"]}
    if len(cand) < 2:
        return "fewer than two heaps at %d CPUs" % n
    best = max(cand, key=lambda s: cand[s]["est"].med)
    if cand[best]["est"].n < 2:
        return "n = 1: the data cannot support a verdict"
    unsep = []
    for s, p in cand.items():
        if s == best:
            continue
        v = per_round(cand[best]["rounds"], p["rounds"])
        if v is None or Est(v).excludes(1.0) <= 0:
            unsep.append(s)
    if not unsep:
        return "%s scales best at %d CPUs (speedup %s; every other series' per-round ratio to it " \
               "excludes 1)" % (best, n, cand[best]["est"].text("x"))
    return "no clear difference at %d CPUs between %s (speedup %s) and %s" % (
        n, best, cand[best]["est"].text("x"), ", ".join(unsep))


def sec_scal(doc, rows):
    data = speedups(rows)
    if not data:
        return
    doc.h(2, "Scalability (parallel replay, speedup over 1p)")
    doc.p("speedup(N) = ops_per_s at N CPUs / ops_per_s of the parallel replay at 1 CPU (1p), "
          "taken per round (the same repetition of both) then the median and interval over "
          "the rounds; share of ceiling = speedup / the null heap's speedup in the same round "
          "(the null heap is the harness with an allocator that costs nothing: its speedup is "
          "the most any heap can show here). A workload is harness-bound when the ceiling "
          "itself gains less than %.1fx per doubling of CPUs up to the cores: its curves then "
          "say more about the harness and the machine than about the heaps. Where the trace's "
          "threads load the CPUs unevenly (ops / busiest_cpu_ops below that) or its order makes "
          "CPUs wait (ops / critical_path_ops, the shortest schedule with equal op costs, below "
          "that), the ceiling is held to %.0f%% of that bound instead. Points with more "
          "CPUs than cores (†) are oversubscribed: shown, not trusted, never in a verdict. "
          "Cells cite [r1p/rN]." % (PER_DOUBLING, 100 * BALANCE_SHARE))
    for w, d in data.items():
        doc.h(3, w)
        heads = ["series"] + ["speedup at %d%s" % (n, " †" if d["cores"] and n > d["cores"] else "")
                              for n in d["points"]]
        heads += ["share of ceiling at %d" % n for n in d["points"] if not (d["cores"] and n > d["cores"])]
        table = []
        for s, pts in d["series"].items():
            row = [s + (" (ceiling)" if s == d["ceiling"] else "")]
            for n in d["points"]:
                p = pts.get(n)
                row.append("-" if p is None else "%s%s [%s/%s]" % (
                    p["est"].text("x"), " †" if p["over"] else "", p["rows"][0]["_id"], p["rows"][1]["_id"]))
            for n in d["points"]:
                if d["cores"] and n > d["cores"]:
                    continue
                p = pts.get(n)
                row.append(p["share"].text() if p and p["share"] else "-")
            table.append(row)
        doc.table(heads, table)
        bound, ctext = ceiling_check(d)
        n0 = min((p["est"].n for pts in d["series"].values() for p in pts.values()), default=0)
        doc.p("**Verdict (scalability, %s):** %s%s; %s%s. (%s.)" % (
            w, "harness-bound: " if bound else "", ctext, scal_winner(d), c2c_text(d),
            coverage_note(n0)))
    rest = [r for r in replay(rows) if r.get("mode") == "parallel" and r["_wl"] not in data]
    if rest:
        doc.p("Parallel rows without a 1p baseline (no speedup): %s." % " ".join(r["_id"] for r in rest))


def scal_pick(d):
    """The few series plots/scalability.gp draws for one workload: talc and slab on
    buddy-btree, the fastest peer (highest median ops/s at the largest trusted N), glibc and
    the ceiling; series missing from the sweep are left out."""
    s = d["series"]
    trusted = [n for n in d["points"] if not (d["cores"] and n > d["cores"])] or d["points"]
    n = max(trusted) if trusted else None
    peers = [x for x in s if x in PEERS and n in s[x]]
    fastest = max(peers, key=lambda x: num(s[x][n]["rows"][1].get("ops_per_s")) or 0) if peers else None
    want = ["buddy-btree-talc", "buddy-btree-slab", fastest, "glibc", d["ceiling"]]
    return [x for x in dict.fromkeys(want) if x and x in s]
