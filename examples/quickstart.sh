#!/bin/sh
# The README's first Quickstart command: install what is needed, build, and
# run deploy's main job on the embedded default: `deploy up
# examples/local.yml` makes three Debian hosts on this machine (a bastion,
# monitoring, and a validator behind the bastion), hardens and firewalls
# them, then shows their status. Run it again: nothing changes. Remove them
# with: build/cli/deploy down --yes examples/local.yml
set -eu
cd "$(dirname "$0")/.."
sh tests/deps.sh
if [ -d build/meson-private ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
meson compile -C build >/dev/null
build/cli/deploy up --yes examples/local.yml
echo
build/cli/deploy status examples/local.yml
