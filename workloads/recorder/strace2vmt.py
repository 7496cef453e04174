#!/usr/bin/env python3
"""strace2vmt.py: strace -f output (memory and process system calls) -> .vmt text.

Usage: strace2vmt.py STRACE_OUT [VMT_OUT]   (VMT_OUT default: stdout)

Input: `strace -f -q -e trace=memory,process -o FILE` lines, "PID call(args) = ret";
a call split by other threads' lines ("<unfinished ...>" / "<... call resumed>")
counts at its completion. Output (format: workloads/FORMATS.md), one event per
successful call:
  mmap -> map ADDR LEN PROT a|f [fixed]   munmap -> unmap   mremap -> remap
  brk -> brk END (every call, its result)  mprotect -> prot   madvise -> advise
  execve -> exec PATH
<proc> numbers address spaces: the traced command's first exec is 1, then every
fork-like child (a clone without CLONE_VM) and every exec gets the next number; a
thread (CLONE_VM) shares its parent's. A vfork-like child (CLONE_VM without
CLONE_THREAD) shares its parent's address space until it execs: its calls before
that are written under the parent's tid (so its exec does not end the parent's
proc). The converter tracks each proc's mappings only to write an mremap of a
range it never saw (inherited at a fork) as unmap + map. Ignored: other memory
calls (mlock, msync, mincore, ...), failed calls. Exit status 2 on unreadable input.
"""
import os
import re
import sys

LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(.*)$")
PAGE = 4096


def split_args(s):
    """Top-level comma split of strace's argument text (quotes, brackets, braces)."""
    out, depth, cur, q, esc = [], 0, [], False, False
    for c in s:
        if q:
            cur.append(c)
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                q = False
            continue
        if c == '"':
            q = True
        elif c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
        elif c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(c)
    if cur or out:
        out.append("".join(cur).strip())
    return out


def num(s):
    s = s.strip()
    return 0 if s == "NULL" else int(s, 0)


def prot_str(s):
    if re.fullmatch(r"\d+|0x[0-9a-fA-F]+", s.strip()):
        v = int(s, 0)
        return "".join(c if v & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4)))
    f = set(s.split("|"))
    return "".join(c if n in f else "-" for c, n in (("r", "PROT_READ"), ("w", "PROT_WRITE"), ("x", "PROT_EXEC")))


def calls(lines):
    """(pid, name, args, ret) per completed call, ('exit', pid) per exit, in order."""
    pending = {}
    for raw in lines:
        m = LINE.match(raw.rstrip("\n"))
        if not m:
            continue
        pid, rest = int(m.group(1)), m.group(2)
        if rest.startswith("+++"):
            pending.pop(pid, None)
            yield ("exit", pid)
            continue
        if rest.startswith("---"):
            continue
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        r = re.match(r"^<\.\.\. \w+ resumed>(.*)$", rest)
        if r:
            if pid not in pending:
                continue
            rest = pending.pop(pid) + r.group(1)
        c = CALL.match(rest)
        if c:
            yield (pid, c.group(1), c.group(2), c.group(3))


def ok(ret):
    return not (ret.startswith("-") or ret.startswith("?"))


class Ranges:
    """One proc's mappings as sorted disjoint [lo, hi) page ranges."""

    def __init__(self):
        self.r = []

    def remove(self, lo, hi):
        keep = []
        for a, b in self.r:
            if b <= lo or a >= hi:
                keep.append((a, b))
                continue
            if a < lo:
                keep.append((a, lo))
            if b > hi:
                keep.append((hi, b))
        self.r = sorted(keep)

    def add(self, lo, hi):
        self.remove(lo, hi)
        self.r = sorted(self.r + [(lo, hi)])

    def overlaps(self, lo, hi):
        return any(a < hi and b > lo for a, b in self.r)


def rng(addr, length):
    return addr, addr + (length + PAGE - 1) // PAGE * PAGE


class Conv:
    def __init__(self, parents, out):
        self.parents = parents  # child pid -> [(parent pid, shares vm, is thread)], in order
        self.out = out
        self.proc = {}  # pid -> proc number
        self.vm_of = {}  # vfork-like pid -> the pid whose tid its calls are written under
        self.ranges = {}  # proc -> Ranges
        self.nproc = 0
        self.events = 0

    def new_proc(self):
        self.nproc += 1
        self.ranges[self.nproc] = Ranges()
        return self.nproc

    def proc_of(self, pid):
        if pid in self.proc:
            return self.proc[pid]
        par = self.parents[pid].pop(0) if self.parents.get(pid) else None
        if par and par[1]:
            self.proc[pid] = self.proc_of(par[0])
            if not par[2]:
                self.vm_of[pid] = self.vm_of.get(par[0], par[0])
        elif par or self.nproc:
            self.proc[pid] = self.new_proc()
        else:
            self.proc[pid] = None  # the root: its proc begins at its exec
        return self.proc[pid]

    def emit(self, pid, text):
        p = self.proc_of(pid)
        if p is None:
            p = self.proc[pid] = self.new_proc()
        self.out.write("%d %d %s\n" % (p, self.vm_of.get(pid, pid), text))
        self.events += 1

    def exec_(self, pid, path):
        self.proc_of(pid)
        self.vm_of.pop(pid, None)
        self.proc[pid] = self.new_proc()
        self.emit(pid, "exec " + path)

    def call(self, pid, name, args, ret):
        a = split_args(args)
        if name in ("execve", "execveat") and ok(ret):
            path = a[0 if name == "execve" else 1]
            return self.exec_(pid, path[1:].split('"')[0] if path.startswith('"') else path)
        if not ok(ret):
            return
        if name in ("mmap", "mmap2"):
            addr, length = num(ret), num(a[1])
            fixed = "MAP_FIXED" in a[3]
            kind = "a" if "MAP_ANON" in a[3] else "f"
            self.mapped(pid, addr, length)
            return self.emit(pid, "map %x %d %s %s%s" % (addr, length, prot_str(a[2]), kind, " fixed" if fixed else ""))
        if name == "munmap":
            addr, length = num(a[0]), num(a[1])
            self.ranges[self.proc_or_new(pid)].remove(*rng(addr, length))
            return self.emit(pid, "unmap %x %d" % (addr, length))
        if name == "mremap":
            return self.mremap(pid, a, num(ret))
        if name == "brk":
            return self.emit(pid, "brk %x" % num(ret))
        if name in ("mprotect", "pkey_mprotect"):
            return self.emit(pid, "prot %x %d %s" % (num(a[0]), num(a[1]), prot_str(a[2])))
        if name == "madvise":
            adv = a[2].replace("MADV_", "").lower() if a[2].startswith("MADV_") else "advice" + a[2]
            return self.emit(pid, "advise %x %d %s" % (num(a[0]), num(a[1]), adv))

    def proc_or_new(self, pid):
        p = self.proc_of(pid)
        if p is None:
            p = self.proc[pid] = self.new_proc()
        return p

    def mapped(self, pid, addr, length):
        self.ranges[self.proc_or_new(pid)].add(*rng(addr, length))

    def mremap(self, pid, a, new):
        old, olen, nlen = num(a[0]), num(a[1]), num(a[2])
        r = self.ranges[self.proc_or_new(pid)]
        if olen == 0 or "MREMAP_DONTUNMAP" in a[3]:  # the old mapping stays
            self.mapped(pid, new, nlen)
            return self.emit(pid, "map %x %d rw- %s fixed" % (new, nlen, "f" if olen == 0 else "a"))
        if not r.overlaps(*rng(old, olen)):  # inherited at a fork: never seen mapped here
            r.remove(*rng(old, olen))
            self.emit(pid, "unmap %x %d" % (old, olen))
            self.mapped(pid, new, nlen)
            return self.emit(pid, "map %x %d rw- a fixed" % (new, nlen))
        r.remove(*rng(old, olen))
        r.add(*rng(new, nlen))
        self.emit(pid, "remap %x %d %x %d" % (old, olen, new, nlen))

    def exited(self, pid):  # a later process with this pid is another one
        self.proc.pop(pid, None)
        self.vm_of.pop(pid, None)


def clone_children(lines):
    """child pid -> [(parent pid, shares the address space, is a thread)] in clone
    order (a pid may be reused), from pass 1."""
    kids = {}
    for ev in calls(lines):
        if ev[0] == "exit":
            continue
        pid, name, args, ret = ev
        if name not in ("clone", "clone3", "fork", "vfork") or not ok(ret):
            continue
        child = num(ret.split()[0])
        vm = name == "vfork" or re.search(r"\bCLONE_VM\b", args) is not None
        thread = re.search(r"\bCLONE_THREAD\b", args) is not None
        if child > 0:
            kids.setdefault(child, []).append((pid, vm, thread))
    return kids


def main(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) not in (2, 3):
        print("usage: strace2vmt.py STRACE_OUT [VMT_OUT]", file=sys.stderr)
        return 2
    try:
        with open(argv[1], errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        print("strace2vmt: %s: %s" % (argv[1], e.strerror), file=sys.stderr)
        return 2
    out = open(argv[2] + ".tmp", "w") if len(argv) == 3 else sys.stdout
    conv = Conv(clone_children(lines), out)
    out.write("# vmt from strace: %s\n" % argv[1])
    for ev in calls(lines):
        if ev[0] == "exit":
            conv.exited(ev[1])
        else:
            conv.call(*ev)
    if len(argv) == 3:
        out.close()
        os.replace(argv[2] + ".tmp", argv[2])
    print("strace2vmt: %d events, %d procs" % (conv.events, conv.nproc), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
