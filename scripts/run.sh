#!/usr/bin/env bash
# run.sh: the default comparison behind `make run`: every strategy combination
# (PHYS x VIRT x HEAP), the null heap (the harness ceiling) and the peer allocators, on
# the bundled traces and the synthetic generators, serial at 1 CPU and as scaling curves
# over CPU counts; a guest part cross-checks the host engine; rows into results/, plots.
#
# Usage: scripts/run.sh [options]
#   --engine E      kvm | qemu | libvirt | host | auto (default $ENGINE, else auto: kvm when
#                   the VMM's calibration finds hardware KVM, else the host engine, with the
#                   reason printed)
#   --cpus LIST     CPU counts of the scaling curves, e.g. 1,2,4,8 (a single N means 1, 2,
#                   4, ... N); default: powers of two up to the cores, and the cores. Counts
#                   above the cores run oversubscribed: their rows say so and are not trusted
#   --ops N         generator ops (default 1000000, or 500000 per CPU of the largest count
#                   above 2; va_churn 1/40)
#   --reps N        repetitions of each timed case, interleaved over the cases (all cases
#                   once, then again ...); rows give the median and a 95% interval (default 6:
#                   the fewest repetitions whose interval [min, max] covers 95%)
#   --quick         a tiny subset (2 traces, 2 generators, 20000 ops, 1 rep unless --reps):
#                   for tests
#   --guest-check E also replay in the guest on engine E (kvm | qemu | libvirt | none):
#                   every combination and the null heap on the bundled traces at 1 CPU
#                   (serial) and larson at every CPU count (parallel), and (not --quick) the
#                   address-space traces (.vmt) and mix in the guest's vareplay; default when the main
#                   engine is host: qemu (TCG) if installed, else kvm if /dev/kvm opens.
#                   scripts/crosscheck.py compares every deterministic metric with the
#                   host's: a mismatch fails the run. MTB_PERTURB=FIELD in the environment
#                   perturbs that metric in the guest (the check's negative control)
#   --out DIR       results directory (default: results/latest if it is the same
#                   configuration, else a new results/run-TIMESTAMP, -2, -3 ... when a run
#                   started in the same second has it; results/latest -> it)
#   --only REGEX    only the cases whose id matches REGEX (POSIX extended, as grep -E), e.g.
#                   'gnu-ld\.c1$'; an invalid REGEX, or one that matches no case, is an error
#   --phys LIST, --virt LIST, --heaps LIST
#                   only these frame / VA strategies / heaps (comma separated; heaps: our
#                   heaps, null and the peers); an unknown name is an error
#   --peers LIST    the peer allocators (comma separated: glibc, jemalloc, tcmalloc,
#                   mimalloc, snmalloc; or none); default: all (--quick: glibc), or only
#                   those --heaps names. Given with --heaps, both lists' peers run. A
#                   peer not installed is left out with a line (snmalloc: unless
#                   MTB_SNMALLOC_LIB names its library, README's peers)
#   --traces LIST   only these workloads, by name (comma separated): a bundled or recorded
#                   trace's file name without its suffixes (gnu-ld, sort.14676), a
#                   generator (larson), an address-space trace (gcc-O2-onelua) or its
#                   generator (mix), frame_churn; replaces --quick's subset. Unknown names
#                   are an error naming them and the known ones
#   --check         check the options and names only (nothing built needed), then exit 0
#                   (`make run` does this before it builds anything)
#   --fresh         start a new results/run-TIMESTAMP even if results/latest matches
#   --uri URI       run the libvirt cases on this libvirt host too (repeatable; e.g.
#                   qemu:///system, qemu+ssh://user@host[:port]/system?keyfile=KEY; implies
#                   --engine libvirt): one worker per host takes the next case. Hosts are
#                   checked first, a failing one left out; a host lost mid-sweep is marked
#                   out and its case runs elsewhere (README: sweeps over several hosts)
#   --hosts FILE    the URIs of FILE (one a line, # comments), as --uri each
#   --no-plots      skip the plots
#   --list          print the case list and exit
# Rows carry the build id `git describe --always --dirty` (MTB_BUILD_ID overrides it, for a
# copy of the tree without .git; guests must carry the same id).
# Each case's rows land in DIR/cases/ID.jsonl (repetitions in ID.rK.jsonl, merged by
# scripts/merge_reps.py when all are done; temp + rename), so a rerun skips finished work
# and an interrupted one leaves no partial file. At the end DIR/rows.jsonl, DIR/rows.csv,
# DIR/crosscheck.json are rewritten and plots/plot.sh draws DIR/plots/ (copied to plots/
# unless --out was given).
# Failed cases are listed and make the exit status 1, as does a cross-check mismatch.
# One sweep per results directory at a time: a second one is refused (exit 1, naming the
# first one's pid; DIR/.lock, flock). A write that fails (a full disk: ENOSPC, a quota)
# stops the sweep with the reason and the summary, exit 1, nothing partial kept under a
# final name: free space and rerun the same command to resume.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${MTB_BIN:-$repo/build/bin}
[[ $bin == /* ]] || bin=$repo/$bin
. "$repo/scripts/run_lib.sh"
. "$repo/scripts/hosts_queue.sh"

die() { echo "run: $1" >&2; exit "${2:-2}"; }
ncores=$(nproc)
engine=${ENGINE:-auto} cpus_arg= ops= reps=6 reps_set=0 quick=0 out= fresh=0 plots=1 list=0
guest_check=auto only= seed=1 guest_timeout=${MTB_GUEST_TIMEOUT:-300} uris=()
check=0
unset want_phys want_virt want_heaps want_peers_opt want_traces # set: the option was given (an empty value is an error)
args0=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	--engine | --cpus | --ops | --reps | --out | --guest-check | --only | --phys | --virt | --heaps | --peers | --traces | --uri | --hosts)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--engine) engine=$2 ;; --cpus) cpus_arg=$2 ;; --ops) ops=$2 ops_set=1 ;; --out) out=$2 ;; --reps) reps=$2 reps_set=1 ;;
		--guest-check) guest_check=$2 ;; --only) only=$2 ;;
		--phys) want_phys=$2 ;; --virt) want_virt=$2 ;; --heaps) want_heaps=$2 ;;
		--peers) want_peers_opt=$2 ;; --traces) want_traces=$2 ;;
		--uri) uri_split "$2" || die "--uri: not a libvirt URI: '$2'"; uris+=("$2") ;;
		--hosts) [ -f "$2" ] && [ -r "$2" ] || die "--hosts: $2: cannot read"
			n=${#uris[@]}
			mapfile -t -O "$n" uris < <(hosts_read "$2")
			[ ${#uris[@]} -gt "$n" ] || die "--hosts: $2: no URI in it"
			for u in "${uris[@]}"; do uri_split "$u" || die "--hosts: $2: not a libvirt URI: '$u'"; done ;;
		esac
		shift 2 ;;
	--quick) quick=1; shift ;;
	--fresh) fresh=1; shift ;;
	--no-plots) plots=0; shift ;;
	--list) list=1; shift ;;
	--check) check=1; shift ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
case $engine in auto | kvm | qemu | libvirt | host) ;; *) die "engine must be kvm, qemu, libvirt, host or auto, got '$engine'" ;; esac
# Names first: a misspelt one is the only message, before the engine is probed.
if [ "$check" = 0 ] && [ -n "${want_phys+x}${want_virt+x}${want_heaps+x}${want_peers_opt+x}${want_traces+x}" ]; then
	bash "$0" --check "${args0[@]}" || exit $?
fi
case $guest_check in auto | kvm | qemu | libvirt | none) ;; *) die "--guest-check must be kvm, qemu, libvirt or none, got '$guest_check'" ;; esac
if [ ${#uris[@]} -gt 0 ]; then
	[ "$engine" = auto ] && engine=libvirt
	[ "$engine" = libvirt ] || die "--uri and --hosts run the libvirt engine, not '$engine'"
fi
# The CPU counts: a list, or N meaning the powers of two up to N and N.
cpu_list() {
	local a=$1 n c out=()
	if [[ $a =~ ^[0-9]+$ ]]; then
		for ((c = 1; c < a; c *= 2)); do out+=("$c"); done
		out+=("$a")
	else
		IFS=, read -r -a out <<<"$a"
	fi
	for n in "${out[@]}"; do
		[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 64 ] || return 1
	done
	printf '%s\n' "${out[@]}" | sort -n -u | tr '\n' ' '
}
[ -n "$cpus_arg" ] || cpus_arg=$ncores
cpu_counts=$(cpu_list "$cpus_arg" | sed "s/ $//") || die "--cpus must be a list of 1..64 (e.g. 1,2,4) or one count, got '$cpus_arg'"
[ -z "${ops_set:-}" ] || { [[ $ops =~ ^[0-9]+$ ]] && [ "$ops" -ge 10 ]; } || die "--ops must be a number >= 10, got '$ops'"
[[ $reps =~ ^[0-9]+$ ]] && [ "$reps" -ge 1 ] && [ "$reps" -le 99 ] || die "--reps must be 1..99, got '$reps'"
# The same regex engine checks --only and selects the cases: bash's =~ (POSIX ERE) is 2
# for a pattern that does not compile.
if [ -n "$only" ]; then
	rc=0
	[[ "" =~ $only ]] || rc=$?
	[ $rc -ne 2 ] || die "--only: invalid regular expression '$only'"
fi
# --check (before `make run` builds anything) needs no binaries.
[ "$check" = 1 ] || for b in mtb_host rows2csv trace; do
	[ -x "$bin/$b" ] || die "$bin/$b not built (make tools)" 1
done
[ "$quick" = 1 ] && ops=20000
[ "$quick" = 1 ] && [ "$reps_set" = 0 ] && reps=1
[ "$quick" = 1 ] && [ "$cpus_arg" = "$ncores" ] && cpu_counts="1 2"
max_cpus=$(echo $cpu_counts | awk '{print $NF}')
gen_threads=$((max_cpus > 2 ? max_cpus : 2))
# Generator ops: 500,000 per CPU of the largest count, at least 1,000,000, so a point of
# the curve runs its CPUs for tens of ms (1,000,000 ops on 16 CPUs is 3-5 ms there: thread
# start-up, not the heap, shows, and the null heap stops at 6x).
[ -n "$ops" ] || ops=$((max_cpus > 2 ? max_cpus * 500000 : 1000000))

[ "$engine" = auto ] && [ "$check" = 0 ] && engine=$(auto_engine)
[ "$check" = 1 ] || case $engine in
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
build_id=${MTB_BUILD_ID:-$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)}
# The machine every row names (rows2csv: cpu_model, cores, mem_bytes, kernel, kvm).
machine=
[ "$check" = 1 ] || machine=$("$bin/mtb_host" --context) || die "$bin/mtb_host --context failed" 1

# ---- the case list ------------------------------------------------------------------
# Every step that can fail runs here, its status checked: a listing that fails stops the
# run with its message (never a shorter sweep without a word).
listing_die() { die "case listing: $1" 1; }
[ "$check" = 1 ] || host_list=$("$bin/mtb_host" --list) || listing_die "$bin/mtb_host --list failed"
read -r -a PHYS <<<"$(mk_list PHYS_ALL)"
read -r -a VIRT <<<"$(mk_list VIRT_ALL)"
read -r -a HEAP <<<"$(mk_list HEAP_ALL)"
[ ${#PHYS[@]} -gt 0 ] && [ ${#VIRT[@]} -gt 0 ] && [ ${#HEAP[@]} -gt 0 ] ||
	listing_die "no PHYS_ALL, VIRT_ALL or HEAP_ALL in $repo/Makefile"
read -r -a all_peers <<<"$(peer_names)"
# Sets picked=(the names of LIST) for OPTION LIST KNOWN...: an empty or unknown name is a
# usage error naming it.
pick() {
	local opt=$1 n
	[[ $2 =~ ^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$ ]] || die "$opt: not a comma-separated list of names: '$2'"
	IFS=, read -r -a picked <<<"$2"
	for n in "${picked[@]}"; do
		[[ " ${*:3} " == *" $n "* ]] || die "$opt: unknown name '$n' (known: ${*:3})"
	done
}
null_heap=1 want_peers= want_fc=1
if [ -n "${want_phys+x}" ]; then pick --phys "$want_phys" "${PHYS[@]}" && PHYS=("${picked[@]}"); fi
if [ -n "${want_virt+x}" ]; then pick --virt "$want_virt" "${VIRT[@]}" && VIRT=("${picked[@]}"); fi
if [ -n "${want_heaps+x}" ]; then
	pick --heaps "$want_heaps" "${HEAP[@]}" null "${all_peers[@]}"
	HEAP=() null_heap=0 want_peers=" "
	for h in "${picked[@]}"; do
		if [ "$h" = null ]; then null_heap=1; elif is_peer "$h"; then want_peers+="$h "; else HEAP+=("$h"); fi
	done
fi
if [ -n "${want_peers_opt+x}" ]; then
	picked=()
	[ "$want_peers_opt" = none ] || pick --peers "$want_peers_opt" "${all_peers[@]}"
	[ -n "$want_peers" ] || want_peers=" "
	for h in "${picked[@]}"; do [[ $want_peers == *" $h "* ]] || want_peers+="$h "; done
fi
tf=$(trace_files) || listing_die "cannot list the bundled traces"
if [ "$check" = 1 ] && [ ! -x "$bin/mtb_host" ]; then
	gn=$(gen_names_src) || listing_die "cannot list the generators (workloads/core/gen.c)"
else
	gn=$(gen_names) || listing_die "cannot list the generators ($bin/mtb_host --help)"
fi
workloads=()
if [ -n "${want_traces+x}" ]; then
	vt=$(vmt_files) || listing_die "cannot list the address-space traces"
	pick_traces "$tf" "$gn" "$vt"
	[ "$check" = 1 ] && exit 0
elif [ "$check" = 1 ]; then
	exit 0
elif [ "$quick" = 1 ]; then
	for t in $tf; do case $t in */gnu-ld.* | */xz-T2.*) workloads+=("$t") ;; esac; done
	workloads+=(gen:larson gen:xmalloc)
else
	[ -z "$tf" ] || mapfile -t workloads <<<"$tf"
	for g in $gn; do workloads+=("gen:$g"); done
fi
[ ${#workloads[@]} -gt 0 ] || [ -n "${want_traces+x}" ] ||
	die "no workloads: no traces in ../shared/traces/malloc and no generators" 1
multi=() # workloads with more than one thread: they get the scaling points
for w in "${workloads[@]}"; do
	rc=0
	wl_multi "$w" || rc=$?
	case $rc in 0) multi+=("$w") ;; 1) ;; *) listing_die "cannot read the thread count of $w (trace stats)" ;; esac
done
# The address-space workloads: the host (va_replay) runs its mix generator and (not in
# --quick) the .vmt traces; a guest engine (its `vareplay`), the main one or the guest
# check, runs both when not --quick; --traces picks them by name instead.
vts=()
if [ -n "${want_traces+x}" ]; then
	vw=("${picked_vw[@]}")
	gvw=("${picked_vw[@]}")
else
	if [ "$quick" = 0 ]; then
		vt=$(vmt_files) || listing_die "cannot list the address-space traces"
		[ -z "$vt" ] || mapfile -t vts <<<"$vt"
	fi
	vw=(mix)
	[ "$engine" = host ] && [ -x "$bin/va_replay" ] && vw+=("${vts[@]}")
	gvw=()
	[ "$quick" = 0 ] && gvw=(mix "${vts[@]}")
fi

# A combination runs only when its strategies exist (linked into mtb_host; guests built
# from them); missing ones are named.
have_p=" $(sed -n 's/^phys //p' <<<"$host_list") "
have_v=" $(sed -n 's/^virt //p' <<<"$host_list") "
have_peers=" $(sed -n 's/^peers //p' <<<"$host_list") "
combos() { # host | guest
	local p v h
	for p in "${PHYS[@]}"; do
		[[ $have_p == *" $p "* ]] || { echo "run: frame strategy $p is not linked in: left out" >&2; continue; }
		for v in "${VIRT[@]}"; do
			[[ $have_v == *" $v "* ]] || { echo "run: VA strategy $v is not linked in: left out ($1)" >&2; continue; }
			for h in "${HEAP[@]}"; do echo "$p-$v-$h"; done
		done
	done
}

# CPU points of a workload: 1 (serial) for all; 1p and every count above 1 for the
# multi-threaded ones.
points() {
	local w=$1 m n
	echo 1
	for m in "${multi[@]}"; do
		[ "$m" = "$w" ] || continue
		echo 1p
		for n in $cpu_counts; do [ "$n" -gt 1 ] && echo "$n"; done
	done
}

# The case lines (pure: everything that can fail ran above).
make_cases() {
	local c w n e=$engine list=() peers=() nulls=() cl
	[ "$null_heap" = 1 ] && nulls=("${PHYS[0]}-${VIRT[0]}-null")
	cl=$(combos "$( [ "$e" = host ] && echo host || echo guest)")
	[ -z "$cl" ] || mapfile -t list <<<"$cl"
	list+=("${nulls[@]}")
	if [ -n "$want_peers" ]; then read -r -a peers <<<"$want_peers"
	elif [ "$quick" = 1 ]; then peers=(glibc)
	else peers=("${all_peers[@]}"); fi
	for c in "${list[@]}"; do
		for w in "${workloads[@]}"; do
			for n in $(points "$w"); do
				echo "$(case_id "$e" "$c" "$w" "$n") $e $c $w $n"
			done
		done
	done
	# The peers run in this process's host engine, whatever the main engine.
	for c in "${peers[@]}"; do
		[[ $have_peers == *" $c "* ]] || { echo "run: peer $c not installed: left out" >&2; continue; }
		for w in "${workloads[@]}"; do
			for n in $(points "$w"); do echo "$(case_id host "$c" "$w" "$n") host $c $w $n"; done
		done
	done
	if [ "$e" = host ]; then
		[ -x "$bin/frame_bench" ] && [ "$want_fc" = 1 ] && echo "host.frame_churn.all.c1 host - frame_churn 1"
		if [ -x "$bin/va_replay" ] && [ ${#vw[@]} -gt 0 ]; then
			for w in "${vw[@]}"; do echo "$(case_id host va_frag "${w%.xz}" 1 | sed 's/\.vmt\././') host - va:$w 1"; done
		fi
	elif [ ${#list[@]} -gt 0 ]; then # a guest engine: the .vmt traces in the first kernel
		for w in "${gvw[@]}"; do echo "$(case_id "$e" va_frag "${w%.xz}" 1) $e ${list[0]} va:$w 1"; done
	fi
	# The guest check: every combination and the null heap on the bundled traces at 1 CPU
	# (serial: every deterministic metric must equal the host's) and larson at every
	# count (parallel: the metrics the trace fixes).
	if [ "$guest_check" != none ] && [ "$guest_check" != "$e" ]; then
		local gw=()
		for w in "${workloads[@]}"; do [[ $w == gen:* ]] || gw+=("$w|1"); done
		[ "$quick" = 1 ] && [ ${#gw[@]} -gt 0 ] && gw=("${gw[0]}") # no bundled traces: larson only
		for n in $cpu_counts; do gw+=("gen:larson|$n"); done
		local gc
		gc=$(combos guest 2>/dev/null)
		for c in $gc "${nulls[@]}"; do
			for w in "${gw[@]}"; do
				echo "$(case_id "$guest_check" "$c" "${w%|*}" "${w#*|}") $guest_check $c ${w%|*} ${w#*|}"
			done
		done
		# The address-space workloads the host replays, in the guest's `vareplay` (every
		# VA strategy runs in any kernel: the first one's).
		if [ "$e" = host ] && [ -x "$bin/va_replay" ] && [ -n "$gc" ]; then
			for w in "${gvw[@]}"; do
				echo "$(case_id "$guest_check" va_frag "${w%.xz}" 1) $guest_check ${gc%%$'\n'*} va:$w 1"
			done
		fi
	fi
}

config="engine=$engine cpus=${cpu_counts// /,} ops=$ops reps=$reps quick=$quick guest_check=$guest_check only=$only perturb=${MTB_PERTURB:-} build=$build_id"
filt="${only:+ --only '$only'}${want_phys+ --phys $want_phys}${want_virt+ --virt $want_virt}${want_heaps+ --heaps $want_heaps}"
filt="$filt${want_peers_opt+ --peers $want_peers_opt}${want_traces+ --traces $want_traces}"
[ -z "${want_phys+x}${want_virt+x}${want_heaps+x}" ] || config="$config phys=${want_phys:-} virt=${want_virt:-} heaps=${want_heaps:-}"
[ -z "${want_peers_opt+x}${want_traces+x}" ] || config="$config peers=${want_peers_opt:-} traces=${want_traces:-}"
listing=$(make_cases) || listing_die "failed"
cases=()
while IFS= read -r c; do
	[ -n "$c" ] || continue
	[ -z "$only" ] || [[ ${c%% *} =~ $only ]] || continue
	cases+=("$c")
done <<<"$listing"
if [ ${#cases[@]} -eq 0 ]; then
	[ -n "$filt" ] && die "no cases match$filt"
	die "no cases" 1
fi
if [ "$list" = 1 ]; then
	printf '%s\n' "${cases[@]}"
	exit 0
fi
# The hosts, checked with a guest image of the sweep (the heap null runs on talc's).
if [ ${#uris[@]} -gt 0 ]; then
	lv=
	for c in "${cases[@]}"; do
		read -r _ e combo _ <<<"$c"
		[ "$e" = libvirt ] && { lv=${combo%-null}; break; }
	done
	[ "$lv" = "$combo" ] || lv=$lv-talc
	[ -z "$lv" ] || [ -f "$(guest_elf "$lv")" ] || die "guest $lv not built (make guests)" 1
	[ -z "$lv" ] || hq_select "$(guest_elf "$lv")"
fi

# ---- the results directory ----------------------------------------------------------
# A new results/run-TIMESTAMP, or run-TIMESTAMP-N when a run started in the same second
# took that name (mkdir is atomic: each run gets its own).
new_run_dir() {
	local base i m
	base=$repo/results/run-$(date -u +%Y%m%d-%H%M%S)
	for ((i = 1; i < 1000; i++)); do
		d=$base
		[ $i = 1 ] || d=$base-$i
		m=$(mkdir "$d" 2>&1) && return 0
		[ -e "$d" ] || { echo "$m" >&2; return 1; }
	done
	return 1
}
if [ -z "$out" ]; then
	mkdir -p "$repo/results" || die "cannot create $repo/results" 1
	latest=$repo/results/latest
	if [ "$fresh" = 0 ] && [ -f "$latest/config" ] && [ "$(cat "$latest/config")" = "$config" ]; then
		dir=$(cd "$latest" && pwd -P)
	else
		new_run_dir || die "cannot create a run directory in $repo/results" 1
		dir=$d
	fi
else
	dir=$out
fi
mkdir -p "$dir/cases" "$dir/failed" || die "cannot create $dir" 1
dir=$(cd "$dir" && pwd -P)

# One sweep per results directory: DIR/.lock, held (flock) by this run and the processes
# it starts (a case job orphaned by a SIGKILL keeps the directory until it ends), holds
# this run's pid. A second sweep is refused, naming the first's.
exec {lock_fd}>>"$dir/.lock" || die "$dir/.lock: cannot open" 1
if ! flock -n "$lock_fd"; then
	holder= # the holder writes its pid just after it took the lock: wait for it (bounded)
	for ((i = 0; i < 50; i++)); do
		read -r holder <"$dir/.lock" 2>/dev/null || holder=
		[ -n "$holder" ] && kill -0 "$holder" 2>/dev/null && break
		sleep 0.1
	done
	[ -z "$holder" ] || kill -0 "$holder" 2>/dev/null || holder="$holder, ended; a process it started still runs"
	die "$dir is in use by another sweep (pid ${holder:-unknown}); wait for it to end or give another --out" 1
fi
# Written in place (a rename would put a new, unlocked file under the name).
{ printf '%s\n' "$$" >"$dir/.lock"; } 2>/dev/null || die "$dir/.lock: $(io_reason "$dir" "")" 1
trap '[ -z "${dir:-}" ] || { : >"$dir/.lock"; } 2>/dev/null || true' EXIT # never the exit status
# Left by a run killed with SIGKILL; removed only now, holding the lock: no other sweep's.
find "$dir" \( -name '*.tmp.*' -o -name '*.tmp' \) -delete
rm -rf "$dir/queue" # the host queue's claims (scripts/hosts_queue.sh): stale now
if [ -z "$out" ]; then
	ln -sfn "$(basename "$dir")" "$repo/results/latest.tmp.$$" && mv -T "$repo/results/latest.tmp.$$" "$repo/results/latest" ||
		{ rm -f "$repo/results/latest.tmp.$$"; die "cannot point $repo/results/latest to $dir" 1; }
fi
[ -f "$dir/config" ] && [ "$(cat "$dir/config")" != "$config" ] &&
	echo "run: note: $dir was started with another configuration ($(cat "$dir/config"))" >&2
write_out "$dir/config" printf '%s\n' "$config" || io_stop "$io_err"
rm -f "$dir"/failed/*.txt # failures are retried

# Ctrl-C / kill: stop the case in flight, remove its temporary files, say where to resume.
tmp=
child=
on_signal() {
	trap - INT TERM
	[ -n "$child" ] && kill -TERM -- "-$child" 2>/dev/null && wait "$child" 2>/dev/null
	hq_stop_workers
	rm -rf "$dir/queue"
	find "$dir" \( -name '*.tmp.*' -o -name '*.tmp' \) -delete 2>/dev/null
	echo "run: interrupted; finished cases are kept, rerun the same command to resume ($dir)" >&2
	exit 130
}
trap on_signal INT TERM
set -m # each case runs in its own process group, so a signal stops all of it

. "$repo/scripts/run_sweep.sh"
