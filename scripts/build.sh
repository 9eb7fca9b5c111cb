#!/usr/bin/env bash
# Configures and builds torchclr, its tests, examples and benchmarks (Release) against the chosen
# LibTorch, in its lane's build directory (scripts/lane.sh): build/ or build-pypi/.
#   scripts/build.sh [--libtorch debian|pypi] [more CMake configure arguments]
set -euo pipefail
source "$(dirname "$0")/lane.sh"
cd "$ROOT"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
lane_cmake_args
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${LANE_CMAKE_ARGS[@]}" "${LANE_ARGS[@]}"
cmake --build "$BUILD_DIR" -j "$jobs"
