#!/usr/bin/env python3
"""layers_check.py: fails when C files call each other in a circle.

Usage: scripts/layers_check.py FILE.c...

For the given files it finds which file defines each non-static function (a
definition starts at column 0 and its line ends without ';') and which of the
other files name it (a call, or a reference such as an ops table's
`.check = slab_check`; a prototype is not a use), giving a graph file -> file it depends on. The files
must form layers: any cycle in that graph (two files that call each other, or a
longer circle) is printed as "layers: cycle: a.c -> b.c -> a.c (a.c uses f, ...)"
and the exit status is 1. Exit 0 with "layers: N files, E edges, no cycle" when
the graph is acyclic; 2 on bad usage or an unreadable file.
"""
import re
import sys

DEF = re.compile(r"^(?!static\b)(?![ \t#/*}])[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\(")
IDENT = re.compile(r"[A-Za-z_]\w*")
# A prototype at column 0: declares, does not use.
DECL = re.compile(r"^(?![ \t#/*}])[A-Za-z_][\w \t\*]*?\b[A-Za-z_]\w*\s*\([^;{}]*\)\s*;", re.M)


def strip(text):
    """text without comments, string and character literals (lines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def defined(code):
    """Names of the non-static functions code defines."""
    names, lines = set(), code.split("\n")
    for k, line in enumerate(lines):
        m = DEF.match(line)
        if not m:
            continue
        rest = line[m.end():]  # a definition's header ends with ')' then '{' (maybe next line)
        tail = rest + " " + " ".join(lines[k + 1:k + 4])
        depth, end = 1, None
        for pos, ch in enumerate(tail):
            depth += (ch == "(") - (ch == ")")
            if depth == 0:
                end = pos
                break
        if end is not None and tail[end + 1:].lstrip().startswith("{"):
            names.add(m.group(1))
    return names


def cycles(graph):
    """One cycle per strongly connected circle found by depth-first search."""
    found, state, stack = [], {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                found.append(stack[stack.index(v):] + [v])
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            visit(u)
    return found


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    code = {}
    for path in argv:
        try:
            with open(path, encoding="utf-8") as f:
                code[path] = strip(f.read())
        except OSError as e:
            print(f"layers: {path}: {e.strerror}", file=sys.stderr)
            return 2
    owner = {}
    for path, text in code.items():
        for name in defined(text):
            owner[name] = path
    graph = {p: {} for p in code}
    for path, text in code.items():
        for name in set(IDENT.findall(DECL.sub("", text))):
            dst = owner.get(name)
            if dst and dst != path:
                graph[path].setdefault(dst, set()).add(name)
    bad = cycles(graph)
    for cyc in bad:
        uses = "; ".join(f"{a} uses {', '.join(sorted(graph[a][b]))}"
                         for a, b in zip(cyc, cyc[1:]))
        print(f"layers: cycle: {' -> '.join(cyc)} ({uses})")
    if bad:
        return 1
    edges = sum(len(v) for v in graph.values())
    print(f"layers: {len(code)} files, {edges} edges, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
