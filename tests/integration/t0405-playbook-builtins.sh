#!/bin/sh
# The built-in playbooks harden and firewall, compiled for the hosts of a
# topology. They act on the machine's /etc, so they do not run here: the
# files they would write are taken out of the compiled script and checked
# (against the expected text, and with 'sshd -t' and 'nft -c' when those
# are installed); which steps run where is checked on the step lines.

. "$TESTLIB"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

cat >topo.yml <<'EOF2'
version: 1
name: fleet
ssh: {user: admin, admin_cidrs: [203.0.113.7/32, "2001:db8:1::/48"]}
providers: {local: {}}
roles:
  bastion:
    playbooks: [harden, firewall]
  validator:
    via: bastion
    playbooks: [harden, firewall, docker]
    firewall:
      - {port: 7100, from: [sentry]}
      - {port: 9000, from: world}
      - {port: 30000-30100, proto: udp, from: [sentry, 10.0.0.0/8]}
  sentry:
    count: 2
    playbooks: [harden, firewall]
    firewall: [{port: 9000, from: world}]
EOF2
ADDRS="--address bastion-0=198.51.100.1,10.1.0.1
--address validator-0=198.51.100.2,10.1.0.2
--address sentry-0=198.51.100.3,10.1.0.3
--address sentry-1=2001:db8::4"

# compile HOST: the host's script (harden and firewall) in HOST.sh.
compile() {
	# shellcheck disable=SC2086 # ADDRS is a list of words
	"$TEST_TOOL" playbook-compile --topology topo.yml --host "$1" \
		--playbook harden --playbook firewall --nonce 1 $ADDRS \
		>"$1.sh" 2>"$1.err"
	rc=$?
}

# steps SCRIPT: "N KIND LABEL" for every step ("skip" for a when: false).
steps() {
	python3 - "$1" <<'EOF2'
import shlex, sys
text = open(sys.argv[1]).read()
w = shlex.split(text[text.index("_dp_main() {"):])
for i in range(len(w)):
    if w[i] == "_dp_step":
        print(w[i + 1], w[i + 5], w[i + 2])
    elif w[i] == "_dp_skip":
        print(w[i + 1], "skip", w[i + 2])
EOF2
}

for h in bastion-0 validator-0 sentry-0 sentry-1; do
	compile "$h"
	expect_rc 0 "$h compiles"
	run sh -n "$h.sh"
	expect_rc 0 "$h: sh -n"
done

# --- the sshd drop-in ------------------------------------------------------

D=/etc/ssh/sshd_config.d/01-deploy-hardening.conf
compiled_file validator-0.sh "$D" >validator.sshd
cat >want <<'EOF2'
# Written by deploy (playbook harden) for validator-0; changes here are
# overwritten. sshd keeps the first value it reads for a keyword, and this
# file sorts before the others in /etc/ssh/sshd_config.d.
# deploy logs in as admin and uses sudo: root never logs in.
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
MaxAuthTries 3
LoginGraceTime 30
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
PermitTunnel no
ClientAliveInterval 300
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-512,hmac-sha2-256
EOF2
expect_same want validator.sshd "the sshd drop-in of a host behind a bastion"
compiled_file bastion-0.sh "$D" >bastion.sshd
expect_line bastion.sshd "AllowTcpForwarding local" "a bastion forwards for ProxyJump"

# A host deploy reaches as root keeps root logins, with keys only.
sed 's/user: admin, //' topo.yml >topo-root.yml
"$TEST_TOOL" playbook-compile --topology topo-root.yml --host sentry-0 \
	--playbook harden --nonce 1 >root.sh
compiled_file root.sh "$D" >root.sshd
expect_line root.sshd "PermitRootLogin prohibit-password" "root logs in with keys only"

if [ -x /usr/sbin/sshd ]; then
	ssh-keygen -q -t ed25519 -N '' -f hostkey
	for f in validator.sshd bastion.sshd root.sshd; do
		printf 'Include %s/%s\nHostKey %s/hostkey\nPidFile none\n' \
			"$TMP" "$f" "$TMP" >sshd_config
		mkdir -p /run/sshd 2>/dev/null
		run /usr/sbin/sshd -t -f sshd_config
		expect_rc 0 "sshd -t accepts $f"
	done
fi

# --- the nftables rules ----------------------------------------------------

compiled_file validator-0.sh /etc/nftables.conf >validator.nft
cat >want <<'EOF2'
#!/usr/sbin/nft -f
# Written by deploy (playbook firewall) for validator-0 (role validator);
# changes here are overwritten. Input is refused unless a rule below accepts
# it; output and forwarding are left alone. Applied with 'nft -f', which
# replaces the rules in one transaction.
# This host runs Docker: only deploy's table is replaced, Docker's stay; the
# ports its containers publish obey the same rules (chain published).
table inet deploy
delete table inet deploy

table inet deploy {
	chain input {
		type filter hook input priority filter; policy drop;

		# Replies (and the SSH session applying these rules) first.
		ct state established,related accept
		ct state invalid drop
		iif "lo" accept

		# ICMP that networks need: errors, path MTU, IPv6 neighbours.
		ip protocol icmp icmp type { destination-unreachable, time-exceeded, parameter-problem, echo-request } accept
		ip6 nexthdr icmpv6 icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } accept
		ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept

		# SSH from the bastion only.
		ip saddr { 198.51.100.1, 10.1.0.1 } tcp dport 22 accept

		# 7100/tcp from sentry
		ip saddr { 198.51.100.3, 10.1.0.3 } tcp dport 7100 accept
		ip6 saddr { 2001:db8::4 } tcp dport 7100 accept

		# 9000/tcp from world
		tcp dport 9000 accept

		# 30000-30100/udp from sentry, 10.0.0.0/8
		ip saddr { 198.51.100.3, 10.1.0.3, 10.0.0.0/8 } udp dport 30000-30100 accept
		ip6 saddr { 2001:db8::4 } udp dport 30000-30100 accept
	}

	# Ports Docker publishes: its NAT (table ip nat) sends a connection
	# to such a port on to a container, so it is forwarded and never
	# reaches the input chain above. Each connection Docker's NAT
	# redirected is held here to the same rules, by the port it was sent
	# to; a drop in any chain is final, whatever Docker's chains accept.
	# Containers' own traffic and replies are left to Docker.
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct status dnat ct direction original jump published
	}

	chain published {
		ct state established,related accept
		ip saddr { 198.51.100.1, 10.1.0.1 } meta l4proto tcp ct original proto-dst 22 accept
		# 7100/tcp from sentry
		ip saddr { 198.51.100.3, 10.1.0.3 } meta l4proto tcp ct original proto-dst 7100 accept
		ip6 saddr { 2001:db8::4 } meta l4proto tcp ct original proto-dst 7100 accept
		# 9000/tcp from world
		meta l4proto tcp ct original proto-dst 9000 accept
		# 30000-30100/udp from sentry, 10.0.0.0/8
		ip saddr { 198.51.100.3, 10.1.0.3, 10.0.0.0/8 } meta l4proto udp ct original proto-dst 30000-30100 accept
		ip6 saddr { 2001:db8::4 } meta l4proto udp ct original proto-dst 30000-30100 accept
		drop
	}
}
EOF2
expect_same want validator.nft "the rules of a Docker host behind a bastion"
compiled_file bastion-0.sh /etc/nftables.conf >bastion.nft
expect_line bastion.nft "flush ruleset" "a host without Docker owns the whole ruleset"
expect_line bastion.nft "		ip saddr { 203.0.113.7/32 } tcp dport 22 accept" "SSH from admin_cidrs (IPv4)"
expect_line bastion.nft "		ip6 saddr { 2001:db8:1::/48 } tcp dport 22 accept" "SSH from admin_cidrs (IPv6)"
expect_no_match bastion.nft "dport 9000" "no rule the role did not ask for"
expect_no_match bastion.nft "chain published" "no forward chain without Docker"
compiled_file sentry-1.sh /etc/nftables.conf >sentry.nft

if command -v nft >/dev/null && nft list ruleset >/dev/null 2>&1; then
	for f in validator.nft bastion.nft sentry.nft; do
		run nft -c -f "$f"
		expect_rc 0 "nft -c accepts $f"
	done
fi

# --- which steps run where -------------------------------------------------

steps validator-0.sh >validator.steps
expect_line validator.steps "8 dp_file harden: forwarding left to Docker" "a Docker host keeps its forwarding"
expect_line validator.steps "6 skip harden: no forwarding (Docker's hosts keep theirs)" "and gets no forwarding file"
expect_line validator.steps "3 dp_file harden: sshd drop-in" "the drop-in"
expect_line validator.steps "23 dp_file firewall: the rules" "the rules"
steps bastion-0.sh >bastion.steps
expect_line bastion.steps "6 dp_sysctl harden: no forwarding (Docker's hosts keep theirs)" "a host without Docker forwards nothing"
expect_line bastion.steps "8 skip harden: forwarding left to Docker" "and keeps no Docker exception"
compiled_file validator-0.sh "$D" validate >got
echo "sshd -t" >want
expect_same want got "the drop-in is checked with sshd -t before it stays"
compiled_file validator-0.sh /etc/nftables.conf validate >got
echo "nft -c -f /etc/nftables.conf" >want
expect_same want got "the rules are checked with nft -c before they stay"
expect_line validator-0.sh "	_dp_handler 1 'harden: reload sshd' 'harden.reload-sshd' '0' dp_service 'ssh' '' 'reloaded' '0'" "sshd reloads when its file changed"
expect_line validator-0.sh "	_dp_handler 4 'firewall: apply the rules' 'firewall.apply-the-rules' '0' dp_command '' '' '/' '' 'nft' '-f' '/etc/nftables.conf'" "the rules apply with nft -f"

# --- docker ------------------------------------------------------------------

# shellcheck disable=SC2086 # ADDRS is a list of words
"$TEST_TOOL" playbook-compile --topology topo.yml --host validator-0 \
	--playbook docker --nonce 1 $ADDRS >docker.sh 2>docker.err
rc=$?
checks=$((checks + 1))
[ $rc -eq 0 ] || fail "the docker playbook does not compile: $(cat docker.err)"
compiled_file docker.sh /etc/docker/daemon.json >daemon.json
cat >want <<'EOF2'
{
	"log-driver": "json-file",
	"log-opts": {
		"max-size": "10m",
		"max-file": "3"
	},
	"live-restore": true,
	"iptables": true
}
EOF2
expect_same want daemon.json "daemon.json: log limits, live-restore, Docker's NAT kept"
run python3 -c 'import json, sys; json.load(open(sys.argv[1]))' daemon.json
expect_rc 0 "daemon.json is JSON"
steps docker.sh >docker.steps
expect_line docker.steps "2 dp_file docker: daemon.json" "daemon.json before the package"
expect_line docker.steps "3 dp_apt docker: docker.io installed" "docker.io from Debian"
expect_line docker.steps "4 dp_service docker: docker runs" "the service"
expect_line docker.sh "	_dp_handler 1 'docker: restart docker' 'docker.restart-docker' '0' dp_service 'docker' '' 'restarted' '0'" "dockerd restarts when daemon.json changed"

# Switches: sysctl settings written but not applied (containers).
cat >>topo.yml <<'EOF2'
vars: {harden_sysctl_apply: false, harden_fail2ban: false}
EOF2
compile sentry-0
steps sentry-0.sh >sentry.steps
expect_line sentry.steps "4 skip harden: kernel and network settings" "sysctl not applied"
expect_line sentry.steps "5 dp_sysctl harden: kernel and network settings (written, applied at boot)" "sysctl written"
expect_line sentry.steps "15 skip harden: fail2ban installed" "fail2ban off"

finish
