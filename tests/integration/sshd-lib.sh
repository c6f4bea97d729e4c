# Real sshd hosts for the SSH tests: source "$SSHDLIB" after "$TESTLIB".
#
# Each host is a plain /usr/sbin/sshd -D with its own ed25519 host key and
# its own config, listening on its own loopback address (127.N.x.y) or
# inside a network namespace the test made. Everything this file makes is
# recorded in $TMP/sshd/ and undone by sshd_cleanup, which runs on exit
# whatever happens (a failed check, a signal): it kills exactly the PIDs it
# started, deletes the network namespaces, veth links, routing rules, users
# and sudoers files it created, and nothing else. Running a test again
# right after works.
#
#   sshd_setup NET          NET picks this test's 127.NET.0.0/16 block
#   sshd_start NAME ADDR [NETNS] [CONFIG_LINE...]
#                           start sshd NAME on ADDR:$SSHD_PORT (inside
#                           NETNS when not empty); waits until it listens
#   sshd_host_key NAME      the path of NAME's public host key
#   sshd_user NAME          make a local user that can log in with the key
#   sshd_free_net PREFIX    a /24 under PREFIX (10.X) that no route here
#                           covers yet, in $SSHD_FREE_NET (PREFIX.N)
#   sshd_netns NAME         make a network namespace, removed at exit
#   sshd_veth ...           a veth pair into it (see below)
#   sshd_root_cannot_reach ADDR   keep root here from reaching ADDR
#   sshd_topology FILE ROLE HOST... write a topology with provider ssh
#   sshd_silent ADDR        a listener that takes connections, says nothing

: "${TMP:?source lib.sh first}"

SSHD_DIR=$TMP/sshd
SSHD_KEY=$TMP/id_ed25519
SSHD_PORT=
mkdir -p "$SSHD_DIR"
: >"$SSHD_DIR/pids"
: >"$SSHD_DIR/netns"
: >"$SSHD_DIR/users"
: >"$SSHD_DIR/files"
: >"$SSHD_DIR/links"
: >"$SSHD_DIR/rules"

sshd_cleanup() {
	while read -r _pid; do
		[ -n "$_pid" ] && kill "$_pid" 2>/dev/null
	done <"$SSHD_DIR/pids"
	# Give them a moment, then make sure.
	_i=0
	while [ $_i -lt 20 ]; do
		_alive=0
		while read -r _pid; do
			[ -n "$_pid" ] && kill -0 "$_pid" 2>/dev/null && _alive=1
		done <"$SSHD_DIR/pids"
		[ $_alive -eq 0 ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	while read -r _pid; do
		[ -n "$_pid" ] && kill -9 "$_pid" 2>/dev/null
	done <"$SSHD_DIR/pids"
	while read -r _r; do
		# shellcheck disable=SC2086
		[ -n "$_r" ] && ip rule del $_r 2>/dev/null
	done <"$SSHD_DIR/rules"
	while read -r _l; do
		[ -n "$_l" ] && ip link del "$_l" 2>/dev/null
	done <"$SSHD_DIR/links"
	while read -r _ns; do
		[ -n "$_ns" ] && ip netns del "$_ns" 2>/dev/null
	done <"$SSHD_DIR/netns"
	while read -r _u; do
		[ -n "$_u" ] && userdel "$_u" 2>/dev/null
	done <"$SSHD_DIR/users"
	while read -r _f; do
		[ -n "$_f" ] && rm -f "$_f"
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
	# The sessions' HOME (sshd_start's SetEnv): empty, so that a login
	# shell reads no ~/.bashrc (root's may start a version manager:
	# seconds per session on a busy machine).
	mkdir -p "$SSHD_DIR/home"
	chmod 755 "$SSHD_DIR/home"
}

# sshd_wait ADDR [NETNS]: until ADDR:$SSHD_PORT takes connections (10 s).
sshd_wait() {
	if [ -n "${2:-}" ]; then
		set -- "$1" ip netns exec "$2"
	else
		set -- "$1"
	fi
	_addr=$1
	shift
	"$@" python3 - "$_addr" "$SSHD_PORT" <<'EOF'
import socket, sys, time
deadline = time.time() + 60
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
	_name=$1
	_addr=$2
	_ns=${3:-}
	shift 2
	[ $# -gt 0 ] && shift
	_d=$SSHD_DIR/$_name
	mkdir -p "$_d"
	ssh-keygen -q -t ed25519 -N '' -C "$_name" -f "$_d/host_key" || exit 1
	{
		echo "ListenAddress $_addr:$SSHD_PORT"
		echo "HostKey $_d/host_key"
		echo "PidFile $_d/sshd.pid"
		echo "AuthorizedKeysFile $SSHD_DIR/auth/%u"
		echo "StrictModes no"
		echo "UsePAM no"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "PermitRootLogin prohibit-password"
		echo "AllowTcpForwarding yes"
		echo "LogLevel VERBOSE"
		echo "MaxStartups 200"
		echo "SetEnv HOME=$SSHD_DIR/home"
		for _line in "$@"; do
			echo "$_line"
		done
	} >"$_d/sshd_config"
	if [ -n "$_ns" ]; then
		ip netns exec "$_ns" /usr/sbin/sshd -D -f "$_d/sshd_config" \
			-E "$_d/log" &
	else
		/usr/sbin/sshd -D -f "$_d/sshd_config" -E "$_d/log" &
	fi
	echo $! >>"$SSHD_DIR/pids"
	if ! sshd_wait "$_addr" "$_ns"; then
		echo "sshd $_name on $_addr:$SSHD_PORT did not start:" >&2
		sed 's/^/  /' "$_d/log" >&2
		exit 1
	fi
}

# sshd_silent ADDR: a TCP listener on ADDR:$SSHD_PORT that takes
# connections and never says a word.
sshd_silent() {
	python3 - "$1" "$SSHD_PORT" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
EOF
	echo $! >>"$SSHD_DIR/pids"
	sshd_wait "$1" || exit 1
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
	# sshd reads the file as the user.
	chmod 711 "$TMP" "$SSHD_DIR"
	chmod 755 "$SSHD_DIR/auth"
	chmod 644 "$SSHD_DIR/auth/$1"
}

# sshd_sudoers NAME LINE: /etc/sudoers.d/NAME with LINE, removed at exit.
sshd_sudoers() {
	_f=/etc/sudoers.d/$1
	echo "$_f" >>"$SSHD_DIR/files"
	echo "$2" >"$_f"
	chmod 440 "$_f"
}

sshd_netns() {
	ip netns del "$1" 2>/dev/null
	ip netns add "$1" || exit 1
	echo "$1" >>"$SSHD_DIR/netns"
	ip -n "$1" link set lo up
}

# sshd_free_net PREFIX: the first PREFIX.N/24 (N from this shell's PID,
# 20..219, wrapping) that no route in this namespace covers, in
# $SSHD_FREE_NET. A test killed by SIGKILL cannot undo its veth link; one
# left with the same subnet would take this test's packets (seen in CI:
# every connection to the inner hosts refused).
sshd_free_net() {
	_n=$(($$ % 200))
	_tries=0
	while [ $_tries -lt 200 ]; do
		_net=$1.$((_n + 20))
		if ! ip route show to match "$_net.1" | grep -qv '^default '; then
			SSHD_FREE_NET=$_net
			return 0
		fi
		_n=$(((_n + 1) % 200))
		_tries=$((_tries + 1))
	done
	echo "no free /24 under $1: every one is routed here" >&2
	exit 1
}

# sshd_veth HOSTIF HOSTADDR NS NSIF NSADDR PREFIX: a veth pair between
# this namespace and NS, with an address on each end.
sshd_veth() {
	ip link del "$1" 2>/dev/null
	ip link add "$1" type veth peer name "$4" || exit 1
	echo "$1" >>"$SSHD_DIR/links"
	ip link set "$4" netns "$3" || exit 1
	ip addr add "$2/$6" dev "$1"
	ip link set "$1" up
	ip -n "$3" addr add "$5/$6" dev "$4"
	ip -n "$3" link set "$4" up
}

# sshd_root_cannot_reach ADDR: connections from root processes in this
# namespace to ADDR are refused by the routing policy (other users' go
# through), so that deploy (root) can reach ADDR only through a bastion
# whose SSH user is not root.
sshd_root_cannot_reach() {
	echo "to $1 uidrange 0-0 prohibit" >>"$SSHD_DIR/rules"
	ip rule add to "$1" uidrange 0-0 prohibit || exit 1
}

# sshd_topology FILE ROLE:HOST@ADDR[:PORT]...: a topology with a provider-ssh
# role per ROLE, listing its hosts (on $SSHD_PORT unless PORT is given).
# SSHD_TOPO_SSH may hold more lines for the ssh section, SSHD_ROLE_<ROLE>
# more keys for a role (both indented as they go).
sshd_topology() {
	_file=$1
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
	} >"$_file"
	_roles=""
	for _spec in "$@"; do
		_role=${_spec%%:*}
		case " $_roles " in
		*" $_role "*) ;;
		*) _roles="$_roles $_role" ;;
		esac
	done
	for _role in $_roles; do
		{
			echo "  $_role:"
			echo "    provider: ssh"
			eval "_extra=\${SSHD_ROLE_$_role:-}"
			if [ -n "$_extra" ]; then
				printf '%s\n' "$_extra"
			fi
			echo "    hosts:"
			for _spec in "$@"; do
				[ "${_spec%%:*}" = "$_role" ] || continue
				_rest=${_spec#*:}
				_host=${_rest%%@*}
				_addr=${_rest#*@}
				_port=${_addr##*:}
				_addr=${_addr%:*}
				[ "$_port" = "$_addr" ] && _port=$SSHD_PORT
				echo "      - {name: $_host, address: $_addr, port: $_port}"
			done
		} >>"$_file"
	done
}
