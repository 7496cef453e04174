# put_lib.sh: sourced by plot.sh and bench_plot.sh. put PROG FILE CMD... runs CMD with its
# output into FILE through FILE.tmp.PID, renamed only when CMD succeeded and wrote
# something; on a failure the temp goes, "PROG: FILE: reason" (the failing writer's own
# words: gnuplot writes through cat, which reports a write error where gnuplot would
# not) goes to stderr and the script exits 1. CMD's other messages are passed on.
put() {
	local p=$1 f=$2 t=$2.tmp.$$ m rc=0
	shift 2
	m=$( { "$@" >"$t"; } 2>&1) || rc=$?
	[ $rc -ne 0 ] || [ -s "$t" ] || { rc=1; m="${m:+$m; }nothing written"; }
	[ $rc -ne 0 ] || m=$(mv "$t" "$f" 2>&1) || rc=$?
	if [ $rc -ne 0 ]; then
		rm -f "$t"
		case $m in
		*'write error: '*) m=${m##*write error: } ;;
		*'No space left on device'*) m='No space left on device' ;;
		esac
		echo "$p: $f: ${m//$'\n'/; }" >&2
		exit 1
	fi
	[ -z "$m" ] || printf '%s\n' "$m" >&2
}
