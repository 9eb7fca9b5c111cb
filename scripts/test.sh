#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu machine to the whole test suite: installs what is
# missing, builds everything, runs every test (golden values, properties, errors, LR finder,
# CIFAR-10 example on generated data, packaging).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"
