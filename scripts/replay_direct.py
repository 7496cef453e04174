#!/usr/bin/env python3
"""replay_direct.py: the rows of scripts/replay_direct.sh into its CSV and a table.

Usage: scripts/replay_direct.py ROWS.jsonl OUT.csv OPS
       scripts/replay_direct.py --csv-rows HEAP_BENCH.csv HEAP REP   (heap_bench's CSV
                                rows of peer HEAP as JSON lines with "rep", "heap" and
                                "source": "direct", to stdout)

ROWS holds, for every rep, heap_bench's rows of one round (source direct: the
speedup_2_1 row per workload, and the c2c_roundtrip_ns row of workload machine) and
mtb_host's replay rows at 1 and 2 CPUs ("rep" added). A pair is (heap, workload, rep):
the direct speedup, the replay's (ops/s at 2 CPUs / at 1, one mtb_host call), and the
two round trips; "like" pairs have both round trips known and within 25% of each
other. OUT gets, per (heap, workload) and pairs = all or like, the medians of
speedup_direct, speedup_replay and their per-pair ratio replay_over_direct, each with
the interval [x(k), x(n+1-k)] (merge_reps.ci_k), written atomically. Exit 1 with one
line on stderr when a replay failed ops or ran other than OPS ops, or a pair misses a run.
"""
import csv
import io
import json
import os
import sys

sys.dont_write_bytecode = True  # no scripts/__pycache__/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from merge_reps import ci_stat as stat  # noqa: E402
from out_lib import write_out  # noqa: E402

COLS = ("workload,heap,version,pairs,metric,value,lo,hi,n,coverage,c2c_min_ns,c2c_max_ns,"
        "ops,duration_ms,load_before,load_after,overloaded,cpu_model,cores,mem_bytes,kernel,"
        "kvm,engine,timing_trusted,build").split(",")
LIKE = 1.25  # a pair's two round trips are "like" within this factor
WITHIN = 0.15  # issue 12's figure: a ratio's median within 15% of 1


def within(ratio):
    """True when a replay / direct ratio is within WITHIN of 1 (also report_bench.py's)."""
    return abs(ratio - 1) <= WITHIN


def fail(msg):
    sys.exit(f"replay_direct: {msg}")


def num(s):
    """A CSV cell as a JSON value: int, float, bool, or the string itself."""
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(s, s)


def csv_rows(path, heap, rep):
    """heap_bench's rows of one peer's run; "heap" names that peer on each (its machine
    row, the round trip, has allocator "-")."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    heaps = {r["allocator"] for r in rows if r["workload"] != "machine"}
    if heaps != {heap}:
        fail(f"heap_bench wrote rows of {sorted(heaps)} for {heap} (not loaded?)")
    for r in rows:
        row = {"rep": int(rep), "source": "direct", "heap": heap}
        row.update({k: num(v) for k, v in r.items()})
        print(json.dumps(row))


def pairs_of(rows, ops):
    """{(heap, workload): [pair]} with pair = dict(direct, replay, c2c_d, c2c_r, rows)."""
    direct, c2c, replay = {}, {}, {}
    for r in rows:
        if r.get("source") == "direct":
            if r.get("metric") == "speedup_2_1":
                direct[(r["allocator"], r["workload"], r["rep"])] = r
            elif r.get("metric") == "c2c_roundtrip_ns":
                c2c[(r["heap"], r["rep"])] = r["value"]
        elif r.get("kind") == "replay":
            if r.get("ops") != ops or r.get("failed"):
                fail(f"replay {r.get('heap')} {r.get('workload')} at {r.get('cpus')} CPUs:"
                     f" {r.get('ops')} ops, {r.get('failed')} failed (want {ops}, 0)")
            replay[(r["heap"], r["workload"], r["rep"], r["cpus"])] = r
    out = {}
    for (h, wl, rep), d in sorted(direct.items()):
        r1, r2 = replay.get((h, wl, rep, 1)), replay.get((h, wl, rep, 2))
        if not r1 or not r2:
            fail(f"{h} {wl} pair {rep}: the replay at 1 or 2 CPUs is missing")
        out.setdefault((h, wl), []).append({
            "direct": float(d["value"]), "replay": r2["ops_per_s"] / r1["ops_per_s"],
            "c2c_d": c2c.get((h, rep)), "c2c_r": r2.get("c2c_roundtrip_ns"), "rows": (d, r1, r2)})
    if not out:
        fail("no pair of a direct and a replay run in the rows")
    return out


def like(p):
    a, b = p["c2c_d"], p["c2c_r"]
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0 and b > 0 \
        and max(a, b) <= LIKE * min(a, b)


def context(ps, h, wl, sub):
    rs = [x for p in ps for x in p["rows"]]
    c2cs = [v for p in ps for v in (p["c2c_d"], p["c2c_r"]) if isinstance(v, (int, float))
            and v > 0]
    d0, r0 = ps[0]["rows"][0], ps[0]["rows"][2]
    return {
        "workload": wl, "heap": h, "version": r0.get("heap_version") or d0.get("version", ""),
        "pairs": sub, "c2c_min_ns": min(c2cs) if c2cs else "",
        "c2c_max_ns": max(c2cs) if c2cs else "", "ops": r0["ops"],
        "duration_ms": d0.get("duration_ms", ""),
        "load_before": max(x.get("load_before", 0) or 0 for x in rs),
        "load_after": max(x.get("load_after", 0) or 0 for x in rs),
        "overloaded": sum(int(x.get("overloaded") or 0) for x in rs),  # runs (counts)
        **{f: r0.get(f, "") for f in ("cpu_model", "cores", "mem_bytes", "kernel", "kvm",
                                      "engine", "build")},
        "timing_trusted": str(all(x.get("timing_trusted") in (True, "true") for x in rs)).lower(),
    }


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--csv-rows":
        return csv_rows(sys.argv[2], sys.argv[3], sys.argv[4])
    if len(sys.argv) != 4:
        fail("usage: replay_direct.py ROWS.jsonl OUT.csv OPS")
    path, out, ops = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    by = pairs_of(rows, ops)
    out_rows, table = [], []
    for (h, wl), ps in by.items():
        for sub, sel in (("all", ps), ("like", [p for p in ps if like(p)])):
            if not sel:
                continue
            ctx = context(sel, h, wl, sub)
            st = {m: stat(v) for m, v in (
                ("speedup_direct", [p["direct"] for p in sel]),
                ("speedup_replay", [p["replay"] for p in sel]),
                ("replay_over_direct", [p["replay"] / p["direct"] for p in sel]))}
            for m, s in st.items():
                out_rows.append({**ctx, "metric": m, **s})
            table.append((h, wl, sub, st, ctx))
    buf = io.StringIO()
    wr = csv.DictWriter(buf, fieldnames=COLS, lineterminator="\n")
    wr.writeheader()
    for r in out_rows:
        wr.writerow({c: ("%.4g" % r[c] if isinstance(r.get(c), float) else r.get(c, ""))
                     for c in COLS})
    write_out(out, buf.getvalue(), "replay_direct")
    print_table(table)


def ci(s, f="%.2f"):
    return (f + " [" + f + ", " + f + "]") % (s["value"], s["lo"], s["hi"])


def print_table(table):
    print("replay_direct: 2-CPU speedups, medians over pairs with the 95% interval"
          " [x(k), x(n+1-k)]; like = the pair's two round trips within 25%")
    print("%-9s %-10s %-5s %3s  %-20s %-20s %-20s %-13s %s" % (
        "heap", "workload", "pairs", "n", "direct", "replay", "replay/direct",
        "round trip ns", "median within 15%"))
    for h, wl, sub, st, ctx in table:
        r = st["replay_over_direct"]
        print("%-9s %-10s %-5s %3d  %-20s %-20s %-20s %-13s %s" % (
            h, wl, sub, r["n"], ci(st["speedup_direct"]), ci(st["speedup_replay"]), ci(r),
            "%.0f-%.0f" % (ctx["c2c_min_ns"], ctx["c2c_max_ns"]) if ctx["c2c_min_ns"] != ""
            else "-",
            "yes" if within(r["value"]) else "no"))
    if any(ctx["timing_trusted"] != "true" for *_, ctx in table):
        print("replay_direct: some runs' timings are not trusted (CSV column timing_trusted)")


if __name__ == "__main__":
    main()
