#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build/fuzz and runs each for a
# bounded time, starting from its seeds in tests/fuzz/corpus/<target>/. Exits non-zero when any
# target crashed, leaked, ran out of memory or timed out; the input that did it is kept in
# build/fuzz/findings/<target>/ and its path printed. The inputs the fuzzer found interesting
# accumulate in build/fuzz/corpus/<target>/, so that a later run starts where this one ended.
# Usage: scripts/fuzz.sh [--seconds N (per target, default 60)] [--jobs N (build, default 1)]
#                        [TARGET...]   TARGET: config_file environment address envelope
#                                      stored_records operator_request node_proof http_request
#                                      (default: all)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build/fuzz"
seconds=60
jobs=1
targets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(config_file environment address envelope stored_records
                                        operator_request node_proof http_request)
# The longest input worth trying: a little over the biggest valid input of each kind.
declare -A max_len=([config_file]=8192 [environment]=4096 [address]=512 [envelope]=4096
                    [stored_records]=4096 [operator_request]=4096 [node_proof]=8192
                    [http_request]=4096)
for target in "${targets[@]}"; do
  [[ -n "${max_len[$target]:-}" ]] || { echo "fuzz: unknown target $target" >&2; exit 64; }
done

"$root/scripts/install-deps.sh" --with-fuzz-tools
# Tests stay on because tests/fuzz is a subdirectory of tests/; bench too, because the tests'
# CMake names its binary. Only the fuzz targets are built. Assertions stay on (no NDEBUG): a
# failed one is a finding too.
CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -DBROKEDANCER_SANITIZE=ON \
  -DBROKEDANCER_JEMALLOC=OFF -DBROKEDANCER_BUILD_TESTS=ON -DBROKEDANCER_BUILD_BENCH=ON \
  -DBROKEDANCER_FUZZ=ON >/dev/null
# CAF translation units are slow and big; a low priority keeps the machine usable meanwhile.
nice -n 10 cmake --build "$build_dir" -j "$jobs" --target "${targets[@]/%/_fuzz}"

export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/ubsan.supp"
failed=()
for target in "${targets[@]}"; do
  corpus="$build_dir/corpus/$target"
  findings="$build_dir/findings/$target"
  log="$build_dir/findings/$target.log"
  mkdir -p "$corpus" "$findings"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  if "$build_dir/tests/fuzz/${target}_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -max_len="${max_len[$target]}" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$findings/" "$corpus" "$root/tests/fuzz/corpus/$target" >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
  else
    failed+=("$target")
    tail -n 60 "$log"
    grep -E 'Test unit written to|^artifact_prefix' "$log" || true
    echo "fuzz: $target FAILED; add the input above to tests/fuzz/regressions/$target/" >&2
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no crash in ${targets[*]}"
