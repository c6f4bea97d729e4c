#!/bin/sh
# Roles with 'provider: ssh' that take their hosts from Ansible inventories
# (INI and YAML): validate and graph show them like listed hosts, and every
# problem in an inventory is reported at the inventory's FILE:LINE:COL.
. "$TESTLIB"

mkdir fleet
cat >fleet/hosts.ini <<'INI'
# validators and sentries, as Ansible reads them
[validators]
val-1.example.net ansible_host=198.51.100.10
val-2.example.net ansible_host=198.51.100.11 ansible_port=2202

[sentries]
sentry-[01:03] ansible_user=debian

[eu:children]
sentries

[eu:vars]
region="eu west"
INI
cat >fleet/monitoring.yml <<'YAML'
all:
  children:
    monitoring:
      hosts:
        mon.example.net:
          ansible_host: 192.0.2.20
YAML
cat >fleet/fleet.yml <<'YAML'
version: 1
name: metal
roles:
  monitoring: {provider: ssh, inventory: monitoring.yml}
  validators:
    provider: ssh
    inventory: hosts.ini
    after: [monitoring]
  sentry:
    provider: ssh
    inventory: ./hosts.ini
    group: sentries
    after: [validators]
  extra:
    provider: ssh
    hosts: [{name: extra-1, address: 203.0.113.9}]
YAML

run "$DEPLOY" validate fleet/fleet.yml
expect_rc 0 "validate with inventories"
cat >expected <<'EOF'
fleet/fleet.yml: valid topology 'metal' (version 1)
providers: ssh
  ssh           existing hosts (bare metal) reached over SSH
roles: 4, hosts: 7
  role        provider      hosts  playbooks
  monitoring  ssh               1  -
  validators  ssh               2  -
  sentry      ssh               3  -
  extra       ssh               1  -
order: 1. monitoring, extra 2. validators 3. sentry
EOF
expect_same expected "$TMP/out" "validate summary counts inventory hosts"
checks=$((checks + 1))
[ -s "$TMP/err" ] && fail "nothing on stderr for a valid topology"

run "$DEPLOY" graph fleet/fleet.yml
expect_rc 0 "graph with inventories"
cat >expected <<'EOF'
metal: 4 roles, 7 hosts, 3 levels (the roles of a level run at the same time)
level 1
  monitoring (ssh): mon-example-net
  extra (ssh): extra-1
level 2
  validators (ssh): val-1-example-net, val-2-example-net  [after monitoring]
level 3
  sentry (ssh): sentry-01, sentry-02, sentry-03  [after validators]
EOF
expect_same expected "$TMP/out" "graph names inventory hosts as DNS labels"

run "$DEPLOY" graph --format dot fleet/fleet.yml
expect_rc 0 "graph dot with inventories"
expect_line "$TMP/out" '	"sentry" [label="sentry\nssh: sentry-01, sentry-02, sentry-03"];' "dot label lists inventory hosts"

# Run from inside the directory: files are named as written.
(cd fleet && "$DEPLOY" graph fleet.yml >"$TMP/out" 2>"$TMP/err")
rc=$?
expect_rc 0 "graph from the topology's directory"
expect_line "$TMP/out" "  monitoring (ssh): mon-example-net" "relative paths from the topology's directory"

# ~/ is the home directory.
mkdir home
cp fleet/hosts.ini home/inv.ini
cat >home.yml <<'YAML'
version: 1
name: home
roles:
  validators: {provider: ssh, inventory: ~/inv.ini}
YAML
HOME="$TMP/home" run "$DEPLOY" graph home.yml
expect_rc 0 "inventory under ~/"
expect_line "$TMP/out" "  validators (ssh): val-1-example-net, val-2-example-net" "~/ expanded"

# Errors inside inventories name the inventory's file, line and column; the
# topology's own come first; each inventory is read (and reported) once.
cat >bad.ini <<'INI'
[validators]
val-1 ansible_host=198.51.100.10
val-2 ansible_port=99999

[sentries]
sentry-1 rack=3 b5
sentry_2
[sentries:vars]
ansible_ssh_pass=hunter2
[edge:children]
sentrys
INI
cat >bad.yml <<'YAML'
all:
  children:
    monitoring:
      host:
        mon-1:
YAML
cat >errors.yml <<'YAML'
version: 1
name: errors
roles:
  validator: {provider: ssh, inventory: bad.ini}
  sentries: {provider: ssh, inventory: bad.ini}
  edge: {provider: ssh, inventory: bad.ini, after: [sentrys]}
  monitoring: {provider: ssh, inventory: bad.yml}
  gone: {provider: ssh, inventory: missing.ini}
  both:
    provider: ssh
    hosts: [{name: both-1, address: 192.0.2.1}]
    inventory: bad.ini
  neither: {provider: ssh, group: x}
  cloud: {provider: local, inventory: bad.ini}
YAML
run "$DEPLOY" validate errors.yml
expect_rc 1 "inventory errors"
cat >expected <<'EOF'
errors.yml:4:41: error: group 'validator' is not in inventory 'bad.ini' (did you mean 'validators'?); its groups: validators, sentries, edge; a role takes the group named like it unless 'group' names another
errors.yml:6:36: error: group 'edge' in inventory 'bad.ini' has no hosts
errors.yml:6:53: error: unknown role 'sentrys' in roles.edge.after (did you mean 'sentries'?)
errors.yml:7:42: error: group 'monitoring' in inventory 'bad.yml' has no hosts
errors.yml:8:36: error: inventory 'missing.ini' cannot be read: No such file or directory
errors.yml:12:5: error: role 'both' has both 'hosts' and 'inventory': keep one of them
errors.yml:13:3: error: role 'neither' uses provider 'ssh' and lists no hosts: add 'hosts: [{name: neither-1, address: ADDRESS}]' or 'inventory: hosts.ini'
errors.yml:13:28: error: 'group' applies only with 'inventory' (the inventory group whose hosts the role takes)
errors.yml:14:39: error: 'inventory' applies only to provider 'ssh'; provider 'local' creates this role's hosts (use 'count')
bad.ini:3:20: error: ansible_port must be a port from 1 to 65535, not '99999'
bad.ini:6:17: error: bad host line: expected KEY=VALUE after the host, not 'b5'
bad.ini:7:1: error: host name 'sentry_2' is not a DNS label (1 to 63 lowercase letters, digits and '-', not starting or ending with '-'); rename the host in the inventory
bad.ini:9:1: warning: 'ansible_ssh_pass' is ignored: deploy logs in with keys and keeps passwords out of inventories (see 'secrets' in docs/topology.md)
bad.ini:11:1: error: group 'sentrys' is not defined in the inventory (did you mean 'sentries'?)
bad.yml:4:7: error: unknown key 'host' in group 'monitoring' (did you mean 'hosts'?)
errors.yml: 14 errors, and warnings above
EOF
expect_same expected "$TMP/err" "every inventory error, at its file"
checks=$((checks + 1))
[ -s "$TMP/out" ] && fail "nothing on stdout when invalid"

# A YAML syntax error in an inventory stops that inventory only.
printf 'all:\n  hosts: {a: 1\n' >broken.yml
cat >broken-top.yml <<'YAML'
version: 1
name: broken
roles:
  a: {provider: ssh, inventory: broken.yml}
YAML
run "$DEPLOY" validate broken-top.yml
expect_rc 1 "YAML syntax error in an inventory"
cat >expected <<'EOF'
broken.yml:3:1: error: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 2, column 10)
broken-top.yml: 1 error
EOF
expect_same expected "$TMP/err" "YAML syntax error at the inventory's position"

# A host in two roles' groups is one name used twice.
cat >twice.ini <<'INI'
[a]
web-1
[b]
web-1
INI
cat >twice.yml <<'YAML'
version: 1
name: twice
roles:
  a: {provider: ssh, inventory: twice.ini}
  b: {provider: ssh, inventory: twice.ini}
  c: {provider: ssh, hosts: [{name: web-1, address: 192.0.2.1}]}
YAML
run "$DEPLOY" validate twice.yml
expect_rc 1 "one host in two roles"
cat >expected <<'EOF'
twice.yml:6:30: error: host name 'web-1' is used twice (first at twice.ini:2:1)
twice.ini:4:1: error: host name 'web-1' is used twice (first at line 2, column 1)
twice.yml: 2 errors
EOF
expect_same expected "$TMP/err" "duplicate host across files"

finish
