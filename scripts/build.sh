#!/usr/bin/env bash
# Configures and builds torchclr, its tests, examples and benchmarks in build/ (Release).
# usage: scripts/build.sh [CMAKE_OPTION...]   (e.g. -DTORCHCLR_REQUIRE_DISTRIBUTED=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$jobs"
