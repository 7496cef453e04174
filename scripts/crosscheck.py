#!/usr/bin/env python3
"""crosscheck.py: host engine rows against guest rows, every deterministic metric.

Usage: scripts/crosscheck.py [--out FILE] [--min-fields N] ROWS.jsonl...

Replay rows of the host engine and of the guest engines (kvm, qemu, libvirt) are
matched by (combo, trace_hash, cpus, mode, machine_mib). For a serial replay every
field that is not timing, engine or machine context must be equal: op counts, live
bytes, footprints and J&W fragmentation, heap counters, the frame allocator's and the
VA allocator's state, the replay machine's page-table edits (the same code runs on
every engine, so any difference is a bug or a lost guarantee). For a parallel replay
only the fields the trace fixes are compared (PARALLEL_KEYS). Address-space replay
rows (kind va_frag: build/bin/va_replay on the host, the guest's `vareplay`, both
workloads/core/va_run.c) are matched by (kind, combo, trace_hash) as well and compared
on every field but timing and the host's .vmt parse counts (vmt_*: the guest gets the
converted ops, whose trace_hash the match already equates). Prints one line per
mismatch and a summary; with --out, writes the comparison as JSON (report.py reads
it). Exit 0 when there is nothing to compare or everything agrees, 1 on a mismatch,
on a serial replay pair that compares fewer than --min-fields fields (default 40: the
check must not silently shrink) or a va_frag pair fewer than --min-va-fields (default
29), or on unreadable input.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from out_lib import write_out  # noqa: E402

GUEST_ENGINES = ("kvm", "qemu", "libvirt")
# Not deterministic across engines: provenance, timing and machine context.
SKIP = re.compile(r"^(engine|timing_trusted|build|trace|case|guest_mem_mib|cores_online|"
                  r"oversubscribed|heap_version|reps|seed|kind|host|host_.*|varied|ci_coverage|"
                  r"cpu_model|cores|mem_bytes|kernel|kvm|load_before|load_after|steal_pct|"
                  r"overloaded|"
                  r"elapsed_ns|ops_per_s.*|lat_.*|standin.*|wait_ns|busy_.*|.*_ci_lo|.*_ci_hi|.*_reps|"
                  r"minor_faults|rep_.*|ns_per_op)$")
# Labels a sweep files into a guest's rows (run_sweep.sh's case_rows): compared when the
# guest row has one, not counted missing when it comes straight from an engine.
LABELS = {"workload"}
# va_frag rows: the .vmt parse counts exist on the host only (see the docstring).
SKIP_VA = re.compile(r"^vmt_.*$")
KINDS = ("replay", "va_frag")
PARALLEL_KEYS = ["trace_hash", "ops", "allocs", "frees", "reallocs", "failed",
                 "cross_cpu_frees", "peak_live_bytes", "live_end_objects", "live_end_bytes",
                 "objects", "shared_objects", "busiest_cpu_ops", "critical_path_ops", "machine_mib"]
MATCH = ("kind", "combo", "trace_hash", "cpus", "mode", "machine_mib")


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    raise SystemExit(f"crosscheck: {p}:{n}: not JSON: {e}")
    return [r for r in rows if r.get("kind") in KINDS]


def keys_of(host, guest):
    if host.get("mode") == "parallel":
        return [k for k in PARALLEL_KEYS if k in host or k in guest]
    va = host.get("kind") == "va_frag"
    return sorted(k for k in set(host) | set(guest)
                  if not SKIP.match(k) and not (va and SKIP_VA.match(k))
                  and not (k in LABELS and k not in guest))


def compare(rows):
    """Pairs and their mismatches: a list of dicts."""
    hosts = {}
    for r in rows:
        if r.get("engine") == "host":
            hosts.setdefault(tuple(r.get(k) for k in MATCH), r)
    pairs = []
    for g in rows:
        if g.get("engine") not in GUEST_ENGINES:
            continue
        h = hosts.get(tuple(g.get(k) for k in MATCH))
        if h is None:
            continue
        keys = keys_of(h, g)
        bad = [(k, h.get(k), g.get(k)) for k in keys if h.get(k) != g.get(k)]
        pairs.append({"kind": g.get("kind"), "combo": g["combo"], "trace": h.get("trace"), "cpus": g["cpus"],
                      "mode": g["mode"], "engine": g["engine"], "fields": len(keys),
                      "host_case": h.get("case"), "guest_case": g.get("case"),
                      "mismatches": [{"field": k, "host": a, "guest": b} for k, a, b in bad]})
    return pairs


def unmatched(rows):
    """Guest replay rows without a host row to compare with (reported, not failed)."""
    hosts = {tuple(r.get(k) for k in MATCH) for r in rows if r.get("engine") == "host"}
    return [g for g in rows if g.get("engine") in GUEST_ENGINES
            and tuple(g.get(k) for k in MATCH) not in hosts]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rows", nargs="+")
    ap.add_argument("--out")
    ap.add_argument("--min-fields", type=int, default=40)
    ap.add_argument("--min-va-fields", type=int, default=29)
    a = ap.parse_args()
    rows = load(a.rows)
    pairs = compare(rows)
    bad = 0
    for p in pairs:
        for m in p["mismatches"]:
            print(f"crosscheck: MISMATCH {p['engine']} {p['combo']} {p['trace']} "
                  f"c{p['cpus']} {p['mode']}: {m['field']}: host {m['host']} != guest {m['guest']}")
        bad += len(p["mismatches"])
        least = a.min_va_fields if p["kind"] == "va_frag" else a.min_fields
        if p["mode"] == "serial" and p["fields"] < least:
            print(f"crosscheck: {p['kind']} {p['combo']} {p['trace']}: only {p['fields']} fields "
                  f"compared (at least {least} expected)")
            bad += 1
    lone = unmatched(rows)
    summary = {"pairs": len(pairs), "mismatches": bad, "unmatched_guest_rows": len(lone),
               "fields_serial": max([p["fields"] for p in pairs if p["mode"] == "serial"] or [0])}
    lone_rows = [{"case": g.get("case"), "engine": g.get("engine"), "combo": g.get("combo"),
                  "trace": g.get("trace"), "cpus": g.get("cpus"), "mode": g.get("mode"),
                  "machine_mib": g.get("machine_mib")} for g in lone]
    print(f"crosscheck: {len(pairs)} host/guest pairs, {summary['fields_serial']} fields per "
          f"serial pair, {bad} mismatches, {len(lone)} guest rows without a host row")
    if a.out:
        write_out(a.out, json.dumps({"summary": summary, "pairs": pairs, "unmatched": lone_rows},
                                    indent=1), "crosscheck")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
