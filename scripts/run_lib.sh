# run_lib.sh: the engine runners and the case list of scripts/run.sh (sourced, not run).
#
# A case is one line "ID ENGINE COMBO WORKLOAD CPUS" (space separated; COMBO is
# phys-virt-heap, or a peer heap like libc:jemalloc; WORKLOAD is a trace path, gen:NAME,
# frame_churn or va:NAME). Each engine is one runner function run_ENGINE CASE... that
# writes the case's result rows to the file $tmp (one JSON object per line) and returns
# 0, or prints one line and returns non-zero. The caller adds "case":ID to every row
# and renames $tmp into place, so a case file exists only when it is complete.

# Strategy lists from the Makefile (the one place that names them).
mk_list() {
	sed -n "s/^$1 *:= *//p" "$repo/Makefile"
}

# The generators of workloads/core/gen.c, as mtb_host --help lists them.
gen_names() {
	"$bin/mtb_host" --help | awk '/^  --gen NAME/ {f=1; for (i=3;i<=NF;i++) print $i; next}
		f && /^  +[a-z_0-9 ]+$/ && !/--/ {for (i=1;i<=NF;i++) print $i; next} {f=0}'
}

# The bundled traces: ../shared/traces/malloc next to the repository (or
# $MTB_TRACES), plus workloads/traces/ when `make traces` has recorded some.
trace_files() {
	local d
	for d in "${MTB_TRACES:-$repo/../shared/traces/malloc}" "$repo/workloads/traces"; do
		[ -d "$d" ] || continue
		d=$(cd "$d" && pwd)
		find "$d" -maxdepth 1 -type f \( -name '*.trc.xz' -o -name '*.trc' -o -name '*.mtb' \) | sort
	done
}

# Case id: engine.combo.workload.cN with anything odd turned into '_'.
case_id() {
	local w=${3##*/}
	w=${w%.xz}
	w=${w%.trc}
	w=${w#gen:}
	printf '%s.%s.%s.c%s' "$1" "${2//:/_}" "$w" "$4" | tr -c 'A-Za-z0-9._\n-' '_'
}

# ---- host engine: build/bin/mtb_host ------------------------------------------------
peer_lib() {
	case $1 in
	libc:jemalloc) echo /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ;;
	libc:mimalloc) echo /usr/lib/x86_64-linux-gnu/libmimalloc.so.2 ;;
	libc:tcmalloc) echo /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ;;
	esac
}

gen_ops() { # the generator's op count: va_churn maps and unmaps (slow), so 1/40
	[ "$1" = va_churn ] && echo $((ops / 40 > 10 ? ops / 40 : 10)) || echo "$ops"
}

run_host() { # ID ENGINE COMBO WORKLOAD CPUS
	local combo=$3 w=$4 cpus=${5%p} args=() pre=
	[[ $5 == *p ]] && args=(--mode parallel) # 1p: the parallel replay on one CPU
	case $w in
	frame_churn) run_frame_churn; return ;;
	va:*) run_va_replay "${w#va:}"; return ;;
	gen:*) args+=(--gen "${w#gen:}" --ops "$(gen_ops "${w#gen:}")" --threads "$ncpu_max" --seed "$seed") ;;
	*) args+=(--trace "$w") ;;
	esac
	case $combo in
	libc) args+=(--heap libc) ;;
	libc:*) args+=(--heap libc); pre=$(peer_lib "$combo") ;;
	*) IFS=- read -r p v h <<<"$combo"; args+=(--phys "$p" --virt "$v" --heap "$h") ;;
	esac
	local i
	for i in $(seq "$reps"); do
		LD_PRELOAD=$pre "$bin/mtb_host" "${args[@]}" --cpus "$cpus" --build "$build_id" \
			--out "$tmp.r$i" 2>"$tmp.err" || { head -1 "$tmp.err" >&2; return 1; }
	done
	median_row "$tmp".r* >"$tmp"
	rm -f "$tmp".r* "$tmp.err"
}

# The row (of one-row files) with the median ops_per_s, plus "reps" and the spread
# max/min of ops_per_s over the repetitions: timings on a shared machine vary.
median_row() {
	awk 'BEGIN { n = 0 } FNR == 1 { match($0, /"ops_per_s":[0-9.e+]+/); v = substr($0, RSTART + 12, RLENGTH - 12) + 0
		row[n] = $0; val[n++] = v }
	END {
		for (i = 0; i < n; i++) { r = 0; for (j = 0; j < n; j++) if (val[j] < val[i] || (val[j] == val[i] && j < i)) r++; if (r == int((n - 1) / 2)) m = i }
		lo = hi = val[0]; for (i = 1; i < n; i++) { if (val[i] < lo) lo = val[i]; if (val[i] > hi) hi = val[i] }
		s = row[m]; sub(/}$/, sprintf(",\"reps\":%d,\"ops_per_s_spread\":%.3f}", n, lo > 0 ? hi / lo : 0), s); print s }' "$@"
}

# frame_bench's churn and metadata figures (both frame allocators in one run) as rows.
run_frame_churn() {
	local a=(--mem 256 --churn-mem 512 --seed "$seed")
	[ "$quick" = 1 ] && a=(--mem 128 --churn-mem 64 --rounds 10 --seed "$seed")
	"$bin/frame_bench" "${a[@]}" --out "$tmp.csv" 2>"$tmp.err" || { tail -1 "$tmp.err" >&2; return 1; }
	awk -F, -v b="$build_id" 'NR > 1 && $3 == "frame_churn" && $7 ~ /^free_in_2m_blocks_[a-z]+$/ {
		v = $7; sub(/^free_in_2m_blocks_/, "", v)
		printf "{\"engine\":\"%s\",\"timing_trusted\":%s,\"kind\":\"frame_churn\",\"phys\":\"%s\",\"cpus\":%s,\"workload\":\"churn_%s\",\"seed\":%s,\"build\":\"%s\",\"fill_pct\":%s,\"variant\":\"%s\",\"free_2m_share\":%.6f}\n",
			$1, $2, $4, $5, v, $10, b, $6, v, $8 / 100 }' "$tmp.csv" >"$tmp"
	rm -f "$tmp.csv" "$tmp.err"
	[ -s "$tmp" ] || { echo "frame_bench wrote no churn rows" >&2; return 1; }
}

# build/bin/va_replay: one address-space trace (.vmt) or its generator (mix) on every
# VA strategy, kind=va_frag rows.
run_va_replay() {
	local a=(--trace "$1")
	[ "$1" = mix ] && a=(--gen mix --ops "$((ops / 10))" --seed "$seed")
	"$bin/va_replay" "${a[@]}" --virt all --build "$build_id" --out "$tmp" 2>"$tmp.err" ||
		{ grep -v '^va_replay: .* ops, ' "$tmp.err" | head -1 >&2; return 1; }
	rm -f "$tmp.err"
}

# The bundled address-space traces (../shared/traces/vm/*.vmt or $MTB_VM_TRACES).
vmt_files() {
	local d=${MTB_VM_TRACES:-$repo/../shared/traces/vm}
	[ -d "$d" ] && find "$(cd "$d" && pwd)" -maxdepth 1 -type f \( -name '*.vmt' -o -name '*.vmt.xz' \) | sort
	return 0
}

# ---- guest engines: the guest kernel of the combination ----------------------------
# The trace as the guest reads it (.mtb, converted once per sweep into $dir/traces/).
guest_trace() {
	local w=$1 f
	f=$dir/traces/$(case_id x x "$w" 0 | cut -d. -f3).mtb
	if [ ! -f "$f" ]; then
		mkdir -p "$dir/traces"
		case $w in
		gen:*) "$bin/trace" gen "${w#gen:}" "$f.tmp" --ops "$(gen_ops "${w#gen:}")" \
			--threads "$ncpu_max" --seed "$seed" >/dev/null ;;
		*) "$bin/trace" convert "$w" "$f.tmp" >/dev/null ;;
		esac || { echo "cannot convert $w for the guest" >&2; return 1; }
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# What the guest runs: "replay" (serial at 1 CPU, replay=par at more, as the host engine
# does) once the guest has it, else the boot selftest (so the engine and every
# combination's kernel are still exercised).
guest_cmd() {
	if [ -z "${guest_has_replay:-}" ]; then
		guest_has_replay=no
		local h
		h=$("$bin/vmm" "$(guest_elf buddy-bitmap-talc)" -- help 2>/dev/null || true)
		[[ $h == *" replay "* ]] && guest_has_replay=yes
	fi
	if [ "$guest_has_replay" = no ]; then
		echo selftest
	elif [ "$1" -gt 1 ]; then
		echo replay=par
	else
		echo replay
	fi
}

guest_elf() { echo "$repo/build/guest/$1/guest.elf"; }

# Sets g_elf, g_cmd, g_trace, g_name, g_mem (MiB) for a guest case: COMBO WORKLOAD CPUS.
# Guest RAM: 128 MiB, where talc's fixed heap (1/32 of usable RAM, at least 2 MiB) is the
# host engine's 2 MiB, so every deterministic metric must match; 1 GiB when the trace
# blob and its peak live bytes need more (then talc's footprint may differ).
guest_prep() {
	local combo=$1 w=$2 peak
	g_elf=$(guest_elf "$combo")
	[ -f "$g_elf" ] || { echo "guest $combo not built (make guests)" >&2; return 1; }
	g_cmd=$(guest_cmd "$3") g_trace= g_mem=128
	g_name=${w##*/}
	g_name=${g_name#gen:}
	[ "$g_cmd" = selftest ] && return 0
	g_trace=$(guest_trace "$w") || return 1
	peak=$("$bin/trace" stats "$g_trace" | awk '$1 == "peak_live" {print $2}')
	[ $((${peak:-0} + 2 * $(stat -c %s "$g_trace"))) -lt $((64 << 20)) ] || g_mem=1024
	return 0
}

# The guest names its trace "module0"; rows name it as the host engine does, and say
# how much RAM the guest had.
guest_rows() {
	sed -e "s/\"trace\":\"module0\"/\"trace\":\"$g_name\"/" \
		-e "s/^{/{\"guest_mem_mib\":$g_mem,/" "$tmp.g" >"$tmp" && rm -f "$tmp.g"
}

run_kvm() {
	guest_prep "$3" "$4" "$5" || return 1
	"$bin/vmm" --cpus "$5" --mem "${g_mem}M" --timeout "$guest_timeout" ${g_trace:+--trace "$g_trace"} \
		--out "$tmp.g" "$g_elf" -- "$g_cmd" >"$tmp.log" 2>&1 ||
		{ echo "vmm: $(grep -m1 -E 'vmm: |panic' "$tmp.log" || tail -1 "$tmp.log")" >&2; return 1; }
	rm -f "$tmp.log"
	guest_rows
}

run_qemu() {
	guest_prep "$3" "$4" "$5" || return 1
	"$repo/scripts/qemu_run.sh" --cpus "$5" --mem "${g_mem}M" --timeout "$guest_timeout" --elf "$g_elf" \
		${g_trace:+--trace "$g_trace"} --out "$tmp.g" -- "$g_cmd" >"$tmp.log" 2>"$tmp.err" ||
		{ head -1 "$tmp.err" >&2; return 1; }
	rm -f "$tmp.log" "$tmp.err"
	guest_rows
}

run_libvirt() {
	guest_prep "$3" "$4" "$5" || return 1
	"$repo/scripts/libvirt_run.sh" --cpus "$5" --mem "$g_mem" --timeout "$guest_timeout" \
		${g_trace:+--trace "$g_trace"} --out "$tmp.g" "$g_elf" -- "$g_cmd" >"$tmp.log" 2>"$tmp.err" ||
		{ head -1 "$tmp.err" >&2; return 1; }
	rm -f "$tmp.log" "$tmp.err"
	guest_rows
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
