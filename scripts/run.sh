#!/usr/bin/env bash
# run.sh: the default comparison behind `make run` (issue 7): every strategy combination
# (PHYS x VIRT x HEAP) plus the peer allocators, on the bundled traces and the synthetic
# generators, at 1 and N CPUs; rows into results/, plots into plots/.
#
# Usage: scripts/run.sh [options]
#   --engine E      kvm | qemu | libvirt | host | auto (default $ENGINE, else auto: kvm when
#                   the VMM's calibration finds hardware KVM, else the host engine, with the
#                   reason printed)
#   --cpus N        the second CPU count (default: nproc); cases run at 1 and N
#   --ops N         generator ops (default 1000000; va_churn 1/40)
#   --reps N        host engine: run each case N times, keep the median-throughput row
#                   (default 3; the deterministic metrics are the same in every run)
#   --quick         a tiny subset (2 traces, 2 generators, 20000 ops, 1 rep): for tests
#   --guest-check E also run a small guest part (every combination on the bundled traces
#                   at 1 CPU and larson at 1 and N) on engine E (kvm | qemu | none); default
#                   when the main engine is host: qemu (TCG) if installed, else kvm if
#                   /dev/kvm opens. Its rows cross-check the host's; timings not trusted.
#   --out DIR       results directory (default: results/latest if it is the same
#                   configuration, else a new results/run-TIMESTAMP; results/latest -> it)
#   --only REGEX    only the cases whose id matches REGEX (grep -E), e.g. 'gnu-ld\.c1$'
#   --fresh         start a new results/run-TIMESTAMP even if results/latest matches
#   --no-plots      skip the plots
#   --list          print the case list and exit
# Each case's rows land in DIR/cases/ID.jsonl (temp + rename), so a rerun skips finished
# cases and an interrupted one leaves no partial file. At the end DIR/rows.jsonl and
# DIR/rows.csv (build/bin/rows2csv) are rewritten, and plots/plot.sh draws DIR/plots/ and
# copies them to plots/. Failed cases are listed and make the exit status 1.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${MTB_BIN:-$repo/build/bin}
[[ $bin == /* ]] || bin=$repo/$bin
. "$repo/scripts/run_lib.sh"

die() { echo "run: $1" >&2; exit "${2:-2}"; }
engine=${ENGINE:-auto} ncpu_max=$(nproc) ops=1000000 reps=3 quick=0 out= fresh=0 plots=1 list=0
guest_check=auto only= seed=1 guest_timeout=${MTB_GUEST_TIMEOUT:-120}
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--engine | --cpus | --ops | --reps | --out | --guest-check | --only)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--engine) engine=$2 ;; --cpus) ncpu_max=$2 ;; --ops) ops=$2 ;; --out) out=$2 ;; --reps) reps=$2 ;;
		--guest-check) guest_check=$2 ;; --only) only=$2 ;;
		esac
		shift 2 ;;
	--quick) quick=1; shift ;;
	--fresh) fresh=1; shift ;;
	--no-plots) plots=0; shift ;;
	--list) list=1; shift ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
case $engine in auto | kvm | qemu | libvirt | host) ;; *) die "engine must be kvm, qemu, libvirt, host or auto, got '$engine'" ;; esac
case $guest_check in auto | kvm | qemu | none) ;; *) die "--guest-check must be kvm, qemu or none, got '$guest_check'" ;; esac
[[ $ncpu_max =~ ^[0-9]+$ ]] && [ "$ncpu_max" -ge 1 ] && [ "$ncpu_max" -le 64 ] || die "--cpus must be 1..64, got '$ncpu_max'"
[[ $ops =~ ^[0-9]+$ ]] && [ "$ops" -ge 10 ] || die "--ops must be a number >= 10, got '$ops'"
for b in mtb_host rows2csv; do
	[ -x "$bin/$b" ] || die "$bin/$b not built (make tools)" 1
done
[[ $reps =~ ^[0-9]+$ ]] && [ "$reps" -ge 1 ] && [ "$reps" -le 99 ] || die "--reps must be 1..99, got '$reps'"
[ "$quick" = 1 ] && ops=20000 reps=1

[ "$engine" = auto ] && engine=$(auto_engine)
case $engine in
kvm) { : </dev/kvm; } 2>/dev/null || die "engine kvm: /dev/kvm cannot be opened" 1
	[ -x "$bin/vmm" ] || die "engine kvm: $bin/vmm not built (make vmm)" 1
	why=$("$bin/vmm" --dry-run "$(guest_elf buddy-bitmap-talc)" 2>/dev/null | sed -n 's/^host calibration:.*timings untrusted: //p')
	[ -z "$why" ] || echo "run: warning: KVM is emulated here ($why): timings untrusted, and each case takes seconds" >&2 ;;
qemu) command -v qemu-system-x86_64 >/dev/null || die "engine qemu: qemu-system-x86_64 not installed (scripts/deps.sh)" 1 ;;
libvirt) command -v virsh >/dev/null || die "engine libvirt: virsh not installed (scripts/deps.sh)" 1 ;;
esac
# The guest check when the host engine is the timing source: QEMU TCG (on the
# development machines faster than their emulated KVM), else the VMM on /dev/kvm.
if [ "$guest_check" = auto ]; then
	guest_check=none
	if [ "$engine" = host ] && [ "$quick" = 0 ]; then
		if command -v qemu-system-x86_64 >/dev/null; then
			guest_check=qemu
		elif { : </dev/kvm; } 2>/dev/null && [ -x "$bin/vmm" ]; then
			guest_check=kvm
		fi
	fi
fi
build_id=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)

# ---- the case list ------------------------------------------------------------------
read -r -a PHYS <<<"$(mk_list PHYS_ALL)"
read -r -a VIRT <<<"$(mk_list VIRT_ALL)"
read -r -a HEAP <<<"$(mk_list HEAP_ALL)"
workloads=()
if [ "$quick" = 1 ]; then
	for t in $(trace_files); do case $t in */gnu-ld.* | */xz-T2.*) workloads+=("$t") ;; esac; done
	workloads+=(gen:larson gen:xmalloc)
else
	while read -r t; do workloads+=("$t"); done < <(trace_files)
	for g in $(gen_names); do workloads+=("gen:$g"); done
fi
[ ${#workloads[@]} -gt 0 ] || die "no workloads: no traces in ../shared/traces/malloc and no generators" 1
# 1 and N CPUs; "1p" is the parallel replay on one CPU (host engine, generators), the
# baseline of the scalability figures (1 alone is the serial, deterministic replay).
cpu_counts=(1)
[ "$ncpu_max" -gt 1 ] && cpu_counts+=(1p "$ncpu_max")

# A combination runs only when its strategies exist (linked into mtb_host; guests built
# from them); missing ones (not merged yet) are named. On the host engine, when no VA
# strategy exists at all, the test-support "simple" VA allocator stands in.
combos() { # host | guest
	local have_p have_v p v h stand= real=0
	have_p=" $("$bin/mtb_host" --list | sed -n 's/^phys //p') "
	have_v=" $("$bin/mtb_host" --list | sed -n 's/^virt //p') "
	for v in "${VIRT[@]}"; do
		if [[ $have_v == *" $v "* ]]; then real=1; else echo "run: VA strategy $v is not merged yet: its combinations are left out ($1)" >&2; fi
	done
	if [ $real = 0 ] && [ "$1" = host ]; then
		echo "run: the test-support VA allocator 'simple' stands in (combos P-simple-H)" >&2
		stand=simple
	fi
	for p in "${PHYS[@]}"; do
		[[ $have_p == *" $p "* ]] || { echo "run: frame strategy $p is not linked in: left out" >&2; continue; }
		for v in "${VIRT[@]}" $stand; do
			[[ $have_v == *" $v "* ]] || continue
			for h in "${HEAP[@]}"; do echo "$p-$v-$h"; done
		done
	done
}

make_cases() {
	local c w n e=$engine peers=(libc libc:jemalloc libc:mimalloc libc:tcmalloc)
	local list=()
	if [ "$e" = host ]; then
		mapfile -t list < <(combos host)
		[ "$quick" = 1 ] && peers=(libc)
		for c in "${peers[@]}"; do
			[ "$c" = libc ] || [ -f "$(peer_lib "$c")" ] && list+=("$c")
		done
	else
		mapfile -t list < <(combos guest)
	fi
	for c in "${list[@]}"; do
		for w in "${workloads[@]}"; do
			for n in "${cpu_counts[@]}"; do
				[ "$n" = 1p ] && [[ $w != gen:* || $e != host ]] && continue
				echo "$(case_id "$e" "$c" "$w" "$n") $e $c $w $n"
			done
		done
	done
	if [ "$e" = host ]; then
		[ -x "$bin/frame_bench" ] && echo "host.frame_churn.all.c1 host - frame_churn 1"
		if [ -x "$bin/va_replay" ]; then
			local vw=(mix)
			if [ "$quick" = 0 ]; then mapfile -t -O 1 vw < <(vmt_files); fi
			for w in "${vw[@]}"; do echo "$(case_id host va_frag "${w%.xz}" 1 | sed 's/\.vmt\././') host - va:$w 1"; done
		else
			echo "run: build/bin/va_replay not built yet (branch va-trace): no va_frag rows" >&2
		fi
	fi
	# The guest check: every combination on the bundled traces at 1 CPU (serial: its
	# deterministic metrics must equal the host's) and larson at 1 and N CPUs.
	if [ "$guest_check" != none ] && [ "$guest_check" != "$e" ]; then
		local gw=()
		for w in "${workloads[@]}"; do [[ $w == gen:* ]] || gw+=("$w|1"); done
		[ "$quick" = 1 ] && gw=("${gw[0]}")
		for n in "${cpu_counts[@]}"; do [ "$n" = 1p ] || gw+=("gen:larson|$n"); done
		for c in $(combos guest 2>/dev/null); do
			for w in "${gw[@]}"; do
				echo "$(case_id "$guest_check" "$c" "${w%|*}" "${w#*|}") $guest_check $c ${w%|*} ${w#*|}"
			done
		done
	fi
}

config="engine=$engine cpus=$ncpu_max ops=$ops reps=$reps quick=$quick guest_check=$guest_check only=$only build=$build_id"
mapfile -t cases < <(make_cases | { [ -n "$only" ] && awk -v re="$only" '$1 ~ re' || cat; })
[ ${#cases[@]} -gt 0 ] || die "no cases (no strategies linked into mtb_host?)" 1
if [ "$list" = 1 ]; then
	printf '%s\n' "${cases[@]}"
	exit 0
fi

# ---- the results directory ----------------------------------------------------------
if [ -z "$out" ]; then
	mkdir -p "$repo/results"
	latest=$repo/results/latest
	if [ "$fresh" = 0 ] && [ -f "$latest/config" ] && [ "$(cat "$latest/config")" = "$config" ]; then
		dir=$(cd "$latest" && pwd -P)
	else
		dir=$repo/results/run-$(date -u +%Y%m%d-%H%M%S)
	fi
else
	dir=$out
fi
mkdir -p "$dir/cases" "$dir/failed" || die "cannot create $dir" 1
dir=$(cd "$dir" && pwd -P)
if [ -z "$out" ]; then ln -sfn "$(basename "$dir")" "$repo/results/latest.tmp.$$" && mv -T "$repo/results/latest.tmp.$$" "$repo/results/latest"; fi
[ -f "$dir/config" ] && [ "$(cat "$dir/config")" != "$config" ] &&
	echo "run: note: $dir was started with another configuration ($(cat "$dir/config"))" >&2
echo "$config" >"$dir/config.tmp.$$" && mv "$dir/config.tmp.$$" "$dir/config"
find "$dir" -name '*.tmp.*' -delete # left by a run killed with SIGKILL
rm -f "$dir"/failed/*.txt # failures are retried

# Ctrl-C / kill: stop the case in flight, remove its temporary files, say where to resume.
tmp=
child=
on_signal() {
	trap - INT TERM
	[ -n "$child" ] && kill -TERM -- "-$child" 2>/dev/null && wait "$child" 2>/dev/null
	find "$dir" -name '*.tmp.*' -delete 2>/dev/null
	echo "run: interrupted; finished cases are kept, rerun the same command to resume ($dir)" >&2
	exit 130
}
trap on_signal INT TERM
set -m # each case runs in its own process group, so a signal stops all of it

# ---- the sweep -----------------------------------------------------------------------
fmt_s() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
# ETA: the cases still to run, each at its engine's mean so far (guess until one has
# run: host 1 s, qemu 3 s, kvm and libvirt 15 s).
declare -A spent count left
for c in "${cases[@]}"; do
	read -r id e _ <<<"$c"
	[ -f "$dir/cases/$id.jsonl" ] || left[$e]=$((${left[$e]:-0} + 1))
done
eta_s() {
	local e s=0 per
	for e in "${!left[@]}"; do
		if [ "${count[$e]:-0}" -gt 0 ]; then per=$((spent[$e] * 1000 / count[$e]))
		elif [ "$e" = host ]; then per=1000
		elif [ "$e" = qemu ]; then per=3000
		else per=15000; fi
		s=$((s + left[$e] * per))
	done
	fmt_s $((s / 1000))
}
total=${#cases[@]} done_n=0 ran=0 failed=0 t0=$(date +%s)
gc=
[ "$guest_check" != none ] && gc=", small guest check on $guest_check"
echo "run: engine $engine$gc; $total cases -> $dir"
for c in "${cases[@]}"; do
	read -r id e combo w n <<<"$c"
	done_n=$((done_n + 1))
	if [ -f "$dir/cases/$id.jsonl" ]; then
		continue
	fi
	left[$e]=$((left[$e] - 1))
	now=$(date +%s) el=$((now - t0))
	eta=$(eta_s)
	printf '[%d/%d] %s  elapsed %s  eta %s\n' "$done_n" "$total" "$id" "$(fmt_s $el)" "$eta"
	tmp=$dir/cases/$id.jsonl.tmp.$$
	rm -f "$dir/failed/$id.txt"
	set +e
	( "run_$e" "$id" "$e" "$combo" "$w" "$n" ) 2>"$dir/failed/$id.txt.tmp.$$" &
	child=$!
	wait "$child"
	rc=$?
	child=
	set -e
	ran=$((ran + 1))
	spent[$e]=$((${spent[$e]:-0} + $(date +%s) - now)) count[$e]=$((${count[$e]:-0} + 1))
	if [ $rc -eq 0 ] && grep -q "^{" "$tmp" 2>/dev/null; then
		sed "s/^{/{\"case\":\"$id\",/" "$tmp" >"$tmp.c" && mv "$tmp.c" "$dir/cases/$id.jsonl"
		rm -f "$tmp" "$tmp".* "$dir/failed/$id.txt.tmp.$$"
	else
		failed=$((failed + 1))
		msg=$(head -1 "$dir/failed/$id.txt.tmp.$$")
		echo "run: case $id failed: ${msg:-no rows (exit $rc)}" >&2
		echo "${msg:-no rows (exit $rc)}" >"$dir/failed/$id.txt.tmp.$$"
		mv "$dir/failed/$id.txt.tmp.$$" "$dir/failed/$id.txt"
		rm -f "$tmp" "$tmp".*
	fi
done
trap - INT TERM
el=$(($(date +%s) - t0))
echo "run: $total cases ($ran run now, $((total - ran)) already done), $failed failed, $(fmt_s $el)"

# ---- merged rows, CSV, plots ------------------------------------------------------------
rows=$dir/rows.jsonl
: >"$rows.tmp.$$"
for c in "${cases[@]}"; do
	f=$dir/cases/${c%% *}.jsonl
	[ -f "$f" ] && cat "$f" >>"$rows.tmp.$$"
done
mv "$rows.tmp.$$" "$rows"
[ -s "$rows" ] || die "no result rows in $dir" 1
"$bin/rows2csv" --out "$dir/rows.csv" "$rows"
echo "run: $(wc -l <"$rows") rows: $rows, $dir/rows.csv"
if [ "$plots" = 1 ]; then
	if "$repo/plots/plot.sh" --outdir "$dir/plots" "$dir/rows.csv" >"$dir/plots.log" 2>&1; then
		sed 's/^/  /' "$dir/plots.log"
		cp -f "$dir"/plots/*.png "$dir"/plots/*.svg "$repo/plots/"
		echo "run: plots in $dir/plots and plots/"
	else
		echo "run: warning: no plots: $(grep -m1 'nothing to draw\|plot:' "$dir/plots.log" | tail -1)" >&2
	fi
fi
if [ $failed -gt 0 ]; then
	echo "run: $failed cases failed (reasons in $dir/failed/); rerun to retry them" >&2
	exit 1
fi
