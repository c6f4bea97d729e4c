# Real sshd hosts for the SSH tests: source "$SSHDLIB" after "$TESTLIB".
#
# Each host is a plain /usr/sbin/sshd -D with its own ed25519 host key and
# its own config, listening on its own loopback address (127.N.x.y) or
# inside a network namespace the test made. Everything this file makes is
# recorded in $TMP/sshd/ and undone by sshd_cleanup, which runs on exit
# whatever happens (a failed check, a signal): it kills exactly the PIDs it
# started, deletes the network namespaces, routes, users and sudoers files
# it created, and nothing else. Running a test again right after works.
#
#   sshd_setup NET          NET picks this test's 127.NET.0.0/16 block
#   sshd_start NAME ADDR [NETNS] [CONFIG_LINE...]
#                           start sshd NAME on ADDR:$SSHD_PORT (inside
#                           NETNS when not empty); waits until it listens
#   sshd_host_key NAME      the path of NAME's public host key
#   sshd_user NAME          make a local user that can log in with the key
#   sshd_netns NAME         make a network namespace, removed at exit
#   sshd_topology FILE ROLE HOST... write a topology with provider ssh
#   port_closed ADDR        a free address and port (connections refused)

: "${TMP:?source lib.sh first}"

SSHD_DIR=$TMP/sshd
SSHD_KEY=$TMP/id_ed25519
SSHD_PORT=
mkdir -p "$SSHD_DIR"
: >"$SSHD_DIR/pids"
: >"$SSHD_DIR/netns"
: >"$SSHD_DIR/users"
: >"$SSHD_DIR/files"
: >"$SSHD_DIR/routes"
: >"$SSHD_DIR/links"

sshd_cleanup() {
	while read -r pid; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done <"$SSHD_DIR/pids"
	# Give them a moment, then make sure.
	i=0
	while [ $i -lt 20 ]; do
		alive=0
		while read -r pid; do
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1
		done <"$SSHD_DIR/pids"
		[ $alive -eq 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	while read -r pid; do
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	done <"$SSHD_DIR/pids"
	while read -r r; do
		[ -n "$r" ] && ip route del $r 2>/dev/null
	done <"$SSHD_DIR/routes"
	while read -r l; do
		[ -n "$l" ] && ip link del "$l" 2>/dev/null
	done <"$SSHD_DIR/links"
	while read -r ns; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done <"$SSHD_DIR/netns"
	while read -r u; do
		[ -n "$u" ] && userdel "$u" 2>/dev/null
	done <"$SSHD_DIR/users"
	while read -r f; do
		[ -n "$f" ] && rm -f "$f"
	done <"$SSHD_DIR/files"
	rm -rf "$TMP"
}
trap sshd_cleanup EXIT
trap 'exit 130' INT TERM HUP

# The tests need root (sshd's privilege separation, users, namespaces).
if [ "$(id -u)" -ne 0 ] || [ ! -x /usr/sbin/sshd ]; then
	echo "skipped: needs root and /usr/sbin/sshd" >&2
	exit 77
fi

# Keep the tests away from the runner's own keys, agent and known_hosts.
HOME=$TMP/home
export HOME
mkdir -p "$HOME/.ssh"
chmod 700 "$HOME" "$HOME/.ssh"
unset SSH_AUTH_SOCK SSH_AGENT_PID DEPLOY_SSH_KEY_PASSPHRASE

# free_port ADDR: a TCP port nothing listens on at ADDR (nor on *).
free_port() {
	python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
s.close()
EOF
}

sshd_setup() {
	SSHD_NET=$1
	mkdir -p /run/sshd
	chmod 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C deploy-test -f "$SSHD_KEY" || exit 1
	mkdir -p "$SSHD_DIR/auth"
	cp "$SSHD_KEY.pub" "$SSHD_DIR/auth/root"
	SSHD_PORT=$(free_port "127.$SSHD_NET.0.1")
}

# sshd_wait ADDR [NETNS]: until ADDR:$SSHD_PORT takes connections (10 s).
sshd_wait() {
	if [ -n "${2:-}" ]; then
		set -- "$1" ip netns exec "$2"
	else
		set -- "$1"
	fi
	addr=$1
	shift
	"$@" python3 - "$addr" "$SSHD_PORT" <<'EOF'
import socket, sys, time
deadline = time.time() + 10
while True:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()
        sys.exit(0)
    except OSError:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.05)
EOF
}

sshd_start() {
	name=$1
	addr=$2
	ns=${3:-}
	shift 2
	[ $# -gt 0 ] && shift
	d=$SSHD_DIR/$name
	mkdir -p "$d"
	ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$d/host_key" || exit 1
	{
		echo "ListenAddress $addr:$SSHD_PORT"
		echo "HostKey $d/host_key"
		echo "PidFile $d/sshd.pid"
		echo "AuthorizedKeysFile $SSHD_DIR/auth/%u"
		echo "StrictModes no"
		echo "UsePAM no"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "PermitRootLogin prohibit-password"
		echo "AllowTcpForwarding yes"
		echo "LogLevel VERBOSE"
		echo "MaxStartups 200"
		for line in "$@"; do
			echo "$line"
		done
	} >"$d/sshd_config"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" /usr/sbin/sshd -D -f "$d/sshd_config" \
			-E "$d/log" &
	else
		/usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/log" &
	fi
	echo $! >>"$SSHD_DIR/pids"
	if ! sshd_wait "$addr" "$ns"; then
		echo "sshd $name on $addr:$SSHD_PORT did not start:" >&2
		sed 's/^/  /' "$d/log" >&2
		exit 1
	fi
}

sshd_host_key() {
	echo "$SSHD_DIR/$1/host_key.pub"
}

# sshd_user NAME: a user with no password (not locked) who logs in with
# the test's key.
sshd_user() {
	userdel "$1" 2>/dev/null
	useradd -M -d / -s /bin/sh "$1" || exit 1
	echo "$1" >>"$SSHD_DIR/users"
	usermod -p '*' "$1"
	cp "$SSHD_KEY.pub" "$SSHD_DIR/auth/$1"
}

# sshd_sudoers NAME LINE: /etc/sudoers.d/NAME with LINE, removed at exit.
sshd_sudoers() {
	f=/etc/sudoers.d/$1
	echo "$f" >>"$SSHD_DIR/files"
	echo "$2" >"$f"
	chmod 440 "$f"
}

sshd_netns() {
	ip netns del "$1" 2>/dev/null
	ip netns add "$1" || exit 1
	echo "$1" >>"$SSHD_DIR/netns"
	ip -n "$1" link set lo up
}

# sshd_veth A NSA ADDRA B NSB ADDRB PREFIX: a veth pair between two
# namespaces ("" for this one), with addresses.
sshd_veth() {
	ip link add "$1" type veth peer name "$4" || exit 1
	for side in "$1 $2 $3" "$4 $5 $6"; do
		# shellcheck disable=SC2086
		set -- $side "$7"
		if [ "$2" = - ]; then
			echo "$1" >>"$SSHD_DIR/links"
			ip addr add "$3/$4" dev "$1"
			ip link set "$1" up
		else
			ip link set "$1" netns "$2"
			ip -n "$2" addr add "$3/$4" dev "$1"
			ip -n "$2" link set "$1" up
		fi
	done
}

# sshd_route_unreachable CIDR: answer "network unreachable" for CIDR here,
# so that no test packet goes out by the default route.
sshd_route_unreachable() {
	ip route add unreachable "$1" || exit 1
	echo "unreachable $1" >>"$SSHD_DIR/routes"
}

# sshd_topology FILE ROLE:HOST@ADDR... [-- EXTRA YAML LINES under ssh:]
# writes a topology with one provider-ssh role per ROLE, each listing its
# hosts. SSHD_TOPO_SSH may hold extra lines for the ssh section and
# SSHD_TOPO_ROLE_EXTRA (ROLE=YAML) extra keys per role.
sshd_topology() {
	file=$1
	shift
	{
		echo "version: 1"
		echo "name: sshtest"
		echo "ssh:"
		echo "  key: $SSHD_KEY"
		echo "  known_hosts: $TMP/known_hosts"
		if [ -n "${SSHD_TOPO_SSH:-}" ]; then
			printf '%s\n' "$SSHD_TOPO_SSH"
		fi
		echo "roles:"
	} >"$file"
	roles=""
	for spec in "$@"; do
		role=${spec%%:*}
		case " $roles " in
		*" $role "*) ;;
		*) roles="$roles $role" ;;
		esac
	done
	for role in $roles; do
		{
			echo "  $role:"
			echo "    provider: ssh"
			eval "extra=\${SSHD_ROLE_$role:-}"
			if [ -n "$extra" ]; then
				printf '%s\n' "$extra"
			fi
			echo "    hosts:"
			for spec in "$@"; do
				[ "${spec%%:*}" = "$role" ] || continue
				rest=${spec#*:}
				host=${rest%%@*}
				addr=${rest#*@}
				port=${addr##*:}
				addr=${addr%:*}
				[ "$port" = "$addr" ] && port=$SSHD_PORT
				echo "      - {name: $host, address: $addr, port: $port}"
			done
		} >>"$file"
	done
}
