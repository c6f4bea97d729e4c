#!/bin/sh
# deploy up on real local hosts with the built-in harden and firewall:
# the settings are in force on the hosts, the firewall lets through what
# the topology allows and nothing else, a second up changes nothing,
# --check changes nothing, a failing host skips only its dependents, and
# down leaves nothing behind.
. "$TESTLIB"
: "${TEST_TOOL:?}"

local_setup t0503 253
mkdir -p pb
cat >pb/broken.yml <<'EOF'
name: broken
steps:
  - name: fails on purpose
    shell: {cmd: "echo broken >&2; exit 3"}
EOF
cat >pb/node.yml <<'EOF'
name: node
steps:
  - name: a service on 9000 and 9001
    file:
      path: /etc/systemd/system/t0503.service
      content: |
        [Service]
        ExecStart=/bin/sh -c 'python3 -m http.server 9000 --bind 0.0.0.0 & exec python3 -m http.server 9001 --bind 0.0.0.0'
    notify: [start it]
handlers:
  - name: start it
    service: {name: t0503, state: restarted, daemon_reload: true}
EOF
topology() { # topology [with-broken]
	local_topology admin <<EOF
roles:
  bastion: {playbooks: [harden, firewall]}
  monitoring: {via: bastion, playbooks: [harden, firewall]}
  validator:
    via: bastion
    after: [monitoring]
    playbooks: [harden, firewall, ./pb/node.yml]
    firewall: [{port: 9000, from: [monitoring]}]
EOF
	if [ -n "${1:-}" ]; then
		cat >>topo.yml <<EOF
  broken: {playbooks: [./pb/broken.yml]}
  after-broken: {after: [broken], playbooks: [harden]}
EOF
	fi
}

topology
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
expect_line "$TMP/out" "3 hosts: 3 ok, 0 failed, 0 skipped; $(sed -n 's/^3 hosts: 3 ok, 0 failed, 0 skipped; \([0-9]*\) steps changed$/\1/p' "$TMP/out") steps changed" "first up summary"

# The settings are in force: sshd -T, nft, fail2ban; run through deploy.
run "$DEPLOY" run --limit validator topo.yml -- sshd -T
expect_rc 0 "sshd -T on validator"
for want in "passwordauthentication no" "kbdinteractiveauthentication no" \
	"maxauthtries 3" "logingracetime 30" "x11forwarding no" \
	"allowagentforwarding no" "allowtcpforwarding no" \
	"clientaliveinterval 300" "permitrootlogin without-password"; do
	expect_line "$TMP/out" "validator-0: $want" "validator sshd: $want"
done
run "$DEPLOY" run --limit bastion topo.yml -- sshd -T
expect_line "$TMP/out" "bastion-0: allowtcpforwarding local" "the bastion forwards (local only)"
run "$DEPLOY" run --limit validator topo.yml -- systemctl is-active fail2ban
expect_line "$TMP/out" "validator-0: active" "fail2ban active"
run "$DEPLOY" run --limit validator topo.yml -- nft list ruleset
expect_rc 0 "nft list ruleset"
checks=$((checks + 1))
grep -q "policy drop" "$TMP/out" || fail "default-deny input: $(cat "$TMP/out")"
checks=$((checks + 1))
grep -q "tcp dport 9000" "$TMP/out" || fail "the 9000 rule is there"

# The firewall: 9000 answers monitoring, not the bastion; 9001 answers
# nobody. A refused probe is dropped: it times out.
addr=$(local_address validator-0)
probe() { # probe ROLE PORT: "open" or "closed", seen from ROLE's host
	"$DEPLOY" run --limit "$1" topo.yml -- \
		"timeout 3 bash -c '</dev/tcp/$addr/$2' && echo open || echo closed" |
		sed 's/^[a-z-]*-0: //'
}
checks=$((checks + 1))
[ "$(probe monitoring 9000)" = open ] || fail "9000 from monitoring should answer"
checks=$((checks + 1))
[ "$(probe bastion 9000)" = closed ] || fail "9000 from the bastion should be refused"
checks=$((checks + 1))
[ "$(probe monitoring 9001)" = closed ] || fail "9001 should be refused"

# A second up changes nothing.
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "Nothing to create or destroy: 3 hosts exist." "nothing to create"
expect_line "$TMP/out" "3 hosts: 3 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"

# --check on a host that drifted: reports it, and changes nothing.
drop=/etc/ssh/sshd_config.d/01-deploy-hardening.conf
"$DEPLOY" run --limit validator topo.yml -- "echo '# drift' >>$drop" >/dev/null
tree() { # tree: every file of validator-0's overlay, with mode and sha256, but
# what services write as they run (logs, journals, fail2ban's database)
	d=$local_dir/$name/validator-0/upper
	(cd "$d" && find . -path ./var/log -prune -o -path ./var/lib/systemd -prune \
		-o -path ./var/lib/fail2ban -prune \
		-o -path ./run -prune -o -path ./tmp -prune -o -type f -print |
		sort | while read -r f; do
			printf '%s %s\n' "$(stat -c %a "$f")" "$(sha256sum <"$f")  $f"
		done)
}
tree >before
run "$DEPLOY" up --check topo.yml
expect_rc 0 "up --check"
expect_line "$TMP/out" "validator-0: [3/$(sed -n 's/^validator-0: started (\([0-9]*\) steps)$/\1/p' "$TMP/out")] harden: sshd drop-in: changed" "--check sees the drift"
expect_line "$TMP/out" "3 hosts: 3 ok, 0 failed, 0 skipped; 2 steps would change" "--check summary (the step and its handler)"
tree >after
expect_same before after "--check left the host byte for byte as it was"
run "$DEPLOY" up --yes topo.yml
expect_line "$TMP/out" "3 hosts: 3 ok, 0 failed, 0 skipped; 2 steps changed" "the drift repaired (and sshd reloaded)"

# A failing host skips only what depends on it.
topology with-broken
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a broken role"
expect_line "$TMP/out" "broken-0: failed: broken: fails on purpose: exit status 3" "the failure is named"
expect_line "$TMP/out" "after-broken-0: skipped: dependency failed (broken)" "its dependent is skipped"
expect_line "$TMP/out" "5 hosts: 3 ok, 1 failed, 1 skipped; 0 steps changed" "the others are fine"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
expect_local_gone
finish
