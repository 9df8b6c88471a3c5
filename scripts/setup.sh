#!/usr/bin/env bash
# Brings a fresh clone to a runnable state: npm packages from the lockfile (when missing or
# older than package-lock.json) and Debian's redis-server (when missing). Safe to run often:
# it does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
bash scripts/ensure-redis.sh
