#!/bin/sh
# A secret in shell code (shell:, unless:, file.validate, wait.command) or
# in a URL (download, wait.url) is never an argument of a process on the
# host: any user of the host reads every process's arguments (ps,
# /proc/PID/cmdline). Each piece of code lists the arguments of every
# process there while it runs (so while the processes that run it are
# alive), and so does the web server while it answers a request (so while
# curl is alive); the lists must not hold a secret, raw or in any form,
# under dash and bash; the code and the server did see the secrets. A new
# file whose content holds a secret is made 0600, not 0644, when the step
# gives no mode: other users of the host cannot read it.
. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

T0409_PW='Qw7-argv secret/+%=&value'
T0409_TOK='tok-Zq81a7c3d9e0'
export T0409_PW T0409_TOK
pb_topology
printf 'secrets:\n  pw: {env: T0409_PW}\n  tok: {env: T0409_TOK}\n' >>topo.yml

# A web server that lists every process's arguments at each request, and
# the URLs it was asked for; stopped by its PID whatever happens.
cat >server.py <<'EOF2'
import http.server, os, sys
root = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.path.join(root, "ps"), "a") as ps:
            for p in os.listdir("/proc"):
                try:
                    cmd = open("/proc/%s/cmdline" % p, "rb").read()
                except OSError:
                    continue
                if p.isdigit():
                    ps.write(cmd.replace(b"\0", b" ").decode("utf-8", "replace") + "\n")
        with open(os.path.join(root, "urls"), "a") as u:
            u.write(self.path + "\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"tool\n")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF2
mkdir -p "$ROOT"
python3 server.py "$ROOT" >port 2>server.err &
http_pid=$!
trap 'kill "$http_pid" 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
while [ ! -s port ] && [ "$i" -lt 300 ]; do
	i=$((i + 1))
	sleep 0.1
done
port=$(cat port)
tool_sha=$(printf 'tool\n' | sha256sum | cut -d' ' -f1)

# psdump FILE: every process's arguments, one process a line.
cat >psdump.sh <<'EOF2'
for p in /proc/[0-9]*; do
	tr '\0' ' ' <"$p/cmdline" 2>/dev/null
	echo
done >>"$1"
EOF2

cat >argv.yml <<EOF2
name: argv
steps:
  - name: code that uses a secret
    shell:
      cmd: sh $TMP/psdump.sh {{vars.root}}/ps && printf '%s' {{secrets.pw}} >{{vars.root}}/shell.out
      unless: sh $TMP/psdump.sh {{vars.root}}/ps && [ {{secrets.pw}} = x ]
  - name: a file checked by code that uses a secret
    file:
      path: "{{vars.root}}/conf"
      content: "x\n"
      validate: sh $TMP/psdump.sh {{vars.root}}/ps && [ -n {{secrets.pw}} ]
  - name: a wait on code that uses a secret
    wait: {command: "sh $TMP/psdump.sh {{vars.root}}/ps && [ -n {{secrets.pw}} ]", timeout: 30}
  - name: a new file that holds a secret, no mode given
    file: {path: "{{vars.root}}/secret.conf", content: "pw={{secrets.pw}}\\n"}
  - name: a new file from a secret, no mode given
    file: {path: "{{vars.root}}/tok", secret: tok}
  - name: a new file with a line that holds a secret, no mode given
    line: {path: "{{vars.root}}/line.conf", line: "tok={{secrets.tok}}", create: true}
  - name: a new file that holds a secret, its mode given
    file: {path: "{{vars.root}}/shared.conf", content: "pw={{secrets.pw}}\\n", mode: "0644"}
  - name: a new file without a secret, no mode given
    file: {path: "{{vars.root}}/plain.conf", content: "x\\n"}
  - name: a download from a URL with a token
    download:
      url: "http://127.0.0.1:$port/tool?token={{secrets.tok}}"
      sha256: $tool_sha
      dest: "{{vars.root}}/tool"
  - name: a wait on a URL with a token
    wait: {url: "http://127.0.0.1:$port/ready?token={{secrets.tok}}", timeout: 30}
EOF2

# Every form of the secret a process list could show it in.
python3 - >forms <<'PY'
import base64, os, urllib.parse
for name in ("T0409_PW", "T0409_TOK"):
    v = os.environ[name].encode()
    for f in (v, base64.b64encode(v).rstrip(b"="),
              urllib.parse.quote(v, safe="").encode(), v.hex().encode()):
        print(f.decode())
PY

pb_compile ./argv.yml
for shell in sh "bash --posix"; do
	rm -rf "$ROOT"/*
	pb_run "$shell"
	checks=$((checks + 1))
	[ "$rc" = 0 ] || fail "$shell: the script failed (exit $rc)"
	checks=$((checks + 1))
	[ "$(cat "$ROOT/shell.out" 2>/dev/null)" = "$T0409_PW" ] ||
		fail "$shell: the code did not see the secret"
	# unless, cmd, validate and wait each listed the processes.
	checks=$((checks + 1))
	n=$(grep -c psdump "$ROOT/ps" 2>/dev/null)
	[ "${n:-0}" -ge 4 ] || fail "$shell: the code ran $n times, not 4"
	# A new file that holds a secret is 0600 unless its mode is given.
	checks=$((checks + 1))
	modes=$(cd "$ROOT" && stat -c '%n %a' secret.conf tok line.conf \
		shared.conf plain.conf | tr '\n' ' ')
	[ "$modes" = "secret.conf 600 tok 600 line.conf 600 shared.conf 644 plain.conf 644 " ] ||
		fail "$shell: modes of new files: $modes"
	# The download and the wait asked for their URLs, with the token.
	checks=$((checks + 1))
	n=$(grep -c "token=$T0409_TOK\$" "$ROOT/urls" 2>/dev/null)
	[ "${n:-0}" -ge 2 ] || fail "$shell: the server saw $n URLs, not 2"
	while IFS= read -r form; do
		checks=$((checks + 1))
		if grep -qF -- "$form" "$ROOT/ps" 2>/dev/null; then
			fail "$shell: a process's arguments hold '$form'"
			grep -F -- "$form" "$ROOT/ps" | sed 's/^/  | /' >&2
		fi
	done <forms
done

finish
