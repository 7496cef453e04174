#!/usr/bin/env bash
# rows2csv_test.sh: result rows -> CSV: provenance columns first, union of keys, quoting,
# a malformed row rejected with file:line and no output file left behind.
set -euo pipefail
bin=${MTB_BIN:-build/bin}/rows2csv
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
printf '%s\n' '{"ops":10,"kind":"replay","engine":"host","note":"a, \"b\""}' \
	'' '{"kind":"selftest","cpus":4,"hist":[1,2,3]}' >"$t/a.jsonl"
"$bin" --out "$t/a.csv" "$t/a.jsonl"
expect='engine,kind,cpus,ops,note,hist
host,replay,,10,"a, ""b""",
,selftest,4,,,"[1,2,3]"'
[ "$(cat "$t/a.csv")" = "$expect" ] || { echo "FAIL: got:"; cat "$t/a.csv"; exit 1; }
printf '%s\n' '{"ok":1}' '{"bad":1' >"$t/b.jsonl"
if "$bin" --out "$t/b.csv" "$t/b.jsonl" 2>"$t/err"; then echo "FAIL: accepted a bad row"; exit 1; fi
grep -q "b.jsonl:2:" "$t/err" || { echo "FAIL: no file:line in: $(cat "$t/err")"; exit 1; }
[ ! -e "$t/b.csv" ] && [ -z "$(ls "$t" | grep tmp || true)" ] || { echo "FAIL: partial output left"; exit 1; }
"$bin" --help | grep -q usage
if "$bin" --bogus 2>/dev/null; then echo "FAIL: bad flag accepted"; exit 1; fi
echo "rows2csv_test: ok"
