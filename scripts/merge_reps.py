#!/usr/bin/env python3
"""merge_reps.py: the repetitions of one case into one row (the i-th row of each).

Usage: scripts/merge_reps.py [--strict] OUT REP1.jsonl REP2.jsonl ...

Each REP file holds the rows of one repetition of the same case (run.sh runs the
repetitions of all cases interleaved: case A rep 1, case B rep 1, ..., case A rep 2,
...). The merged row takes every field from the first repetition, except:
  - timing fields (TIMING): the median over the repetitions, with FIELD_ci_lo and
    FIELD_ci_hi, the distribution-free interval [x(k), x(n+1-k)] of MEASUREMENT.md
    (k the largest value with P(Binomial(n, 1/2) < k) <= 0.025), and for ops_per_s
    also the list of every repetition's value (ops_per_s_reps, in repetition order:
    the report forms per-round ratios from them);
  - machine context: load_before / load_after the highest, steal_pct the mean,
    overloaded the number of repetitions that were.
It adds reps (n) and ci_coverage (the interval's exact coverage). Any other field
that differs between repetitions is listed in "varied" (with the values in
FIELD_reps); with --strict (our heaps: every such field is deterministic) that is an
error instead. Writes OUT atomically; exit 1 on an error, with one line on stderr.
"""
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from out_lib import write_out  # noqa: E402

TIMING = re.compile(r"^(ops_per_s|elapsed_ns|standin_ns|wait_ns|busy_max_ns|busy_sum_ns|minor_faults|c2c_roundtrip_ns|"
                    r"lat_[a-z0-9_]+)$")
CONTEXT = {"load_before": max, "load_after": max}


def ci_k(n):
    """Largest k with P(Bin(n, 1/2) < k) <= 0.025, and the interval's coverage."""
    total = 2 ** n
    cum, k = 0, 0
    for j in range(n + 1):  # cum = P(X < j) * total before adding C(n, j)
        if cum * 40 > total:  # P(X < j) > 0.025
            break
        k = j
        cum += math.comb(n, j)
    k = max(k, 1)
    below = sum(math.comb(n, j) for j in range(k))
    return k, 1 - 2 * below / total


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def ci_stat(vals):
    """Median of vals with its interval [x(k), x(n+1-k)] (ci_k): value, lo, hi, n, coverage."""
    s = sorted(vals)
    n = len(s)
    k, cover = ci_k(n)
    return {"value": median(s), "lo": s[k - 1], "hi": s[n - k], "n": n,
            "coverage": round(cover, 4)}


def merge(rows):
    n = len(rows)
    out = dict(rows[0])
    k, cover = ci_k(n)
    varied = []
    for f, v0 in rows[0].items():
        vals = [r.get(f) for r in rows]
        if TIMING.match(f) and all(isinstance(x, (int, float)) for x in vals):
            s = sorted(vals)
            m = median(vals)
            out[f] = int(m) if all(isinstance(x, int) for x in vals) and m == int(m) else m
            out[f + "_ci_lo"], out[f + "_ci_hi"] = s[k - 1], s[n - k]
            if f == "ops_per_s":
                out["ops_per_s_reps"] = vals
        elif f in CONTEXT and all(isinstance(x, (int, float)) for x in vals):
            out[f] = CONTEXT[f](vals)
        elif f == "steal_pct" and all(isinstance(x, (int, float)) for x in vals):
            out[f] = round(sum(vals) / n, 3)
        elif f == "overloaded":
            out[f] = sum(1 for x in vals if x)
        elif any(x != v0 for x in vals):
            varied.append(f)
            out[f + "_reps"] = vals
    out["reps"] = n
    out["ci_coverage"] = round(cover, 4)
    if varied:
        out["varied"] = varied
    return out, varied


def main():
    strict = "--strict" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--strict"]
    if len(args) < 2:
        sys.exit("usage: merge_reps.py [--strict] OUT REP.jsonl...")
    out, reps = args[0], args[1:]
    per_rep = []
    for p in reps:
        with open(p) as f:
            per_rep.append([json.loads(line) for line in f if line.strip()])
    if any(len(r) != len(per_rep[0]) for r in per_rep):
        sys.exit(f"merge_reps: {out}: repetitions have different row counts")
    lines = []
    for i in range(len(per_rep[0])):  # the i-th row of every repetition
        row, varied = merge([r[i] for r in per_rep])
        if strict and varied:
            sys.exit(f"merge_reps: {out}: repetitions differ in deterministic fields: "
                     + ", ".join(varied))
        lines.append(json.dumps(row, separators=(",", ":")))
    write_out(out, "\n".join(lines) + "\n", "merge_reps")


if __name__ == "__main__":
    main()
