#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu machine to a first result: installs what is missing,
# builds torchclr with its examples, and runs a few-minute comparison of triangular2 CLR, step
# decay and Adam (CIFAR-10 when data/cifar10 holds it, else Fashion-MNIST), printing the table
# and writing plots under results/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
bash scripts/demo.sh
