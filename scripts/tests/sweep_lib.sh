# sweep_lib.sh: helpers of the run.sh tests (sourced; not a test itself).
#
# gate_bin BIN DIR: DIR/ gets BIN's tools (symlinks) with mtb_host behind a gate, so a
# test stops a sweep at a known point instead of after a guessed time: with $GATE set
# (a directory) and $GATE/after holding N, every replay registers in $GATE/calls/ and
# each one past the Nth marks $GATE/blocked.PID, then waits until $GATE/release exists
# (polled; at most 120 s, then it fails), then runs. --list, --help and --context (the
# machine, which run.sh asks once) pass straight.
# need_bin TOOL...: bin = the absolute path of $MTB_BIN (default build/bin), exported as
# MTB_BIN; fails naming the first TOOL not built there.
# wait_for COND WHAT [PID]: polls the shell condition COND until it holds; fails naming
# WHAT after 120 s, or at once when process PID has ended first.

need_bin() { # TOOL...
	local b
	bin=${MTB_BIN:-build/bin}
	for b in "$@"; do
		[ -x "$bin/$b" ] || { echo "FAIL: $bin/$b not built" >&2; exit 1; }
	done
	bin=$(cd "$bin" && pwd)
	export MTB_BIN=$bin
}

gate_bin() { # BIN DIR
	local b
	mkdir -p "$2"
	for b in "$1"/*; do ln -sf "$b" "$2/"; done
	rm -f "$2/mtb_host"
	cat >"$2/mtb_host" <<EOF
#!/bin/sh
case "\${1:-}" in --list | --help | --context) exec "$1/mtb_host" "\$@" ;; esac
if [ -n "\${GATE:-}" ] && [ -f "\$GATE/after" ]; then
	mkdir -p "\$GATE/calls"
	: >"\$GATE/calls/\$\$"
	if [ "\$(ls "\$GATE/calls" | wc -l)" -gt "\$(cat "\$GATE/after")" ]; then
		: >"\$GATE/blocked.\$\$"
		i=0
		while [ ! -e "\$GATE/release" ]; do
			i=\$((i + 1))
			[ \$i -le 1200 ] || { echo "mtb_host gate: never released (\$GATE)" >&2; exit 1; }
			sleep 0.1
		done
	fi
fi
exec "$1/mtb_host" "\$@"
EOF
	chmod +x "$2/mtb_host"
}

# A fresh gate in DIR that lets N replays through, then holds the next ones.
gate_new() { # DIR N
	rm -rf "$1"
	mkdir -p "$1"
	echo "$2" >"$1/after"
}

wait_for() { # COND WHAT [PID]
	local i
	for ((i = 0; i < 1200; i++)); do
		eval "$1" && return 0
		if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
			eval "$1" && return 0
			echo "FAIL: $2: the process ended first" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "FAIL: $2: not within 120 s" >&2
	return 1
}

# Every case file under DIR/cases is complete JSON rows of its case; no temp files left.
sweep_intact() { # DIR
	python3 - "$1" <<'PY'
import json, os, re, sys
d = sys.argv[1]
for root, _, files in os.walk(d):
    for f in files:
        assert ".tmp" not in f, "temporary file left: " + os.path.join(root, f)
cd = os.path.join(d, "cases")
for f in os.listdir(cd):
    case = re.sub(r"(\.r[0-9]+)?\.jsonl$", "", f)
    rows = [json.loads(l) for l in open(os.path.join(cd, f))]
    assert rows and all(r["case"] == case for r in rows), f
PY
}
