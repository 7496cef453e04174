"""report_lib.py: what scripts/report.py's sections share: the rows of a sweep, number
formatting, the document (Markdown and self-contained HTML), and the statistics of
MEASUREMENT.md.

Statistics. A timed cell repeated n times gives a median with the distribution-free
interval [x(k), x(n+1-k)] of its sorted values, k from scripts/merge_reps.py's ci_k (the
largest k with P(Binomial(n, 1/2) < k) <= 0.025; with n < 6 the interval cannot reach 95%:
its exact coverage is stated). Two cells are compared by the ratio taken in the same
round (ops_per_s_reps[k] of A over that of B: the sweep runs repetition k of every case
in round k), then the median of those per-round ratios and their interval, the same way.
A verdict needs that interval to exclude 1; n = 1 supports none.
"""
import base64
import csv
import html
import io
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from merge_reps import ci_k  # noqa: E402  (the same k as the rows' own intervals)

PEERS = ("glibc", "jemalloc", "tcmalloc", "mimalloc", "snmalloc")


def num(v):
    """The number in a CSV cell, or None (empty, null, not finite)."""
    try:
        x = float(v)
        return x if math.isfinite(x) else None
    except (TypeError, ValueError):
        return None


def fmt(x, digits=3):
    if x is None:
        return "-"
    if abs(x) >= 1e6:
        return "%.3g" % x
    if abs(x) >= 100 or x == int(x):
        return "%d" % round(x)
    return ("%." + str(digits) + "g") % x


def fmt_bytes(x):
    """Bytes in B, KiB, MiB or GiB; '-' for unknown."""
    if x is None:
        return "-"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(x) >= scale:
            return "%.3g %s" % (x / scale, unit)
    return "%d B" % x


def gmean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class Est:
    """A median with its order-statistics interval over n values."""

    def __init__(self, values):
        s = sorted(values)
        self.n = len(s)
        self.values = list(values)
        self.med = median(s) if s else None
        if s:
            k, self.coverage = ci_k(self.n)
            self.lo, self.hi = s[k - 1], s[self.n - k]
        else:
            self.coverage, self.lo, self.hi = 0.0, None, None

    def excludes(self, x):
        """The interval lies wholly above (+1) or below (-1) x, else 0."""
        if self.n < 2 or self.lo is None:
            return 0
        return 1 if self.lo > x else -1 if self.hi < x else 0

    def text(self, unit="", digits=3):
        if self.med is None:
            return "-"
        if self.n < 2:
            return "%s%s (n=1)" % (fmt(self.med, digits), unit)
        return "%s%s [%s, %s]" % (fmt(self.med, digits), unit, fmt(self.lo, digits), fmt(self.hi, digits))


def reps_of(r, field="ops_per_s"):
    """Every repetition's value of a timing field, in round order ([value] when the row
    has only its median)."""
    raw = r.get(field + "_reps")
    if raw:
        try:
            v = json.loads(raw) if isinstance(raw, str) else raw
            if isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
                return [float(x) for x in v]
        except ValueError:
            pass
    x = num(r.get(field))
    return [x] if x is not None else []


def per_round(a, b, op=lambda x, y: x / y):
    """op(a[k], b[k]) for every round k; None when the lists are not the same rounds."""
    if not a or len(a) != len(b) or any(y == 0 for y in b):
        return None
    return [op(x, y) for x, y in zip(a, b)]


def row_interval(r, field):
    """A row's own median and interval of FIELD (FIELD_ci_lo/_ci_hi), as text."""
    m = num(r.get(field))
    if m is None:
        return "-"
    lo, hi = num(r.get(field + "_ci_lo")), num(r.get(field + "_ci_hi"))
    if lo is None or hi is None or (num(r.get("reps")) or 1) < 2:
        return fmt(m)
    return "%s [%s, %s]" % (fmt(m), fmt(lo), fmt(hi))


def coverage_note(n):
    k, cov = ci_k(n)
    if n < 2:
        return "n = 1: no interval, so no verdict can be drawn"
    return "n = %d rounds, interval [x(%d), x(%d)] of the sorted values covers %.1f%%%s" % (
        n, k, n + 1 - k, 100 * cov, "" if cov >= 0.95 else " (below 95%: use --reps 9 or more)")


class Doc:
    """The report as blocks, written out as Markdown and as HTML."""

    def __init__(self):
        self.blocks = []
        self.aggs = []

    def agg(self, rows, what):
        """Label [An] for an aggregate over rows; listed in the appendix."""
        self.aggs.append((what, [r["_id"] for r in rows]))
        return "[A%d]" % len(self.aggs)

    def h(self, level, text):
        self.blocks.append(("h", level, text))

    def p(self, text):
        self.blocks.append(("p", text))

    def table(self, head, rows):
        self.blocks.append(("t", head, rows))

    def img(self, path, alt):
        self.blocks.append(("i", path, alt))

    def markdown(self, base):
        out = []
        for b in self.blocks:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "t":
                out.append("| " + " | ".join(b[1]) + " |")
                out.append("|" + "---|" * len(b[1]))
                out += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in b[2]]
            else:
                out.append("![%s](%s)" % (b[2], os.path.relpath(b[1], base)))
            out.append("")
        return "\n".join(out)

    @staticmethod
    def inline(text):
        """The Markdown the report writes inside a paragraph or cell, as HTML: escaped,
        `code` and **bold**, in that order (a code span's stars stay stars)."""
        parts = re.split(r"(`[^`]*`)", text)
        out = []
        for p in parts:
            if len(p) >= 2 and p.startswith("`") and p.endswith("`"):
                out.append("<code>%s</code>" % html.escape(p[1:-1]))
            else:
                out.append(re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(p)))
        return "".join(out)

    def html(self):
        e, m = html.escape, self.inline
        out = ["<!doctype html><html><head><meta charset='utf-8'><title>memtestbed report</title>",
               "<style>body{font-family:sans-serif;max-width:1150px;margin:auto}"
               "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
               "padding:2px 6px;text-align:right}th{background:#eee}img{max-width:100%}</style>",
               "</head><body>"]
        for b in self.blocks:
            if b[0] == "h":
                out.append("<h%d>%s</h%d>" % (b[1], m(b[2]), b[1]))
            elif b[0] == "p":
                out.append("<p>%s</p>" % m(b[1]))
            elif b[0] == "t":
                out.append("<table><tr>" + "".join("<th>%s</th>" % m(c) for c in b[1]) + "</tr>")
                out += ["<tr>" + "".join("<td>%s</td>" % m(c) for c in r) + "</tr>" for r in b[2]]
                out.append("</table>")
            else:
                with open(b[1], "rb") as f:
                    data = base64.b64encode(f.read()).decode()
                out.append("<p><img alt='%s' src='data:image/png;base64,%s'></p>" % (e(b[2]), data))
        out.append("</body></html>")
        return "\n".join(out)


def wl_name(r):
    w = r.get("trace") or r.get("workload") or ""
    for suf in (".xz", ".trc", ".mtb", ".rep", ".vmt"):
        w = w[: -len(suf)] if w.endswith(suf) else w
    return w


def load(run_dir):
    """rows.csv of a sweep; row i (from 1) gets _id 'ri', _wl (the workload without its
    file suffix) and _series (phys-virt-heap for ours, the heap's name for the peers)."""
    return load_csv(os.path.join(run_dir, "rows.csv"))


def load_csv(path):
    """The rows of a CSV file (rows2csv's) as dicts. ValueError "PATH:LINE: reason" for a
    file that is not whole: a line whose field count is not the header's, a last line
    without its newline (a truncated file), a quoting error."""
    rows = []
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        raise ValueError("%s:%d: the last line is incomplete (no newline): a truncated file?"
                         % (path, text.count("\n") + 1))
    rd = csv.reader(io.StringIO(text))
    try:
        header = next(rd, None)
        if not header:
            raise ValueError("%s:1: no header line" % path)
        for rec in rd:
            if len(rec) != len(header):
                raise ValueError("%s:%d: %d fields, the header has %d: a truncated or damaged file?"
                                 % (path, rd.line_num, len(rec), len(header)))
            rows.append(dict(zip(header, rec)))
    except csv.Error as e:
        raise ValueError("%s:%d: %s" % (path, rd.line_num, e))
    for i, r in enumerate(rows, 1):
        r["_id"] = "r%d" % i
        r["_wl"] = wl_name(r)
        p, v = r.get("phys", ""), r.get("virt", "")
        r["_series"] = "%s-%s-%s" % (p, v, r.get("heap")) if p not in ("", "-") and v not in ("", "-") \
            else r.get("heap", "")
    return rows


def cite(r, key, digits=3):
    return "%s [%s]" % (fmt(num(r.get(key)), digits), r["_id"])


def replay(rows):
    """Replay rows of the timing source: the host engine's (or hand-made samples) when our
    combinations ran there, else (a sweep on a real KVM host: ours in the guest, the
    peers, Linux libraries, in the host engine) every row whose timing is trusted."""
    rep = [r for r in rows if r.get("kind") == "replay"]
    host = [r for r in rep if r.get("engine") in ("host", "sample")]
    if any(r.get("phys") not in (None, "", "-") for r in host):
        return host
    return [r for r in rep if is_true(r.get("timing_trusted"))]


def serial1(r):
    """The 1-CPU serial replay (not the parallel 1-CPU baseline of scalability)."""
    return r.get("cpus") == "1" and r.get("mode") != "parallel"


def is_true(v):
    return str(v).lower() in ("true", "1")


def first_by(rows, keyf):
    seen = {}
    for r in rows:
        seen.setdefault(keyf(r), r)
    return seen


def varied(r):
    """The fields a row lists as differing between its repetitions."""
    raw = r.get("varied") or ""
    try:
        v = json.loads(raw) if raw.startswith("[") else [x for x in raw.split() if x]
    except ValueError:
        v = [raw]
    return [str(x) for x in v]
