#!/usr/bin/env bash
# rows2csv_test.sh: result rows -> CSV: provenance columns first, union of keys, quoting,
# a malformed row rejected with file:line and no output file left behind; JSON escapes
# decoded; what is not JSON (duplicate keys, bare words, trailing text, raw control
# characters, lone surrogates) and a directory argument rejected with exit 2.
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
# Escapes: \u00e9 is e-acute, a surrogate pair one 4-byte character, \/ a slash.
printf '%s\n' '{"kind":"caf\u00e9 \ud83d\ude00 a\/b \"q\" tab\tend","n":-0.5e3}' >"$t/e.jsonl"
"$bin" --out "$t/e.csv" "$t/e.jsonl"
want=$(printf 'kind,n\n"caf\xc3\xa9 \xf0\x9f\x98\x80 a/b ""q"" tab\tend",-0.5e3')
[ "$(cat "$t/e.csv")" = "$want" ] || { echo "FAIL: escapes: got $(cat "$t/e.csv")"; exit 1; }
# Not JSON: exit 2, `rows2csv: FILE:LINE: reason` naming the problem, no output file.
reject() { # LINE-CONTENT WORD-OF-THE-REASON
	printf '%s\n' '{"ok":1}' "$1" >"$t/r.jsonl"
	local rc=0
	"$bin" --out "$t/r.csv" "$t/r.jsonl" 2>"$t/err" || rc=$?
	[ "$rc" = 2 ] || { echo "FAIL: '$1': exit $rc, not 2 ($(cat "$t/err"))"; exit 1; }
	grep -q "^rows2csv: $t/r.jsonl:2: .*$2" "$t/err" ||
		{ echo "FAIL: '$1': message '$(cat "$t/err")' lacks FILE:2 and '$2'"; exit 1; }
	[ "$(wc -l <"$t/err")" = 1 ] || { echo "FAIL: '$1': not one line"; exit 1; }
	[ ! -e "$t/r.csv" ] || { echo "FAIL: '$1': output written"; exit 1; }
}
reject '{"ops":1,"ops":2}' 'duplicate key "ops"'
reject '{"a":{"b":1,"b":2}}' 'duplicate key "b"'
reject '{"ops":1,"\u006fps":2}' 'duplicate key "ops"'
reject '{"frag":nan}' "invalid value 'nan'"
reject '{"ok":tru}' "invalid value 'tru'"
reject '{"ok":True}' "invalid value 'True'"
reject '{"n":010}' "invalid value '010'"
reject '{"n":0x10}' "invalid value '0x10'"
reject '{"n":1.}' "invalid value '1.'"
reject '{"n":1}x' 'text after'
reject '{"n":1}{"n":2}' 'text after'
reject '{"n":1,}' "trailing ','"
reject '{"n":[1,2,]}' "trailing ','"
reject "{'n':1}" 'expected a key'
reject '{"n":"a\qb"}' 'invalid escape'
reject '{"n":"\ud800"}' 'surrogate'
reject '{"n":"\u00e"}' 'four hex digits'
reject "$(printf '{"n":"a\tb"}')" 'control character'
reject "$(printf '{"n":"a\xffb"}')" 'UTF-8'
reject '{"n":"\u0000"}' 'NUL'
reject '{"n":"unterminated}' 'unterminated'
reject '{"n":}' 'where a value belongs'
reject '[1,2]' "expected '{'"
reject "{\"n\":$(printf '[%.0s' $(seq 70))" 'nesting deeper'
# A directory (or any unreadable argument) is an error, not an empty input.
mkdir "$t/dir"
rc=0
"$bin" --out "$t/d.csv" "$t/a.jsonl" "$t/dir" 2>"$t/err" || rc=$?
[ "$rc" = 2 ] && grep -q "^rows2csv: $t/dir: .*directory" "$t/err" && [ ! -e "$t/d.csv" ] ||
	{ echo "FAIL: directory argument: exit $rc, '$(cat "$t/err")'"; exit 1; }
rc=0
"$bin" "$t/missing.jsonl" 2>"$t/err" >/dev/null || rc=$?
[ "$rc" = 2 ] && grep -q "^rows2csv: $t/missing.jsonl: No such file" "$t/err" ||
	{ echo "FAIL: missing file: exit $rc, '$(cat "$t/err")'"; exit 1; }
grep -q usage <<<"$("$bin" --help)"
if "$bin" --bogus 2>/dev/null; then echo "FAIL: bad flag accepted"; exit 1; fi
echo "rows2csv_test: ok"
