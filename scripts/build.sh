#!/usr/bin/env bash
# Configures and builds brokedancer into a build directory; only what changed is rebuilt.
# Usage: scripts/build.sh BUILD_DIR [extra cmake -D options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$1
shift
cmake -S "$root" -B "$build_dir" -G Ninja "$@" >/dev/null
# Two cores, and a CAF translation unit takes ~400 MB of compiler memory: two jobs fit.
cmake --build "$build_dir" -j 2
