#!/usr/bin/env bash
# `cifar10 train --device cuda` end to end: where LibTorch sees a GPU, a short run on it must
# finish and record the device; where it does not, the run must stop at once with a clear error
# and exit status 1 (not crash, not fall back to the CPU silently).
# usage: cuda_device_test.sh CIFAR10_BINARY
set -euo pipefail
# Fashion-MNIST: Debian's dataset-fashion-mnist, or FASHION_MNIST_DIR.
fashion=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
"$bin" train --device cuda --dataset fashion-mnist --data-dir "$fashion" --iters 20 \
  --batch-size 20 --eval-every 10 --threads 1 --policy triangular --step-size 5 \
  --out "$work/run" > "$work/log" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
  grep -q '"device": "cuda' "$work/run/summary.json" ||
    { echo "exit 0 but summary.json does not say cuda:"; cat "$work/run/summary.json"; exit 1; }
  [ "$(tail -n +2 "$work/run/train.csv" | wc -l)" -eq 20 ] || { echo "expected 20 rows"; exit 1; }
  echo "trained 20 iterations on $(grep -o '"device": "[^"]*"' "$work/run/summary.json")"
else
  [ "$status" -eq 1 ] || { echo "expected exit status 1, got $status"; cat "$work/log"; exit 1; }
  grep -q "error: --device cuda: no CUDA device is available" "$work/log" ||
    { echo "unexpected message:"; cat "$work/log"; exit 1; }
  [ ! -e "$work/run" ] || { echo "a run without a device wrote outputs"; exit 1; }
  echo "no CUDA here: $(cat "$work/log")"
fi
