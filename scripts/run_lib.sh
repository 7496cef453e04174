# run_lib.sh: the engine runners and the workload helpers of scripts/run.sh (sourced).
#
# A case is one line "ID ENGINE COMBO WORKLOAD CPUS" (space separated). COMBO is
# phys-virt-heap (heap talc, slab or null, the harness ceiling) or a peer allocator
# (glibc, jemalloc, tcmalloc, mimalloc, snmalloc); WORKLOAD is a trace path, gen:NAME, frame_churn
# or va:NAME; CPUS is 1 (the serial, deterministic replay), 1p (the parallel replay on
# one CPU: the baseline of the scaling curves) or N (the parallel replay on N CPUs;
# trace thread t runs on CPU t % N). Each runner run_ENGINE CASE... writes the case's
# rows to $tmp (one JSON object per line) and returns 0, or prints one line and returns
# non-zero. The caller checks the rows' kind, adds "case":ID and renames $tmp into place.

# Strategy lists from the Makefile (the one place that names them).
mk_list() {
	sed -n "s/^$1 *:= *//p" "$repo/Makefile"
}

# The generators of workloads/core/gen.c, as mtb_host --help lists them.
gen_names() {
	"$bin/mtb_host" --help | awk '/^  --gen NAME/ {f=1; for (i=3;i<=NF;i++) print $i; next}
		f && /^  +[a-z_0-9 ]+$/ && !/--/ {for (i=1;i<=NF;i++) print $i; next} {f=0}'
}

# The malloc traces a sweep replays: ../shared/traces/malloc next to the repository (or
# $MTB_TRACES), plus workloads/traces/ (your own: `make traces`, record_traces.sh, or
# any file copied there). Every format the trace tool reads, by suffix (optionally .xz):
# .trc (allocrec), .mtb, .rec (libmtbrec.so), .rep (CS:APP), .log (valgrind),
# .txt (Android memory_replay), and .zip (an archive of one of them, as AOSP ships).
TRACE_SUFFIXES=".trc .mtb .rec .rep .log .txt"
trace_files() {
	local d x
	local names=(-name '*.zip')
	for x in $TRACE_SUFFIXES; do names+=(-o -name "*$x" -o -name "*$x.xz"); done
	for d in "${MTB_TRACES:-$repo/../shared/traces/malloc}" "$repo/workloads/traces"; do
		[ -d "$d" ] || continue
		d=$(cd "$d" && pwd)
		find "$d" -maxdepth 1 -type f \( "${names[@]}" \) | sort
	done
}

# Case id: engine.combo.workload.cN with anything odd turned into '_', dots in the
# workload too (sort.14676.trc and sort.99999.trc stay two workloads: wl_trace cuts
# the id at dots).
case_id() {
	local w
	w=$(wl_label "$3")
	w=${w//./_}
	printf '%s.%s.%s.c%s' "$1" "${2//:/_}" "$w" "$4" | tr -c 'A-Za-z0-9._\n-' '_'
}

# The name of a workload: its file name without the suffixes (gen:larson -> larson).
wl_label() {
	local w=${1##*/} x
	w=${w%.xz}
	w=${w%.zip}
	for x in $TRACE_SUFFIXES .vmt; do w=${w%"$x"}; done
	printf '%s\n' "${w#gen:}"
}

# The generators' names from workloads/core/gen.c's table, for run.sh --check before
# mtb_host is built (hermit_box is scripts/hermit_case.sh's, not the sweep's).
gen_names_src() {
	sed -n '/gen_names\[GEN_COUNT\] = {/,/};/p' "$repo/workloads/core/gen.c" |
		grep -o '"[a-z_0-9]*"' | tr -d '"' | grep -vx hermit_box
}

# --traces: from the names in $want_traces sets workloads (malloc traces, gen:NAME),
# picked_vw (address-space traces, mix) and want_fc (frame_churn 1 or 0). An unknown
# name is a usage error naming it and the known names (pick).
pick_traces() { # TRACE_FILES GENERATORS VMT_FILES (newline separated)
	local cand=() names=() c n f
	[ -z "$1" ] || mapfile -t cand <<<"$1"
	for n in $2; do cand+=("gen:$n"); done
	cand+=(va:mix)
	if [ -n "$3" ]; then while IFS= read -r f; do cand+=("va:$f"); done <<<"$3"; fi
	for c in "${cand[@]}"; do names+=("$(wl_label "${c#va:}")"); done
	pick --traces "$want_traces" "${names[@]}" frame_churn
	workloads=() picked_vw=() want_fc=0
	[[ " ${picked[*]} " == *" frame_churn "* ]] && want_fc=1
	for c in "${!cand[@]}"; do
		[[ " ${picked[*]} " == *" ${names[c]} "* ]] || continue
		case ${cand[c]} in va:*) picked_vw+=("${cand[c]#va:}") ;; *) workloads+=("${cand[c]}") ;; esac
	done
}

peer_names() { echo glibc jemalloc tcmalloc mimalloc snmalloc; }
is_peer() { case $1 in glibc | jemalloc | tcmalloc | mimalloc | snmalloc) return 0 ;; esac; return 1; }

gen_ops() { # the generator's op count: va_churn maps and unmaps (slow), so 1/40
	[ "$1" = va_churn ] && echo $((ops / 40 > 10 ? ops / 40 : 10)) || echo "$ops"
}

# ---- workloads: one .mtb per sweep, its memory size ----------------------------------
# The workload as a binary trace in $dir/traces/ (converted or generated once per sweep;
# every engine replays this file, so all replay the same ops). Generators get
# gen_threads threads (the largest CPU count of the sweep), so every point of a
# scaling curve replays the same trace.
wl_trace() {
	local w=$1 f
	f=$dir/traces/$(case_id x x "$w" 0 | cut -d. -f3).mtb
	if [ ! -f "$f" ]; then
		mkdir -p "$dir/traces"
		case $w in
		gen:*) "$bin/trace" gen "${w#gen:}" "$f.tmp.$BASHPID" --ops "$(gen_ops "${w#gen:}")" \
			--threads "$gen_threads" --seed "$seed" >/dev/null ;;
		*) "$bin/trace" convert "$w" "$f.tmp.$BASHPID" >/dev/null ;;
		esac || { rm -f "$f.tmp.$BASHPID"; echo "cannot convert $w" >&2; return 1; }
		mv "$f.tmp.$BASHPID" "$f"
	fi
	echo "$f"
}

# trace stats KEY of a trace file (ops, threads, peak_live, ...).
wl_stat() {
	"$bin/trace" stats "$1" | awk -v k="$2" '$1 == k {print $2}'
}

# The replay machine's memory for a workload, in MiB, the same on every engine: at
# least 128, else the power of two above 3 x peak live bytes + 32 MiB (talc's Hermit
# heap is 90% of what is free), at most 8192.
wl_mem() {
	local f=$1 peak m=128
	[ -f "$f.mib" ] && { cat "$f.mib"; return; } # computed once per sweep
	peak=$(wl_stat "$f" peak_live)
	while [ $((m << 20)) -lt $((3 * ${peak:-0} + (32 << 20))) ] && [ $m -lt 8192 ]; do m=$((m * 2)); done
	{ echo $m >"$f.mib.tmp.$BASHPID" && mv "$f.mib.tmp.$BASHPID" "$f.mib"; } 2>/dev/null || rm -f "$f.mib.tmp.$BASHPID"
	echo $m
}

# 0 if the workload has more than one thread (it gets the parallel points), 1 if one,
# 2 if its thread count cannot be read (trace stats's message on stderr).
wl_multi() {
	case $1 in gen:*) return 0 ;; esac
	local t
	t=$(wl_stat "$1" threads) && [[ $t =~ ^[0-9]+$ ]] || return 2
	[ "$t" -gt 1 ]
}

# ---- host engine: build/bin/mtb_host --------------------------------------------------
# The runners keep a tool's messages in memory (err=$(...)), not in a file beside the
# rows: on a full disk that file would be empty and the reason lost.
run_host() { # ID ENGINE COMBO WORKLOAD CPUS
	local combo=$3 w=$4 cpus=${5%p} args=(--mode parallel) f p v h err
	[ "$5" = 1 ] && args=(--mode serial)
	case $w in
	frame_churn) run_frame_churn; return ;;
	va:*) run_va_replay "${w#va:}"; return ;;
	esac
	f=$(wl_trace "$w") || return 1
	if is_peer "$combo"; then
		args+=(--heap "$combo")
	else
		IFS=- read -r p v h <<<"$combo"
		args+=(--phys "$p" --virt "$v" --heap "$h")
	fi
	# MTB_PERTURB is the guest side's knob (guest_prep): the host stays the reference.
	err=$(MTB_PERTURB= "$bin/mtb_host" --trace "$f" "${args[@]}" --mem "$(wl_mem "$f")" --cpus "$cpus" \
		--build "$build_id" --workload "$(wl_label "$w")" --out "$tmp" 2>&1 >/dev/null) || { printf '%s\n' "$err" >&2; return 1; }
}

# frame_bench's churn and metadata figures (both frame allocators in one run) as rows.
run_frame_churn() {
	local a=(--mem 256 --churn-mem 512 --seed "$seed") err
	[ "$quick" = 1 ] && a=(--mem 128 --churn-mem 64 --rounds 10 --seed "$seed")
	err=$("$bin/frame_bench" "${a[@]}" --out "$tmp.csv" 2>&1 >/dev/null) || { printf '%s\n' "${err##*$'\n'}" >&2; return 1; }
	awk -F, -v b="$build_id" 'NR > 1 && $3 == "frame_churn" && $7 ~ /^free_in_2m_blocks_[a-z]+$/ {
		v = $7; sub(/^free_in_2m_blocks_/, "", v)
		printf "{\"engine\":\"%s\",\"timing_trusted\":%s,\"kind\":\"frame_churn\",\"phys\":\"%s\",\"cpus\":%s,\"workload\":\"churn_%s\",\"seed\":%s,\"build\":\"%s\",\"fill_pct\":%s,\"variant\":\"%s\",\"free_2m_share\":%.6f}\n",
			$1, $2, $4, $5, v, $10, b, $6, v, $8 / 100 }' "$tmp.csv" >"$tmp" || return 1
	rm -f "$tmp.csv"
	[ -s "$tmp" ] || { echo "frame_bench wrote no churn rows" >&2; return 1; }
}

# build/bin/va_replay: one address-space trace (.vmt) or its generator (mix) on every
# VA strategy, kind=va_frag rows.
run_va_replay() {
	local a=(--trace "$1") err
	[ "$1" = mix ] && a=(--gen mix --ops "$((ops / 10))" --seed "$seed")
	err=$("$bin/va_replay" "${a[@]}" --virt all --build "$build_id" --out "$tmp" 2>&1 >/dev/null) ||
		{ grep -v '^va_replay: .* ops, ' <<<"$err" >&2; return 1; }
}

# The address-space traces (.vmt, .vmt.xz): ../shared/traces/vm (or $MTB_VM_TRACES), plus
# workloads/traces/ (your own: record_vmt.sh -o workloads/traces/NAME.vmt -- CMD).
vmt_files() {
	local d
	for d in "${MTB_VM_TRACES:-$repo/../shared/traces/vm}" "$repo/workloads/traces"; do
		[ -d "$d" ] || continue
		find "$(cd "$d" && pwd)" -maxdepth 1 -type f \( -name '*.vmt' -o -name '*.vmt.xz' \) | sort
	done
	return 0
}

# ---- guest engines: the guest kernel of the combination, replaying ----------------------
guest_elf() { echo "$repo/build/guest/$1/guest.elf"; }

# Sets g_elf, g_cmd (the guest's command line), g_trace, g_mem (guest RAM, MiB) for a
# guest case: COMBO WORKLOAD CPUS. The guest replays (serial at CPUS 1, replay=par
# otherwise) on a replay machine of wl_mem MiB (rmem=), as the host engine's --mem, so
# every deterministic metric must equal the host's; heap null runs on the PHYS-VIRT
# pair's talc kernel with heap=null. MTB_PERTURB=FIELD adds perturb=FIELD (a negative
# control: the cross-check must then fail).
guest_prep() {
	case $2 in va:*) guest_prep_va "$1" "${2#va:}"; return ;; esac
	local combo=$1 w=$2 n=$3 heap=${1##*-} mem nops blob
	[ "$heap" = null ] && combo=${combo%-null}-talc
	g_elf=$(guest_elf "$combo")
	[ -f "$g_elf" ] || { echo "guest $combo not built (make guests)" >&2; return 1; }
	g_trace=$(wl_trace "$w") || return 1
	mem=$(wl_mem "$g_trace")
	nops=$(wl_stat "$g_trace" ops)
	blob=$(stat -c %s "$g_trace")
	g_mem=$(((mem + (${nops:-0} * 160 + 3 * blob) / 1048576 + 128 + 63) / 64 * 64))
	g_cmd="rmem=$mem replay"
	[ "$n" = 1 ] || g_cmd="rmem=$mem replay=par"
	[ "$heap" = null ] && g_cmd="$g_cmd heap=null"
	[ -n "${MTB_PERTURB:-}" ] && g_cmd="$g_cmd perturb=$MTB_PERTURB"
	g_name=$(basename "$g_trace")
	return 0
}

# An address-space case (va:FILE.vmt, or va:mix) for a guest engine: the .vmt converted
# once per sweep (trace convert: the ops va_replay replays, same trace_hash), or the mix
# generated as run_va_replay's --gen mix generates it (trace gen va_churn with its size
# bounds and slots), and replayed by the guest's `vareplay` on the strategies va_replay's
# --virt all runs, with the same core (workloads/core/va_run.c), so every field but
# timing and the host's vmt_* parse counts must equal the host case's row
# (crosscheck.py). COMBO only picks the kernel (the VA strategies under test are not its
# VIRT); 256 MiB hold the bitmap's 10 MB of metadata for the 64 TiB window, the tree's
# nodes and the per-id table.
guest_prep_va() { # COMBO FILE|mix
	local gen=(gen va_churn "" --ops "$((ops / 10))" --seed "$seed" --slots 1000 --min-size 4096 --max-size 1073741824)
	g_elf=$(guest_elf "$1")
	[ -f "$g_elf" ] || { echo "guest $1 not built (make guests)" >&2; return 1; }
	g_trace=$dir/traces/vmt.$(case_id x x "$2" 0 | cut -d. -f3).mtb
	if [ ! -f "$g_trace" ]; then
		mkdir -p "$dir/traces"
		gen[2]=$g_trace.tmp.$BASHPID
		if [ "$2" = mix ]; then "$bin/trace" "${gen[@]}"; else "$bin/trace" convert "$2" "${gen[2]}"; fi >/dev/null ||
			{ rm -f "${gen[2]}"; echo "cannot convert $2" >&2; return 1; }
		mv "${gen[2]}" "$g_trace"
	fi
	g_mem=256
	g_cmd="vareplay"
	[ "$2" = mix ] && g_cmd="vareplay workload=mix"
	[ -n "${MTB_PERTURB:-}" ] && g_cmd="$g_cmd perturb=$MTB_PERTURB"
	g_name=$(basename "$2")
	return 0
}

# The guest names its trace "module0"; rows name it as the host engine does, and say
# how much RAM the guest had. A guest built from another commit than the sweep's is an
# error (its rows would be compared with the host's code of now: make guests).
guest_rows() {
	local b
	b=$(grep -o -m1 '"build":"[^"]*"' "$tmp.g" | cut -d'"' -f4)
	[ "$b" = "$build_id" ] || { echo "guest $g_elf was built from $b, the sweep is $build_id (make guests)" >&2; return 1; }
	sed -e "s/\"trace\":\"module0\"/\"trace\":\"$g_name\"/" \
		-e "s/^{/{\"guest_mem_mib\":$g_mem,/" "$tmp.g" >"$tmp" && rm -f "$tmp.g"
}

run_kvm() {
	guest_prep "$3" "$4" "${5%p}" || return 1
	# shellcheck disable=SC2086
	"$bin/vmm" --cpus "${5%p}" --mem "${g_mem}M" --timeout "$guest_timeout" --trace "$g_trace" \
		--out "$tmp.g" "$g_elf" -- $g_cmd >"$tmp.log" 2>&1 ||
		{ echo "vmm: $(grep -m1 -E 'vmm: |panic|replay: ' "$tmp.log" || tail -1 "$tmp.log")" >&2; return 1; }
	rm -f "$tmp.log"
	guest_rows
}

run_qemu() {
	local err
	guest_prep "$3" "$4" "${5%p}" || return 1
	# shellcheck disable=SC2086
	err=$("$repo/scripts/qemu_run.sh" --cpus "${5%p}" --mem "${g_mem}M" --timeout "$guest_timeout" \
		--elf "$g_elf" --trace "$g_trace" --out "$tmp.g" -- $g_cmd 2>&1 >"$tmp.log") ||
		{ echo "${err%%$'\n'*} $(grep -m1 'replay: ' "$tmp.log")" >&2; [ "$err" = "${err%%$'\n'*}" ] || printf '%s\n' "${err#*$'\n'}" >&2; return 1; }
	rm -f "$tmp.log"
	guest_rows
}

# libvirt_run.sh may start libvirt's daemons: they must not inherit the results
# directory's lock (run.sh's lock_fd), or the directory stays locked while they live.
# On a host of the queue (scripts/hosts_queue.sh: hq_uri set) the domain runs there, of
# the host's type; the status is libvirt_run.sh's (75: host lost, 124: guest hang).
run_libvirt() {
	local err rc=0 at=()
	guest_prep "$3" "$4" "${5%p}" || return 1
	[ -z "${hq_uri:-}" ] || at=(--uri "$hq_uri" --type "$hq_type" --kvm-kind "$hq_kvm")
	# shellcheck disable=SC2086
	err=$("$repo/scripts/libvirt_run.sh" "${at[@]}" --cpus "${5%p}" --mem "$g_mem" --timeout "$guest_timeout" \
		--trace "$g_trace" --out "$tmp.g" "$g_elf" -- $g_cmd 2>&1 >"$tmp.log" {lock_fd}>&-) || rc=$?
	if [ $rc -ne 0 ]; then
		echo "${err%%$'\n'*} $(grep -m1 'replay: ' "$tmp.log")" >&2
		[ "$err" = "${err%%$'\n'*}" ] || printf '%s\n' "${err#*$'\n'}" >&2
		return $rc
	fi
	rm -f "$tmp.log"
	guest_rows
}

# ---- writes that can fail (a full disk) ---------------------------------------------
# The OS's reason why DIR takes no write now ("No space left on device", "Disk quota
# exceeded", "Read-only file system"), from a 64 KiB probe file; nothing when it fits.
write_problem() { # DIR
	local p=$1/.probe.tmp.$BASHPID m
	m=$( { head -c 65536 /dev/zero >"$p"; } 2>&1)
	rm -f "$p"
	[ -z "$m" ] || printf '%s\n' "${m##*: }"
}

# The OS errors that stop a sweep: no write succeeds until someone frees space.
disk_errors=('No space left on device' 'Disk quota exceeded' 'Read-only file system' 'File too large')

# Prints the one of disk_errors that TEXT (a failing tool's messages) names or, failing
# that, one a write into DIR meets now (write_problem); 1 if neither.
disk_error() { # DIR TEXT
	local r p
	for r in "${disk_errors[@]}"; do [[ $2 == *"$r"* ]] && { echo "$r"; return 0; }; done
	p=$(write_problem "$1")
	for r in "${disk_errors[@]}"; do [[ $p == *"$r"* ]] && { echo "$r"; return 0; }; done
	return 1
}

# The reason of a failed write into DIR: disk_error's, else TEXT's first line.
io_reason() { # DIR TEXT
	disk_error "$1" "$2" || echo "${2%%$'\n'*}"
}

# Writes CMD's output into FILE atomically (FILE.tmp.PID, renamed once CMD and every
# write succeeded; CMD's stderr printed). 0, or 1 with io_err="FILE: reason" and the temp
# removed.
write_out() { # FILE CMD...
	local f=$1 t=$1.tmp.$BASHPID m rc=0
	shift
	m=$( { "$@" >"$t"; } 2>&1) || rc=$?
	[ $rc -ne 0 ] || m=$(mv "$t" "$f" 2>&1) || rc=$?
	if [ $rc -ne 0 ]; then
		rm -f "$t"
		io_err="$f: $(io_reason "$(dirname "$f")" "$m")"
		return 1
	fi
	[ -z "$m" ] || printf '%s\n' "$m" >&2
}

# A write into the results directory failed (a full disk): the temporary files removed
# (this run holds DIR's lock), the reason said, exit 1; finished cases are kept.
io_stop() { # WHAT
	find "$dir" \( -name '*.tmp.*' -o -name '*.tmp' \) -delete 2>/dev/null
	echo "run: stopped: $1; finished cases are kept, nothing partial: free space and rerun the same command to resume ($dir)" >&2
	exit 1
}

# The kind of rows a case must produce.
case_kind() {
	case $1 in frame_churn) echo frame_churn ;; va:*) echo va_frag ;; *) echo replay ;; esac
}

# ---- engine choice ----------------------------------------------------------------
# Prints the engine to use for "auto" and, on stderr, why when it is not kvm.
auto_engine() {
	local why
	if [ ! -e /dev/kvm ]; then
		why="/dev/kvm is absent"
	elif ! { : </dev/kvm; } 2>/dev/null; then
		why="/dev/kvm cannot be opened"
	else
		why=$("$bin/vmm" --dry-run "$(guest_elf buddy-bitmap-talc)" 2>/dev/null |
			sed -n 's/^host calibration:.*timings untrusted: //p')
		[ -z "$why" ] && { echo kvm; return; }
		why="KVM is emulated here ($why), so guest timings are untrusted"
	fi
	echo "run: default engine kvm not used: $why; falling back to the host engine (native, trusted timings)" >&2
	echo host
}
