#!/usr/bin/env bash
# deps.sh - install what gatestore needs to build and test, from Debian 12's
# packages. Sourced by tools/demo.sh and tools/test.sh; safe to run again
# (it only calls apt-get when something is missing).
set -euo pipefail

GS_PACKAGES=(build-essential cmake pkg-config git python3 zstd time clang clang-format libclang-rt-14-dev
  librocksdb-dev libzstd-dev libmsgpack-dev libxxhash-dev libsimdjson-dev libcmocka-dev)

gs_install_deps() {
  local missing=()
  for p in "${GS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "deps: installing ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root (or sudo) to apt-get install: ${missing[*]}" >&2; return 1; }
    sudo=sudo
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configure and build into $1 with extra cmake arguments after it.
gs_build() {
  local dir=$1; shift
  cmake -S "$GS_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

GS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
