#!/bin/bash
# A few-minute comparison of triangular2, step decay and Adam (triangular) on the CLR paper's
# CIFAR-10 network: CIFAR-10 when it is in data/cifar10 (or $CIFAR10_DIR), else Fashion-MNIST.
# Prints the table and writes results/demo/{results.md,accuracy.png,lr.png}.
#   scripts/demo.sh [BUILD_DIR] [extra compare options, e.g. --demo-iters 500]
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
shift || true
clr_paper="$build/experiments/clr_paper/clr_paper"
[ -x "$clr_paper" ] || { echo "no $clr_paper: build first (cmake -S . -B $build && cmake --build $build -j)" >&2; exit 1; }
exec "$clr_paper" compare --preset demo --out results/demo "$@"
