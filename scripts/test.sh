#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu machine to the whole test suite against the chosen
# LibTorch (scripts/lane.sh): installs what is missing, builds everything, runs every test (golden
# values and the fixtures against PyTorch's Python, properties, errors, LR finder, data-parallel,
# CIFAR-10 example on generated data, packaging). A build that would leave the data-parallel
# tests out (no Gloo headers) fails here instead of passing on fewer tests.
#   scripts/test.sh [--libtorch debian|pypi]
set -euo pipefail
source "$(dirname "$0")/lane.sh"
cd "$ROOT"
bash scripts/install_deps.sh --libtorch "$LANE"
bash scripts/build.sh --libtorch "$LANE" -DTORCHCLR_REQUIRE_DISTRIBUTED=ON
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"
