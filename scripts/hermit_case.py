#!/usr/bin/env python3
"""hermit_case.py: the rows of scripts/hermit_case.sh into its CSV and a table.

Usage: scripts/hermit_case.py ROWS.jsonl OUT.csv OPS THREADS

ROWS holds every host row (mtb_host --mode parallel, one per heap, CPU count and
round; "round" added by the script) and the guest's rows (engine qemu). OUT gets one
row per (heap, cpus, metric), written atomically:
  ops_per_s        median over the rounds, interval [x(k), x(n+1-k)] (merge_reps.ci_k)
  speedup_vs_1     per-round ops/s at N CPUs / at 1 CPU of the same mtb_host call
  ratio_ops_per_s  heap "A/B": talc/slab and every heap/null, per-round ratios (both
                   runs of one round, a few seconds apart)
  ops              guest rows (timing_trusted false): ops replayed; checked to equal OPS
                   with no failure and the host's trace hash, allocs and frees
A table and a text chart of ops/s go to stdout. Exit 1 with one line on stderr when a
host run failed ops or a guest row does not match.
"""
import csv
import io
import json
import os
import sys

sys.dont_write_bytecode = True  # no scripts/__pycache__/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from merge_reps import ci_k, ci_stat as stat  # noqa: E402
from out_lib import write_out  # noqa: E402

COLS = ("workload,heap,version,phys,virt,cpus,threads,ops,oversubscribed,metric,value,lo,"
        "hi,n,coverage,failed,load_before,load_after,steal_pct,overloaded,cpu_model,cores,"
        "mem_bytes,kernel,kvm,engine,timing_trusted,trace,trace_hash,build").split(",")


def fail(msg):
    sys.exit(f"hermit_case: {msg}")


def most(vals):
    v = [x for x in vals if isinstance(x, (int, float))]
    return max(v) if v else ""


def mean(vals):
    v = [x for x in vals if isinstance(x, (int, float))]
    return round(sum(v) / len(v), 3) if v else ""


def context(rs):
    """Provenance and machine columns from the rows rs that a figure used."""
    r0 = rs[0]
    ours = r0.get("phys", "-") != "-"
    return {
        "workload": "hermit_box", "heap": r0["heap"],
        "version": r0.get("heap_version") or
        ("memtestbed %s on %s/%s" % (r0["heap"], r0["phys"], r0["virt"]) if ours else "-"),
        "phys": r0.get("phys", "-"), "virt": r0.get("virt", "-"), "cpus": r0["cpus"],
        "threads": r0.get("threads", ""), "ops": r0["ops"],
        "oversubscribed": str(any(r.get("oversubscribed") for r in rs)).lower(),
        "failed": max(r.get("failed") or 0 for r in rs),
        "load_before": most(r.get("load_before") for r in rs),
        "load_after": most(r.get("load_after") for r in rs),
        "steal_pct": mean(r.get("steal_pct") for r in rs),
        "overloaded": sum(1 for r in rs if r.get("overloaded")),
        **{f: r0.get(f, "") for f in ("cpu_model", "cores", "mem_bytes", "kernel", "kvm",
                                      "engine", "trace", "trace_hash", "build")},
        "timing_trusted": str(r0.get("timing_trusted", False)).lower(),
    }


def main():
    if len(sys.argv) != 5:
        fail("usage: hermit_case.py ROWS.jsonl OUT.csv OPS THREADS")
    path, out, ops, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    host = [r for r in rows if r.get("engine") == "host"]
    guest = [r for r in rows if r.get("engine") != "host"]
    if not host:
        fail(f"{path}: no host rows")
    by = {(r["round"], r["heap"], r["cpus"]): r for r in host}
    heaps = list(dict.fromkeys(r["heap"] for r in host))
    cpus = sorted({r["cpus"] for r in host})
    rounds = sorted({r["round"] for r in host})
    for r in host:
        if r["ops"] != ops or r.get("failed"):
            fail(f"host {r['heap']} at {r['cpus']} CPUs: {r['ops']} ops, {r.get('failed')} failed")
    for r in rows:
        r["threads"] = threads

    def series(h, n, fn=lambda r: r["ops_per_s"]):
        return [(fn(by[(k, h, n)]), by[(k, h, n)]) for k in rounds if (k, h, n) in by]

    out_rows, table = [], {}
    for h in heaps:
        for n in cpus:
            s = series(h, n)
            if not s:
                continue
            st = stat([v for v, _ in s])
            table[(h, n, "ops")] = st
            out_rows.append({**context([r for _, r in s]), "metric": "ops_per_s", **st})
            sp = [(by[(k, h, n)]["ops_per_s"] / by[(k, h, 1)]["ops_per_s"], by[(k, h, n)])
                  for k in rounds if (k, h, n) in by and (k, h, 1) in by]
            st = stat([v for v, _ in sp])
            table[(h, n, "speedup")] = st
            out_rows.append({**context([r for _, r in sp]), "metric": "speedup_vs_1", **st})
    pairs = [("talc", "slab")] if {"talc", "slab"} <= set(heaps) else []
    pairs += [(h, "null") for h in heaps if h != "null" and "null" in heaps]
    for a, b in pairs:
        for n in cpus:
            rs = [(by[(k, a, n)]["ops_per_s"] / by[(k, b, n)]["ops_per_s"], by[(k, a, n)],
                   by[(k, b, n)]) for k in rounds if (k, a, n) in by and (k, b, n) in by]
            if not rs:
                continue
            st = stat([v for v, _, _ in rs])
            table[(f"{a}/{b}", n, "ratio")] = st
            ctx = context([x for _, ra, rb in rs for x in (ra, rb)])
            ctx.update(heap=f"{a}/{b}", version="-", phys="-", virt="-")
            out_rows.append({**ctx, "metric": "ratio_ops_per_s", **st})

    host_hash = host[0]["trace_hash"]
    for g in guest:
        want = (ops, ops // 2, ops // 2, 0, host_hash)
        got = (g.get("ops"), g.get("allocs"), g.get("frees"), g.get("failed"), g.get("trace_hash"))
        if got != want:
            fail(f"guest {g.get('combo')} at {g.get('cpus')} CPUs: (ops, allocs, frees, failed,"
                 f" trace_hash) = {got}, the host's {want}")
        out_rows.append({**context([g]), "metric": "ops", "value": g["ops"], "lo": "",
                         "hi": "", "n": 1, "coverage": ""})

    buf = io.StringIO()
    wr = csv.DictWriter(buf, fieldnames=COLS, lineterminator="\n")
    wr.writeheader()
    for r in out_rows:
        wr.writerow({c: fmt(r.get(c, "")) for c in COLS})
    write_out(out, buf.getvalue(), "hermit_case")
    print_table(table, heaps, cpus, pairs, guest, len(rounds), host)


def fmt(v):
    return "%.4g" % v if isinstance(v, float) else v


def ci(st, f="%.3g"):
    return (f + " [" + f + ", " + f + "]") % (st["value"], st["lo"], st["hi"])


def print_table(t, heaps, cpus, pairs, guest, n, host):
    k, cover = ci_k(n)
    print(f"hermit_case: medians of {n} rounds, 95% interval [x({k}), x({n + 1 - k})] "
          f"(coverage {cover:.3f}); load {most(r.get('load_before') for r in host)} at most"
          f" (1-minute average, {host[0].get('cores')} cores)")
    over = {r["cpus"] for r in host if r.get("oversubscribed")}
    print("%-9s %5s  %-32s %-24s %s" % ("heap", "cpus", "ops/s", "speedup vs 1", "/ null"))
    for h in heaps:
        for c in cpus:
            if (h, c, "ops") not in t:
                continue
            nul = t.get((f"{h}/null", c, "ratio"))
            print("%-9s %4d%s  %-32s %-24s %s" % (
                h, c, "*" if c in over else " ", ci(t[(h, c, "ops")]),
                ci(t[(h, c, "speedup")], "%.2f"), ci(nul, "%.2f") if nul else "-"))
    for a, b in pairs[:1] if pairs and pairs[0] == ("talc", "slab") else []:
        for c in cpus:
            print("%s/%s at cpus=%d%s: %s" % (a, b, c, "*" if c in over else "",
                                              ci(t[(f"{a}/{b}", c, "ratio")], "%.3f")))
    if over:
        print("* oversubscribed (more CPUs than cores)")
    busy = sum(1 for r in host if r.get("overloaded"))
    if busy:
        print(f"{busy} of {len(host)} runs had a load above the cores (CSV column overloaded)")
    top = max(t[(h, c, "ops")]["value"] for h in heaps for c in cpus if (h, c, "ops") in t)
    print("ops/s (median; each # = %.3g ops/s):" % (top / 50))
    for c in cpus:
        for h in heaps:
            if (h, c, "ops") in t:
                v = t[(h, c, "ops")]["value"]
                print("  cpus=%-2d %-9s %-50s %.3g" % (c, h, "#" * round(50 * v / top), v))
    for g in guest:
        print("guest %s at cpus=%d (QEMU TCG, timing not trusted): %d ops, %d failed: ok"
              % (g.get("combo"), g["cpus"], g["ops"], g["failed"]))


if __name__ == "__main__":
    main()
