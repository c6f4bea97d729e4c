#!/bin/sh
# plan --diff and up --diff against a real sshd host: under each host that
# would change, the unified diff of each file a file, template or line step
# would change, exactly; a file whose content holds a secret is named, its
# contents hidden, and the secret is nowhere in the output; a converged
# host shows no diff.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 47
sshd_start h 127.47.0.1

T0326_TOKEN=tok_t0326_Pq7Lm20x
export T0326_TOKEN
root=$TMP/root
mkdir -p "$root"
printf 'a = 1\nb = 2\n' >"$root/app.conf"
printf 'listen 80;\n' >"$root/site.conf"
printf '127.0.0.1 localhost\n10.0.0.2 old-name\n' >"$root/hosts"
printf 'token=old\n' >"$root/token"

printf 'listen {{vars.port}};\n' >site.mustache
cat >diff.yml <<'EOF'
name: d
steps:
  - name: content
    file: {path: "{{vars.root}}/app.conf", content: "a = 1\nb = 3\n"}
  - name: template
    file: {path: "{{vars.root}}/site.conf", template: site.mustache}
  - name: line
    line: {path: "{{vars.root}}/hosts", line: "10.0.0.2 validator", regexp: "^10\\.0\\.0\\.2[[:space:]]"}
  - name: secret
    file: {path: "{{vars.root}}/token", content: "token={{secrets.token}}\n", mode: "0600"}
EOF
cat >topo.yml <<EOF
version: 1
name: t0326
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
vars: {root: $root, port: 8080}
secrets: {token: {env: T0326_TOKEN}}
roles:
  web: {hosts: [{name: web-1, address: 127.47.0.1, port: $SSHD_PORT}], playbooks: [./diff.yml]}
EOF

cat >diffs <<EOF
  d: content
    --- $root/app.conf
    +++ $root/app.conf
    @@ -1,2 +1,2 @@
     a = 1
    -b = 2
    +b = 3
  d: template
    --- $root/site.conf
    +++ $root/site.conf
    @@ -1 +1 @@
    -listen 80;
    +listen 8080;
  d: line
    --- $root/hosts
    +++ $root/hosts
    @@ -1,2 +1,2 @@
     127.0.0.1 localhost
    -10.0.0.2 old-name
    +10.0.0.2 validator
  d: secret (contents hidden: holds secret token)
EOF

run "$DEPLOY" plan --diff topo.yml
expect_rc 2 "plan --diff"
sed -n '/^~ web-1/,$p' "$TMP/out" >got
{ echo "~ web-1: 4 steps would change"; cat diffs; } >expected
expect_same expected got "plan --diff: the diffs under the host"
cp "$TMP/out" plan.out
cp "$TMP/err" plan.err

run "$DEPLOY" plan topo.yml
expect_rc 2 "plan without --diff"
expect_no_match "$TMP/out" "+++" "plan without --diff shows no diff"

run "$DEPLOY" up --yes --diff topo.yml
expect_rc 0 "up --diff"
sed -n '/^web-1: ok/,/^$/p' "$TMP/out" | sed '1d;/^$/d' >got
expect_same diffs got "up --diff: the diffs of what it changed"
cp "$TMP/out" up.out
cp "$TMP/err" up.err
printf 'a = 1\nb = 3\n' >want
expect_same want "$root/app.conf" "up changed the file"

run "$DEPLOY" plan --diff topo.yml
expect_rc 0 "plan --diff on a converged host"
expect_no_match "$TMP/out" "---" "no diff when nothing would change"

for f in plan.out plan.err up.out up.err .deploy/logs/web-1.log; do
	[ -e "$f" ] || continue
	expect_no_match "$f" "$T0326_TOKEN" "the secret is not in $f"
done

finish
