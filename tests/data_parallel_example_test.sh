#!/usr/bin/env bash
# Two ranks of `cifar10 train` on loopback Gloo against one process with the same global batch:
# the per-iteration losses (the ranks' mean) must agree, and only rank 0 writes outputs.
# usage: data_parallel_example_test.sh CIFAR10_BINARY PORT
set -euo pipefail
bin=$1
port=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(train --dataset fashion-mnist --iters 15 --batch-size 20 --eval-every 0 --threads 1
      --policy triangular2 --step-size 5 --seed 3)

"$bin" "${args[@]}" --out "$work/single" > "$work/single.log" 2>&1
"$bin" "${args[@]}" --world-size 2 --rank 1 --master-port "$port" --out "$work/rank1" \
  > "$work/rank1.log" 2>&1 &
rank1=$!
timeout 120 "$bin" "${args[@]}" --world-size 2 --rank 0 --master-port "$port" --out "$work/ranks" \
  > "$work/rank0.log" 2>&1
wait "$rank1"

[ ! -e "$work/rank1" ] || { echo "rank 1 wrote outputs"; exit 1; }
paste -d, <(tail -n +2 "$work/single/train.csv" | cut -d, -f2,4) \
          <(tail -n +2 "$work/ranks/train.csv" | cut -d, -f2,4) |
  awk -F, '{
    n++
    if ($1 != $3) { print "iteration " n - 1 ": lr " $1 " vs " $3; bad = 1 }
    d = $2 - $4; if (d < 0) d = -d
    if (d > 1e-4 * ($2 < 0 ? -$2 : $2)) { print "iteration " n - 1 ": loss " $2 " vs " $4; bad = 1 }
  } END { if (n != 15) { print "expected 15 iterations, got " n; bad = 1 }; exit bad }'
echo "2 ranks match one process over 15 iterations"
