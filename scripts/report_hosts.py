"""report_hosts.py: the hosts of a sweep over several libvirt hosts (scripts/run.sh --uri,
scripts/hosts_queue.sh) in scripts/report.py: which host ran which case, the hosts lost
on the way (DIR/hosts.log), and the timing sections split by host kind.

A host kind is the pair (CPU model, KVM kind: hardware / emulated / absent) of the rows'
host_cpu and host_kvm; rows without them (the host engine, a sweep on one machine) are
of the kind "this machine". Timings of two kinds are never put in one comparison: with
more than one kind, each timing section runs once per kind, on that kind's rows only.
"""
import collections
import os

THIS = "this machine"


def kind(r):
    """The host kind of row r, as a label."""
    if not r.get("host"):
        return THIS
    return "%s, KVM %s" % (r.get("host_cpu") or "?", r.get("host_kvm") or "?")


def kind_groups(rows):
    """[(label, rows of that kind)] in order of first appearance; [(None, rows)] with one kind."""
    g = collections.OrderedDict()
    for r in rows:
        g.setdefault(kind(r), []).append(r)
    if len(g) <= 1:
        return [(None, rows)]
    return list(g.items())


def per_kind(section):
    """section(doc, rows, *args) run once per host kind (a line naming the kind and its
    hosts before each), or once when the rows are of one kind."""
    def run(doc, rows, *args):
        for label, rs in kind_groups(rows):
            if label is not None:
                hosts = sorted({r.get("host") or "local engine" for r in rs})
                n = len(doc.blocks)
                section(doc, rs, *args)
                if len(doc.blocks) > n:  # after the section's heading
                    at = n + 1 if doc.blocks[n][0] == "h" else n
                    doc.blocks.insert(at, ("p", "**Host kind %s** (hosts %s): rows of this kind only." %
                                           (label, ", ".join(hosts))))
            else:
                section(doc, rs, *args)
    run.__name__ = getattr(section, "__name__", "section")
    return run


def lost_hosts(run_dir):
    """The 'host NAME out: REASON' lines of DIR/hosts.log (hosts lost during the sweep)."""
    path = os.path.join(run_dir, "hosts.log")
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path, errors="replace"):
        parts = line.rstrip("\n").split(" ", 1)
        if len(parts) == 2 and parts[1].startswith("host ") and " out: " in parts[1]:
            out.append(parts[1][len("host "):])
    return out


def sec_hosts(doc, rows, run_dir):
    """The hosts section: per host its kind and case count, the hosts lost, and which host
    ran which case. Nothing for a sweep without hosts (no row names one)."""
    hosted = [r for r in rows if r.get("host")]
    if not hosted:
        return
    doc.h(2, "Hosts")
    per = collections.OrderedDict()
    for r in hosted:
        per.setdefault(r["host"], set()).add(r.get("case", ""))
    doc.table(["host", "kind (CPU, KVM)", "cases"],
              [[h, kind([r for r in hosted if r["host"] == h][0]), str(len(c))] for h, c in per.items()])
    lost = lost_hosts(run_dir)
    if lost:
        doc.p("Lost during the sweep (their unfinished cases ran on another host): %s." % "; ".join(lost))
    kinds = sorted({kind(r) for r in rows})
    doc.p("%d host kind(s): %s. Timings are compared within one kind only." % (len(kinds), "; ".join(kinds)))
    cases = collections.OrderedDict()
    for r in hosted:
        cases.setdefault(r.get("case", ""), r["host"])
    doc.table(["case", "host"], [[c, h] for c, h in cases.items()])
