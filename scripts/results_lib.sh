# results_lib.sh: shared by the engine runners (sourced, not run).
# results_collect LOG ENGINE TRUSTED OUT: prints the guest's console (minus result lines),
# writes its result rows to OUT (scripts/out_lib.sh: never replacing a FIFO, device or
# symlink) with "engine" and "timing_trusted" inserted (guest/abi.h) when the guest
# exited 0 (else OUT is left as it was), and returns the guest's exit code from the "@@EXIT <code>" line
# (1 with a message when the guest panicked or never said how it ended).
. "$(dirname "${BASH_SOURCE[0]}")/out_lib.sh"

kvm_is_accelerated() {
	grep -qwE 'vmx|svm' /proc/cpuinfo 2>/dev/null && [ -w /dev/kvm ]
}

results_collect() {
	local log=$1 engine=$2 trusted=$3 out=$4 code rows
	[ -f "$log" ] || { echo "$engine: no serial log" >&2; return 1; }
	grep -av '^@@R ' "$log" | grep -av '^@@EXIT ' || true
	code=$(grep -a -m1 '^@@EXIT ' "$log" | awk '{print $2}' | tr -d '\r')
	if [ -z "$code" ]; then
		if grep -aq 'panic' "$log"; then
			echo "$engine: guest panicked: $(grep -a -m1 'panic' "$log")" >&2
		else
			echo "$engine: guest ended without an exit code (crash or triple fault?)" >&2
		fi
		return 1
	fi
	# OUT only from a guest that exited 0: a failed run leaves it as it was.
	if [ -n "$out" ] && [ "$code" = 0 ]; then
		rows=$(mktemp)
		grep -a '^@@R {' "$log" |
			sed "s/^@@R {/{\"engine\":\"$engine\",\"timing_trusted\":$trusted,/" >"$rows" &&
			out_install "$rows" "$out" "$engine" || { rm -f "$rows"; return 1; }
		rm -f "$rows"
	fi
	return "$code"
}
