#!/usr/bin/env bash
# readme_test.sh: README.md's newcomer sections exist (running on a real KVM host, under
# libvirt, the guest's commands, adding traces, reading the results), every repository
# path it names exists (outputs under results/ and workloads/traces/ excepted: a sweep
# makes them), and every `make TARGET` it names is a target of the Makefile.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*" >&2; exit 1; }
for h in '## Quick start' '## Driving the guest by hand' '## Running on a real KVM host' \
	'## Running under libvirt' '## Adding traces' '## Reading the results' '## Sweeps over several hosts'; do
	grep -qxF "$h" README.md || fail "README.md has no section '$h'"
done
grep -q 'results/README.md' README.md || fail "README.md does not point to results/README.md"
grep -o '`\(scripts\|workloads\|plots\|results\|guest\|vmm\|strategies\)/[A-Za-z0-9_./-]*' README.md |
	tr -d '`' | sort -u | while read -r p; do
	case $p in results/README.md | results/samples/*) ;; results/* | workloads/traces/*) continue ;; esac
	[ -e "$p" ] || fail "README.md names $p, which does not exist"
done
for m in $(grep -o 'make [a-z][a-z-]*' README.md | awk '{print $2}' | sort -u); do
	make -n --no-print-directory "$m" >/dev/null 2>&1 || grep -q "^$m:" Makefile ||
		fail "README.md names 'make $m', not a Makefile target"
done
echo "readme_test: ok"
