#!/usr/bin/env python3
"""schema_check.py: result rows against their schema, results/README.md.

Usage: scripts/schema_check.py [--readme FILE] [--unseen-ok LIST] ROWS...

ROWS are JSON-lines files (*.jsonl, one row an object) or CSV tables (rows2csv's
rows.csv: the header's columns). The schema is every markdown table of the README whose
header is `| field | unit | meaning |`: the backticked names in a row's first cell, with
the unit in its second (`FIELD_x` documents the suffix `_x` of every documented FIELD).
Problems, one line each:
  - a column of the rows that the README does not list;
  - a column whose name looks byte-valued (size, footprint, live, largest_free,
    granule) without the `_bytes` suffix, unless the README gives it unit count;
  - a column listed twice with different units;
  - a documented unit that is not one of UNITS, or that disagrees with the name's suffix
    (`_bytes` bytes, `_ns` ns, `_mib` MiB, `_frames` frames, `_pct` %, `_khz` kHz,
    `_cycles` cycles: both ways; a name that is the unit itself, `bytes`, is one);
  - a JSON value that is not a number (or null) in a column of a numeric unit;
  - with --unseen-ok LIST: a documented column no row has, unless LIST (comma
    separated) names it (the rows must then come from every producer).
Exit 0 when there is none (one summary line), 1 on a problem, 2 on bad usage or an
unreadable file (one line).
"""
import csv
import json
import re
import sys

UNITS = {"-", "bool", "count", "ratio", "share", "list", "bytes", "ns", "MiB", "frames", "%",
         "ops/s", "load", "kHz", "cycles", "FIELD's"}
NUMERIC = UNITS - {"-", "bool", "list", "FIELD's"}
SUFFIX_UNIT = (("_bytes", "bytes"), ("_ns", "ns"), ("_mib", "MiB"), ("_frames", "frames"),
               ("_pct", "%"), ("_khz", "kHz"), ("_cycles", "cycles"))
BYTEY = re.compile(r"(^|_)(size|footprint|live|largest_free|granule)(_|$)")
HEAD = re.compile(r"^\|\s*field\s*\|\s*unit\s*\|\s*meaning\s*\|\s*$")


def schema(path):
    """{field: unit}, {suffix: unit} (FIELD_x templates) of the README's tables, and the
    fields listed twice with different units."""
    fields, templates, clash = {}, {}, []
    in_table = False
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if HEAD.match(line):
                in_table = True
                continue
            if not line.startswith("|"):
                in_table = False
            if not in_table or line.startswith("|---"):
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) < 3:
                continue
            for name in re.findall(r"`([A-Za-z0-9_]+)`", cells[0]):
                if name.startswith("FIELD_"):
                    templates[name[len("FIELD"):]] = cells[1]
                else:
                    if fields.get(name, cells[1]) != cells[1]:
                        clash.append("%s: listed as '%s' and as '%s'" % (name, fields[name], cells[1]))
                    fields[name] = cells[1]
    return fields, templates, clash


def unit_problems(fields, templates):
    out = ["unit '%s' of %s is not one of: %s" % (u, f, " ".join(sorted(UNITS)))
           for f, u in list(fields.items()) + [("FIELD" + s, u) for s, u in templates.items()]
           if u not in UNITS]
    for f, u in fields.items():
        for suf, want in SUFFIX_UNIT:
            if f.endswith(suf) and u != want:
                out.append("%s: named %s but its unit is '%s'" % (f, suf, u))
            if u == want and not f.endswith(suf) and f not in (suf[1:], "ns_per_op"):
                out.append("%s: unit %s but the name does not end in %s" % (f, u, suf))
    return out


def rows_of(path):
    """[(row dict or None, keys)] of one file: JSON lines, or a CSV header."""
    if path.endswith(".csv"):
        with open(path, newline="") as f:
            head = next(csv.reader(f), [])
        return [(None, head)]
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    r = json.loads(line)
                except ValueError as e:
                    raise OSError("%s:%d: not JSON: %s" % (path, n, e))
                out.append((r, list(r)))
    return out


def documented(k, fields, templates):
    """(the documented name k derives from, its unit), or (k, None)."""
    if k in fields:
        return k, fields[k]
    for suf, u in templates.items():
        if k.endswith(suf) and k[:-len(suf)] in fields:
            return k[:-len(suf)], fields[k[:-len(suf)]] if u == "FIELD's" else u
    return next((k[:-len(s)] for s in templates if k.endswith(s)), k), None


def key_problems(path, fields, templates, seen):
    out = []
    for r, keys in rows_of(path):
        where = "%s (kind %s)" % (path, r.get("kind") if r else "any")
        for k in keys:
            seen.add(k)
            base, u = documented(k, fields, templates)
            if u is None:
                out.append("%s: column %s is not in the schema" % (where, k))
            if BYTEY.search(base) and not base.endswith("_bytes") and u not in ("count", "-"):
                out.append("%s: column %s looks byte-valued: name it %s_bytes" % (where, k, base))
            v = r.get(k) if r else None
            if u in NUMERIC and v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                out.append("%s: column %s (%s) has a non-number %r" % (where, k, u, v))
    return list(dict.fromkeys(out))


def main(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    args, readme, unseen_ok = argv[1:], "results/README.md", None
    while args and args[0] in ("--readme", "--unseen-ok") and len(args) > 1:
        if args[0] == "--readme":
            readme = args[1]
        else:
            unseen_ok = set(x for x in args[1].split(",") if x)
        args = args[2:]
    if not args or args[0].startswith("-"):
        print("schema_check: usage: scripts/schema_check.py [--readme FILE] [--unseen-ok LIST] "
              "ROWS... (see --help)", file=sys.stderr)
        return 2
    try:
        fields, templates, probs = schema(readme)
        if not fields:
            raise OSError("%s: no `| field | unit | meaning |` table" % readme)
        probs, seen = probs + unit_problems(fields, templates), set()
        for p in args:
            probs += key_problems(p, fields, templates, seen)
    except OSError as e:
        print("schema_check: %s" % e, file=sys.stderr)
        return 2
    if unseen_ok is not None:
        probs += ["%s: documented, but no row has it" % f for f in fields
                  if f not in seen and f not in unseen_ok]
    for p in probs:
        print("schema_check: " + p)
    if probs:
        return 1
    print("schema_check: %d columns in %d files, all in %s (%d documented)" % (
        len(seen), len(args), readme, len(fields)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
