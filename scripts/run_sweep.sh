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

# One repetition of one case, run as a job (the caller waits for it at the top level,
# so an interrupt runs the trap at once): runs it, checks that every row is of the
# case's kind, renames the rows into cases/ID.rREP.jsonl and, after the last repetition,
# merges them. Exit 0, or 1 with the reason in failed/ID.txt and on stderr.
case_job() { # ID ENGINE COMBO WORKLOAD CPUS REP
	local id=$1 e=$2 rc=0 msg kind nrows nkind err=$dir/failed/$1.txt.tmp.$BASHPID
	tmp=$dir/cases/$id.jsonl.tmp.$BASHPID
	"run_$e" "$id" "$e" "$3" "$4" "$5" 2>"$err" || rc=$?
	kind=$(case_kind "$4")
	nrows=$(grep -c '^{' "$tmp" 2>/dev/null || true)
	nkind=$(grep -c "\"kind\":\"$kind\"" "$tmp" 2>/dev/null || true)
	msg=$(head -1 "$err")
	if [ $rc -eq 0 ] && [ "${nrows:-0}" -gt 0 ] && [ "$nkind" = "$nrows" ]; then
		sed "s/^{/{\"case\":\"$id\",/" "$tmp" >"$tmp.c" && mv "$tmp.c" "$dir/cases/$id.r$6.jsonl"
		rm -f "$tmp" "$tmp".*
		if [ "$6" != "${nrep[$id]}" ] || merge_case "$id" "$3" "$5" 2>"$err"; then
			rm -f "$err"
			return 0
		fi
		msg=$(head -1 "$err")
	elif [ $rc -eq 0 ] && [ "${nrows:-0}" -gt 0 ]; then
		msg="rows are not all kind=$kind ($(grep -o '"kind":"[a-z_]*"' "$tmp" | sort -u | tr '\n' ' '))"
	fi
	msg=${msg:-no rows (exit $rc)}
	echo "run: case $id failed: $msg" >&2
	echo "$msg" >"$err" && mv "$err" "$dir/failed/$id.txt"
	rm -f "$tmp" "$tmp".*
	return 1
}

# Cases whose every repetition is done but not yet merged (a run stopped in between).
for c in "${cases[@]}"; do
	read -r id _ combo _ n <<<"$c"
	[ -f "$dir/cases/$id.jsonl" ] || [ ! -f "$dir/cases/$id.r${nrep[$id]}.jsonl" ] && continue
	(merge_case "$id" "$combo" "$n") &
	child=$!
	wait "$child" || echo "run: case $id: cannot merge its repetitions" >&2
	child=
done

done_n=0 ran=0 failed=0
now_s t0
gc=
[ "$guest_check" != none ] && gc=", guest check on $guest_check"
echo "run: engine $engine$gc; CPUs $cpu_counts; ${#cases[@]} cases, $total runs ($reps repetitions of each timed case, interleaved) -> $dir"
for ((rep = 1; rep <= reps; rep++)); do
	for c in "${cases[@]}"; do
		read -r id e combo w n <<<"$c"
		[ "$rep" -le "${nrep[$id]}" ] || continue
		done_n=$((done_n + 1))
		if [ -f "$dir/cases/$id.jsonl" ] || [ -f "$dir/cases/$id.r$rep.jsonl" ] || [ -f "$dir/failed/$id.txt" ]; then
			continue
		fi
		left[$e]=$((left[$e] - 1))
		now_s now
		fmt_s $((now - t0)) el
		eta_s eta
		rs=
		[ "${nrep[$id]}" -gt 1 ] && rs=" rep $rep/${nrep[$id]}"
		printf '[%d/%d] %s%s  elapsed %s  eta %s\n' "$done_n" "$total" "$id" "$rs" "$el" "$eta"
		ran=$((ran + 1))
		set +e
		(case_job "$id" "$e" "$combo" "$w" "$n" "$rep") &
		child=$!
		wait "$child"
		rc=$?
		child=
		set -e
		[ $rc -eq 0 ] || failed=$((failed + 1))
		now_s t1
		spent[$e]=$((${spent[$e]:-0} + t1 - now)) count[$e]=$((${count[$e]:-0} + 1))
	done
done
trap - INT TERM
now_s t1
fmt_s $((t1 - t0)) el
echo "run: ${#cases[@]} cases, $total runs ($ran run now, $((total - ran)) already done), $failed failed, $el"

# ---- merged rows, cross-check, CSV, plots ------------------------------------------------
rows=$dir/rows.jsonl
: >"$rows.tmp.$$"
for c in "${cases[@]}"; do
	f=$dir/cases/${c%% *}.jsonl
	[ -f "$f" ] && cat "$f" >>"$rows.tmp.$$"
done
mv "$rows.tmp.$$" "$rows"
[ -s "$rows" ] || die "no result rows in $dir" 1
cross=0
# awk reads every line (a `grep -q` that stops early made printf die of SIGPIPE under
# pipefail on a full sweep, and the cross-check was silently skipped).
if printf '%s\n' "${cases[@]}" | awk '$2 != "host" { g = 1 } END { exit !g }'; then
	if python3 "$repo/scripts/crosscheck.py" --out "$dir/crosscheck.json" "$rows" >"$dir/crosscheck.log" 2>&1 &&
		python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["summary"]["pairs"] == 0)' "$dir/crosscheck.json"; then
		echo "run: $(tail -1 "$dir/crosscheck.log")"
	else
		cross=1
		grep -m5 -v '^crosscheck: [0-9]* host/guest pairs' "$dir/crosscheck.log" | sed 's/^/  /' >&2
		echo "run: the guest cross-check FAILED: $(tail -1 "$dir/crosscheck.log") (details: $dir/crosscheck.json)" >&2
	fi
else
	rm -f "$dir/crosscheck.json"
fi
"$bin/rows2csv" --out "$dir/rows.csv" "$rows"
echo "run: $(wc -l <"$rows") rows: $rows, $dir/rows.csv"
if [ "$plots" = 1 ]; then
	if "$repo/plots/plot.sh" --outdir "$dir/plots" "$dir/rows.csv" >"$dir/plots.log" 2>&1; then
		sed 's/^/  /' "$dir/plots.log"
		if [ -z "$out" ]; then # the default sweep refreshes the repository's plots/; --out never
			cp -f "$dir"/plots/*.png "$dir"/plots/*.svg "$repo/plots/"
			echo "run: plots in $dir/plots and plots/"
		else
			echo "run: plots in $dir/plots"
		fi
	else
		echo "run: warning: no plots: $(grep -m1 'nothing to draw\|plot:' "$dir/plots.log" | tail -1)" >&2
	fi
fi
if [ $failed -gt 0 ] || [ $cross -ne 0 ]; then
	[ $failed -gt 0 ] && echo "run: $failed cases failed (reasons in $dir/failed/); rerun to retry them" >&2
	exit 1
fi
echo "run: next: make report (results/report.md and report.html from $dir)"
