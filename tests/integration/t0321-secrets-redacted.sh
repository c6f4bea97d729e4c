#!/bin/sh
# No secret anywhere deploy leaves (docs/security.md). A real sshd host
# runs a step that prints each of the topology's secrets raw, base64- and
# URL-encoded, in hex, JSON-escaped and shell-quoted (one from a file, as
# `$(cat FILE)` gives it: without its newline), on its stdout and its
# stderr, each value split across two writes (a pause between the
# halves), then fails quoting one; the same
# goes through `deploy run` (plain and --group), and `up --json --diff`,
# `plan --json --diff`, `plan --diff`, `status` and `output --json` are
# run with a file holding secrets on the host. Afterwards every file
# deploy wrote (its output, the state, the logs, the lock, the cache) is
# searched for every form of every secret: none may be there, and the
# redacted "[secret NAME]" must be (so the output did go through).
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 42
sshd_start h 127.42.0.1
export XDG_CACHE_HOME="$TMP/cache"

mkdir -p secrets
# A value with blanks and URL-reserved bytes, a token from a file, and a
# key from a file with quotes, a backslash and the newline a file ends
# with (which `$(cat FILE)` on the host drops).
T0321_PW='Kx9-pass word/+%=&secret'
export T0321_PW
printf '%s' "$T0321_PW" >secrets/pw
printf '%s' 'tok_Zq81a7c3d9e0f4b2' >secrets/tok
printf '%s\n' 'K3y "q" \b'"'"'s' >secrets/key

# Every form of every secret, one per line, for the step and the search:
# raw, base64, URL-encoded, hex, inside a JSON string, shell-quoted.
python3 - secrets/pw secrets/tok secrets/key >secrets/forms <<'PY'
import base64, json, re, shlex, sys, urllib.parse
for path in sys.argv[1:]:
    v = open(path, "rb").read().rstrip(b"\n")
    q = urllib.parse.quote(v, safe="")
    s = v.decode()
    percent_q = re.sub(r"""([ \t'"\\|&;()<>!{}*\[?\]^$`])""", r"\\\1", s)
    forms = [v, base64.b64encode(v).rstrip(b"="), q.encode(),
             re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(),
                    q).encode(),
             urllib.parse.quote_plus(v, safe="").encode(),
             v.hex().encode(), v.hex().upper().encode(),
             json.dumps(s)[1:-1].encode(),
             shlex.quote(s).strip("'").encode(),
             s.replace("'", "'\\''").encode(), percent_q.encode()]
    for f in dict.fromkeys(forms):
        sys.stdout.buffer.write(f + b"\n")
PY

cat >secrets/leak.sh <<'EOF2'
# Print every form, each in two writes, on stdout and on stderr.
while IFS= read -r v; do
	h=$((${#v} / 2))
	a=$(printf '%s' "$v" | cut -c1-"$h")
	b=$(printf '%s' "$v" | cut -c"$((h + 1))"-)
	printf 'out: %s' "$a"; sleep 0.2; printf '%s :out\n' "$b"
	printf 'err: %s' "$a" >&2; sleep 0.2; printf '%s :err\n' "$b" >&2
done <"$1"
printf 'fatal: wrong password %s\n' "$(cat "$2")" >&2
exit 3
EOF2

mkdir -p host
cat >leak.yml <<YAML
name: leak
steps:
  - name: a file that holds secrets
    file: {path: $TMP/host/secret.conf, content: "pw={{secrets.pw}}\\nkey={{secrets.key}}"}
  - name: a step that prints secrets
    shell: sh $TMP/secrets/leak.sh $TMP/secrets/forms $TMP/secrets/pw
YAML
cat >topo.yml <<YAML
version: 1
name: secrets
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
secrets:
  pw: {env: T0321_PW}
  tok: {file: ./secrets/tok}
  key: {file: ./secrets/key}
roles:
  web: {hosts: [{name: web-1, address: 127.42.0.1, port: $SSHD_PORT}], playbooks: [./leak.yml]}
YAML

mkdir -p results
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a failing step"
cp "$TMP/out" results/up.out
cp "$TMP/err" results/up.err
run "$DEPLOY" run topo.yml -- sh "$TMP/secrets/leak.sh" "$TMP/secrets/forms" "$TMP/secrets/pw"
expect_rc 1 "run"
cp "$TMP/out" results/run.out
cp "$TMP/err" results/run.err
run "$DEPLOY" run --group topo.yml -- sh "$TMP/secrets/leak.sh" "$TMP/secrets/forms" "$TMP/secrets/pw"
expect_rc 1 "run --group"
cp "$TMP/out" results/group.out
cp "$TMP/err" results/group.err
# The same as JSON, with diffs; plan (check mode, diffs); status; output.
rm -f host/secret.conf
run "$DEPLOY" up --yes --json --diff topo.yml
expect_rc 1 "up --json --diff with a failing step"
cp "$TMP/out" results/up-json.out
cp "$TMP/err" results/up-json.err
checks=$((checks + 1))
grep -q '"diff_hidden": *"pw"' results/up-json.out ||
	fail "up --json --diff: the file's diff is not said to be hidden"
checks=$((checks + 1))
[ "$(cat host/secret.conf)" = "pw=$T0321_PW
key=K3y \"q\" \\b's" ] || fail "the host's file does not hold the secrets"
for cmd in "plan --json --diff" "plan --diff" "status" "output --json"; do
	# shellcheck disable=SC2086 # the command's words
	run "$DEPLOY" $cmd topo.yml
	checks=$((checks + 1))
	[ "$rc" -le 2 ] || fail "$cmd: exit $rc"
	cp "$TMP/out" "results/$(echo $cmd | tr ' ' _).out"
	cp "$TMP/err" "results/$(echo $cmd | tr ' ' _).err"
done

# The output went through: redacted, not dropped.
checks=$((checks + 1))
grep -q 'out: \[secret pw\] :out' results/run.out ||
	fail "run's stdout shows '[secret pw]'"
checks=$((checks + 1))
grep -q 'err: \[secret tok\] :err' .deploy/logs/web-1.log ||
	fail "the log shows '[secret tok]'"

# No form of any secret in anything deploy left.
while IFS= read -r form; do
	checks=$((checks + 1))
	hits=$(grep -rlF -e "$form" results .deploy cache topo.yml \
		"$TMP/known_hosts" 2>/dev/null)
	[ -z "$hits" ] || fail "a secret's form found in: $(echo $hits)"
done <secrets/forms
ls -R .deploy cache 2>/dev/null | head -n 20

finish
