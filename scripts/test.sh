#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu machine to the whole test suite: installs what is
# missing, builds everything, runs every test (golden values, properties, errors, LR finder,
# CIFAR-10 example on generated data, packaging, data-parallel). A build that would leave the
# data-parallel tests out (no Gloo headers) fails here instead of passing on fewer tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh -DTORCHCLR_REQUIRE_DISTRIBUTED=ON
ctest --test-dir build --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"
