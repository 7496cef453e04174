"""report_answers.py: the report's first section, "Answers": one answer per design question
of the seed (physical memory: buddy or free list; virtual address space: bitmap or B+-tree,
and the tree with or without its per-CPU caches; heap: talc or slab), each a
recommendation computed from the sweep's rows (and `make bench`'s files when present),
the evidence for and against it, and the conditions under which it flips. Nothing here
names a winner by hand.

How an answer is reached. Each criterion compares the two candidates on the rows that
differ only in the question's layer (the same workload, the same other two strategies):
  speed        serial 1-CPU replays, the per-round ratio of ops_per_s (report_lib.py); a
               cell counts for a candidate when its interval excludes 1
  latency      p99: a cell counts when the two rows' intervals do not overlap
  scalability  ops_per_s at each trusted CPU count above 1 (per round, as speed), only on
               workloads whose ceiling (the null heap) is not harness-bound
               (report_speed.ceiling_check): elsewhere the harness, not the heap, limits
  counted criteria name the candidate with more such cells, and only when it has at
  least MIN_SHARE of all cells; fewer: "no clear difference"
  deterministic criteria (fragmentation, metadata, address space reserved, free 2 MiB
  blocks, failures, free-list re-entries): the lower (higher) geometric mean wins when
  it differs by more than TOL
WEIGHT says what matters: correctness first (failed allocations, a free-list re-entry
that deadlocks Hermit), then memory (fragmentation, reservation) and speed and
scalability, then latency and metadata. Fewer free VA ranges count only between
candidates that reserve alike (a strategy that reserves 1.7x what was asked has few
ranges because it wastes the space between them). The recommendation is the candidate
whose won criteria weigh more; equal weight is no recommendation. The conditions that
flip it are the criteria the other candidate won, each with its figures, and crossover
points found in the rows (the CPU count from which the other's throughput leads).
"""
from report_lib import Est, fmt, fmt_bytes, gmean, is_true, num, per_round, replay, reps_of, serial1
from report_speed import PER_DOUBLING, ceiling_check, ceiling_low, speedups

LAYERS = ("phys", "virt", "heap")
MIN_SHARE = 1 / 3  # a counted criterion's winner needs at least this share of the cells
TOL = 0.02  # deterministic criteria: a difference below 2% is none
WEIGHT = {"failures": 4, "re-entries": 4, "fragmentation": 3, "address space": 3,
          "2 MiB blocks": 3, "speed": 2, "scalability": 2, "latency": 1, "metadata": 1,
          "free ranges": 1}


class Crit:
    """One criterion's outcome: winner (a candidate or None), its evidence text, a short
    figure for the flip conditions, and its weight."""

    def __init__(self, name, winner, text, short=None):
        self.name, self.winner, self.text = name, winner, text
        self.short = short or text
        self.weight = WEIGHT.get(name, 1)


def ours(rows):
    return [r for r in rows if r.get("heap") in ("talc", "slab") and r.get("phys") not in ("", "-", None)]


def pairs(rows, layer, a, b, extra=()):
    """[(row of a, row of b)] agreeing on the workload, the other layers and EXTRA keys."""
    key = lambda r: (r["_wl"],) + tuple(r.get(k) for k in LAYERS + tuple(extra) if k != layer)  # noqa: E731
    ra = {key(r): r for r in rows if r.get(layer) == a}
    return [(ra[key(r)], r) for r in rows if r.get(layer) == b and key(r) in ra]


def count_text(a, b, wa, wb, n, what):
    return "%s %s in %d of %d cells, %s in %d, no clear difference in %d" % (
        a, what, wa, n, b, wb, n - wa - wb)


def counted(name, a, b, wa, wb, n, text, what):
    """The winner of a counted criterion (MIN_SHARE of the cells, more than the other)."""
    win = None
    if wa > wb and wa >= MIN_SHARE * n:
        win = a
    elif wb > wa and wb >= MIN_SHARE * n:
        win = b
    short = "%s in %d of %d cells" % (what, max(wa, wb), n) if win else None
    return Crit(name, win, text, short)


def crit_speed(doc, rep, layer, a, b):
    ps = [(x, y) for x, y in pairs([r for r in rep if serial1(r)], layer, a, b)
          if num(x.get("ops_per_s")) and num(y.get("ops_per_s"))]
    if not ps:
        return None
    wa = wb = 0
    meds = []
    for x, y in ps:
        v = per_round(reps_of(x), reps_of(y))
        if v is None:
            continue
        e = Est(v)
        meds.append(e.med)
        side = e.excludes(1.0)
        wa += side > 0
        wb += side < 0
    lab = doc.agg([r for p in ps for r in p], "speed pairs %s vs %s (serial, 1 CPU)" % (a, b))
    rng = "ratio %s/%s per cell %s..%s" % (a, b, fmt(min(meds)), fmt(max(meds))) if meds else "no common rounds"
    return counted("speed", a, b, wa, wb, len(ps), "%s (%s, 95%% intervals of per-round ratios) %s" % (
        count_text(a, b, wa, wb, len(ps), "faster"), rng, lab), "faster")


def crit_latency(doc, rep, layer, a, b):
    f = "lat_p99_ns"
    ps = [(x, y) for x, y in pairs([r for r in rep if serial1(r)], layer, a, b)
          if num(x.get(f)) is not None and num(y.get(f)) is not None]
    if not ps:
        return None
    wa = wb = 0
    for x, y in ps:
        xl, xh, yl, yh = (num(x.get(f + "_ci_lo")), num(x.get(f + "_ci_hi")),
                          num(y.get(f + "_ci_lo")), num(y.get(f + "_ci_hi")))
        if None in (xl, xh, yl, yh):
            continue
        wa += xh < yl
        wb += yh < xl
    ga, gb = gmean([num(x[f]) for x, _ in ps]), gmean([num(y[f]) for _, y in ps])
    lab = doc.agg([r for p in ps for r in p], "p99 pairs %s vs %s" % (a, b))
    return counted("latency", a, b, wa, wb, len(ps), "p99 %s (intervals apart), geometric mean %s vs %s ns %s" % (
        count_text(a, b, wa, wb, len(ps), "lower"), fmt(ga), fmt(gb), lab), "lower p99")


def harness_bound(rows):
    """({workload: text} of harness-bound workloads, {workload: text} of the others,
    {workload: CPU counts where its ceiling is low}) from the null heap's own scaling
    (report_speed.ceiling_check, ceiling_low)."""
    bound, free, low = {}, {}, {}
    for w, d in speedups(rows).items():
        hb, _ = ceiling_check(d)
        if d["ceiling"] is None:
            continue
        pts = {n: p for n, p in d["series"][d["ceiling"]].items() if not p["over"]}
        top = max(pts) if pts else None
        (bound if hb else free)[w] = "the null heap %s at %d CPUs" % (pts[top]["est"].text("x"), top) \
            if top else "no trusted point"
        low[w] = ceiling_low(d)
    return bound, free, low


def scal_points(rows, layer, a, b):
    """{N: (wins a, wins b, cells)} at each trusted N > 1 where the workload's ceiling keeps
    up (a harness-bound workload counts at its other CPU counts), the rows used, and the
    caveat text."""
    bound, free, low = harness_bound(rows)
    par = [r for r in ours(replay(rows)) if r.get("mode") == "parallel"
           and (r["_wl"] in free or r["_wl"] in bound) and r.get("cpus") != "1"
           and int(r["cpus"]) not in low.get(r["_wl"], ())
           and not is_true(r.get("oversubscribed"))
           and not (num(r.get("cores")) and int(r["cpus"]) > num(r["cores"]))]
    out, used = {}, []
    for x, y in pairs(par, layer, a, b, extra=("cpus",)):
        v = per_round(reps_of(x), reps_of(y))
        if v is None:
            continue
        side = Est(v).excludes(1.0)
        n = int(x["cpus"])
        wa, wb, c = out.get(n, (0, 0, 0))
        out[n] = (wa + (side > 0), wb + (side < 0), c + 1)
        used += [x, y]
    if not free and not bound:
        note = "no null-heap (ceiling) rows, so no workload can be told harness-bound or not: not counted"
    else:
        note = ("harness-bound (the ceiling gains less than %.1fx per doubling of CPUs, or less "
                "than the trace's balance allows), left out at those CPU counts: %s" % (
                    PER_DOUBLING, "; ".join("%s (%s; left out at %s)" % (
                        w, t, ", ".join(str(n) for n in sorted(low[w]))) for w, t in bound.items()))
                if bound else "no workload is harness-bound (the null heap scales on each)")
    return out, used, note


def crit_scal(doc, rows, layer, a, b):
    pts, used, note = scal_points(rows, layer, a, b)
    if not pts:
        return Crit("scalability", None, "no parallel pairs on a workload the ceiling does not bound (%s)" % note)
    top = max(pts)
    wa, wb, n = pts[top]
    cross = crossover(pts, a, b)
    lab = doc.agg(used, "parallel pairs %s vs %s, trusted CPU counts" % (a, b))
    c = counted("scalability", a, b, wa, wb, n, "ops/s at %d CPUs: %s%s %s; %s" % (
        top, count_text(a, b, wa, wb, n, "higher"), cross, lab, note), "higher ops/s at %d CPUs" % top)
    if c.winner and cross:
        c.short += cross.replace(";", ",", 1)
    return c


def crossover(pts, a, b):
    """Text naming the smallest N from which one candidate leads at every larger N while
    the other leads (or neither does) below it."""
    ns = sorted(pts)
    lead = {n: a if pts[n][0] > pts[n][1] and pts[n][0] >= MIN_SHARE * pts[n][2] else
            b if pts[n][1] > pts[n][0] and pts[n][1] >= MIN_SHARE * pts[n][2] else None for n in ns}
    for who in (a, b):
        for i, n in enumerate(ns):
            if i and all(lead[m] == who for m in ns[i:]) and any(lead[m] != who for m in ns[:i]):
                return "; %s leads from %d CPUs up (%s)" % (who, n, ", ".join(
                    "%d: %s" % (m, lead[m] or "neither") for m in ns))
    return ""


def crit_lower(doc, name, ps, a, b, val, show=fmt):
    """Deterministic: the lower geometric mean of val over pairs ps wins (TOL)."""
    ps = [(x, y) for x, y in ps if val(x) is not None and val(y) is not None]
    if not ps:
        return None
    ga, gb = gmean([val(x) for x, _ in ps]), gmean([val(y) for _, y in ps])
    if ga is None or gb is None:
        return None
    win = a if ga < gb * (1 - TOL) else b if gb < ga * (1 - TOL) else None
    lab = doc.agg([r for p in ps for r in p], "%s pairs %s vs %s" % (name, a, b))
    short = "%s %s vs %s %s" % (a, show(ga), b, show(gb))
    return Crit(name, win, "%s (geometric mean over %d pairs) %s" % (short, len(ps), lab), short)


def crit_failures(doc, rep, layer, a, b):
    ps = pairs([r for r in rep if serial1(r)], layer, a, b)
    if not ps:
        return None
    fa, fb = sum(num(x.get("failed")) or 0 for x, _ in ps), sum(num(y.get("failed")) or 0 for _, y in ps)
    wa = sum(1 for x, _ in ps if num(x.get("failed")))
    wb = sum(1 for _, y in ps if num(y.get("failed")))
    win = a if fa == 0 and fb > 0 else b if fb == 0 and fa > 0 else None
    t = "failed allocations: %s %d (on %d workloads), %s %d (on %d)" % (a, fa, wa, b, fb, wb)
    return Crit("failures", win, t + " " + doc.agg([r for p in ps for r in p], "failures %s vs %s" % (a, b)), t)


def crit_reentries(doc, rep, layer, a, b, pre):
    rs = [r for r in rep if r.get(layer) in (a, b) and num(r.get(pre + "_spill_allocs")) is not None]
    if not rs:
        return None
    tot = {c: sum(max(reps_of(r, pre + "_spill_reentries") or [0]) for r in rs if r.get(layer) == c) for c in (a, b)}
    win = a if tot[a] == 0 and tot[b] > 0 else b if tot[b] == 0 and tot[a] > 0 else None
    t = "free-list re-entries (a deadlock in Hermit): %s %d, %s %d" % (a, tot[a], b, tot[b])
    return Crit("re-entries", win, t + " " + doc.agg(rs, "%s spill re-entries" % pre), t)


def recommend(doc, title, a, b, crits, also=()):
    """Writes one answer: recommendation, the evidence table, the flip conditions, and
    ALSO: lines on evidence that is shown but not counted (make bench's files)."""
    crits = [c for c in crits if c is not None]
    w = {c: sum(x.weight for x in crits if x.winner == c) for c in (a, b)}
    best = a if w[a] > w[b] else b if w[b] > w[a] else None
    doc.h(3, title)
    if not crits:
        doc.p("**Answer:** no rows for this question in this sweep.")
        return None
    forx = lambda c: ", ".join("%s (weight %d)" % (x.name, x.weight) for x in crits if x.winner == c) or "none"  # noqa: E731
    if best:
        other = b if best == a else a
        doc.p("**Answer: %s.** It wins %s (total weight %d); %s wins %s (weight %d)." % (
            best, forx(best), w[best], other, forx(other), w[other]))
    else:
        doc.p("**Answer: no recommendation**: the criteria %s wins (%s) weigh as much as "
              "those %s wins (%s)." % (a, forx(a), b, forx(b)))
    doc.table(["criterion", "weight", "favours", "evidence"],
              [[c.name, str(c.weight), c.winner or "neither", c.text] for c in crits])
    flips = []
    if best:
        other = b if best == a else a
        lead = "; ".join("%s (%s)" % (c.name, c.short) for c in crits if c.winner == best)
        flips += ["%s if %s matters more than %s: %s wins on %s (%s) but %s on %s" % (
            other, c.name, forx(best), other, c.name, c.short, best, lead)
                  for c in crits if c.winner == other]
        undecided = [c.name for c in crits if c.winner is None]
        if undecided:
            flips.append("any of %s, undecided here, could tip it with more repetitions or "
                         "workloads" % ", ".join(undecided))
    doc.p("**Flips:** " + ("; ".join(flips) if flips else "nothing in these rows favours %s" % (
        (b if best == a else a) if best else "either")) + ".")
    if also:
        doc.p("**Also (not counted):** " + "; ".join(also) + ".")
    return best


# ---- the three questions -------------------------------------------------------------

def answer_phys(doc, rows, bench):
    rep = ours(replay(rows))
    a, b = "buddy", "freelist"
    crits = [crit_reentries(doc, rep, "phys", a, b, "phys")]
    fc = [r for r in rows if r.get("kind") == "frame_churn" and num(r.get("free_2m_share")) is not None]
    share = {c: [num(r["free_2m_share"]) for r in fc if r.get("phys") == c] for c in (a, b)}
    if share[a] and share[b]:
        ma, mb = min(share[a]), min(share[b])
        win = a if ma > mb + TOL else b if mb > ma + TOL else None
        t = "free memory in whole 2 MiB blocks after churn, worst pattern: %s %.1f%%, %s %.1f%%" % (
            a, 100 * ma, b, 100 * mb)
        crits.append(Crit("2 MiB blocks", win, t + " " + doc.agg(fc, "frame_churn rows"), t))
    crits += [crit_speed(doc, rep, "phys", a, b), crit_scal(doc, rows, "phys", a, b) if rep else None,
              crit_latency(doc, rep, "phys", a, b),
              crit_lower(doc, "metadata", pairs([r for r in rep if serial1(r)], "phys", a, b), a, b,
                         lambda r: num(r.get("phys_meta_bytes")), fmt_bytes)]
    also = bench_notes(bench, "frame_bench", "phys", a, b, ("alloc_4k", "free_4k"))
    return recommend(doc, "Physical memory: buddy allocator or free list?", a, b, crits, also)


def va_reserve(rows, v):
    """reserved / requested of VA strategy v: va_frag rows (peak) and replay rows (end)."""
    out = [num(r.get("peak_reserved_per_requested")) for r in rows
           if r.get("kind") == "va_frag" and r.get("virt") == v]
    out += [num(r["va_reserved_bytes"]) / num(r["heap_va_bytes"]) for r in ours(replay(rows))
            if serial1(r) and r.get("virt") == v and num(r.get("va_reserved_bytes")) and num(r.get("heap_va_bytes"))]
    return [x for x in out if x]


def answer_virt(doc, rows, bench):
    rep = ours(replay(rows))
    a, b = "bitmap", "btree"
    va = [r for r in rows if r.get("kind") == "va_frag"]
    vpairs = pairs(va, "virt", a, b)
    ra, rb = va_reserve(rows, a), va_reserve(rows, b)
    crits, also = [], []
    if ra and rb:
        ga, gb = gmean(ra), gmean(rb)
        win = a if ga < gb * (1 - TOL) else b if gb < ga * (1 - TOL) else None
        lab = doc.agg([r for r in va + rep if r.get("virt") in (a, b)], "VA reservation rows")
        short = "%s reserves %s-%sx the address space asked, %s %s-%sx" % (
            a, fmt(min(ra)), fmt(max(ra)), b, fmt(min(rb)), fmt(max(rb)))
        crits.append(Crit("address space", win, "%s (geometric means %s and %s over the va_frag and "
                          "replay rows) %s" % (short, fmt(ga), fmt(gb), lab), short))
        frees = crit_lower(doc, "free ranges", vpairs, a, b, lambda r: num(r.get("peak_free_ranges")))
        if frees and win is not None:
            frees = Crit("free ranges", None, "not compared: %s reserves %sx what %s does, so its free "
                         "ranges are fewer because it wastes the space between them (%s)" % (
                             win == a and b or a, fmt(max(ga, gb) / min(ga, gb)), win, frees.text))
        crits.append(frees)
    crits += [crit_speed(doc, rep, "virt", a, b), crit_scal(doc, rows, "virt", a, b) if rep else None,
              crit_latency(doc, rep, "virt", a, b),
              crit_lower(doc, "metadata", vpairs, a, b, lambda r: num(r.get("peak_meta_bytes")), fmt_bytes)]
    also += bench_notes(bench, "va_bench", "virt", a, b, ("alloc_free_pair",))
    best = recommend(doc, "Virtual address space: bitmap or B+-tree?", a, b, crits, also)
    answer_caches(doc, rows, bench)
    return best


def answer_caches(doc, rows, bench):
    """The tree with (btree) or without (btree-bare) its per-CPU quantum caches: va_frag
    rows and va_bench; their timings are single medians (no interval), so speed is shown
    and never counted."""
    a, b = "btree", "btree-bare"
    va = [r for r in rows if r.get("kind") == "va_frag"]
    ps = pairs(va, "virt", a, b)
    crits = [crit_lower(doc, "metadata", ps, a, b, lambda r: num(r.get("peak_meta_bytes")), fmt_bytes),
             crit_lower(doc, "address space", ps, a, b, lambda r: num(r.get("peak_reserved_per_requested")))]
    sp = [(num(x.get("ns_per_op")), num(y.get("ns_per_op"))) for x, y in ps
          if num(x.get("ns_per_op")) and num(y.get("ns_per_op"))]
    hits = [num(x.get("qcache_hit_rate")) for x, _ in ps if num(x.get("qcache_hit_rate")) is not None]
    also = []
    if sp:
        also.append("speed (va_replay times each trace once: no interval): ns per op "
                     "%s/%s %s..%s over %d traces%s" % (
                         a, b, fmt(min(x / y for x, y in sp)), fmt(max(x / y for x, y in sp)), len(sp),
                         ", cache hit rate %s..%s" % (fmt(min(hits)), fmt(max(hits))) if hits else ""))
    also += bench_notes(bench, "va_bench", "virt", a, b, ("alloc_free_pair",))
    recommend(doc, "The B+-tree: with or without its per-CPU caches?", a, b, crits, also)


def answer_heap(doc, rows, bench):
    rep = ours(replay(rows))
    a, b = "talc", "slab"
    ser = [r for r in rep if serial1(r)]
    crits = [crit_failures(doc, rep, "heap", a, b),
             crit_lower(doc, "fragmentation", pairs(ser, "heap", a, b), a, b,
                        lambda r: None if num(r.get("frag4")) is None else num(r["frag4"]) + 1),
             crit_speed(doc, rep, "heap", a, b), crit_scal(doc, rows, "heap", a, b) if rep else None,
             crit_latency(doc, rep, "heap", a, b),
             crit_lower(doc, "metadata", pairs(ser, "heap", a, b), a, b,
                        lambda r: num(r.get("heap_meta_bytes")), fmt_bytes)]
    if crits[1] is not None:
        crits[1].text = "peak footprint / peak live (frag4 + 1): " + crits[1].text
        crits[1].short = "footprint / live " + crits[1].short
    also = heap_bench_notes(bench, a, b)
    return recommend(doc, "Heap: talc or slab?", a, b, crits, also)


# ---- make bench's files ---------------------------------------------------------------

def bench_notes(bench, name, col, a, b, ops):
    """Lines on a `make bench` file's single-median timings of a and b (not counted: no
    interval)."""
    out = []
    for op in ops:
        v = {c: [num(r["value"]) for r in bench.get(name, []) if r.get(col) == c and r.get("op") == op
                 and num(r.get("value"))] for c in (a, b)}
        if v[a] and v[b]:
            out.append("%s %s (make bench, single medians: no interval): %s %s ns, %s %s ns" % (
                name, op, a, fmt(gmean(v[a])), b, fmt(gmean(v[b]))))
    return out


def heap_bench_notes(bench, a, b):
    """heap_bench's ops/s of a and b per (workload, threads): where their intervals are
    apart, which is higher."""
    hb = [r for r in bench.get("heap_bench", []) if r.get("metric") == "ops_per_s"]
    cell = {}
    for r in hb:
        if r.get("allocator") in (a, b):
            cell.setdefault((r["workload"], r["threads"], r.get("param", "")), {})[r["allocator"]] = r
    wins = {a: [], b: []}
    for (w, t, p), d in cell.items():
        if a in d and b in d:
            la, ha, lb, hb_ = (num(d[a].get("lo")), num(d[a].get("hi")), num(d[b].get("lo")), num(d[b].get("hi")))
            if None not in (la, ha, lb, hb_):
                lab = "%s (%s threads%s)" % (w, t, ", param %s" % p if p else "")
                if la > hb_:
                    wins[a].append(lab)
                elif lb > ha:
                    wins[b].append(lab)
    if not cell:
        return []
    return ["heap_bench (make bench: its own runs, a speed criterion already counted above) ops/s "
            "intervals apart: %s higher on %s; %s higher on %s" % (
        a, ", ".join(wins[a]) or "none", b, ", ".join(wins[b]) or "none")]


def sec_answers(doc, rows, bench=None):
    """The "Answers" section (see the module's docstring)."""
    bench = bench or {}
    doc.h(2, "Answers")
    doc.p("One answer per design question of the seed, computed from this sweep's rows: each "
          "criterion compares the two candidates on rows that differ only in that layer and "
          "names a winner only where the data separate them (timings: 95%% intervals; "
          "deterministic figures: more than %d%% apart). Weights: %s. The recommendation is the "
          "candidate whose won criteria weigh more; \"Flips\" lists what would change it. "
          "The sections below hold every figure." % (
              round(100 * TOL), ", ".join("%s %d" % kv for kv in WEIGHT.items())))
    answer_phys(doc, rows, bench)
    answer_virt(doc, rows, bench)
    answer_heap(doc, rows, bench)

