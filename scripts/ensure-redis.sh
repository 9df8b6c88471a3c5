#!/usr/bin/env bash
# Makes sure redis-server is installed (Debian's package). Tests and the demo start their own
# server on a free port; this only installs the binary when it is missing.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
echo "redis-server not found; installing Debian's redis-server package..." >&2
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq redis-server >/dev/null
# The package's own service is not needed (and no init system runs here); we start our own.
command -v redis-server >/dev/null
