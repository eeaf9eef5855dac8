#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and run the main job on the embedded default
# configuration (memory backends), with the live dashboard on 127.0.0.1 (its address is printed).
# Arguments go to `brokedancer run` (try --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build/release" -DCMAKE_BUILD_TYPE=Release \
  -DBROKEDANCER_BUILD_TESTS=OFF
exec "$root/build/release/cli/brokedancer" run --dashboard "$@"
