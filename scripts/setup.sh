#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu machine to a first result: installs what is missing,
# builds torchclr with its examples against the chosen LibTorch (scripts/lane.sh), and runs a
# few-minute comparison of triangular2 CLR, step decay and Adam (CIFAR-10 when data/cifar10 holds
# it, else Fashion-MNIST), printing the table and writing plots under results/demo/.
#   scripts/setup.sh [--libtorch debian|pypi] [demo options, e.g. --demo-iters 500]
set -euo pipefail
source "$(dirname "$0")/lane.sh"
cd "$ROOT"
bash scripts/install_deps.sh --libtorch "$LANE"
bash scripts/build.sh --libtorch "$LANE"
bash scripts/demo.sh "$BUILD_DIR" "${LANE_ARGS[@]}"
