#!/usr/bin/env bash
# report_html_test.sh: the HTML report of a synthetic sweep (plots/tests/synth_rows.py)
# opened in headless Chromium: no console message at all (a script error, a CSP or
# resource complaint), every image embedded (a data: URI, so the file is self-contained),
# and the Markdown rendered (bold and code spans become <b> and <code>; no literal ** or
# backtick left in the text). Skips when Chromium is not installed (scripts/deps.sh
# installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${MTB_BIN:-build/bin}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "SKIP: chromium not installed (scripts/deps.sh)"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 plots/tests/synth_rows.py "$t/run"
"$bin/rows2csv" --out "$t/run/rows.csv" "$t/run/rows.jsonl"
plots/plot.sh --outdir "$t/run/plots" "$t/run/rows.csv" >/dev/null
scripts/report.sh --run "$t/run" --out "$t/out/report.md" >"$t/log" 2>&1 || { cat "$t/log"; fail "report.sh"; }
html=$t/out/report.html
grep -q '\*\*' "$t/out/report.md" || fail "the synthetic report has no bold text to render"
# --no-sandbox: tests run as root; a private profile so no state leaks in or out.
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --no-first-run \
	--user-data-dir="$t/profile" --enable-logging=stderr --v=0 \
	--dump-dom "file://$html" >"$t/dom.html" 2>"$t/console.txt" || fail "chromium exited $?"
[ -s "$t/dom.html" ] || fail "chromium rendered nothing"
if grep -q ':CONSOLE' "$t/console.txt"; then
	grep ':CONSOLE' "$t/console.txt" | head -5
	fail "console messages while loading the report"
fi
python3 - "$t/dom.html" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
imgs = re.findall(r"<img[^>]*>", s)
assert imgs, "no images in the report"
bad = [i[:80] for i in imgs if 'src="data:image/' not in i]
assert not bad, "images not embedded: %s" % bad
assert "<b>" in s and "<code>" in s, "bold or code spans not rendered"
text = re.sub(r"<(code|style|script)[^>]*>.*?</\1>", "", s, flags=re.S)
text = re.sub(r"<[^>]+>", "", text)
for mark in ("**", "`"):
    i = text.find(mark)
    assert i < 0, "literal %r in the rendered text: %r" % (mark, text[max(0, i - 40):i + 40])
PY
echo "report_html_test: ok"
