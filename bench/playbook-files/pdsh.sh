# bench/playbook: the ten steps of bench.yml as one POSIX sh script, for
# pdsh -R ssh (it arrives as the remote command line). Each step checks
# before it changes and says "changed: WHAT" when it did, so a re-run on
# a converged host prints only the two commands' output. bench/playbook
# fills in the two placeholders: the base directory and a table of the
# hosts' variables by address (the hosts share one machine, so the address
# sshd answered on, from SSH_CONNECTION, tells which host this is).
umask 022
# shellcheck disable=SC2086 # split into its four fields
set -- $SSH_CONNECTION
case $3 in
# @HOSTS@
*) echo "bench: no host has address '$3'" >&2; exit 2 ;;
esac
bench_dir=@BENCH_DIR@
d=$bench_dir/$name/etc
fail() { echo "bench: $*" >&2; exit 1; }

# put FILE MODE CONTENT: the file holds CONTENT (plus a final newline)
# and has MODE; written through a temporary file only when it differs.
put() {
	if ! { [ -f "$1" ] && printf '%s\n' "$3" | cmp -s - "$1"; }; then
		{ printf '%s\n' "$3" >"$1.tmp.$$" && chmod "$2" "$1.tmp.$$" &&
			mv -f "$1.tmp.$$" "$1"; } || fail "cannot write $1"
		echo "changed: $1"
	elif [ "$(stat -c %a "$1")" != "${2#0}" ]; then
		chmod "$2" "$1" || fail "cannot chmod $1"
		echo "changed: mode of $1"
	fi
}

# 1. make dirs
if [ ! -d "$d" ]; then
	mkdir -p "$d" || fail "cannot make $d"
	echo "changed: $d"
fi

# 2. sshd drop-in
put "$d/01-bench-sshd.conf" 0644 "# sshd drop-in written by the benchmark
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
X11Forwarding no
MaxAuthTries 3
ClientAliveInterval 300"

# 3. base file if absent
if [ ! -e "$d/base.conf" ]; then
	printf '# base configuration\nkeep=1\n' >"$d/base.conf" ||
		fail "cannot write $d/base.conf"
	echo "changed: $d/base.conf"
fi

# 4. a line in it
if ! grep -qx "bench_host=$name" "$d/base.conf"; then
	if grep -q '^bench_host=' "$d/base.conf"; then
		sed -i "s/^bench_host=.*/bench_host=$name/" "$d/base.conf"
	else
		echo "bench_host=$name" >>"$d/base.conf"
	fi || fail "cannot edit $d/base.conf"
	echo "changed: line in $d/base.conf"
fi

# 5. sysctl file (not applied)
put "$d/60-bench.conf" 0644 "# Written by deploy (playbook bench); changes here are overwritten.
net.core.somaxconn = 4096
vm.swappiness = 10
net.ipv4.tcp_keepalive_time = 120"

# 6. JSON config from host vars
put "$d/node.json" 0640 "{
  \"name\": \"$name\",
  \"chain\": \"$chain\",
  \"index\": $node_index,
  \"listen\": \"$listen\",
  \"rpc_port\": $rpc_port,
  \"p2p_port\": $p2p_port,
  \"moniker\": \"$moniker\"
}"

# 7. systemd unit
put "$d/bench-node.service" 0644 "[Unit]
Description=benchmark node $name
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/bench-node --config $d/node.json
Restart=on-failure
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target"

# 8. logrotate file
put "$d/bench-node.logrotate" 0644 "$bench_dir/$name/log/*.log {
    daily
    rotate 7
    compress
    missingok
    notifempty
}"

# 9. uname -r
uname -r || fail "uname -r failed"

# 10. checksum
sha256sum "$d/node.json" || fail "sha256sum failed"
