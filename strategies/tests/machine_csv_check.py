#!/usr/bin/env python3
"""machine_csv_check.py: every row of a benchmark CSV carries the machine it ran on
(workloads/host/host_ctx.h: cpu_model, cores, mem_bytes, kernel, kvm); exit 1 naming the
first row without it. Used by frame_bench_test.sh and va_bench_test.sh.

Usage: strategies/tests/machine_csv_check.py FILE.csv
"""
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    if None in r or r.get("kvm") not in ("hardware", "emulated", "absent") or not r["cores"].isdigit() \
            or int(r["cores"]) < 1 or not r["mem_bytes"].isdigit() or not r["kernel"]:
        print("FAIL: a row without its machine context:", r)
        sys.exit(1)
