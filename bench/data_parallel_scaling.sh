#!/usr/bin/env bash
# images/s of `cifar10 train` on CIFAR-10 with 1 rank and with 2 ranks (c10d Gloo on loopback),
# same global batch of 100, each rank given THREADS_PER_RANK threads.
# usage: bench/data_parallel_scaling.sh [BUILD_DIR] [DATA_DIR] [ITERS] [THREADS_PER_RANK]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}; data=${2:-data/cifar10}; iters=${3:-200}; threads=${4:-1}
bin=$build/examples/cifar10/cifar10
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
args=(train --dataset cifar10 --data-dir "$data" --iters "$iters" --batch-size 100 --eval-every 0
      --threads "$threads" --policy triangular2 --step-size 2000)
ips() { grep -o '"images_per_second": [0-9.]*' "$1/summary.json" | awk '{print $2}'; }
"$bin" "${args[@]}" --out "$work/one" > /dev/null 2>&1
# The ranks meet through a FileStore in the temporary directory: no port to collide with.
"$bin" "${args[@]}" --world-size 2 --rank 1 --init-file "$work/store" > /dev/null 2>&1 &
"$bin" "${args[@]}" --world-size 2 --rank 0 --init-file "$work/store" --out "$work/two" > /dev/null 2>&1
wait
one=$(ips "$work/one"); two=$(ips "$work/two")
echo "1 rank  x $threads thread(s): $one images/s"
echo "2 ranks x $threads thread(s): $two images/s (global batch 100)"
awk -v a="$one" -v b="$two" 'BEGIN { printf "scaling 2 ranks / 1 rank: %.2fx\n", b / a }'
