# out_lib.sh: sourced by scripts with an --out FILE. out_install SRC OUT PROG puts the
# content of the file SRC at OUT as the C tools' --out does (workloads/host/out_file.h):
#   - a regular file or a new path: a private temp file beside it (mktemp OUT.tmp.XXXXXX),
#     synced, then renamed over it: OUT holds the old content or all of the new;
#   - a symlink (chain): followed, its last target replaced as above, the links kept;
#   - a FIFO, a device, /dev/stdout and other /proc fd links: written through (appending,
#     so an fd's earlier content stays), never replaced;
#   - a directory: refused.
# Errors: one line "PROG: cannot write OUT: REASON" on stderr, status 1 (2 for a
# directory); OUT untouched and no temp file left.

# The last name of PATH's symlink chain (it may not exist); empty when a link of the
# chain lives in /proc (an fd: written through); status 1 after 40 links.
out_last() {
	local p=$1 l n=0
	while [ -L "$p" ]; do
		[ "$(stat -f -c %T -- "$(dirname -- "$p")")" != proc ] || { echo; return 0; }
		[ $((n += 1)) -le 40 ] || return 1
		l=$(readlink -- "$p")
		case $l in /*) p=$l ;; *) p=$(dirname -- "$p")/$l ;; esac
	done
	printf '%s\n' "$p"
}

# out_fail OUT PROG REASON: the one-line error; status 1.
out_fail() {
	echo "$2: cannot write $1: $3" >&2
	return 1
}

# out_install SRC OUT PROG: see the top of this file.
out_install() {
	local src=$1 out=$2 prog=$3 last tmp err mode
	last=$(out_last "$out") || { out_fail "$out" "$prog" "Too many levels of symbolic links"; return; }
	[ ! -d "$out" ] || { out_fail "$out" "$prog" "Is a directory"; return 2; }
	if [ -z "$last" ] || { [ -e "$last" ] && [ ! -f "$last" ]; }; then
		# fd 4: this shell's stdout, so that /dev/stdout opens it, not the $(...) pipe
		{ err=$(cat -- "$src" 2>&1 >&4 4>&- >>"$out"); } 4>&1 || out_fail "$out" "$prog" "${err##*: }"
		return
	fi
	tmp=$(mktemp -- "$last.tmp.XXXXXX" 2>&1) || { out_fail "$out" "$prog" "${tmp##*: }"; return; }
	mode=$(printf '%o' $((0666 & ~0$(umask))))
	[ ! -e "$last" ] || mode=$(stat -c %a -- "$last")
	if ! err=$({ chmod "$mode" -- "$tmp" && cat -- "$src" >"$tmp" && sync -- "$tmp" &&
		mv -fT -- "$tmp" "$last"; } 2>&1); then
		rm -f -- "$tmp"
		out_fail "$out" "$prog" "${err##*: }"
	fi
}
