#!/bin/sh
# deploy holds secrets (the topology's, cloud credentials, passphrases):
# it makes itself not dumpable, as ssh-agent does, so no core file holds
# them and no other process of the operator's reads its memory or its
# environment (ptrace, /proc/PID/mem, /proc/PID/environ). Run as an
# ordinary user and caught while it waits to read its topology from a
# FIFO: its /proc/PID/environ belongs to root, as the kernel makes it for a
# process that is not dumpable (it would belong to that user otherwise).
. "$TESTLIB"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	echo "skipped: needs root and setpriv to run deploy as another user"
	exit 77
fi
nobody=$(id -u nobody) || exit 77
chmod 711 "$TMP"
mkdir -m 777 nb
mkfifo -m 666 nb/topo.yml

# as_nobody COMMAND...: COMMAND as that user; run it with & (its PID is $!).
as_nobody() {
	HOME=$TMP/nb exec setpriv --reuid="$nobody" --regid="$nobody" \
		--clear-groups "$@"
}

# The control: a process of that user that does not ask is its own.
as_nobody sleep 30 &
pid=$!
i=0
while [ "$(stat -c %u "/proc/$pid/environ" 2>/dev/null)" != "$nobody" ] &&
	[ "$i" -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
checks=$((checks + 1))
[ "$(stat -c %u "/proc/$pid/environ")" = "$nobody" ] ||
	fail "the control: a plain process of the user is not its own"
kill "$pid"
wait "$pid" 2>/dev/null

as_nobody "$DEPLOY" validate nb/topo.yml >out 2>err &
pid=$!
# Opening the FIFO returns once deploy has opened it: deploy is past its
# start, in the middle of reading its topology. Bounded, should it never.
timeout 30 sh -c 'exec 5>nb/topo.yml
	stat -c %u "/proc/$1/environ" >owner
	printf "version: 1\nname: t\nproviders: {ssh: {}}\nroles: {}\n" >&5' \
	sh "$pid" || kill "$pid" 2>/dev/null
checks=$((checks + 1))
owner=$(cat owner 2>/dev/null)
[ "$owner" = 0 ] || fail "deploy is dumpable: its environ belongs to '$owner'"
wait "$pid"
rc=$?
checks=$((checks + 1))
[ "$rc" -le 1 ] || {
	fail "deploy validate: exit $rc"
	cat out err >&2
}

finish
