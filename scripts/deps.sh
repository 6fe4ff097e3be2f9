#!/bin/sh
# Installs the Debian packages liud needs to build and test, and only those
# that are missing. Called by `make run` and `make test` so that a fresh
# Debian 12 machine needs nothing else. Prints what it does; exits non-zero
# with a clear message when packages are missing and we are not root.
set -eu

# Usage: deps.sh [--test] [PACKAGE...] — the build's packages, the test
# suite's with --test, and any others named (make bench names redis-server).
PKGS="gcc make pkg-config liblua5.4-dev libuv1-dev liblmdb-dev libjansson-dev libyajl-dev libssl-dev libzstd-dev libsystemd-dev libjemalloc-dev libcsv-dev libunistring-dev libxlsxwriter-dev libzip-dev libexpat1-dev perl"
if [ "${1:-}" = "--test" ]; then
	# fonts-noto-cjk: the browser test (tests/92-html.t) renders Japanese, and fails on tofu;
	# poppler-utils: it reads the printed PDF (pdfinfo, pdftotext, pdffonts).
	PKGS="$PKGS util-linux procps lmdb-utils passwd systemd python3-prometheus-client scdoc chromium fonts-noto-cjk poppler-utils clang libclang-rt-14-dev valgrind python3-openpyxl"
	shift
fi
PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; run as root, or install them yourself:" >&2
	echo "      apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or old.
apt-get update -qq || { echo "deps: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "deps: apt-get install failed for:$missing" >&2; exit 1; }
echo "deps: done"
