#!/bin/sh
# A secret in shell code (shell:, unless:, file.validate, wait.command) is
# never an argument of a process on the host: any user of the host reads
# every process's arguments (ps, /proc/PID/cmdline). Each piece of code
# lists the arguments of every process there while it runs (so while the
# processes that run it are alive) and the lists must not hold the secret,
# raw or in any form, under dash and bash; the code did see the secret.
. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

T0409_PW='Qw7-argv secret/+%=&value'
export T0409_PW
pb_topology
printf 'secrets:\n  pw: {env: T0409_PW}\n' >>topo.yml

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
EOF2

# Every form of the secret a process list could show it in.
python3 - >forms <<'PY'
import base64, os, urllib.parse
v = os.environ["T0409_PW"].encode()
for f in (v, b"Qw7-argv", base64.b64encode(v).rstrip(b"="),
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
	while IFS= read -r form; do
		checks=$((checks + 1))
		if grep -qF -- "$form" "$ROOT/ps" 2>/dev/null; then
			fail "$shell: a process's arguments hold '$form'"
			grep -F -- "$form" "$ROOT/ps" | sed 's/^/  | /' >&2
		fi
	done <forms
done

finish
