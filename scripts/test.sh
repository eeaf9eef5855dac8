#!/usr/bin/env bash
# Quick start 2: install what is missing, build with AddressSanitizer and
# UndefinedBehaviorSanitizer, start a throwaway redis-server on a free loopback port, and run
# the whole test suite against it. The server is stopped whatever the tests do.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build/sanitize"

"$root/scripts/install-deps.sh" --with-test-tools
"$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DBROKEDANCER_SANITIZE=ON \
  -DBROKEDANCER_WERROR=ON

# -- a throwaway Redis: loopback only, no persistence, its own directory --------------------
redis_dir=$(mktemp -d)
redis_pid=""
stop_redis() {
  if [[ -n "$redis_pid" ]] && kill -0 "$redis_pid" 2>/dev/null; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$redis_dir"
}
trap stop_redis EXIT

for attempt in $(seq 1 20); do
  port=$((20000 + RANDOM % 40000))
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$redis_dir" --logfile "$redis_dir/redis.log" &
  redis_pid=$!
  for _ in $(seq 1 50); do
    if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then break; fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  # A server that died had its port taken; try another.
  if kill -0 "$redis_pid" 2>/dev/null && redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    break
  fi
  wait "$redis_pid" 2>/dev/null || true
  redis_pid=""
done
if [[ -z "$redis_pid" ]]; then
  echo "brokedancer: could not start redis-server on a free loopback port; see $redis_dir/redis.log" >&2
  exit 1
fi
export BROKEDANCER_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
echo "brokedancer: test Redis at $BROKEDANCER_TEST_REDIS_URL (pid $redis_pid)" >&2

# -- sanitizers -------------------------------------------------------------------------------
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/ubsan.supp"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"

cd "$build_dir"
ctest --output-on-failure -j 2 "$@"
