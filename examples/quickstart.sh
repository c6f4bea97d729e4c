#!/bin/sh
# The README's first Quickstart command: install what is needed, build, and
# run deploy on the embedded default topology (examples/local.yml).
# Until `deploy up` exists, the main job checks the topology and prints the
# order in which its roles would be configured.
set -eu
cd "$(dirname "$0")/.."
sh tests/deps.sh
if [ -d build/meson-private ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
meson compile -C build >/dev/null
build/cli/deploy validate examples/local.yml
echo
build/cli/deploy graph examples/local.yml
