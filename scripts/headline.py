#!/usr/bin/env python3
"""headline.py: the headline figures of a sweep, as a short table for the terminal
(the end of `make run`); the report (`make report`) has the full story and the rows.

Usage: scripts/headline.py RUN_DIR      (reads RUN_DIR/rows.csv)

Per series (phys-virt-heap, or the peer) at 1 CPU, serial replay, on the rows whose
timing is trusted (scripts/report_lib.replay): speed as the geometric mean over the
workloads of its ops/s over freelist-freelist-talc's (today's Hermit) on the same
workload, the geometric mean of peak footprint / peak live (frag4 + 1), the mean
metadata (heap + VA + frames; '-' for the peers, which do not report theirs) and the workloads with failed allocations; the fastest
MAX_SERIES series, the baseline and the null heap's ceiling always among them. A sweep
without 1-CPU serial rows (only parallel cases) gets the same table of its parallel rows
at the most CPUs that are not oversubscribed (frag4 is null on more than one CPU: '-';
speed '-' where the baseline did not run at that count). Then
one line per VA strategy (reserved / requested at the peak, mean over the traces) and
per frame allocator (free memory in whole 2 MiB blocks after churn). Exit 0 (nothing
to show is one line saying so), 2 on a missing or damaged rows.csv (one line).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_lib import fmt, fmt_bytes, gmean, is_true, load, num, replay, serial1  # noqa: E402
from report_speed import BASELINE as BASE  # noqa: E402  today's Hermit, as in the report

MAX_SERIES = 8


def pick(rows):
    """The rows the heap table sums up and their caption: the 1-CPU serial replays, or,
    in a sweep without any (only parallel cases), the parallel replays at the most CPUs
    whose timing is trusted (not oversubscribed; every CPU count when none is)."""
    rep = replay(rows)
    s1 = [r for r in rep if serial1(r)]
    if s1:
        return s1, "1 CPU, serial replay"
    par = [r for r in rep if r.get("mode") == "parallel" and num(r.get("cpus"))]
    ok = [r for r in par if is_true(r.get("timing_trusted")) and not is_true(r.get("oversubscribed"))]
    if not par:
        return [], ""
    n = max(int(num(r["cpus"])) for r in ok or par)
    return [r for r in ok or par if int(num(r["cpus"])) == n], "parallel replay on %d CPU%s" % (
        n, "s" if n > 1 else "")


def heap_lines(rep):
    base = {r["_wl"]: num(r.get("ops_per_s")) for r in rep if r["_series"] == BASE}
    per = {}
    for r in rep:
        per.setdefault(r["_series"], {}).setdefault(r["_wl"], r)
    out = []
    for s, by in per.items():
        rs = list(by.values())
        sp = [num(r.get("ops_per_s")) / base[w] for w, r in by.items()
              if base.get(w) and num(r.get("ops_per_s"))]
        fr = [num(r["frag4"]) + 1 for r in rs if num(r.get("frag4")) is not None]
        meta = [sum(num(r.get(k)) or 0 for k in ("heap_meta_bytes", "va_meta_bytes", "phys_meta_bytes"))
                for r in rs if num(r.get("heap_meta_bytes")) is not None and r.get("phys") not in ("", "-")]
        failed = sum(1 for r in rs if (num(r.get("failed")) or 0) > 0)
        out.append((gmean(sp) if sp else None, s, len(rs), gmean(fr) if fr else None,
                    sum(meta) / len(meta) if meta else None, failed))
    out.sort(key=lambda x: (x[0] is None, -(x[0] or 0), x[1]))
    keep = [x for x in out[:MAX_SERIES]]
    keep += [x for x in out[MAX_SERIES:] if x[1] == BASE or x[1].endswith("-null")]
    return keep, len(out)


def table(head, body):
    w = [max(len(str(c)) for c in col) for col in zip(head, *body)]
    line = lambda r: "  " + "  ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i])
                                      for i, c in enumerate(r))
    return [line(head)] + [line(r) for r in body]


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) != 2:
        print("headline: usage: scripts/headline.py RUN_DIR (see --help)", file=sys.stderr)
        return 2
    try:
        rows = load(argv[1])
    except (OSError, ValueError) as e:
        print("headline: %s" % e, file=sys.stderr)
        return 2
    rep, what = pick(rows)
    keep, n = heap_lines(rep)
    out = []
    if keep:
        out.append("Headline (%s; speed = ops/s over %s, geometric mean over "
                   "the workloads; %d of %d series):" % (what, BASE, len(keep), n))
        out += table(["series", "workloads", "speed", "footprint/live", "metadata", "failed"],
                     [[s, k, fmt(sp) + "x" if sp else "-", fmt(fr), fmt_bytes(m), f]
                      for sp, s, k, fr, m, f in keep])
        if all(sp is None for sp, *_ in keep):
            out.append("  speed '-': the baseline %s has no row here%s (to compare with today's "
                       "Hermit, add freelist to PHYS and VIRT and talc to HEAP)"
                       % (BASE, "" if what.startswith("1 CPU") else " at this CPU count"))
    va = {}
    for r in rows:
        if r.get("kind") == "va_frag" and num(r.get("peak_reserved_per_requested")) is not None:
            va.setdefault(r["virt"], []).append(num(r["peak_reserved_per_requested"]))
    if va:
        out.append("VA, reserved / requested at the peak (mean over the traces): " +
                   ", ".join("%s %s" % (v, fmt(sum(x) / len(x))) for v, x in va.items()))
    fc = {}
    for r in rows:
        if r.get("kind") == "frame_churn" and num(r.get("free_2m_share")) is not None:
            fc.setdefault(r["phys"], []).append(num(r["free_2m_share"]))
    if fc:
        out.append("Frames, free memory in whole 2 MiB blocks after churn (mean): " +
                   ", ".join("%s %.1f%%" % (p, 100 * sum(x) / len(x)) for p, x in fc.items()))
    print("\n".join(out) if out else "headline: no replay, va_frag or frame_churn rows to sum up")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
