#!/usr/bin/env python3
"""report.py: results/report.md and results/report.html (self-contained: plots embedded)
from one sweep directory of scripts/run.sh (rows.csv, crosscheck.json, plots/, config).

Every number in a table or verdict cites its row as [rN]: data row N of the sweep's
rows.csv (line N + 1), whose `case` column names the case file it came from; [An] is an
aggregate listed in the appendix. Verdicts are computed here from those rows; nothing is
typed in by hand. Timing verdicts follow MEASUREMENT.md (report_lib.py: medians with
their intervals, per-round ratios, a verdict only where an interval excludes 1); the
timing sections live in report_speed.py.
The first section, "Answers", answers the seed's design questions (report_answers.py);
`make bench`'s CSVs in --bench DIR are shown (report_bench.py).
Usage: scripts/report.py RUN_DIR OUT.md OUT.html [--gbench FILE.json] [--bench DIR]
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repository
from report_lib import (Doc, PEERS, cite, first_by, fmt, fmt_bytes, gmean, load, num, replay,
                        reps_of, serial1, varied)
from report_speed import sec_latency, sec_scal, sec_speed  # noqa: E402
from report_answers import sec_answers  # noqa: E402
from report_bench import load_bench, sec_bench  # noqa: E402
from out_lib import write_out  # noqa: E402
from report_hosts import per_kind, sec_hosts  # noqa: E402

GUEST_ENGINES = ("kvm", "qemu", "libvirt")
MATCH = ("kind", "combo", "trace_hash", "cpus", "mode", "machine_mib")  # as scripts/crosscheck.py


def bests(d, low=True):
    """The key(s) with the best value; ties (within 0.5%) joined with 'and'."""
    b = min(d.values()) if low else max(d.values())
    return " and ".join(k for k, v in d.items() if abs(v - b) <= 0.005 * abs(b))


def others(d, best):
    """'k v, ...' of the keys not among bests() (a tie is never listed as an 'other')."""
    tied = best.split(" and ")
    return ", ".join("%s %s" % (k, fmt(v)) for k, v in d.items() if k not in tied) or "none"


def fair_ranges(fr, rr):
    """Free-range counts only of the strategies that reserve no more than 2% over the least
    wasteful (one that over-reserves has few ranges because it wastes the gaps), and the
    text naming those left out."""
    lo = min(rr.values())
    keep = {v: x for v, x in fr.items() if v in rr and rr[v] <= lo * 1.02}
    out = [v for v in fr if v not in keep]
    return keep, (" (not counted, they reserve more than asked: %s)" % ", ".join(
        "%s %sx" % (v, fmt(rr[v])) for v in out) if out else "")


def sec_va(doc, rows):
    va = [r for r in rows if r.get("kind") == "va_frag" and num(r.get("peak_reserved_per_requested"))]
    # The host's rows when there are any: a guest's (vareplay, the same core) are then the
    # cross-check's and would only repeat them.
    if any(r.get("engine") == "host" for r in va):
        va = [r for r in va if r.get("engine") == "host"]
    doc.h(2, "Virtual address space per VA strategy")
    if va:
        doc.p("build/bin/va_replay (or the guest's vareplay) on the address-space traces (.vmt) "
              "and its mix generator: at "
              "the peak of each trace, reserved / requested bytes (the strategy's rounding), "
              "maximal free ranges, and metadata bytes.")
        doc.table(["workload", "virt", "granule", "reserved/requested", "free ranges", "meta bytes"],
                  [[r["_wl"], r["virt"], fmt_bytes(num(r.get("granule_bytes"))), cite(r, "peak_reserved_per_requested"),
                    cite(r, "peak_free_ranges"), cite(r, "peak_meta_bytes")] for r in va])
        virts = list(dict.fromkeys(r["virt"] for r in va))
        g = {v: [r for r in va if r["virt"] == v] for v in virts}
        rr = {v: gmean([num(r["peak_reserved_per_requested"]) for r in g[v]]) for v in virts}
        fr = {v: gmean([num(r["peak_free_ranges"]) for r in g[v]]) for v in virts}
        mb = {v: gmean([num(r["peak_meta_bytes"]) for r in g[v]]) for v in virts}
        lab = {v: doc.agg(g[v], "va_frag rows of " + v) for v in virts}
        fair, left = fair_ranges(fr, rr)
        best, few, cheap = min(rr, key=rr.get), min(fair, key=fair.get), min(mb, key=mb.get)
        doc.p("**Verdict (VA fragmentation):** %s: the least address space wasted, reserved/requested "
              "%s at the peak (geometric mean; %s); fewest free ranges among those that reserve no "
              "more than that: %s (%s; %s)%s; least metadata: %s (%s bytes; %s)." % (
                  bests(rr), fmt(rr[best]), ", ".join("%s %s %s" % (v, fmt(rr[v]), lab[v]) for v in virts),
                  bests(fair), fmt(fair[few]), ", ".join("%s %s" % (v, fmt(fair[v])) for v in fair), left,
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
        fr, left = fair_ranges(fr, s)
        few = min(fr, key=fr.get)
        doc.p("**Verdict (VA under the heaps):** %s: the least address space wasted, reserved/requested "
              "%s over both heaps (others: %s); %s: the fewest free ranges among those that reserve no "
              "more (%s; others: %s)%s. Inputs: the rows of the table's %s." % (
                  bests(s), fmt(s[best]), others(s, bests(s)),
                  bests(fr), fmt(fr[few]), others(fr, bests(fr)), left,
                  "/".join(sorted({c.split()[-1] for row in table for c in row[3:4]}))))


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



def frag_note(r, key):
    """Why a fragmentation or footprint cell of row r is not a plain number, or ''."""
    notes = []
    if key in varied(r):
        notes.append("not reproducible: differed between repetitions")
    x = num(r.get(key))
    if key.startswith("frag") and x is not None and x < 0:
        notes.append("footprint below live bytes")
    return "; ".join(notes)


def ours_first(rep):
    """One row per (workload, heap): buddy-btree for ours when swept, else the first."""
    cell = {}
    for r in rep:
        k = (r["_wl"], r["heap"])
        if k not in cell or (r.get("combo", "").startswith("buddy-btree-")
                             and not cell[k].get("combo", "").startswith("buddy-btree-")):
            cell[k] = r
    return cell


def sec_frag(doc, rows):
    rep = [r for r in replay(rows) if serial1(r) and num(r.get("frag4")) is not None]
    if not rep:
        return
    cell = ours_first(rep)
    heaps = list(dict.fromkeys(r["heap"] for r in rep))
    wls = list(dict.fromkeys(r["_wl"] for r in rep))
    doc.h(2, "Heap fragmentation (J&W #4, 1 CPU, serial replay)")
    doc.p("frag4 = peak footprint / peak live - 1 (lower is better); footprint = memory the "
          "heap holds from the system: for ours the frames mapped for the heap (talc: the "
          "high-water mark of its fixed heap), for the peers resident bytes over a baseline; "
          "the null heap (the ceiling) has none: its objects overlap. For our heaps the "
          "buddy-btree combination is shown. A cell marked * differed between repetitions "
          "(not reproducible); a negative value means a footprint below the live bytes (see "
          "the footprint section).")

    def c(w, h):
        r = cell.get((w, h))
        if r is None:
            return "-"
        return cite(r, "frag4") + (" *" if "frag4" in varied(r) else "")
    doc.table(["workload"] + heaps, [[w] + [c(w, h) for h in heaps] for w in wls])
    ours = [h for h in heaps if h in ("talc", "slab")]
    if len(ours) == 2:
        a, b = ours
        both = [w for w in wls if (w, a) in cell and (w, b) in cell]
        g = {h: gmean([num(cell[(w, h)]["frag4"]) + 1 for w in both]) for h in ours}
        wins = [w for w in both if num(cell[(w, a)]["frag4"]) < num(cell[(w, b)]["frag4"])]
        best = a if g[a] <= g[b] else b
        other = b if best == a else a
        doc.p("**Verdict (heap fragmentation):** %s fragments less: geometric mean of "
              "footprint/live %.3f vs %.3f for %s; %s is lower on %d of %d workloads (cells above; "
              "serial replays are deterministic, so no interval applies)."
              % (best, g[best], g[other], other, a, len(wins), len(both)))


def sec_footprint(doc, rows):
    rep = [r for r in replay(rows) if r.get("kind") == "replay" and
           (serial1(r) or r.get("mode") == "parallel")]
    peers = [r for r in rep if r.get("heap") in PEERS]
    if not peers:
        return
    doc.h(2, "Footprint, ours and the peers (one definition)")
    doc.p("Bytes the heap holds from the system, sampled at the trace's peak live bytes "
          "(footprint_at_peak_bytes, J&W #3) and tracked to its maximum (peak_footprint_bytes, J&W #4). "
          "Ours: frames mapped for the heap (talc: the high-water mark of its fixed heap); "
          "peers: resident bytes over a baseline taken before the replay (the harness's own "
          "memory is not theirs); null: none (its objects overlap). \"-\" is unknown, with "
          "the reason; never 0 (a parallel replay on several CPUs has no moment of peak live, and "
          "its live set follows the CPUs' progress rather than the trace's order, so footprint "
          "at peak, frag3 and frag4 are \"-\" there: compare its peak footprint). Rows whose footprint differed between repetitions "
          "are marked not reproducible. Serial rows at 1 CPU and parallel rows at the most "
          "CPUs swept; for our heaps the buddy-btree combination.")
    top = {}
    for r in rep:
        if r.get("mode") == "parallel":
            top[r["_wl"]] = max(top.get(r["_wl"], 0), int(r["cpus"]))
    pick = [r for r in rep if serial1(r) or int(r["cpus"]) == top.get(r["_wl"])]
    cell = {}
    for r in pick:
        k = (r["_wl"], r["heap"], r["mode"])
        if k not in cell or (r.get("combo", "").startswith("buddy-btree-")
                             and not cell[k].get("combo", "").startswith("buddy-btree-")):
            cell[k] = r
    table, unrep, below = [], [], []
    for (w, h, m), r in cell.items():
        notes = []
        for k in ("footprint_at_peak_bytes", "peak_footprint_bytes", "frag3", "frag4"):
            if num(r.get(k)) is None and k in r and not (m == "parallel" and k in ("footprint_at_peak_bytes", "frag3", "frag4")):
                notes.append("%s unknown" % k)
        v = [f for f in varied(r) if f in ("footprint_at_peak_bytes", "peak_footprint_bytes", "frag3", "frag4")]
        if v:
            spread = reps_of(r, v[0])
            notes.append("not reproducible: %s varied%s" % (", ".join(v), " (%s: %s..%s)" % (
                v[0], fmt_bytes(min(spread)), fmt_bytes(max(spread)))
                if len(spread) > 1 and "footprint" in v[0] else ""))
            unrep.append(r)
        if any((num(r.get(k)) or 0) < 0 for k in ("frag3", "frag4")):
            notes.append("footprint below live")
            below.append(r)
        if num(r.get("failed")) and num(r.get("live_at_first_failure_bytes")) is None:
            notes.append("%d allocations failed (parallel: live/footprint at the first not "
                         "measured, frag4 null)" % num(r["failed"]))
        elif num(r.get("failed")):
            notes.append("%d allocations failed (live/footprint at the first: %s)" % (
                num(r["failed"]), fmt((num(r.get("live_at_first_failure_bytes")) or 0) /
                                      (num(r.get("footprint_at_first_failure_bytes")) or 1))))
        fb = lambda k: fmt_bytes(num(r.get(k)))  # noqa: E731
        table.append([w, r["_series"], "%s %s" % (m, r["cpus"]), fb("peak_live_bytes"), fb("footprint_at_peak_bytes"),
                      fb("peak_footprint_bytes"), fmt(num(r.get("frag3"))), fmt(num(r.get("frag4"))),
                      "; ".join(notes) or "", r["_id"]])
    table.sort(key=lambda t: (t[0], t[2] != "serial 1", t[1]))
    doc.table(["workload", "series", "mode cpus", "peak live", "footprint at peak", "peak footprint",
               "frag3", "frag4", "notes", "row"], table)
    parts = ["%d of %d peer rows are not reproducible (their footprint varied between repetitions: %s)"
             % (len([r for r in unrep if r.get("heap") in PEERS]), len([r for r in cell.values() if r.get("heap") in PEERS]),
                " ".join(r["_id"] for r in unrep if r.get("heap") in PEERS) or "none")]
    if below:
        parts.append("footprint below the live bytes in %s: resident bytes do not count pages "
                     "the replay never touched (it writes the first and last byte of each object), "
                     "so a peer's resident footprint can undercount where ours (mapped frames) "
                     "cannot: those cells are not comparable with ours" % " ".join(r["_id"] for r in below))
    doc.p("**Verdict (footprint, peers):** " + "; ".join(parts) + ".")


def sec_spill(doc, rows):
    rep = [r for r in replay(rows) if "freelist" in (r.get("phys"), r.get("virt"))
           and num(r.get("phys_spill_allocs")) is not None
           and (serial1(r) or (r.get("mode") == "parallel" and r.get("cpus") != "1"))]
    if not rep:
        return
    doc.h(2, "Free-list spill (today's Hermit free lists)")
    doc.p("Hermit's free lists keep their ranges in a SmallVec of 16 slots that spills into "
          "the global heap. Under slab, whose memory comes from the frame allocator, a spill "
          "calls frame allocator -> heap -> frame allocator while the list's lock is held: "
          "Hermit would deadlock on that re-entry; here it is refused and counted "
          "(re-entries), and a free that then finds no slot drops its range (lost frames / "
          "bytes: memory that is never given out again). Summed over the workloads, serial "
          "replays at 1 CPU and parallel ones at more CPUs apart (a parallel row counts the most "
          "any repetition saw; * = the counts differed between repetitions); the worst workload "
          "(most re-entries, then most spills) cites its row.")
    table, hits = [], []
    keys = ("phys_spill_allocs", "phys_spill_reentries", "phys_lost_frames", "va_spill_allocs",
            "va_spill_reentries", "va_lost_bytes")
    for s in dict.fromkeys(r["_series"] for r in rep):
        for mode in ("serial", "parallel"):
            rs = [r for r in rep if r["_series"] == s and r.get("mode", "serial") == mode]
            if not rs:
                continue
            tot = {k: sum(max(reps_of(r, k) or [0]) for r in rs) for k in keys}
            var = any(k in varied(r) for r in rs for k in keys)
            key = lambda r: (max(reps_of(r, "phys_spill_reentries") or [0]) +  # noqa: E731
                             max(reps_of(r, "va_spill_reentries") or [0]),
                             max(reps_of(r, "phys_spill_allocs") or [0]) + max(reps_of(r, "va_spill_allocs") or [0]))
            worst = max(rs, key=key)
            a = doc.agg(rs, "free-list spill of %s, %s" % (s, mode))
            if tot["phys_spill_reentries"] or tot["va_spill_reentries"]:
                hits.append("%s (%s: %s frame and %s VA re-entries, %s frames lost; worst %s [%s])" % (
                    s, mode, fmt(tot["phys_spill_reentries"]), fmt(tot["va_spill_reentries"]),
                    fmt(tot["phys_lost_frames"]), worst["_wl"], worst["_id"]))
            table.append([s, mode + (" *" if var else ""), str(len(rs)),
                          "%s %s" % (fmt(tot["phys_spill_allocs"]), a), fmt(tot["phys_spill_reentries"]),
                          fmt(tot["phys_lost_frames"]), fmt(tot["va_spill_allocs"]),
                          fmt(tot["va_spill_reentries"]), fmt_bytes(tot["va_lost_bytes"]),
                          "%s c%s [%s]" % (worst["_wl"], worst["cpus"], worst["_id"]) if any(key(worst)) else "-"])
    doc.table(["series", "replay", "rows", "frame spill allocs", "frame re-entries", "lost frames",
               "VA spill allocs", "VA re-entries", "lost VA", "worst workload"], table)
    doc.p("**Verdict (free-list spill):** %s." % (
        "re-entries (a deadlock in Hermit) under " + "; ".join(hits) if hits else
        "no re-entry in these workloads: every spill was served without the heap calling back "
        "into the list"))


def case_rows(rows):
    return first_by(rows, lambda r: r.get("case"))


def sec_crosscheck(doc, rows, run_dir, cfg):
    """Always present: what the guest cross-check compared and every mismatch, or why
    there is none. Returns the number of failures (mismatches, plus 1 when guest rows
    exist but were not checked)."""
    doc.h(2, "Guest cross-check (host engine vs guest)")
    path = os.path.join(run_dir, "crosscheck.json")
    guest = [r for r in rows if r.get("kind") in ("replay", "va_frag") and r.get("engine") in GUEST_ENGINES]
    if not os.path.exists(path):
        if guest:
            doc.p("**Verdict (engines agree):** NOT CHECKED: %d guest rows but no crosscheck.json "
                  "(run `scripts/crosscheck.py --out %s %s`)."
                  % (len(guest), path, os.path.join(run_dir, "rows.jsonl")))
            return 1
        doc.p("Empty: this sweep had no guest check (%s), so nothing was compared. `scripts/run.sh "
              "--guest-check qemu` (or kvm, libvirt) replays every combination and the null heap "
              "in a guest and compares every deterministic metric with the host engine's row."
              % next((p for p in cfg.split() if p.startswith("guest_check=")), "guest_check=none"))
        return 0
    with open(path) as f:
        cc = json.load(f)
    sm, pairs = cc.get("summary", {}), cc.get("pairs", [])
    byc = case_rows(rows)
    rid = lambda c: byc[c]["_id"] if c in byc else "?"  # noqa: E731
    hosts = {tuple(r.get(k) for k in MATCH) for r in rows if r.get("kind") in ("replay", "va_frag") and r.get("engine") == "host"}
    lone = [g for g in guest if tuple(g.get(k) for k in MATCH) not in hosts]
    mism = [(p, m) for p in pairs for m in p.get("mismatches", [])]
    ser = [p for p in pairs if p.get("mode") == "serial"]
    few = sm.get("mismatches", 0) - len(mism)
    doc.p("scripts/crosscheck.py matched host and guest rows by (kind, combo, trace_hash, "
          "cpus, mode, machine_mib); kind va_frag: va_replay against the guest's vareplay on the "
          "address-space traces, every field but timing and the host's vmt_* parse counts (%d "
          "such pairs). %d pairs compared (%d serial, %d parallel); a serial pair "
          "compares every field that is not timing or machine context (%d fields per serial "
          "pair here: op counts, live bytes, footprints, J&W fragmentation, heap counters, the "
          "frame and VA allocators' state, page-table edits), a parallel pair only what the "
          "trace fixes (%s fields). Guest timings are not compared. Mismatches: %d; guest rows "
          "without a host row: %d."
          % (sum(p.get("kind") == "va_frag" for p in pairs),
             len(pairs), len(ser), len(pairs) - len(ser), sm.get("fields_serial", 0),
             "/".join(sorted({str(p["fields"]) for p in pairs if p.get("mode") != "serial"})) or "no",
             sm.get("mismatches", 0), max(sm.get("unmatched_guest_rows", 0), len(lone))))
    if mism:
        doc.table(["engine", "combo", "trace", "cpus", "mode", "field", "host", "guest", "rows (host vs guest)"],
                  [[p["engine"], p["combo"], str(p.get("trace")), str(p["cpus"]), p["mode"], m["field"],
                    json.dumps(m["host"]), json.dumps(m["guest"]),
                    "%s vs %s" % (rid(p.get("host_case")), rid(p.get("guest_case")))] for p, m in mism])
    if few > 0:
        doc.p("%d serial pairs compared fewer fields than scripts/crosscheck.py requires "
              "(--min-fields): counted as failures (see RUN_DIR/crosscheck.log)." % few)
    if lone:
        doc.table(["guest row without a host row", "engine", "combo", "trace", "cpus", "mode"],
                  [[r["_id"], r["engine"], r.get("combo", ""), r["_wl"], r["cpus"], r.get("mode", "")]
                   for r in lone])
    if pairs:
        doc.table(["engine", "combo", "trace", "cpus", "mode", "fields", "result", "rows (host vs guest)"],
                  [[p["engine"], p["combo"], str(p.get("trace")), str(p["cpus"]), p["mode"], str(p["fields"]),
                    "%d mismatch%s" % (len(p["mismatches"]), "es" if len(p["mismatches"]) > 1 else "") if p["mismatches"] else "same",
                    "%s vs %s" % (rid(p.get("host_case")), rid(p.get("guest_case")))] for p in pairs])
    bad = sm.get("mismatches", len(mism))
    if bad:
        doc.p("**Verdict (engines agree):** FAILED: %d mismatch(es) in %d of %d pairs: the same code "
              "gave different deterministic results on the host and in the guest."
              % (bad, len({id(p) for p, _ in mism}), len(pairs)))
    elif not pairs:
        doc.p("**Verdict (engines agree):** nothing compared: no guest row had a host row to "
              "compare with.")
        return 1 if guest else 0
    else:
        doc.p("**Verdict (engines agree):** all %d pairs agree on every compared field." % len(pairs))
    return bad


def context(rows):
    """One sentence on the machine the rows come from (every row carries it)."""
    rep = replay(rows)
    if not rep:
        return ""
    val = lambda k: sorted({r.get(k, "") for r in rows} - {""})  # noqa: E731
    lb = [num(r.get("load_before")) for r in rep] + [num(r.get("load_after")) for r in rep]
    lb = [x for x in lb if x is not None]
    over = [r for r in rep if (num(r.get("overloaded")) or 0) > 0]
    mem = sorted({num(r.get("mem_bytes")) for r in rows if num(r.get("mem_bytes"))})
    return ("Machine: %s, %s cores, %s, kernel %s, KVM %s; load average %s..%s during the cells; "
            "%d of %d timed rows had at least one repetition with the load above the cores "
            "(marked overloaded, kept)." % (
                "/".join(val("cpu_model")) or "?", "/".join(val("cores")) or "?",
                "/".join(fmt_bytes(m) for m in mem) or "?", "/".join(val("kernel")) or "?",
                "/".join(val("kvm")) or "?", fmt(min(lb)) if lb else "?", fmt(max(lb)) if lb else "?",
                len(over), len(rep)))


def main(argv):
    if len(argv) < 4 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[-1])
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    run_dir, out_md, out_html = argv[1:4]
    opt = dict(zip(argv[4::2], argv[5::2]))
    gb, bdir = opt.get("--gbench"), opt.get("--bench")
    rows = load(run_dir)
    bench = load_bench(bdir)
    cpath = os.path.join(run_dir, "config")
    cfg = open(cpath).read().strip() if os.path.exists(cpath) else "?"
    lat_wl = os.environ.get("PLOT_LAT_WL", "gnu-as")
    doc = Doc()
    doc.h(1, "memtestbed comparison report")
    engines = sorted({r.get("engine", "") for r in rows})
    trusted = sorted({r.get("timing_trusted", "") for r in rows} - {""})
    name = os.path.basename(os.path.realpath(run_dir))
    doc.p("Sweep %s (%s), %d rows, engines %s, timing_trusted %s, builds %s. Generated %s by "
          "scripts/report.sh. [rN] = data row N of %s/rows.csv (its `case` column names the "
          "case file); [An] = an aggregate, listed in the appendix." % (
              name, cfg, len(rows), "/".join(engines), "/".join(trusted),
              "/".join(sorted({r.get("build", "") for r in rows} - {""})),
              time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), name))
    head = len(doc.blocks)
    ctx = context(rows)
    if ctx:
        doc.p(ctx)
    sec_answers(doc, rows, bench)
    bad = sec_crosscheck(doc, rows, run_dir, cfg)
    sec_hosts(doc, rows, run_dir)
    plots = os.path.join(run_dir, "plots")
    sections = [(sec_frag, (rows,), "frag_heap"), (sec_footprint, (rows,), None),
                (sec_va, (rows,), "va_frag"), (per_kind(sec_speed), (rows,), "speed"),
                (per_kind(sec_scal), (rows,), "scalability"), (sec_meta, (rows, lat_wl), "meta"),
                (per_kind(sec_latency), (rows, lat_wl), "latency"), (sec_spill, (rows,), None),
                (sec_phys, (rows,), "phys_2m")]
    base = os.path.dirname(os.path.abspath(out_md))
    for f, args, img in sections:
        n = len(doc.blocks)
        f(doc, *args)
        if img and len(doc.blocks) > n and os.path.exists(os.path.join(plots, img + ".png")):
            doc.img(os.path.join(plots, img + ".png"), img)
    if bad:
        doc.blocks.insert(head, ("p", "**FAILED: the guest cross-check found %d failure(s) (mismatches "
                                      "between the host engine and the guest, or guest rows not "
                                      "checked): see \"Guest cross-check\".**" % bad))
    sec_bench(doc, bench, bdir)
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
        write_out(path, text, "report")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, KeyError, ValueError) as e:
        print("report: %s" % e, file=sys.stderr)
        sys.exit(1)
