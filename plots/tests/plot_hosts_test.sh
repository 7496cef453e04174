#!/usr/bin/env bash
# plot_hosts_test.sh: a sweep over two kinds of libvirt hosts (CPU model, KVM kind) never
# mixes their timings in one figure: plots/timing_dat.py draws the kind with the most
# rows, exactly as if only its rows existed, and says so on stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
python3 plots/tests/synth_rows.py "$t/run" --no-guest
python3 - "$t/run/rows.jsonl" "$t" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
a, b = [], []
for r in rows:
    a.append(dict(r, host="hw1", host_cpu="CPU A", host_kvm="hardware"))
    if r.get("kind") == "replay":  # fewer rows of kind B, first in the file, other timings
        rb = dict(r, host="emu1", host_cpu="CPU B", host_kvm="emulated")
        rb["ops_per_s_reps"] = [v * (3 if rb.get("cpus") == 1 else 1) + 7
                                for v in r.get("ops_per_s_reps", [])]
        b.append(rb)
assert len(b) < len(a)
both = b + a
for name, rs in (("a", a), ("both", both)):
    with open("%s/%s.jsonl" % (sys.argv[2], name), "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rs)
PY
for n in a both; do "${MTB_BIN:-build/bin}/rows2csv" --out "$t/$n.csv" "$t/$n.jsonl"; done
for mode in scal speed; do
	python3 plots/timing_dat.py $mode "$t/a.csv" >"$t/a.$mode"
	python3 plots/timing_dat.py $mode "$t/both.csv" >"$t/both.$mode" 2>"$t/both.$mode.err"
	[ -s "$t/a.$mode" ] || fail "$mode: nothing drawn from one kind"
	cmp -s "$t/a.$mode" "$t/both.$mode" || fail "$mode: the kinds were mixed: $(diff "$t/a.$mode" "$t/both.$mode" | head -3)"
	grep -q 'rows of 2 host kinds: drawing the timings of CPU A, KVM hardware' "$t/both.$mode.err" ||
		fail "$mode: no line naming the kind drawn: $(cat "$t/both.$mode.err")"
done
echo "plot_hosts_test: ok"
