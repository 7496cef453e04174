#!/usr/bin/env bash
# guest_commands.sh: the guest's commands and their one-line help, as `-- help` prints them
# in a booted guest, read from guest/commands.c's table (guest_commands[]) without
# booting one (`make help` shows them). Exit 1 with one line when the table is not found.
# Usage: scripts/guest_commands.sh
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
src=$(cd "$(dirname "$0")/.." && pwd)/guest/commands.c
out=$(awk '/^const struct command guest_commands\[\] = \{/ {f = 1; next}
	f && /^\};/ {exit}
	f {t = t $0}
	END {
		# {"name", "help" "more help", handler}: adjacent literals joined as C does.
		gsub(/"[ \t]+"/, "", t)
		while (match(t, /\{"[^"]*", *"[^"]*"/)) {
			e = substr(t, RSTART + 2, RLENGTH - 3)
			n = index(e, "\"")
			name = substr(e, 1, n - 1)
			sub(/^[^"]*", *"/, "", e)
			printf "  %-10s %s\n", name, e
			t = substr(t, RSTART + RLENGTH)
		}
	}' "$src")
[ -n "$out" ] || { echo "guest_commands: $src: no guest_commands[] table found" >&2; exit 1; }
printf '%s\n' "$out"
