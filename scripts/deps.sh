#!/bin/sh
# scripts/deps.sh - install the Debian 12 packages vigil needs to build, test, demo and bench
#
#   scripts/deps.sh          build + test + demo
#   scripts/deps.sh --bench  also the reference implementations for `make bench`
# Runs apt-get as root; as another user it only says what is missing.
set -eu
pkgs="build-essential autoconf automake autoconf-archive pkg-config
libgsl-dev libopenblas-dev libcjson-dev libmicrohttpd-dev libpq-dev libgnutls28-dev check libsubunit-dev
valgrind jq postgresql-15 prometheus curl ca-certificates
libcurl4-gnutls-dev prometheus-alertmanager"
if [ "${1:-}" = "--bench" ]; then
	pkgs="$pkgs python3-numpy python3-scipy python3-sklearn python3-pandas time"
	# bench/service.sh: HTTP load for GET performance
	pkgs="$pkgs wrk"
fi
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root: apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
