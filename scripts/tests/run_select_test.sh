#!/usr/bin/env bash
# run_select_test.sh: choosing what a sweep runs, by name. `make run PHYS= VIRT= HEAP=
# TRACES= PEERS=` hands each variable given to scripts/run.sh (--phys --virt --heaps
# --traces --peers) and none when none is given (the Makefile's defaults select nothing);
# run.sh --list narrows to the named traces (malloc traces, generators, address-space
# traces, frame_churn) and peers; an unknown name is one line naming it and the known
# names, exit 2, nothing created, and `make run` stops on it before it installs or builds
# anything (run.sh --check, which needs no binaries).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/tests/sweep_lib.sh
need_bin mtb_host rows2csv trace
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset ENGINE PHYS VIRT HEAP TRACES PEERS
# The make under test is a fresh one (not the jobserver of a `make test` around us).
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "$@"; }

# ---- make run: the variables reach run.sh, in both of its calls ------------------------
runsh_lines() { mk -n run "$@" 2>/dev/null | grep '^scripts/run.sh' | sed 's/ *$//' || true; }
got=$(runsh_lines PHYS=freelist VIRT=btree,bitmap HEAP=slab,null TRACES=gnu-ld,larson PEERS=glibc)
want="--phys 'freelist' --virt 'btree,bitmap' --heaps 'slab,null' --traces 'gnu-ld,larson' --peers 'glibc'"
[ "$got" = "scripts/run.sh --check $want
scripts/run.sh $want" ] || fail "make -n run with every variable: $got"
got=$(runsh_lines)
[ "$got" = "scripts/run.sh --check
scripts/run.sh" ] || fail "make -n run without variables passes: $got"
got=$(PEERS=jemalloc runsh_lines)
[ "$got" = "scripts/run.sh --check --peers 'jemalloc'
scripts/run.sh --peers 'jemalloc'" ] || fail "PEERS from the environment: $got"

# ---- make run with an unknown name: one line, before anything is installed or built -----
rc=0
mk run TRACES=gnu-ld,bogus-trace >"$t/o" 2>"$t/e" || rc=$?
[ $rc -ne 0 ] || fail "make run TRACES=gnu-ld,bogus-trace succeeded"
grep -q "^run: --traces: unknown name 'bogus-trace' (known: .*gnu-ld.* larson .*frame_churn)$" "$t/e" ||
	fail "make run TRACES=...bogus: $(cat "$t/e")"
grep -q 'deps\|scripts/deps.sh\|CC\|LD' "$t/o" && fail "make run built or installed before the check: $(head -3 "$t/o")"

# ---- run.sh: unknown names, exit 2, one line naming the name and the known ones ----------
bad() { # WANT ARGS...
	local want=$1 rc=0
	shift
	scripts/run.sh --engine host --quick --guest-check none "$@" --out "$t/bad" >"$t/o" 2>"$t/e" || rc=$?
	[ $rc -eq 2 ] || fail "$*: exit $rc, want 2: $(cat "$t/e")"
	[ "$(wc -l <"$t/e")" -eq 1 ] && grep -qF -- "$want" "$t/e" || fail "$*: want one line with $want: $(cat "$t/e")"
	[ ! -e "$t/bad" ] || fail "$*: created the results directory"
}
bad "--traces: unknown name 'nosuch' (known: " --traces gnu-ld,nosuch
bad "--peers: unknown name 'ptmalloc' (known: glibc jemalloc tcmalloc mimalloc snmalloc)" --peers ptmalloc
bad "--traces: not a comma-separated list of names: ''" --traces ''
bad "--peers: unknown name 'talc'" --peers talc
# With the default engine (auto) too: the name is the only message, before the engine probe.
rc=0
scripts/run.sh --peers ptmalloc --out "$t/bad" >"$t/o" 2>"$t/e" || rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$t/e")" -eq 1 ] && grep -q "unknown name 'ptmalloc'" "$t/e" ||
	fail "--peers ptmalloc, engine auto: exit $rc: $(cat "$t/e")"
# --check needs no binaries: generator names then come from workloads/core/gen.c.
MTB_BIN=$t/none scripts/run.sh --check --traces larson,gnu-ld --peers glibc --phys buddy ||
	fail "--check without binaries rejects known names"
rc=0
MTB_BIN=$t/none scripts/run.sh --check --traces hermit_box 2>"$t/e" || rc=$?
[ $rc -eq 2 ] && grep -q "unknown name 'hermit_box'" "$t/e" || fail "--check accepts hermit_box (not in the sweep): $rc"
rc=0
MTB_BIN=$t/none scripts/run.sh --check --phys nope 2>"$t/e" || rc=$?
[ $rc -eq 2 ] && grep -q "^run: --phys: unknown name 'nope' (known: buddy freelist)$" "$t/e" || fail "--check --phys nope: $rc"

# ---- run.sh --list: the names narrow the sweep -----------------------------------------
lst() { scripts/run.sh --engine host --quick --guest-check none "$@" --list; }
lst --traces gnu-ld,larson --heaps slab --peers jemalloc >"$t/l"
[ "$(awk '{print $3}' "$t/l" | sort -u | tr '\n' ' ')" = "buddy-bitmap-slab buddy-btree-slab buddy-freelist-slab freelist-bitmap-slab freelist-btree-slab freelist-freelist-slab jemalloc " ] ||
	fail "--heaps slab --peers jemalloc lists: $(awk '{print $3}' "$t/l" | sort -u | tr '\n' ' ')"
[ "$(awk '{print $4}' "$t/l" | sed 's,.*/,,' | sort -u | tr '\n' ' ')" = "gen:larson gnu-ld.trc.xz " ] ||
	fail "--traces gnu-ld,larson lists: $(awk '{print $4}' "$t/l" | sort -u | tr '\n' ' ')"
lst --traces frame_churn >"$t/l"
[ "$(awk '{print $1}' "$t/l")" = host.frame_churn.all.c1 ] || fail "--traces frame_churn lists: $(cat "$t/l")"
lst --traces mix,xmalloc --peers none >"$t/l"
grep -q '^host\.va_frag\.mix\.c1 ' "$t/l" || fail "--traces mix: no va_frag case"
grep -q 'frame_churn' "$t/l" && fail "--traces without frame_churn lists it"
awk '{print $3}' "$t/l" | grep -qx 'glibc\|jemalloc\|tcmalloc\|mimalloc\|snmalloc' && fail "--peers none lists a peer"
awk '$4 != "gen:xmalloc" && $4 != "va:mix"' "$t/l" | grep -q . && fail "--traces mix,xmalloc lists others"
# --heaps names a peer, --peers another: both run.
lst --traces larson --heaps talc,glibc --peers jemalloc >"$t/l"
[ "$(awk '$3 !~ /-/ {print $3}' "$t/l" | sort -u | tr '\n' ' ')" = "glibc jemalloc " ] ||
	fail "--heaps talc,glibc --peers jemalloc: $(awk '{print $3}' "$t/l" | sort -u | tr '\n' ' ')"
echo "run_select_test: ok"
