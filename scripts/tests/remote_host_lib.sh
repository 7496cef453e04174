# remote_host_lib.sh: a second libvirt "host" on this machine for the tests (sourced; not
# a test itself): an sshd of its own on 127.0.0.2 (its own port, host key, config and
# authorized_keys, in a temp directory) and, behind it, a libvirt session daemon of an
# unprivileged user (RH_USER, made with useradd if absent and removed again by rh_stop),
# reached as qemu+ssh://RH_USER@127.0.0.2:PORT/session?keyfile=KEY&no_verify=1 with
# proxy=netcat and the daemon's socket= (no autostart: a killed daemon stays dead).
#
# rh_start DIR: starts both (needs root), sets rh_uri, rh_daemon (the libvirtd pid);
#   1 with a message when a part does not start.
# rh_kill_daemon: SIGKILL to the session daemon (its domains' QEMU keeps running).
# rh_stop: ends every process of RH_USER and the sshd, removes what rh_start added.
RH_USER=${RH_USER:-mtb-remote}
rh_dir= rh_sshd= rh_daemon= rh_made_user=0 rh_port= rh_uri=

rh_ssh() { ssh -p "$rh_port" -i "$rh_dir/id" -o BatchMode=yes -o LogLevel=ERROR \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "$RH_USER@127.0.0.2" "$@"; }

rh_sshd() {
	ssh-keygen -q -t ed25519 -N '' -f "$rh_dir/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$rh_dir/id" || return 1
	cp "$rh_dir/id.pub" "$rh_dir/authorized_keys"
	rh_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0)); print(s.getsockname()[1])') || return 1
	cat >"$rh_dir/sshd_config" <<EOF
Port $rh_port
ListenAddress 127.0.0.2
HostKey $rh_dir/host_key
PidFile $rh_dir/sshd.pid
AuthorizedKeysFile $rh_dir/authorized_keys
AllowUsers $RH_USER
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
EOF
	mkdir -p /run/sshd # privilege separation directory (the package's service makes it)
	/usr/sbin/sshd -t -f "$rh_dir/sshd_config" || return 1
	/usr/sbin/sshd -D -f "$rh_dir/sshd_config" -E "$rh_dir/sshd.log" &
	rh_sshd=$!
	wait_for 'rh_ssh true 2>/dev/null' "sshd on 127.0.0.2:$rh_port" "$rh_sshd"
}

rh_start() { # DIR
	rh_dir=$1
	if ! id -u "$RH_USER" >/dev/null 2>&1; then
		useradd -r -m -d "/var/lib/$RH_USER" -s /bin/sh -p '*' "$RH_USER" || return 1
		rh_made_user=1
	fi
	rh_sshd || { echo "FAIL: sshd did not start: $(tail -3 "$rh_dir/sshd.log" 2>/dev/null)"; return 1; }
	mkdir -m 700 "$rh_dir/rrun" && chown "$RH_USER:" "$rh_dir/rrun" || return 1
	setpriv --reuid="$RH_USER" --regid="$RH_USER" --init-groups env -i HOME="/var/lib/$RH_USER" \
		USER="$RH_USER" PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="$rh_dir/rrun" \
		libvirtd >"$rh_dir/libvirtd.log" 2>&1 &
	rh_daemon=$!
	rh_uri="qemu+ssh://$RH_USER@127.0.0.2:$rh_port/session?keyfile=$rh_dir/id&no_verify=1&proxy=netcat&socket=$rh_dir/rrun/libvirt/libvirt-sock"
	wait_for 'timeout 60 virsh -q -c "$rh_uri" version >/dev/null 2>&1' "the session daemon behind ssh" "$rh_daemon"
}

rh_kill_daemon() { kill -KILL "$rh_daemon" && { wait "$rh_daemon"; } 2>/dev/null || true; }

rh_stop() {
	local p
	[ -z "$rh_sshd" ] || kill "$rh_sshd" 2>/dev/null || true
	if id -u "$RH_USER" >/dev/null 2>&1; then
		for p in $(pgrep -u "$RH_USER"); do kill -KILL "$p" 2>/dev/null || true; done
	fi
	{ wait ${rh_daemon:+"$rh_daemon"} ${rh_sshd:+"$rh_sshd"}; } 2>/dev/null || true # reaped: no "Killed" line
	# libvirt's own ssh (no_verify=1) recorded the test's host key: forget it.
	[ -z "$rh_port" ] || [ ! -f ~/.ssh/known_hosts ] ||
		ssh-keygen -q -R "[127.0.0.2]:$rh_port" -f ~/.ssh/known_hosts >/dev/null 2>&1 || true
	if [ "$rh_made_user" = 1 ]; then
		for _ in 1 2 3 4 5; do userdel -r "$RH_USER" 2>/dev/null && break; sleep 0.2; done
	fi
	return 0
}
