#!/bin/sh
# The README's first Quickstart command: install what is needed, build, and
# run deploy's main job on the embedded default: `deploy up
# examples/local.yml` makes five Debian hosts on this machine in the shape
# of a real validator deployment (a bastion; monitoring with Prometheus,
# Alertmanager and the blackbox exporter; a validator behind the bastion;
# two nginx sentries in front of it; node_exporter everywhere), hardens and
# firewalls them, then shows their status and where to look. The hosts
# have no route out: their packages come through the apt proxy deploy runs
# for the run. Run it again: nothing changes. Remove them with:
#   build/cli/deploy down --yes examples/local.yml
set -eu
cd "$(dirname "$0")/.."
sh tests/deps.sh
if [ -d build/meson-private ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
meson compile -C build >/dev/null
topo=examples/local.yml
build/cli/deploy up --yes "$topo"
echo
build/cli/deploy status "$topo"

# Where to look: Prometheus on the monitoring host, reached through the
# bastion (its firewall lets only the bastion in).
address() {
	build/cli/deploy output "$topo" | awk -v h="$1" '$2 == h {print $3}'
}
monitoring=$(address monitoring-0)
build/cli/deploy ssh-config --output examples/.deploy/local-rehearsal.ssh_config \
	"$topo" 2>/dev/null
query="curl -s 'http://127.0.0.1:9090/api/v1/query?query=up'"
# Each exporter counts once Prometheus scraped it (every 15 s): ask until
# every target is up, or a minute has passed.
echo
echo "Prometheus' targets (host, job, up):"
i=0
while :; do
	out=$(build/cli/deploy run --limit monitoring "$topo" -- "$query" \
		2>/dev/null || true)
	i=$((i + 1))
	case $out in
	*'"0"]'*) [ $i -lt 30 ] || break ;;
	*'"1"]'*) break ;;
	*) [ $i -lt 30 ] || break ;;
	esac
	sleep 2
done
printf '%s\n' "$out" | sed -n 's/^monitoring-0: //p' | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]["result"]:
    m = r["metric"]
    print("  %-14s %-10s %s" % (m.get("host", "?"), m["job"], r["value"][1]))
' || printf '%s\n' "$out"
cat <<EOF

Where to look:
  Prometheus' targets page, through the bastion (then open
  http://localhost:9090/targets here):
    ssh -F examples/.deploy/local-rehearsal.ssh_config -N -L 9090:$monitoring:9090 bastion-0
  Prometheus' API from the command line:
    build/cli/deploy run --limit monitoring $topo -- $query
  A sentry, the validator's public face (no node runs behind it here:
  ICON's RPC answers 502, /admin 403):
    curl -s -X POST http://$(address sentry-0):9000/api/v3
  A shell on a host (through the bastion when its role has 'via'):
    build/cli/deploy ssh validator-0 $topo
  Remove the hosts:
    build/cli/deploy down --yes $topo
EOF
