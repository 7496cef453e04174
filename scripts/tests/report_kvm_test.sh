#!/usr/bin/env bash
# report_kvm_test.sh: a sweep on a real KVM host (engine kvm: our combinations replayed in
# the guest with trusted timing, the peers in the host engine) gets speed figures for our
# combinations too: the timing source (report_lib.replay) is the host engine only when our
# combinations ran there, else every trusted row; untrusted guest rows (emulated KVM)
# never count. Checked on the synthetic sweep (plots/tests/synth_rows.py) turned into a
# kvm sweep, through report.sh and scripts/headline.py.
set -euo pipefail
. "$(dirname "$0")/../../scripts/tests/test_lib.sh"
python3 plots/tests/synth_rows.py "$t/s" --no-guest
python3 - "$t/s/rows.jsonl" "$t/kvm/rows.jsonl" "$t/emu/rows.jsonl" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for out, trusted in ((sys.argv[2], True), (sys.argv[3], False)):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        for r in rows:
            r = dict(r)
            if r.get("kind") == "replay" and r["phys"] != "-":  # ours: in the guest
                r.update(engine="kvm", timing_trusted=trusted, case=r["case"].replace("host.", "kvm."))
            f.write(json.dumps(r) + "\n")
PY
for d in s kvm emu; do "$bin"/rows2csv --out "$t/$d/rows.csv" "$t/$d/rows.jsonl"; done
python3 - "$t" <<'PY' || fail "timing source (above)"
import os, sys
sys.path.insert(0, "scripts")
from report_lib import load, replay
t = sys.argv[1]
for d, want in (("s", {"host"}), ("kvm", {"kvm", "host"}), ("emu", {"host"})):
    rep = replay(load(os.path.join(t, d)))
    got = {r["engine"] for r in rep}
    assert got == want, (d, got)
    ours = {r["_series"] for r in rep if r["phys"] != "-"}
    assert bool(ours) == (d != "emu"), (d, ours)
PY
python3 scripts/headline.py "$t/kvm" >"$t/h" || fail "headline.py"
grep -Eq '^  buddy-btree-slab +3 +1\.44x ' "$t/h" || { cat "$t/h"; fail "kvm sweep: no speed for our combinations"; }
scripts/report.sh --run "$t/kvm" --out "$t/out/report.md" --bench results/samples >"$t/log" 2>&1 ||
	{ cat "$t/log"; fail "report.sh"; }
grep -q 'buddy-btree-slab' "$t/out/report.md" || fail "report of a kvm sweep names none of our combinations"
echo "report_kvm_test: ok"
