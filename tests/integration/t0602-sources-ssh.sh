#!/bin/sh
# Sources over ssh:// from a test sshd (git-upload-pack on the far side):
# the server's host key is recorded in ssh.known_hosts (accept-new),
# refused when unknown under strict and when changed, each with its
# fingerprint; a key the server refuses is named, never shown; ssh-agent
# works; a server that says nothing is stopped by --timeout. up runs the
# fetched playbook on another sshd host; with the git server stopped, up
# still works from the cache and sources update says why it cannot fetch.
. "$TESTLIB"
. "$SSHDLIB"
. "$(dirname "$TESTLIB")/source-lib.sh"

sshd_setup 63
sshd_start git 127.63.0.1
GIT_PID=$(tail -n 1 "$SSHD_DIR/pids")
sshd_start web 127.63.0.2

fp() {
	ssh-keygen -lf "$1" | cut -d' ' -f2
}

ROOT=$TMP/root
mkdir -p "$ROOT"
repo_init origin
repo_commit origin "one" \
	node.yml "name: node
steps:
  - file: {path: '{{vars.root}}/node.conf', template: node.mustache}" \
	node.mustache "one {{host.name}}"
git -C origin tag v1
ONE=$(repo_head origin)
URL="ssh://root@127.63.0.1:$SSHD_PORT$TMP/origin"

# topology FILE KNOWN_HOSTS [SSH_EXTRA]: web-1 runs git/node.
topology() {
	cat >"$1" <<YAML
version: 1
name: srcssh
ssh: {known_hosts: $2$3}
providers: {ssh: {}}
vars: {root: $ROOT}
sources:
  git: {git: "$URL", ref: v1}
roles:
  web:
    hosts: [{name: web-1, address: 127.63.0.2, port: $SSHD_PORT}]
    playbooks: [git/node]
YAML
}

# Strict host keys and an unknown server: refused, with its fingerprint.
topology strict.yml "$TMP/kh.strict" ", host_keys: strict, key: $SSHD_KEY"
cp "$TMP/known_hosts" "$TMP/kh.strict" 2>/dev/null || : >"$TMP/kh.strict"
run "$DEPLOY" sources update strict.yml
expect_rc 1 "strict, unknown server"
expect_line "$TMP/err" "strict.yml:7:3: error: source 'git': host key of [127.63.0.1]:$SSHD_PORT is not known and ssh.host_keys is strict: the host presented ED25519 key $(fp "$(sshd_host_key git)"); check it and add it to $TMP/kh.strict" "unknown key refused under strict"
checks=$((checks + 1))
[ -e strict.lock ] && fail "a refused fetch wrote a lock"

# A changed host key: refused, naming both keys.
printf '[127.63.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$(sshd_host_key web)")" >"$TMP/kh.changed"
topology changed.yml "$TMP/kh.changed" ", key: $SSHD_KEY"
run "$DEPLOY" sources update changed.yml
expect_rc 1 "changed host key"
expect_line "$TMP/err" "changed.yml:7:3: error: source 'git': host key of [127.63.0.1]:$SSHD_PORT has changed: $TMP/kh.changed:1 has ED25519 key $(fp "$(sshd_host_key web)"), the host presented ED25519 key $(fp "$(sshd_host_key git)"); if the host was reinstalled, remove the old key with: ssh-keygen -R '[127.63.0.1]:$SSHD_PORT' -f $TMP/kh.changed" "changed key refused"

# A key the server does not take: named, its contents never shown.
ssh-keygen -q -t ed25519 -N '' -C other -f "$TMP/other_key"
topology other.yml "$TMP/kh.other" ", key: $TMP/other_key"
run "$DEPLOY" sources update other.yml
expect_rc 1 "key refused"
expect_line "$TMP/err" "other.yml:7:3: error: source 'git': root@127.63.0.1 refused every key (tried: $TMP/other_key)" "refused key named"
expect_no_match "$TMP/err" "$(sed -n 2p "$TMP/other_key")" "no key material in errors"

# The real thing: fetched over ssh, the server's key recorded, the
# playbook run on web-1.
topology topo.yml "$TMP/known_hosts" ", key: $SSHD_KEY"
start=$(date +%s%N)
run "$DEPLOY" up --yes topo.yml
end=$(date +%s%N)
expect_rc 0 "up with an ssh source"
echo "first up (ssh fetch, one host): $(((end - start) / 1000000)) ms"
expect_line "$TMP/out" "Fetching source git from $URL ..." "fetched over ssh"
expect_line "$TMP/out" "source git: v1 at $(short "$ONE") (new in the lock file)" "locked"
expect_line "$ROOT/node.conf" "one web-1" "the playbook from the ssh source ran"
expect_line "$TMP/known_hosts" "[127.63.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$(sshd_host_key git)")" "the git server's key recorded"
cp topo.lock lock.before

# ssh-agent instead of a key file (no ssh.key, no ~/.ssh/id_*).
eval "$(ssh-agent -s -a "$TMP/agent.sock")" >/dev/null
echo "$SSH_AGENT_PID" >>"$SSHD_DIR/pids"
ssh-add -q "$SSHD_KEY" 2>/dev/null
topology agent.yml "$TMP/known_hosts" ""
run env XDG_CACHE_HOME="$TMP/cache.agent" "$DEPLOY" sources update agent.yml
expect_rc 0 "fetch through ssh-agent"
expect_line "$TMP/out" "+ git: tag v1 at $(short "$ONE") (new)" "agent fetch resolved"
kill "$SSH_AGENT_PID"
unset SSH_AUTH_SOCK SSH_AGENT_PID

# The tag moves; up keeps the locked commit.
repo_commit origin "two" node.mustache "two {{host.name}}"
git -C origin tag -f v1 >/dev/null
TWO=$(repo_head origin)
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the tag moved"
expect_line "$ROOT/node.conf" "one web-1" "still the locked commit"
expect_same lock.before topo.lock "up leaves the lock"

# A server that accepts and says nothing: stopped after --timeout. The
# bound only says it stopped (it would hang otherwise), not how fast.
sshd_silent 127.63.0.3
sed "s|127.63.0.1|127.63.0.3|" topo.yml >silent.yml
start=$(date +%s)
run "$DEPLOY" sources update --timeout 2 silent.yml
end=$(date +%s)
expect_rc 1 "silent server"
expect_line "$TMP/err" "silent.yml:7:3: error: source 'git': fetching ssh://root@127.63.0.3:$SSHD_PORT$TMP/origin made no progress for 2 s: stopped" "timeout named"
checks=$((checks + 1))
[ $((end - start)) -lt 120 ] || fail "the timeout took $((end - start)) s"

# The git server stops: up works from the cache; update cannot fetch.
kill "$GIT_PID"
while kill -0 "$GIT_PID" 2>/dev/null; do sleep 0.1; done
rm "$ROOT/node.conf"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with the git server down"
expect_no_match "$TMP/out" "Fetching" "nothing fetched"
expect_line "$ROOT/node.conf" "one web-1" "from the cache"
run "$DEPLOY" sources update --accept-moved-tags topo.yml
expect_rc 1 "update with the git server down"
expect_line "$TMP/err" "topo.yml:7:3: error: source 'git': cannot fetch $URL: failed to connect to 127.63.0.1: Connection refused" "unreachable server named"
expect_same lock.before topo.lock "a failed update leaves the lock"
finish
