#!/bin/sh
# What `make bench` needs beyond the build: Debian's redis-server (the peer
# liud is measured against) and, with --profile, perf.  Installed by the
# project's one installer, scripts/deps.sh (only what is missing, as root).
# The benchmark starts its own redis-server on a private Unix socket; a system
# service the package may have started (port 6379) is left alone.
set -eu
cd "$(dirname "$0")/../.."
extra="redis-server"
[ "${1:-}" = "--profile" ] && extra="$extra linux-perf"
# shellcheck disable=SC2086
exec sh scripts/deps.sh $extra
