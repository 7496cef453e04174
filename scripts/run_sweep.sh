# run_sweep.sh: the sweep of scripts/run.sh (sourced once the case list and the results
# directory are set): repetitions interleaved over the cases (every case's repetition 1,
# then every case's repetition 2, ...: a comparison of two cases is taken in the same
# rounds, not minutes apart), progress with an ETA, the repetitions merged into one row
# with medians and intervals (scripts/merge_reps.py), the host/guest cross-check
# (scripts/crosscheck.py), the CSV and the plots.

# Repetitions of a case: --reps for timed cases (the host engine, and a guest engine whose
# timings are trusted: hardware KVM), one for everything else (the guest check under
# QEMU TCG or emulated KVM, frame_churn and va_frag, which are not timed).
engine_trusted=0
[ "$engine" = kvm ] && [ -z "${why:-}" ] && engine_trusted=1
case_reps() { # ENGINE WORKLOAD
	case $2 in frame_churn | va:*) echo 1; return ;; esac
	if [ "$1" = host ] || { [ "$1" = kvm ] && [ "$engine_trusted" = 1 ]; }; then echo "$reps"; else echo 1; fi
}

# The loop below runs no command substitution: a signal arriving while bash parses one
# can break the trap (bash 5.2: "interrupt trap: unexpected EOF"). Helpers set variables.
fmt_s() { printf -v "$2" '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
now_s() { printf -v "$1" '%(%s)T' -1; }
# ETA: the runs still to do, each at its engine's mean so far (guess until one has
# run: host 1 s, qemu 4 s, kvm and libvirt 15 s).
declare -A spent count left nrep
total=0
for c in "${cases[@]}"; do
	read -r id e _ w _ <<<"$c"
	nrep[$id]=$(case_reps "$e" "$w")
	total=$((total + nrep[$id]))
	for ((r = 1; r <= nrep[$id]; r++)); do
		[ -f "$dir/cases/$id.jsonl" ] || [ -f "$dir/cases/$id.r$r.jsonl" ] || left[$e]=$((${left[$e]:-0} + 1))
	done
done
eta_s() { # VAR
	local e s=0 per
	for e in "${!left[@]}"; do
		if [ "${count[$e]:-0}" -gt 0 ]; then per=$((spent[$e] * 1000 / count[$e]))
		elif [ "$e" = host ]; then per=1000
		elif [ "$e" = qemu ]; then per=4000
		else per=15000; fi
		s=$((s + left[$e] * per))
	done
	fmt_s $((s / 1000)) "$1"
}

# Merges case id's repetition files into cases/ID.jsonl (strict: our heaps' serial rows,
# whose every non-timing field is deterministic). 0, or 1 with the reason on stderr.
merge_case() { # ID COMBO CPUS
	local id=$1 strict=() files=()
	[ "$3" = 1 ] && ! is_peer "$2" && strict=(--strict)
	for ((r = 1; r <= nrep[$id]; r++)); do files+=("$dir/cases/$id.r$r.jsonl"); done
	python3 "$repo/scripts/merge_reps.py" "${strict[@]}" "$dir/cases/$id.jsonl" "${files[@]}" &&
		rm -f "${files[@]}"
}
# Repetition files of merged cases (a run stopped between the merge and the removal).
for f in "$dir"/cases/*.r[0-9]*.jsonl; do
	[ -e "$f" ] && [ -f "${f%.r[0-9]*.jsonl}.jsonl" ] && rm -f "$f"
done

# The rows of FILE with "case":ID first and, where a row has no machine context (guest
# rows, frame_churn rows), the sweep's (mtb_host --context: the machine the engine ran
# on), so every row says its CPU model, cores, memory, kernel and KVM kind; a row without
# a workload (the guest's replay rows) gets the case's (wl_label of WORKLOAD).
case_rows() { # ID FILE WORKLOAD
	MTB_MACHINE=$machine MTB_HQ=${hq_fields:-} MTB_WL=$(wl_label "$3") awk -v id="$1" '
		function esc(v,    o, c, i) { # JSON string body (a backslash or quote escaped)
			for (i = 1; i <= length(v); i++) { c = substr(v, i, 1); o = o (c == "\\" || c == "\"" ? "\\" : "") c }
			return o }
		BEGIN { m = ENVIRON["MTB_MACHINE"]; m = substr(m, 2, length(m) - 2); hq = ENVIRON["MTB_HQ"]
			wl = esc(ENVIRON["MTB_WL"]) }
		{ sub(/\r$/, "") } # guest rows come through a serial console: CRLF
		/^\{.*\}$/ { s = substr($0, 2)
			if (m != "" && index(s, "\"cpu_model\":") == 0) s = substr(s, 1, length(s) - 1) "," m "}"
			if (index(s, "\"workload\":") == 0) s = "\"workload\":\"" wl "\"," s
			print "{\"case\":\"" id "\"," hq s; next }
		{ print }' "$2"
}

# One repetition of one case, run as a job (the caller waits for it at the top level,
# so an interrupt runs the trap at once): runs it, checks that every row is of the
# case's kind, renames the rows into cases/ID.rREP.jsonl and, after the last repetition,
# merges them. Exit 0; 1 with the reason in failed/ID.txt and on stderr; 10 + i when a
# write met disk_errors[i] (a full disk), 9 when another write failed: nothing of the
# case kept, the sweep stops.
case_job() { # ID ENGINE COMBO WORKLOAD CPUS REP
	local id=$1 e=$2 rc=0 said msg kind nrows nkind r i
	tmp=$dir/cases/$id.jsonl.tmp.$BASHPID
	# The runner's messages stay in memory: on a full disk a file of them is empty.
	said=$("run_$e" "$id" "$e" "$3" "$4" "$5" 2>&1 >/dev/null) || rc=$?
	kind=$(case_kind "$4")
	nrows=$(grep -c '^{' "$tmp" 2>/dev/null || true)
	nkind=$(grep -c "\"kind\":\"$kind\"" "$tmp" 2>/dev/null || true)
	msg=${said%%$'\n'*}
	if [ $rc -eq 0 ] && [ "${nrows:-0}" -gt 0 ] && [ "$nkind" = "$nrows" ]; then
		if write_out "$dir/cases/$id.r$6.jsonl" case_rows "$id" "$tmp" "$4"; then
			rm -f "$tmp" "$tmp".*
			[ "$6" = "${nrep[$id]}" ] || return 0
			said=$(merge_case "$id" "$3" "$5" 2>&1) && return 0
			msg=${said%%$'\n'*}
		else
			said=$io_err msg=$io_err
		fi
	elif [ $rc -eq 0 ] && [ "${nrows:-0}" -gt 0 ]; then
		msg="rows are not all kind=$kind ($(grep -o '"kind":"[a-z_]*"' "$tmp" | sort -u | tr '\n' ' '))"
	fi
	rm -f "$tmp" "$tmp".*
	msg=${msg:-no rows (exit $rc)}
	# On a host of the queue: a failure that is the host's puts the case back (75).
	[ -z "${hq_name:-}" ] || [ $rc -eq 0 ] || ! hq_host_failed "$id" "$rc" "$msg" || return 75
	if r=$(disk_error "$dir" "$said"); then
		echo "run: case $id not done: $msg" >&2
		for i in "${!disk_errors[@]}"; do [ "${disk_errors[i]}" != "$r" ] || return $((10 + i)); done
	fi
	echo "run: case $id failed: $msg" >&2
	write_out "$dir/failed/$id.txt" printf '%s\n' "$msg" && return 1
	echo "run: $io_err" >&2
	return 9
}

# Cases whose every repetition is done but not yet merged (a run stopped in between).
for c in "${cases[@]}"; do
	read -r id _ combo _ n <<<"$c"
	[ -f "$dir/cases/$id.jsonl" ] || [ ! -f "$dir/cases/$id.r${nrep[$id]}.jsonl" ] && continue
	(merge_case "$id" "$combo" "$n") &
	child=$!
	rc=0
	wait "$child" || rc=$?
	child=
	[ $rc -ne 0 ] || continue
	if r=$(disk_error "$dir" ""); then io_stop "$dir: $r"; fi
	echo "run: case $id: cannot merge its repetitions: it runs again" >&2
	rm -f "$dir/cases/$id".r[0-9]*.jsonl
done

done_n=0 ran=0 skipped=0 failed=0 stopped=
now_s t0
gc=
[ "$guest_check" != none ] && gc=", guest check on $guest_check"
echo "run: engine $engine$gc; CPUs $cpu_counts; ${#cases[@]} cases, $total runs ($reps repetitions of each timed case, interleaved) -> $dir"
for ((rep = 1; rep <= reps; rep++)); do
	for c in "${cases[@]}"; do
		read -r id e combo w n <<<"$c"
		[ "$rep" -le "${nrep[$id]}" ] || continue
		[ ${#hq_line[@]} -eq 0 ] || [ "$e" != libvirt ] || continue # the hosts' queue runs it
		done_n=$((done_n + 1))
		if [ -f "$dir/cases/$id.jsonl" ] || [ -f "$dir/cases/$id.r$rep.jsonl" ] || [ -f "$dir/failed/$id.txt" ]; then
			skipped=$((skipped + 1))
			continue
		fi
		left[$e]=$((left[$e] - 1))
		now_s now
		fmt_s $((now - t0)) el
		eta_s eta
		rs=
		[ "${nrep[$id]}" -gt 1 ] && rs=" rep $rep/${nrep[$id]}"
		printf '[%d/%d] %s%s  elapsed %s  eta %s\n' "$done_n" "$total" "$id" "$rs" "$el" "$eta" || true
		ran=$((ran + 1))
		set +e
		(case_job "$id" "$e" "$combo" "$w" "$n" "$rep") &
		child=$!
		wait "$child"
		rc=$?
		child=
		set -e
		if ((rc >= 9 && rc < 10 + ${#disk_errors[@]})); then
			stopped="a write failed"
			[ $rc -eq 9 ] || stopped=${disk_errors[rc - 10]}
			ran=$((ran - 1))
			break 2
		fi
		[ $rc -eq 0 ] || failed=$((failed + 1))
		now_s t1
		spent[$e]=$((${spent[$e]:-0} + t1 - now)) count[$e]=$((${count[$e]:-0} + 1))
	done
done
# The libvirt cases over the hosts of --uri / --hosts (scripts/hosts_queue.sh).
hq_left=0
if [ ${#hq_line[@]} -gt 0 ] && [ -z "$stopped" ]; then
	hq_cases=()
	for c in "${cases[@]}"; do
		read -r id e _ <<<"$c"
		[ "$e" = libvirt ] || continue
		hq_cases+=("$c")
		[ -f "$dir/cases/$id.jsonl" ] || [ -f "$dir/failed/$id.txt" ] || continue
		skipped=$((skipped + 1))
	done
	hq_base=$done_n
	hq_start
	for p in "${hq_pids[@]}"; do wait "$p" || true; done
	hq_finish
	ran=$((ran + hq_ran)) failed=$((failed + hq_failed))
	if [ -n "$hq_stop" ]; then
		stopped="a write failed"
		[ "$hq_stop" -eq 9 ] || stopped=${disk_errors[hq_stop - 10]}
	fi
fi
trap - INT TERM
now_s t1
fmt_s $((t1 - t0)) el
left=$((total - ran - skipped))
if [ -z "$stopped" ] && [ "$hq_left" = 0 ]; then left=; else left=", $left not run"; fi
echo "run: ${#cases[@]} cases, $total runs ($ran run now, $skipped already done$left), $failed failed, $el" || true
[ -z "$stopped" ] || io_stop "$dir: $stopped"
[ "$hq_left" = 0 ] || die "every host is out (reasons above): $hq_left cases not run; finished cases are kept, rerun the same command to resume ($dir)" 1

# ---- merged rows, cross-check, CSV, plots ------------------------------------------------
# Each output is written whole or not at all (write_out; the tools write temp + rename):
# a write that fails for want of space stops the run (io_stop), resumable.
rows=$dir/rows.jsonl
cat_rows() {
	local c f
	for c in "${cases[@]}"; do
		f=$dir/cases/${c%% *}.jsonl
		[ ! -f "$f" ] || cat "$f"
	done
}
write_out "$rows" cat_rows || io_stop "$io_err"
[ -s "$rows" ] || die "no result rows in $dir" 1
cross=0 plot_failed=0
# awk reads every line (a `grep -q` that stops early made printf die of SIGPIPE under
# pipefail on a full sweep, and the cross-check was silently skipped). Only a sweep
# with host-engine cases of our combinations has a reference: a guest-engine sweep
# (--engine kvm|qemu|libvirt, no guest check) has none, and is not failed for that.
if printf '%s\n' "${cases[@]}" |
	awk '$2 != "host" { g = 1 } $2 == "host" && $3 ~ /^[a-z]+-[a-z]+-[a-z]+$/ { h = 1 } END { exit !(g && h) }'; then
	crc=0
	clog=$(python3 "$repo/scripts/crosscheck.py" --out "$dir/crosscheck.json" "$rows" 2>&1) || crc=$?
	if [ $crc -ne 0 ] && r=$(disk_error "$dir" "$clog"); then io_stop "$dir/crosscheck.json: $r"; fi
	write_out "$dir/crosscheck.log" printf '%s\n' "$clog" || io_stop "$io_err"
	if [ $crc -eq 0 ] &&
		python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["summary"]["pairs"] == 0)' "$dir/crosscheck.json"; then
		echo "run: ${clog##*$'\n'}"
	else
		cross=1
		{ grep -m5 -v '^crosscheck: [0-9]* host/guest pairs' <<<"$clog" || true; } | sed 's/^/  /' >&2
		echo "run: the guest cross-check FAILED: ${clog##*$'\n'} (details: $dir/crosscheck.json)" >&2
	fi
else
	rm -f "$dir/crosscheck.json"
fi
m=$("$bin/rows2csv" --out "$dir/rows.csv" "$rows" 2>&1) || {
	r=$(disk_error "$dir" "$m") && io_stop "$dir/rows.csv: $r"
	die "${m%%$'\n'*}" 1
}
echo "run: $(wc -l <"$rows") rows: $rows, $dir/rows.csv"

# The default sweep refreshes the repository's plots/ (each file copied to a private temp
# and renamed: a reader never sees half a figure); --out never.
copy_plots() {
	local f t
	for f in "$dir"/plots/*.png "$dir"/plots/*.svg; do
		[ -f "$f" ] || continue
		t=$repo/plots/.${f##*/}.tmp.$$
		cp "$f" "$t" && mv "$t" "$repo/plots/${f##*/}" || { rm -f "$t"; return 1; }
	done
}
if [ "$plots" = 1 ]; then
	prc=0
	plog=$("$repo/plots/plot.sh" --outdir "$dir/plots" "$dir/rows.csv" 2>&1) || prc=$?
	if [ $prc -ne 0 ] && [ $prc -ne 3 ] && r=$(disk_error "$dir/plots" "$plog"); then
		m=$(grep -m1 -F "$r" <<<"$plog" || true)
		m=${m#plot: }
		io_stop "${m:-$dir/plots: $r}"
	fi
	write_out "$dir/plots.log" printf '%s\n' "$plog" || io_stop "$io_err"
	if [ $prc -eq 0 ]; then
		sed 's/^/  /' <<<"$plog"
		if [ -n "$out" ]; then
			echo "run: plots in $dir/plots"
		elif copy_plots; then
			echo "run: plots in $dir/plots and plots/"
		else
			plot_failed=1
			echo "run: plots in $dir/plots; cannot copy them to $repo/plots/" >&2
		fi
	elif [ $prc -eq 3 ]; then
		echo "run: warning: no plots: $(grep -m1 'nothing to draw' <<<"$plog")" >&2
	else
		plot_failed=1
		echo "run: plots failed: ${plog##*$'\n'} (log: $dir/plots.log)" >&2
	fi
fi
# The headline figures in the terminal (the report has the rest, with its rows).
python3 "$repo/scripts/headline.py" "$dir" || echo "run: warning: no headline table (scripts/headline.py above)" >&2
if [ $failed -gt 0 ] || [ $cross -ne 0 ] || [ $plot_failed -ne 0 ]; then
	[ $failed -gt 0 ] && echo "run: $failed cases failed (reasons in $dir/failed/); rerun to retry them" >&2
	exit 1
fi
echo "run: next: make report (results/report.md and report.html from $dir)"
