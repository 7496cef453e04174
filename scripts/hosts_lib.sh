# hosts_lib.sh: libvirt connection URIs as the hosts of a sweep (sourced by scripts/run.sh
# and scripts/libvirt_run.sh): a URI's host name, the ssh/scp options that reach the host
# a qemu+ssh:// URI names (the same user, port and key as libvirt's own ssh), and the
# check a host passes before a sweep uses it.
#
# A URI is scheme://[user@]host[:port]/path[?k=v&...]; no host part (qemu:///system,
# qemu:///session) is this machine, named "local". Of the query parameters, keyfile= and
# no_verify=1 are the ones that matter to our own ssh/scp (libvirt's remote URI syntax).

# Splits URI into u_scheme u_user u_host u_port u_path u_query; 1 when it is no URI.
uri_split() { # URI
	local re='^([a-z0-9+]+)://(([^@/?]*)@)?([^/:?]*)(:([0-9]+))?(/[^?]*)?(\?(.*))?$'
	[[ $1 =~ $re ]] || return 1
	u_scheme=${BASH_REMATCH[1]} u_user=${BASH_REMATCH[3]} u_host=${BASH_REMATCH[4]}
	u_port=${BASH_REMATCH[6]} u_path=${BASH_REMATCH[7]} u_query=${BASH_REMATCH[9]}
}

# The value of query parameter KEY of URI (percent-decoded); empty when absent.
uri_param() { # URI KEY
	local kv v
	uri_split "$1" || return 0
	IFS='&' read -r -a kv <<<"$u_query"
	for v in "${kv[@]}"; do
		[ "${v%%=*}" = "$2" ] || continue
		v=${v#*=}
		v=${v//+/ }
		printf '%b\n' "${v//%/\\x}"
		return 0
	done
}

# The host's name in rows and messages: the URI's host, or "local" when it has none.
uri_name() { # URI
	uri_split "$1" || { echo "?"; return; }
	echo "${u_host:-local}"
}

# 0 when URI reaches its host over ssh (qemu+ssh://host...).
uri_is_ssh() { # URI
	uri_split "$1" && [ "$u_scheme" = qemu+ssh ] && [ -n "$u_host" ]
}

# Sets ssh_target (user@host), ssh_opts and scp_opts (port, key, host-key policy, batch
# mode, timeouts) for a qemu+ssh:// URI; 1 when URI is not one.
uri_ssh() { # URI
	local key nv common
	uri_is_ssh "$1" || return 1
	ssh_target=${u_user:+$u_user@}$u_host
	key=$(uri_param "$1" keyfile)
	nv=$(uri_param "$1" no_verify)
	common=(-o BatchMode=yes -o ConnectTimeout=15 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o LogLevel=ERROR)
	[ -z "$key" ] || common+=(-i "$key")
	[ "$nv" != 1 ] || common+=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null)
	ssh_opts=("${common[@]}") scp_opts=(-q "${common[@]}")
	[ -z "$u_port" ] || ssh_opts+=(-p "$u_port") scp_opts+=(-P "$u_port")
	return 0
}

# The URIs of a hosts file: one a line; blank lines and # comments ignored.
hosts_read() { # FILE
	sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$1" | grep -v '^$' || true
}

# ---- the check before use ---------------------------------------------------------
# virsh on URI, bounded: a host that stops answering must not hold the sweep.
hv() { timeout "${MTB_HOST_TIMEOUT:-60}" virsh -q -c "$1" "${@:2}"; }

# What virsh (or ssh) said on a failure, as one line (its lines joined with '; ').
first_err() {
	local m
	m=$(grep -v '^$' <<<"$1" | sed 's/^error: //' | paste -sd';' | sed 's/;/; /g' | cut -c1-300)
	echo "${m:-no answer (timeout)}"
}

# KVM on URI's host: hardware, emulated (nested: the host is a VM itself, its CPU has
# the hypervisor flag) or absent (no kvm domain type: guests run on QEMU TCG).
host_kvm_kind() { # URI
	hv "$1" domcapabilities --virttype kvm >/dev/null 2>&1 || { echo absent; return; }
	if hv "$1" capabilities 2>/dev/null | grep -q "<feature name='hypervisor'/>"; then echo emulated; else echo hardware; fi
}

# The host's CPU model name: /proc/cpuinfo here or over ssh, else libvirt's CPU model.
host_cpu_model() { # URI
	local m=
	if uri_split "$1" && [ -z "$u_host" ]; then
		m=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	elif uri_ssh "$1"; then
		m=$(timeout 30 ssh "${ssh_opts[@]}" "$ssh_target" "sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1" 2>/dev/null)
	fi
	[ -n "$m" ] || m=$(hv "$1" capabilities 2>/dev/null | sed -n '/<host>/,/<\/cpu>/s/.*<model>\(.*\)<\/model>.*/\1/p' | head -1)
	echo "${m:-unknown}" | tr -s '\t ' ' '
}

# A guest ELF copied to the host as libvirt_run.sh copies it (scp into /tmp), its
# checksum compared; 0, or 1 with the reason on stdout.
host_copy_check() { # URI ELF
	local d sum want
	want=$(sha256sum <"$2" | cut -d' ' -f1)
	d=$(timeout 30 ssh "${ssh_opts[@]}" "$ssh_target" 'mktemp -d /tmp/mtb-check.XXXXXX' 2>&1) ||
		{ echo "ssh $ssh_target fails: $(first_err "$d")"; return 1; }
	sum=$(timeout 60 scp "${scp_opts[@]}" "$2" "$ssh_target:$d/guest.elf" 2>&1 &&
		timeout 30 ssh "${ssh_opts[@]}" "$ssh_target" "sha256sum <$d/guest.elf; rm -rf $d" 2>&1) ||
		{ echo "cannot copy the guest image with scp: $(first_err "$sum")"; return 1; }
	[ "${sum%% *}" = "$want" ] || { echo "the guest image copied to $d differs (checksum)"; return 1; }
}

# Checks URI's host before a sweep uses it: it answers, runs QEMU, has KVM or TCG, and
# takes the guest image (ELF: one the sweep runs). Prints "TYPE<TAB>KVM<TAB>QEMU<TAB>CPU"
# (TYPE: the domain type to use, kvm or qemu), or the reason and returns 1.
host_check() { # URI ELF
	local v q kvm type=qemu
	uri_split "$1" || { echo "not a libvirt URI"; return 1; }
	if [ -n "$u_host" ] && ! uri_is_ssh "$1"; then
		echo "transport ${u_scheme#*+} cannot copy the guest image there (use qemu+ssh:// or a local URI)"
		return 1
	fi
	v=$(hv "$1" version 2>&1) || { echo "not reachable: $(first_err "$v")"; return 1; }
	q=$(sed -n 's/^Running hypervisor: QEMU //p' <<<"$v")
	[ -n "$q" ] || { echo "no QEMU hypervisor behind it ($(grep -m1 'Running hypervisor' <<<"$v" || echo none))"; return 1; }
	kvm=$(host_kvm_kind "$1")
	if [ "$kvm" = absent ]; then
		hv "$1" domcapabilities --virttype qemu >/dev/null 2>&1 || { echo "neither KVM nor QEMU TCG"; return 1; }
	else
		type=kvm
	fi
	if uri_ssh "$1"; then host_copy_check "$1" "$2" || return 1; fi
	printf '%s\t%s\t%s\t%s\n' "$type" "$kvm" "$q" "$(host_cpu_model "$1")"
}
