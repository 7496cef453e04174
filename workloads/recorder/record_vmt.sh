#!/usr/bin/env bash
# record_vmt.sh: records a program's address-space trace (.vmt: mmap, munmap, mremap,
# brk, mprotect, madvise and exec of it and every process and thread it starts)
# with strace -f, converted by strace2vmt.py (format: workloads/FORMATS.md).
# build/bin/va_replay --trace OUT replays it on the VA allocators.
# Usage: record_vmt.sh [-o OUT.vmt] [--strace-log FILE] -- CMD [ARGS...]
#   OUT default: NAME.PID.vmt in the current directory (NAME: CMD's base name, PID:
#   its process id), so recordings never overwrite each other; an existing -o OUT is
#   refused. --strace-log keeps strace's own output. CMD's output is shown; its exit
#   status is reported, and the trace kept.
set -euo pipefail
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/out_lib.sh"
out= log=
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	-o) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift 2 ;;
	--strace-log) [ $# -ge 2 ] || { usage >&2; exit 2; }; log=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "record_vmt: unknown argument $1 (the command goes after --)" >&2; usage >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "record_vmt: no command (record_vmt.sh [-o OUT] -- CMD ...)" >&2; exit 2; }
command -v strace >/dev/null || { echo "record_vmt: strace not installed (scripts/deps.sh installs it)" >&2; exit 1; }
[ -z "$out" ] || [ ! -e "$out" ] || { echo "record_vmt: $out exists (not overwritten)" >&2; exit 1; }
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
rc=0
# --seccomp-bpf: only the traced calls stop the program; -s: whole exec paths
strace -f -q --seccomp-bpf -s 4096 -e trace=memory,process -e signal=none \
	-o "$w/strace.txt" -- "$@" || rc=$?
[ -s "$w/strace.txt" ] || { echo "record_vmt: strace recorded nothing (can this user ptrace?)" >&2; exit 1; }
[ "$rc" -eq 0 ] || echo "record_vmt: $1 exited with status $rc (trace kept)" >&2
[ -z "$log" ] || cp "$w/strace.txt" "$log"
if [ -z "$out" ]; then
	pid=$(head -1 "$w/strace.txt" | awk '{print $1}')
	out=$(basename "$1").$pid.vmt
	k=1
	while [ -e "$out" ]; do k=$((k + 1)); out=$(basename "$1").$pid.$k.vmt; done
fi
python3 "$here/strace2vmt.py" "$w/strace.txt" "$w/out.vmt"
out_install "$w/out.vmt" "$out" record_vmt || exit $?
echo "record_vmt: $out"
