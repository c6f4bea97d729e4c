#!/bin/sh
# apt, service, user and sysctl steps act on the machine itself, so here
# they run against stub commands (dpkg-query, apt-get, systemctl, useradd,
# usermod, getent, sysctl) that log what they are asked and keep a little
# state. What is asserted is the exact commands: each step checks first,
# changes only what differs, and changes nothing in check mode. The real
# thing runs on local hosts (systemd-nspawn) in the t05xx tests.

. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

STATE=$TMP/state
mkdir -p "$STATE"

# Packages: $STATE/pkg.NAME exists when NAME is installed.
stub dpkg-query '[ -e "'"$STATE"'/pkg.$3" ] || exit 1
printf "install ok installed"'
stub apt-get 'case $1 in
install | remove)
	op=$1
	for a; do
		case $a in -* | install | remove | Dpkg* | DPkg*) ;;
		*) if [ "$op" = install ]; then : >"'"$STATE"'/pkg.$a"; else rm -f "'"$STATE"'/pkg.$a"; fi ;;
		esac
	done
	;;
esac'
stub touch ':'
# Units: $STATE/enabled.NAME, $STATE/active.NAME.
stub systemctl 'S='"$STATE"'
case $1 in
is-enabled) [ -e "$S/enabled.$4" ] ;;
is-active) [ -e "$S/active.$4" ] ;;
enable) : >"$S/enabled.$4" ;;
disable) rm -f "$S/enabled.$4" ;;
start) : >"$S/active.$3" ;;
stop) rm -f "$S/active.$3" ;;
esac'
# Kernel parameters: sysctl -p fails when $STATE/sysctl.fail exists.
stub sysctl '[ ! -e "'"$STATE"'/sysctl.fail" ]'
# Users: nobody's home is in the scratch tree; its shell is kept in state.
stub getent 'if [ "$1 $2" = "passwd nobody" ]; then
	echo "nobody:x:65534:65534:nobody:'"$ROOT"'/home/nobody:$(cat '"$STATE"'/shell.nobody)"
else
	exec /usr/bin/getent "$@"
fi'
stub usermod 'if [ "$1" = -s ]; then echo "$2" >"'"$STATE"'/shell.nobody"; fi'
stub useradd ':'
echo /usr/sbin/nologin >"$STATE/shell.nobody"
mkdir -p "$ROOT/home/nobody"

# mutating_calls: what the last run asked that changes anything.
mutating_calls() {
	if [ -e "$TMP/calls" ]; then
		grep -v -e '^systemctl is-' -e '^systemctl show ' \
			-e '^dpkg-query ' -e '^getent ' \
			"$TMP/calls"
	fi
	rm -f "$TMP/calls"
}

expect_calls() {
	what=$1
	shift
	mutating_calls >"$TMP/calls.got"
	if [ $# -eq 0 ]; then
		: >"$TMP/calls.expected"
	else
		printf '%s\n' "$@" >"$TMP/calls.expected"
	fi
	expect_same "$TMP/calls.expected" "$TMP/calls.got" "$what"
}

pb_topology "  key2: \"ssh-ed25519 AAAAC3Nz second@laptop\""
cat >system.yml <<'EOF2'
name: system
steps:
  - name: packages
    apt: {packages: [nginx, curl], cache_valid_time: 0}
  - name: no telnet
    apt: {packages: telnet, state: absent}
  - name: nginx running
    service: {name: nginx, enabled: true, state: started}
  - name: old gone
    service: {name: old.service, enabled: false, state: stopped}
  - name: app restarted
    service: {name: app, state: restarted, daemon_reload: true}
  - name: app reloaded
    service: {name: app, state: reloaded}
  - name: nobody
    user:
      name: nobody
      shell: /bin/sh
      authorized_keys: ["ssh-ed25519 AAAAC3Nz first@laptop", "{{vars.key2}}"]
  - name: sysctl.d
    directory: {path: "{{vars.root}}/sysctl.d"}
  - name: kernel settings
    sysctl: {file: "{{vars.root}}/sysctl.d/60-t.conf", settings: {vm.swappiness: "{{vars.swappiness}}"}}
EOF2
: >"$STATE/pkg.curl"
: >"$STATE/pkg.telnet"
: >"$STATE/enabled.old.service"
: >"$STATE/active.old.service"

run_with() {
	pb_topology "  key2: \"ssh-ed25519 AAAAC3Nz second@laptop\"" \
		"  swappiness: $1"
	pb_compile ./system.yml
	shift
	pb_run "$@"
}

# Check mode asks nothing that changes anything.
tree_state "$ROOT" >before
run_with 10 sh --check
expect_rc 0 "check run"
expect_calls "check mode changes nothing"
tree_state "$ROOT" >after
expect_same before after "check mode writes nothing"
expect_line "$TMP/markers" "1/9 changed install nginx" "check mode: would install only what is missing"
expect_line "$TMP/markers" "2/9 changed remove telnet" "check mode: would remove"
expect_line "$TMP/markers" "3/9 changed enabled, started" "check mode: would enable and start"

run_with 10 sh
expect_rc 0 "first run"
expect_calls "the first run's commands" \
	"apt-get update -q -o DPkg::Lock::Timeout=600" \
	"touch /var/lib/apt/lists" \
	"apt-get install -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold nginx" \
	"apt-get remove -y -q -o DPkg::Lock::Timeout=600 telnet" \
	"systemctl enable --quiet -- nginx" \
	"systemctl start -- nginx" \
	"systemctl disable --quiet -- old.service" \
	"systemctl stop -- old.service" \
	"systemctl daemon-reload" \
	"systemctl restart -- app" \
	"systemctl start -- app" \
	"usermod -s /bin/sh -- nobody" \
	"sysctl -q -p $ROOT/sysctl.d/60-t.conf"
expect_markers "the first run" \
	"start 9 0 apply" \
	"begin 1/9 system: packages" "1/9 changed install nginx" \
	"begin 2/9 system: no telnet" "2/9 changed remove telnet" \
	"begin 3/9 system: nginx running" "3/9 changed enabled, started" \
	"begin 4/9 system: old gone" "4/9 changed disabled, stopped" \
	"begin 5/9 system: app restarted" "5/9 changed restarted" \
	"begin 6/9 system: app reloaded" "6/9 changed started" \
	"begin 7/9 system: nobody" "7/9 changed shell, created, content" \
	"begin 8/9 system: sysctl.d" "8/9 changed created" \
	"begin 9/9 system: kernel settings" "9/9 changed content" \
	"end ok"
printf 'ssh-ed25519 AAAAC3Nz first@laptop\nssh-ed25519 AAAAC3Nz second@laptop\n' >want
expect_same want "$ROOT/home/nobody/.ssh/authorized_keys" "the exact set of keys"
stat -c '%a %U' "$ROOT/home/nobody/.ssh" "$ROOT/home/nobody/.ssh/authorized_keys" >got
printf '700 nobody\n600 nobody\n' >want
expect_same want got "the keys belong to the user, private"

# Again: only what always acts (restarted, reloaded) acts.
run_with 10 sh
expect_rc 0 "second run"
expect_calls "the second run's commands" \
	"systemctl daemon-reload" \
	"systemctl restart -- app" \
	"systemctl reload -- app"
checks=$((checks + 1))
[ "$(changed_count)" -eq 2 ] || fail "the second run changed more than restart and reload"

# A key that goes is removed from the file: the set is exact.
sed -i 's/, "{{vars.key2}}"//' system.yml
run_with 10 sh
printf 'ssh-ed25519 AAAAC3Nz first@laptop\n' >want
expect_same want "$ROOT/home/nobody/.ssh/authorized_keys" "a key removed"
mutating_calls >/dev/null

# sysctl -p failing: the previous file comes back, the step fails.
: >"$STATE/sysctl.fail"
cp "$ROOT/sysctl.d/60-t.conf" before.conf
run_with 20 sh
expect_rc 1 "sysctl -p failing"
expect_line "$TMP/markers" "9/9 failed sysctl -p failed (exit status 1); the previous file is back" "the apply failure is said"
expect_same before.conf "$ROOT/sysctl.d/60-t.conf" "the previous settings file is back"
rm "$STATE/sysctl.fail"
mutating_calls >/dev/null
run_with 20 sh
expect_rc 0 "sysctl -p working again"
expect_calls "applied when it works" \
	"systemctl daemon-reload" \
	"systemctl restart -- app" \
	"systemctl reload -- app" \
	"sysctl -q -p $ROOT/sysctl.d/60-t.conf"

# --- a new user, with sudo: the commands and the sudoers drop-in ----------

cat >user.yml <<'EOF2'
name: users
steps:
  - name: admin
    user: {name: dpadmin, shell: /bin/bash, groups: [adm, sudo], sudo: true}
EOF2
pb_compile ./user.yml
pb_run sh --check
expect_calls "check mode creates no user"
expect_line "$TMP/markers" "1/1 changed created" "check mode: the user would be created"
# The step as compiled: its words, the drop-in decoded (it is written to
# /etc/sudoers.d, so it does not run here).
python3 - "$TMP/script.sh" >words <<'EOF2'
import base64, shlex, sys
text = open(sys.argv[1]).read()
words = shlex.split(text[text.index("_dp_main() {"):])
at = words.index("dp_user")
for w in words[at + 1:at + 9]:
    print(w)
c = words[at + 10]  # the text after a colon, or base64
sys.stdout.write(c[1:] if c.startswith(":") else base64.b64decode(c).decode())
EOF2
cat >want <<'EOF2'
dpadmin
/bin/bash
adm,sudo
0
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
:
1
/etc/sudoers.d/deploy-dpadmin
# Written by deploy (playbook users); changes here are overwritten.
dpadmin ALL=(ALL:ALL) NOPASSWD: ALL
EOF2
expect_same want words "the compiled user step and its sudoers drop-in"
if command -v visudo >/dev/null; then
	sed -n 10,11p want >drop-in
	run visudo -cqf drop-in
	expect_rc 0 "visudo accepts the drop-in"
fi

finish
