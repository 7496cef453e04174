#!/usr/bin/env bash
# hosts_test.sh: scripts/run.sh over two libvirt hosts for real: this machine's system
# daemon (qemu:///system) and a second "host" reached over ssh (scripts/tests/
# remote_host_lib.sh: an sshd of its own on 127.0.0.2 and a user's session daemon
# behind it). A small sweep (generator replays, QEMU TCG) runs over both: each host runs
# cases. The same sweep again, and once a domain of the remote host runs, it is paused
# and the remote daemon killed: the sweep must end well, the remote host marked out with
# its reason, its case back in the queue and run on the local host. In both, every case
# finished exactly once, each row naming its host, and every deterministic metric equal
# to the same sweep on one local host (run.sh without --uri). Then: a rerun (the hosts from a --hosts file) resumes, the dead host left out
# with a one-line reason, nothing run again; a sweep whose only host fails its check
# exits 1 with a message.
# Skips only where libvirt cannot start (not installed, not root).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/tests/sweep_lib.sh
. scripts/tests/remote_host_lib.sh
bin=$(cd "${MTB_BIN:-build/bin}" && pwd)
export MTB_BIN=$bin
unset ENGINE
command -v virsh >/dev/null && command -v libvirtd >/dev/null || { echo "SKIP: libvirt not installed"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (libvirt's system daemons, an sshd, a user)"; exit 77; }
for c in sshd:openssh-server nc:netcat-openbsd setpriv:util-linux qemu-system-x86_64:qemu-system-x86; do
	command -v "${c%%:*}" >/dev/null || [ -x "/usr/sbin/${c%%:*}" ] ||
		{ echo "FAIL: ${c%%:*} not installed (package ${c#*:}: scripts/deps.sh)"; exit 1; }
done
[ -f build/guest/buddy-bitmap-talc/guest.elf ] || { echo "FAIL: guest buddy-bitmap-talc not built (make guests-available)"; exit 1; }

t=$(mktemp -d /tmp/mtb-hosts.XXXXXX)
chmod 755 "$t"
state= sweep=
cleanup() {
	[ -z "$sweep" ] || kill -TERM -- "-$sweep" 2>/dev/null || true
	rh_stop
	[ "$state" != started ] || scripts/libvirt_daemons.sh stop
	rm -rf "$t"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The remote host first: its session daemons (libvirtd, virtlogd) must not be taken for
# the system's by libvirt_daemons.sh.
rh_start "$t" || fail "the remote host did not start"
state=$(scripts/libvirt_daemons.sh start) || fail "libvirt's system daemons did not start"
echo "remote: $rh_uri; local daemons: $state"

args=(--quick --phys buddy --virt bitmap --heaps talc --cpus 1 --guest-check none --no-plots --only 'larson|xmalloc')
scripts/run.sh --engine libvirt "${args[@]}" --list | awk '{print $1}' | sort >"$t/ids"
[ "$(wc -l <"$t/ids")" -eq 4 ] || fail "want 4 cases: $(cat "$t/ids")"

# The sweep over both hosts: both workers claim a case at once, so each host runs one.
timeout 240 scripts/run.sh "${args[@]}" --uri qemu:///system --uri "$rh_uri" --out "$t/both" >"$t/both.log" 2>&1 ||
	{ cat "$t/both.log"; fail "the two-host sweep"; }
sweep_intact "$t/both"
echo "ok: two hosts: $(grep '^run: 4 cases' "$t/both.log")"

# Again, the remote daemon killed while its guest runs (stopped first: it cannot finish
# before the kill).
set -m
timeout 240 scripts/run.sh "${args[@]}" --uri qemu:///system --uri "$rh_uri" --out "$t/two" >"$t/two.log" 2>&1 &
sweep=$!
set +m
# The remote guest is stopped (SIGSTOP to its QEMU, found locally: a `virsh suspend` over
# ssh took long enough for a quick guest to finish first) the moment it appears.
wait_for 'pgrep -u "$RH_USER" -f qemu-system >/dev/null' "a guest of the remote host" "$sweep"
pkill -STOP -u "$RH_USER" -f qemu-system || fail "cannot stop the remote guest"
rh_kill_daemon
echo "killed the remote daemon while its guest was stopped"
rc=0
wait "$sweep" || rc=$?
sweep=
cat "$t/two.log"
[ $rc -eq 0 ] || fail "the two-host sweep exited $rc"
grep -q '^run: host 127.0.0.2 out: libvirt_run: host lost: ' "$t/two.log" || fail "the remote host was not marked out"
lost=$(sed -n 's/.* case \(.*\) back in the queue (from 127.0.0.2)$/\1/p' "$t/two/hosts.log")
[ -n "$lost" ] || fail "no case of the lost host back in the queue (hosts.log: $(cat "$t/two/hosts.log"))"
sweep_intact "$t/two"
[ -z "$(ls "$t/two/failed")" ] || fail "failed cases: $(ls "$t/two/failed")"
[ ! -e "$t/two/queue" ] || [ -z "$(ls -d "$t/two/queue/"*.claim 2>/dev/null)" ] || fail "claims left in the queue"

# The same sweep on one local host (run.sh without --uri: qemu:///system).
timeout 240 scripts/run.sh --engine libvirt "${args[@]}" --out "$t/one" >"$t/one.log" 2>&1 ||
	{ cat "$t/one.log"; fail "the one-host sweep"; }

python3 - "$t/both/rows.jsonl" "$t/two/rows.jsonl" "$t/one/rows.jsonl" "$t/ids" "$lost" <<'PY'
import collections, json, os, sys
sys.path.insert(0, "scripts")
from crosscheck import SKIP
both, two, one = ([json.loads(l) for l in open(p)] for p in sys.argv[1:4])
ids = open(sys.argv[4]).read().split()
lost = sys.argv[5]
hb = collections.Counter(r["host"] for r in both)
assert set(hb) == {"local", "127.0.0.2"}, "the two-host sweep ran on %s" % dict(hb)
for b in both:
    a = [r for r in two if r["case"] == b["case"]][0]
    db = {k: v for k, v in b.items() if not SKIP.match(k)}
    da = {k: v for k, v in a.items() if not SKIP.match(k)}
    assert db == da, "%s on %s: fields differ: %s" % (b["case"], b["host"], sorted(k for k in set(db) | set(da) if db.get(k) != da.get(k)))
print("ok: two hosts ran %s, every deterministic field as in the other sweeps" % dict(hb))
n2 = collections.Counter(r["case"] for r in two)
n1 = collections.Counter(r["case"] for r in one)
assert sorted(n2) == ids and n2 == n1, "cases (two hosts %s, one host %s, want %s)" % (dict(n2), dict(n1), ids)
assert all(r.get("host") in ("local", "127.0.0.2") and r.get("host_kvm") and r.get("host_cpu") for r in two), \
    "a row without its host: %s" % [r for r in two if not r.get("host")][:1]
assert [r["host"] for r in two if r["case"] == lost] == ["local"], "the lost case %s did not run on local" % lost
det = lambda r: {k: v for k, v in r.items() if not SKIP.match(k)}  # noqa: E731
for a in two:
    b = [r for r in one if r["case"] == a["case"]][0]
    diff = sorted(k for k in set(det(a)) | set(det(b)) if det(a).get(k) != det(b).get(k))
    assert not diff, "%s: deterministic fields differ from the one-host run: %s" % (a["case"], diff)
print("ok: %d cases once each; hosts %s; the lost case %s ran on local; %d deterministic fields each equal "
      "to the one-host run" % (len(ids), dict(collections.Counter(r["host"] for r in two)), lost, len(det(two[0]))))
PY

# Resume, the hosts from a file: the dead host fails its check (one line), the local
# one finds nothing to do.
printf '# the hosts\n\nqemu:///system   # this machine\n%s\n' "$rh_uri" >"$t/hosts.txt"
timeout 120 scripts/run.sh "${args[@]}" --hosts "$t/hosts.txt" --out "$t/two" >"$t/again.log" 2>&1 ||
	{ cat "$t/again.log"; fail "the rerun"; }
grep -q '^run: host 127.0.0.2 (.*) left out: not reachable: ' "$t/again.log" || fail "the dead host not left out: $(cat "$t/again.log")"
grep -q '(0 run now, 4 already done)' "$t/again.log" || fail "the rerun ran cases again: $(cat "$t/again.log")"
echo "ok: rerun: $(grep 'left out' "$t/again.log")"

# No host left: exit 1, a message, no results directory.
rc=0
timeout 120 scripts/run.sh "${args[@]}" --uri "$rh_uri" --out "$t/none" >"$t/none.log" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q '^run: no host left of 1' "$t/none.log" && [ ! -e "$t/none" ] ||
	fail "no usable host: exit $rc, $(cat "$t/none.log")"
echo "ok: no host left: $(tail -1 "$t/none.log")"
echo "hosts_test: ok"
