#!/bin/sh
# scripts/build.sh - configure and build vigil in a build directory (default _build/release)
#
#   scripts/build.sh [DIR [configure options...]]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-_build/release}
[ $# -gt 0 ] && shift
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p "$dir"
cd "$dir"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" -q "$@"
fi
make -j"$(nproc)" >/dev/null
