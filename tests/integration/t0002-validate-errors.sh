#!/bin/sh
# deploy validate on bad topologies: every problem is printed as
# FILE:LINE:COL: error: MESSAGE, all of them in one run, and the exit is 1.
. "$TESTLIB"

# One topology with many mistakes at once.
cat >bad.yml <<'YAML'
version: 1
name: icon-testnet
ssh:
  admin_cidrs: [0.0.0.0/0, 10.0.0.1/8]
  host_keys: stict
providers:
  aws: {regoin: us-east-1}
roles:
  validator:
    provider: aws
    count: three
    after: [sentry]
    playbook: [harden]
    firewall: [{port: 70000, from: [sentri]}]
  sentry:
    provider: awss
    after: [validator]
    via: bastion
  metal:
    provider: ssh
  metal:
    provider: ssh
  Bad_Name: {provider: aws}
YAML
run "$DEPLOY" validate bad.yml
expect_rc 1 "many mistakes"
cat >expected <<'EOF'
bad.yml:4:17: error: ssh.admin_cidrs opens SSH to the world (0.0.0.0/0): list the addresses you administer from, or set 'ssh.allow_world_ssh: true' if you mean it
bad.yml:4:28: error: ssh.admin_cidrs[1] '10.0.0.1/8' has bits set past its prefix length (did you mean '10.0.0.0/8'?)
bad.yml:5:14: error: ssh.host_keys 'stict' is not one of accept-new, strict (did you mean 'strict'?)
bad.yml:7:9: error: unknown key 'regoin' in providers.aws (did you mean 'region'?)
bad.yml:11:12: error: roles.validator.count must be an integer, not a string ('three')
bad.yml:12:13: error: dependency cycle: validator -> sentry -> validator (each role waits for the next through 'after' or 'via'; remove one of these)
bad.yml:13:5: error: unknown key 'playbook' in roles.validator (did you mean 'playbooks'?)
bad.yml:14:23: error: roles.validator.firewall[0].port must be a port from 1 to 65535 or a range such as '8000-8100', not '70000'
bad.yml:14:37: error: unknown role 'sentri' in roles.validator.firewall[0].from (did you mean 'sentry'?)
bad.yml:16:15: error: unknown provider 'awss' (did you mean 'aws'?)
bad.yml:18:10: error: unknown role 'bastion' in roles.sentry.via
bad.yml:19:3: error: role 'metal' uses provider 'ssh' and lists no hosts: add 'hosts: [{name: metal-1, address: ADDRESS}]' or 'inventory: hosts.ini'
bad.yml:21:3: error: duplicate key 'metal' (first at line 19, column 3); remove one of them
bad.yml:23:3: error: role name 'Bad_Name' is not a DNS label: use 1 to 63 lowercase letters, digits and '-', not starting or ending with '-'
bad.yml: 14 errors
EOF
expect_same expected "$TMP/err" "every error, in file order"
checks=$((checks + 1))
[ -s "$TMP/out" ] && fail "nothing on stdout when invalid"

# check NAME EXPECTED-LINE: the bad topology NAME.yml (written by the
# caller) gives this exact line on stderr, and exit 1.
check() {
	run "$DEPLOY" validate "$1.yml"
	expect_rc 1 "$1"
	expect_line "$TMP/err" "$2" "$1"
}

# YAML syntax error at the right line
printf 'version: 1\nname: t\nroles:\n  a: {provider: local\n  b: {}\n' >syntax.yml
check syntax "syntax.yml:5:4: error: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 4, column 6)"

printf 'version: 1\nname: t\nroles:\n\tv: {}\n' >tab.yml
check tab "tab.yml:4:1: error: invalid YAML: found character that cannot start any token (while scanning for the next token at line 4, column 1)"

: >empty.yml
check empty "empty.yml:1:1: error: empty topology: it needs at least 'version: 1', 'name' and 'roles' (see examples/local.yml)"

printf -- '- a\n- b\n' >list.yml
check list "list.yml:1:1: error: a topology is a mapping of keys (version, name, roles ...), not a list"

printf 'version: 1\nname: t\nroles: {v: {provider: local}}\nname: u\n' >dup.yml
check dup "dup.yml:4:1: error: duplicate key 'name' (first at line 2, column 1); remove one of them"

printf 'version: "1"\nname: t\nroles: {v: {provider: local}}\n' >version-type.yml
check version-type "version-type.yml:1:10: error: version must be an integer, not a string ('1')"

printf 'version: 7\nname: t\nroles: {v: {provider: local}}\n' >version.yml
check version "version.yml:1:10: error: unsupported version 7: this deploy reads version 1 (see docs/topology.md)"

printf 'version: 1\nroles: {v: {provider: local}}\n' >noname.yml
check noname "noname.yml:1:1: error: missing key 'name' at the top level (e.g. 'name: icon-mainnet')"

printf 'version: 1\nname: t\nroles: {v: {provider: azure}}\n' >provider.yml
check provider "provider.yml:3:23: error: unknown provider 'azure' (known: aws, gcp, digitalocean, ssh, local)"

printf 'version: 1\nname: t\nroles:\n  v: {provider: local, firewall: [{port: 22, from: world}]}\n' >world.yml
check world "world.yml:4:52: error: roles.v.firewall[0] opens SSH (port 22) to the world: SSH is allowed from ssh.admin_cidrs and bastions already; remove it, or set 'ssh.allow_world_ssh: true' if you mean it"

printf 'version: 1\nname: t\nssh: {admin_cidrs: ["::/0"]}\nroles: {v: {provider: local}}\n' >world6.yml
check world6 "world6.yml:3:21: error: ssh.admin_cidrs opens SSH to the world (::/0): list the addresses you administer from, or set 'ssh.allow_world_ssh: true' if you mean it"

# allowed when said so: a warning, exit 0
printf 'version: 1\nname: t\nssh: {admin_cidrs: [0.0.0.0/0], allow_world_ssh: true}\nroles: {v: {provider: local}}\n' >world-ok.yml
run "$DEPLOY" validate world-ok.yml
expect_rc 0 "world ssh allowed"
expect_line "$TMP/err" "world-ok.yml:3:21: warning: ssh.admin_cidrs opens SSH to the world (0.0.0.0/0), as ssh.allow_world_ssh allows" "world ssh warning"

# secrets that point nowhere are warnings at validate
printf 'version: 1\nname: t\nsecrets: {pw: {env: DEPLOY_T0002_UNSET}}\nroles: {v: {provider: local}}\n' >secret.yml
run env -u DEPLOY_T0002_UNSET "$DEPLOY" validate secret.yml
expect_rc 0 "secret warning only"
expect_line "$TMP/err" "secret.yml:3:11: warning: secret 'pw': environment variable 'DEPLOY_T0002_UNSET' is not set ('deploy up' will need it)" "secret warning"
run env DEPLOY_T0002_UNSET=s3cr3t-value "$DEPLOY" validate secret.yml
expect_rc 0 "secret set"
expect_no_match "$TMP/err" "warning" "no warning once set"
expect_no_match "$TMP/out" "s3cr3t-value" "secret value never printed"

# a file that cannot be read
run "$DEPLOY" validate no-such-file.yml
expect_rc 1 "missing file"
expect_line "$TMP/err" "no-such-file.yml: error: cannot read: No such file or directory" "missing file message"

# a file that is not UTF-8
printf 'version: 1\nname: \377\n' >binary.yml
check binary "binary.yml:2:7: error: invalid YAML: invalid leading UTF-8 octet"

# built-in playbook names are checked too: one deploy does not have is an
# error at its place, with a "did you mean" when a built-in is near
printf 'version: 1\nname: t\nroles:\n  v: {provider: local, playbooks: [harden, hardne]}\n  w: {provider: local, playbooks: [firewall, postgres]}\n' >builtin.yml
run "$DEPLOY" validate builtin.yml
expect_rc 1 "unknown built-in playbooks"
cat >expected <<'EOF'
builtin.yml:4:44: error: unknown built-in playbook 'hardne' (did you mean 'harden'?)
builtin.yml:5:46: error: unknown built-in playbook 'postgres' (a playbook file of your own needs a path such as './postgres.yml')
builtin.yml: 2 errors
EOF
expect_same expected "$TMP/err" "unknown built-ins at their places"
checks=$((checks + 1))
[ -s "$TMP/out" ] && fail "nothing on stdout when a built-in is unknown"
# the built-in monitoring playbook's thresholds are checked where the
# topology sets them, before anything else happens (deploy up reads the
# topology the same way)
printf 'version: 1\nname: t\nroles:\n  mon:\n    provider: local\n    playbooks: [monitoring]\n    vars: {alert_disk_used_percent: abc}\n' >threshold.yml
check threshold "threshold.yml:7:37: error: roles.mon.vars.alert_disk_used_percent: 'abc' is not a percentage (a number from 0 to 100)"
run "$DEPLOY" up --yes threshold.yml
expect_rc 1 "up with a bad threshold"
expect_line "$TMP/err" "threshold.yml:7:37: error: roles.mon.vars.alert_disk_used_percent: 'abc' is not a percentage (a number from 0 to 100)" "up stops at the bad threshold"
checks=$((checks + 1))
[ -d .deploy ] && fail "up made state for a topology with a bad threshold"
# the sentry playbook's limits too, and sentry_of must name another role
printf 'version: 1\nname: t\nroles:\n  v: {provider: local}\n  s:\n    provider: local\n    sentry_of: v\n    playbooks: [sentry]\n    vars: {sentry_rate: abc, sentry_burst: -5, sentry_chain: btc}\n' >sentry.yml
run "$DEPLOY" validate sentry.yml
expect_rc 1 "validate sentry.yml"
expect_line "$TMP/err" "sentry.yml:9:25: error: roles.s.vars.sentry_rate: 'abc' is not a rate such as 100r/s or 600r/m" "a rate of abc"
expect_line "$TMP/err" "sentry.yml:9:44: error: roles.s.vars.sentry_burst: '-5' is not a whole number from 0" "a negative burst"
expect_line "$TMP/err" "sentry.yml:9:62: error: roles.s.vars.sentry_chain: 'btc' is not a chain deploy has a sentry profile for: 'icon' or 'near'" "an unknown chain"
printf 'version: 1\nname: t\nroles:\n  s: {provider: local, sentry_of: s, playbooks: [sentry]}\n  t: {provider: local, sentry_of: validator}\n' >sentry-of.yml
run "$DEPLOY" validate sentry-of.yml
expect_rc 1 "validate sentry-of.yml"
expect_line "$TMP/err" "sentry-of.yml:4:35: error: role 's' names itself in 'sentry_of'" "sentry_of itself"
expect_line "$TMP/err" "sentry-of.yml:5:35: error: unknown role 'validator' in roles.t.sentry_of" "sentry_of an unknown role"

# Container images are pinned: a bare tag or latest is refused, at its
# place, with the digest form as the hint; 'up' stops before anything is
# created, contacted or recorded.
digest=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cat >images.yml <<EOF
version: 1
name: images
ssh: {admin_cidrs: [127.0.0.1/32]}
vars:
  icon_image: iconloop/icon2-node:v1.4.4
artifacts:
  node-image: {url: "file://$TMP/nowhere.tar", sha256: $digest, docker_load: true, image: "deploy-test-node:1"}
roles:
  node:
    provider: ssh
    hosts: [{name: n-1, address: 127.0.0.1, port: 1}]
    playbooks: [docker]
    vars:
      node_image: nginx:latest
      bare_image: nginx
      pinned_image: nginx:1.25@sha256:$digest
      loaded_image: deploy-test-node:1
EOF
run "$DEPLOY" validate images.yml
expect_rc 1 "unpinned images"
hint="(docker inspect --format '{{index .RepoDigests 0}}' IMAGE prints it), or ship it as a 'docker save' artifact with 'docker_load: true' and its 'image:'"
cat >expected <<EOF
images.yml:5:15: error: vars.icon_image 'iconloop/icon2-node:v1.4.4' is not pinned (a tag can be moved to other content): write it with its digest, 'iconloop/icon2-node@sha256:<64 hex digits>' $hint
images.yml:14:19: error: roles.node.vars.node_image 'nginx:latest' is not pinned ('latest' moves): write it with its digest, 'nginx@sha256:<64 hex digits>' $hint
images.yml:15:19: error: roles.node.vars.bare_image 'nginx' is not pinned (no tag means 'latest', which moves): write it with its digest, 'nginx@sha256:<64 hex digits>' $hint
images.yml: 3 errors
EOF
expect_same expected "$TMP/err" "bare tags and latest refused, digests and loaded images taken"
run "$DEPLOY" up --yes images.yml
expect_rc 1 "up with unpinned images"
expect_line "$TMP/err" "images.yml: 3 errors" "up gives the same errors"
checks=$((checks + 1))
[ -e .deploy ] && fail "up with unpinned images recorded something: $(ls -R .deploy)"
finish
