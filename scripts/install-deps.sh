#!/usr/bin/env bash
# Installs, from Debian 12's own packages, whatever brokedancer needs that is missing.
# Usage: scripts/install-deps.sh [--with-test-tools] [--with-fuzz-tools]
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ccache
  libcaf-dev libhiredis-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libcpp-httplib-dev
  libjemalloc-dev libssl-dev
)
for option in "$@"; do
  case $option in
    # python3-redis: a Redis client none of us wrote, for the interoperability test of the
    # market-data stream and the standard channels (tests/support/trading_reader.py).
    # prometheus (with promtool) and chromium: the observing side is tested against the real
    # scraper and a real browser (tests/cli/observe_test.cpp); fonts-dejavu-core gives the
    # headless browser a font to draw the dashboard's screenshots with.
    --with-test-tools) packages+=(catch2 redis-server redis-tools openssl iproute2 python3-redis
                                  prometheus chromium fonts-dejavu-core) ;;
    # scripts/fuzz.sh: clang with libFuzzer and the sanitizers' runtimes; the fuzz targets'
    # throwaway certificates are made with openssl.
    --with-fuzz-tools) packages+=(clang libclang-rt-14-dev catch2 openssl) ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "brokedancer: installing ${missing[*]}" >&2
apt_get=(apt-get)
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    apt_get=(sudo apt-get)
  else
    echo "brokedancer: ${missing[*]} missing; run this as root or install them with apt-get" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}"

# Debian starts and enables a system-wide Redis on port 6379 when redis-server is installed.
# The tests start throwaway servers of their own and need only the binary, so a service that this
# script brought in is stopped and disabled again; one that was there before is left alone.
if [[ " ${missing[*]} " == *" redis-server "* ]] && [[ -d /run/systemd/system ]]; then
  echo "brokedancer: stopping the system redis-server service that installing the package started" >&2
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
