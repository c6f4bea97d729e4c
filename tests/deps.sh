#!/bin/sh
# Installs what building and testing deploy needs, from Debian's packages.
# Safe to run again: it does nothing when everything is there.
set -eu

packages="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
clang-format libcurl4-openssl-dev libcjson-dev libssh2-1-dev libyaml-dev
libgit2-dev libssl-dev libxml2-dev libuv1-dev libcmocka-dev graphviz
openssh-server openssh-client pdsh sudo iproute2 procps python3
debootstrap systemd-container util-linux tinyproxy git tmux
python3-jsonschema zsh scdoc man-db groff-base"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/deps.sh: missing packages:$missing" >&2
	echo "tests/deps.sh: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
