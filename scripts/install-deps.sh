#!/bin/sh
# Installs the Debian packages llmcap builds against. Run as root (or with
# sudo available); prints the exact command to run otherwise. Exit 0 when
# everything is present afterwards.
set -u
PKGS="build-essential pkg-config libhwloc-dev libcpuid-dev libcjson-dev libncurses-dev libcmocka-dev liburing-dev"
[ $# -gt 0 ] && PKGS="$PKGS $*"
LINE="apt-get install -y $PKGS"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO="sudo -n"
	else
		echo "llmcap: missing build dependencies and not root. Run:" >&2
		echo "  sudo apt-get update && sudo $LINE" >&2
		exit 1
	fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "llmcap: apt-get not found. Install hwloc, libcpuid, cJSON, ncursesw and cmocka development packages, then run make again." >&2
	exit 1
fi
echo "llmcap: installing build dependencies: $LINE" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || { echo "llmcap: apt-get update failed; run: $LINE" >&2; exit 1; }
$SUDO apt-get install -y -qq $PKGS >&2 || { echo "llmcap: install failed; run: $LINE" >&2; exit 1; }
exit 0
