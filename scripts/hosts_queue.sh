# hosts_queue.sh: the libvirt cases of a sweep spread over several hosts (sourced by
# scripts/run.sh; the queue itself runs from scripts/run_sweep.sh).
#
# One worker per host (a background process of run.sh, under the results directory's
# lock). A worker claims the next case that is neither finished (cases/ID.jsonl), failed
# (failed/ID.txt) nor claimed, by mkdir DIR/queue/ID.claim (atomic: one worker wins), runs
# it with case_job (rows written atomically, as on one host), and releases the claim only
# after the case file is in place: a case is never run twice nor lost. A host is lost
# when a case ends with libvirt_run.sh's 75 (connection, daemon or ssh gone), with a
# guest hang (124: the first hang of a case; a second one fails the case, the guest is to
# blame), or with any failure after which the host no longer answers: the worker writes
# nothing of the case, releases its claim (another host takes it), marks the host out
# (DIR/queue/out.NAME, a line in DIR/hosts.log) and ends. DIR/queue is removed when a
# sweep starts (its claims are stale then): an interrupted sweep resumes from its case
# files. Invariant: a case runs only while its worker holds ID.claim, and the claim goes
# only once cases/ID.jsonl (or failed/ID.txt) is in place or nothing of the case is kept.
. "$(dirname "${BASH_SOURCE[0]}")/hosts_lib.sh"

hq_line=() # the hosts that passed the check: NAME<TAB>URI<TAB>TYPE<TAB>KVM<TAB>QEMU<TAB>CPU
hq_pids=() # the workers

# A name per host: the URI's host name, "-2", "-3" ... when two URIs share it.
hq_name_for() { # URI
	local base n k=1
	base=$(uri_name "$1") n=$base
	while [[ " ${hq_names[*]} " == *" $n "* ]]; do k=$((k + 1)) n=$base-$k; done
	echo "$n"
}

# Checks every URI of uris[] (host_check) with a guest ELF of the sweep: fills hq_line,
# prints one line per host (its kind, or why it is left out); exit 1 when none is left.
hq_select() { # ELF
	local u name r ty kvm q cpu
	hq_names=() hq_out=()
	for u in "${uris[@]}"; do
		name=$(hq_name_for "$u")
		hq_names+=("$name")
		if r=$(host_check "$u" "$1"); then
			IFS=$'\t' read -r ty kvm q cpu <<<"$r"
			hq_line+=("$name"$'\t'"$u"$'\t'"$r")
			echo "run: host $name: KVM $kvm (domains type $ty), QEMU $q, CPU $cpu"
		else
			hq_out+=("$name: $r")
			echo "run: host $name ($u) left out: $r" >&2
		fi
	done
	[ ${#hq_line[@]} -gt 0 ] || die "no host left of ${#uris[@]} (reasons above)" 1
}

# Appends a line to DIR/hosts.log (the hosts' history: checks, losses, requeues).
hq_log() { printf '%s %s\n' "$(date -u +%FT%TZ)" "$1" >>"$dir/hosts.log" 2>/dev/null || true; }

# Called by case_job for a failed case on host $hq_name: 0 when the failure is the
# host's (the case goes back to the queue, the host out: logged), 1 when the case
# failed on its own (the host answers; a second hang).
hq_host_failed() { # ID RC MSG
	local why m=${3%"${3##*[![:space:]]}"}
	case $2 in
	75) why=$m ;;
	124)
		if [ -f "$dir/queue/$1.hang" ]; then
			echo "run: case $1 hung on $(cat "$dir/queue/$1.hang") too: the case fails, $hq_name stays" >&2
			return 1
		fi
		echo "$hq_name" >"$dir/queue/$1.hang"
		why="guest hang: $m" ;;
	*)
		timeout "${MTB_HOST_TIMEOUT:-60}" virsh -q -c "$hq_uri" version >/dev/null 2>&1 && return 1
		why="no answer after a failed case ($m)" ;;
	esac
	printf '%s\n' "$why" >"$dir/queue/out.$hq_name"
	echo "run: host $hq_name out: $why; case $1 back in the queue" >&2
	hq_log "host $hq_name out: $why"
	hq_log "case $1 back in the queue (from $hq_name)"
	return 0
}

# Claims the next free case of hq_cases: sets hq_c; 1 when none is free (hq_pending=1
# when other workers still hold some). hq_k: the cases finished, failed or claimed.
hq_claim() {
	local c id
	hq_pending=0 hq_k=0
	for c in "${hq_cases[@]}"; do
		id=${c%% *}
		if [ -f "$dir/cases/$id.jsonl" ] || [ -f "$dir/failed/$id.txt" ]; then
			hq_k=$((hq_k + 1))
		elif [ -d "$dir/queue/$id.claim" ] || ! mkdir "$dir/queue/$id.claim" 2>/dev/null; then
			hq_k=$((hq_k + 1)) hq_pending=1
		else
			echo "$hq_name" >"$dir/queue/$id.claim/host"
			hq_c=$c
			return 0
		fi
	done
	return 1
}

# The progress line of a claimed case: [k/total] over the whole sweep, the ETA over all
# hosts (the cases left at the mean case time so far, shared by the hosts still in).
hq_progress() { # ID
	local mean n_in left el eta now
	mean=$(awk '{ s += $2; n++ } END { print n ? int(s / n) : 15 }' "$dir/queue/spent" 2>/dev/null || echo 15)
	n_in=$((${#hq_line[@]} - $(find "$dir/queue" -maxdepth 1 -name 'out.*' | wc -l)))
	left=$((${#hq_cases[@]} - hq_k))
	now_s now
	fmt_s $((now - t0)) el
	fmt_s $((left * mean / (n_in > 0 ? n_in : 1))) eta
	printf '[%d/%d] %s on %s  elapsed %s  eta %s\n' "$((hq_base + hq_k + 1))" "$total" "$1" "$hq_name" "$el" "$eta" || true
}

# The fields every row of this host gets (JSON, escaped; case_rows puts them in).
hq_row_fields() { # NAME KVM CPU
	local cpu=${3//\\/\\\\}
	cpu=${cpu//\"/\\\"}
	printf '%s' "\"host\":\"$1\",\"host_kvm\":\"$2\",\"host_cpu\":\"$cpu\","
}

# One host's worker: claims and runs cases until none is left or the host is lost.
# Exit 0 when the queue is empty, 3 when the host is out, the case_job status (9, 10+i:
# a write failed) when the sweep must stop (DIR/queue/stop).
hq_worker() { # NAME URI TYPE KVM QEMU CPU
	local rc t id e combo w n now
	trap - INT TERM # run.sh's handler is the parent's: a worker just ends (its group with it)
	hq_name=$1 hq_uri=$2 hq_type=$3 hq_kvm=$4
	hq_fields=$(hq_row_fields "$1" "$4" "$6")
	while [ -d "$dir/queue" ] && [ ! -e "$dir/queue/stop" ]; do # no queue: the sweep ended
		if ! hq_claim; then
			[ "$hq_pending" = 1 ] || return 0
			sleep 0.5 # a claim held by another host: it may come back (host lost)
			continue
		fi
		read -r id e combo w n <<<"$hq_c"
		hq_progress "$id"
		now_s t
		rc=0
		(case_job "$id" "$e" "$combo" "$w" "$n" 1) || rc=$?
		now_s now
		case $rc in
		0) echo "$hq_name $((now - t))" >>"$dir/queue/spent" ;;
		1) echo "$hq_name" >>"$dir/queue/failed" ;;
		75) rm -rf "$dir/queue/$id.claim"; return 3 ;;
		*) echo "$rc" >"$dir/queue/stop"; rm -rf "$dir/queue/$id.claim"; return "$rc" ;;
		esac
		rm -rf "$dir/queue/$id.claim"
	done
}

# Starts the queue over hq_cases (the libvirt cases): a worker per host, each a job of
# its own process group (run.sh's set -m), their pids in hq_pids. The caller waits for
# them at the top level (an interrupt then runs run.sh's trap at once), then hq_finish.
hq_start() {
	local l f
	mkdir -p "$dir/queue"
	for l in "${hq_line[@]}"; do
		IFS=$'\t' read -r -a f <<<"$l"
		hq_log "host ${f[0]} in: ${f[1]} KVM ${f[3]} QEMU ${f[4]} CPU ${f[5]}"
		(hq_worker "${f[@]}") &
		hq_pids+=($!)
	done
	for l in "${hq_out[@]}"; do hq_log "host left out: $l"; done
}

# Ends the workers of an interrupted sweep: SIGTERM to each one's process group (its
# case's libvirt_run.sh destroys its domain), waiting until each group is gone (at most
# about a minute).
hq_stop_workers() {
	local p i
	for p in ${hq_pids[@]+"${hq_pids[@]}"}; do kill -TERM -- "-$p" 2>/dev/null || true; done
	for p in ${hq_pids[@]+"${hq_pids[@]}"}; do
		for ((i = 0; i < 600; i++)); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
	done
}

# After the workers: sets hq_ran and hq_failed (this run), hq_left (not run: every host
# out) and, when a write failed, hq_stop (case_job's status); names the hosts lost.
hq_finish() {
	local l f
	hq_pids=()
	hq_ran=0 hq_failed=0 hq_stop= hq_left=0
	[ ! -f "$dir/queue/spent" ] || hq_ran=$(wc -l <"$dir/queue/spent")
	[ ! -f "$dir/queue/failed" ] || hq_failed=$(wc -l <"$dir/queue/failed")
	[ ! -f "$dir/queue/stop" ] || hq_stop=$(cat "$dir/queue/stop")
	for l in "${hq_cases[@]}"; do
		[ -f "$dir/cases/${l%% *}.jsonl" ] || [ -f "$dir/failed/${l%% *}.txt" ] || hq_left=$((hq_left + 1))
	done
	for f in "$dir"/queue/out.*; do
		[ -e "$f" ] && echo "run: host ${f##*/out.} was lost: $(cat "$f")" >&2
	done
	rm -rf "$dir/queue" # read: its history is in hosts.log
	return 0
}
