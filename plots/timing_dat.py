#!/usr/bin/env python3
"""timing_dat.py: the data of plots/scalability.gp and plots/speed.gp, computed the way
scripts/report.py computes its verdicts (scripts/report_speed.py: per-round ratios, the
median and its order-statistics interval), so a figure and the report agree.

Usage: plots/timing_dat.py scal|speed RESULTS.csv [WORKLOAD...]
  scal:  "workload series cpus speedup lo hi over role bound" per point, the 1p baseline
         as (1, 1, 1, 1); over = 1 for an oversubscribed point; role = ceiling | ours |
         peer; bound = 1 when the workload is harness-bound (report_speed.ceiling_check);
         the series of report_speed.scal_pick (talc and slab on buddy-btree, the fastest
         peer, glibc, the null heap's ceiling), and series trace-bound (role bound) where
         the trace's balance or order (report_speed.trace_bound) keeps a point below ideal.
  speed: "workload series ratio lo hi n" per serial workload: ops_per_s over today's
         Hermit (freelist-freelist-talc, or REPORT_BASELINE) per round, for the same
         series; n = the rounds.
Workloads: all with rows, or those named. Prints nothing when there is nothing to draw.
Rows of several host kinds (a sweep over libvirt hosts: CPU model and KVM kind,
scripts/report_hosts.py) are never drawn in one figure: the kind with the most rows is,
and a line on stderr says so (the report has a section per kind).
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from report_lib import PEERS, Est, first_by, load_csv, num, per_round, replay, reps_of, serial1  # noqa: E402
from report_speed import BASELINE, ceiling_check, scal_pick, speedups, trace_bound  # noqa: E402
from report_hosts import kind_groups  # noqa: E402


def role(s, heap):
    return "ceiling" if heap == "null" else "peer" if s in PEERS else "ours"


def scal(rows, only):
    for w, d in speedups(rows).items():
        if only and w not in only:
            continue
        bound = int(ceiling_check(d)[0])
        for s in scal_pick(d):
            pts = d["series"][s]
            heap = next(iter(pts.values()))["heap"]
            print(w, s, 1, 1, 1, 1, 0, role(s, heap), bound)
            for n, p in sorted(pts.items()):
                e = p["est"]
                print(w, s, n, "%.6g" % e.med, "%.6g" % e.lo, "%.6g" % e.hi, int(p["over"]), role(s, heap), bound)
        tb = trace_bounds(d)
        if tb:
            print(w, "trace-bound", 1, 1, 1, 1, 0, "bound", bound)
            for n, (b, over) in tb:
                print(w, "trace-bound", n, "%.6g" % b, "%.6g" % b, "%.6g" % b, over, "bound", bound)


def trace_bounds(d):
    """[(n, (bound, over))] of the ceiling's points, the most the trace's balance and order
    allow (report_speed.trace_bound); [] when the ceiling has no point below ideal (n)."""
    ceil = d["ceiling"]
    if ceil is None:
        return []
    out = []
    for n, p in sorted(d["series"][ceil].items()):
        b = trace_bound(p["rows"][1])[0]
        if b is not None:
            out.append((n, (b, int(p["over"]))))
    return out if any(b < 0.999 * n for n, (b, _) in out) else []


def speed(rows, only):
    base_name = os.environ.get("REPORT_BASELINE", BASELINE)
    rep = [r for r in replay(rows) if serial1(r) and num(r.get("ops_per_s"))]
    for w in dict.fromkeys(r["_wl"] for r in rep):
        if only and w not in only:
            continue
        cell = first_by([r for r in rep if r["_wl"] == w], lambda r: r["_series"])
        base = cell.get(base_name)
        if base is None:
            continue
        peers = [s for s in cell if s in PEERS]
        fastest = max(peers, key=lambda s: num(cell[s]["ops_per_s"])) if peers else None
        null = next((s for s, r in cell.items() if r.get("heap") == "null"), None)
        for s in dict.fromkeys(["buddy-btree-talc", "buddy-btree-slab", fastest, "glibc", null]):
            if s is None or s not in cell:
                continue
            v = per_round(reps_of(cell[s]), reps_of(base))
            if v:
                e = Est(v)
                print(w, s, "%.6g" % e.med, "%.6g" % e.lo, "%.6g" % e.hi, e.n)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("scal", "speed"):
        sys.exit("usage: timing_dat.py scal|speed RESULTS.csv [WORKLOAD...]")
    try:
        rows = load_csv(sys.argv[2])
    except (OSError, ValueError) as e:
        sys.exit("timing_dat: %s" % e)
    groups = kind_groups(rows)
    if len(groups) > 1:
        label, rows = max(groups, key=lambda g: len(g[1]))
        print("timing_dat: rows of %d host kinds: drawing the timings of %s (%d rows) only"
              % (len(groups), label, len(rows)), file=sys.stderr)
    (scal if sys.argv[1] == "scal" else speed)(rows, set(sys.argv[3:]))


if __name__ == "__main__":
    main()
