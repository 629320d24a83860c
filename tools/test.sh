#!/usr/bin/env bash
# test.sh - install dependencies, build, run the whole test suite (ctest).
# Usage: bash tools/test.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"
gs_install_deps
dir=${1:-$GS_ROOT/build}
[ $# -gt 0 ] && shift
gs_build "$dir" "$@"
cd "$dir"
ctest --output-on-failure -j 2
