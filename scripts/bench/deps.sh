#!/bin/sh
# Installs what `make bench` needs beyond the build: Debian's redis-server (the
# peer liud is measured against) and, with --profile, perf.  Only what is
# missing; as root with apt-get, like scripts/deps.sh.
set -eu

PKGS="redis-server perl"
[ "${1:-}" = "--profile" ] && PKGS="$PKGS linux-perf"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "bench-deps: installing missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-deps: not root; run as root, or install them yourself:" >&2
	echo "      apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || { echo "bench-deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "bench-deps: apt-get install failed for:$missing" >&2; exit 1; }
# The benchmark starts its own redis-server on a private Unix socket; a system
# service the package may have started (port 6379) is left alone.
echo "bench-deps: done"
