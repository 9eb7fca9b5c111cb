#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) in their own
# build directory and runs each for a bounded time, niced: the CIFAR-10 binary reader (and the
# Fashion-MNIST IDX reader) and the checkpoint loader behind `cifar10 train --resume`.
# A crashing input is written to build-fuzz/findings/TARGET/; commit it under
# tests/fuzz/regressions/TARGET/, where tests/cifar10_test.cpp replays it in every build.
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 300)] [TARGET...]
#   targets: cifar10_reader checkpoint (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cifar10_reader checkpoint)
build=${FUZZ_BUILD_DIR:-build-fuzz}
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  "${launcher[@]}" -DTORCHCLR_FUZZ=ON -DTORCHCLR_BUILD_TESTS=OFF -DTORCHCLR_BUILD_BENCHMARKS=OFF \
  -DTORCHCLR_INSTALL=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
for target in "${targets[@]}"; do
  cmake --build "$build" -j "$jobs" --target "fuzz_$target"
done

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The checkpoint loader's seed: a real checkpoint of a 2-iteration run on a generated data set.
if [[ " ${targets[*]} " == *" checkpoint "* ]]; then
  cmake --build "$build" -j "$jobs" --target cifar10
  mkdir -p "$build/seed-data/cifar-10-batches-bin" "$build/corpus/checkpoint"
  for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    head -c $((3073 * 20)) /dev/zero > "$build/seed-data/cifar-10-batches-bin/$f.bin"
  done
  "$build/examples/cifar10/cifar10" train --dataset cifar10 --data-dir "$build/seed-data" \
    --threads 1 --iters 2 --batch-size 10 --eval-every 0 \
    --checkpoint "$build/corpus/checkpoint/seed-checkpoint.pt" --out "$build/seed-run" > /dev/null
fi
status=0
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  findings=$build/findings/$target
  mkdir -p "$corpus" "$findings"
  # Seeds: the committed inputs, and for the checkpoint loader a real (small) checkpoint.
  cp tests/fuzz/seeds/"$target"/* "$corpus"/ 2> /dev/null || true
  cp tests/fuzz/regressions/"$target"/* "$corpus"/ 2> /dev/null || true
  echo "fuzzing $target for $seconds s"
  nice -n 10 "$build/examples/cifar10/fuzz_$target" "$corpus" -max_total_time="$seconds" -timeout=30 \
    -rss_limit_mb=4096 -artifact_prefix="$findings/" -print_final_stats=1 || status=$?
done
[ "$status" -eq 0 ] || echo "findings: $(ls "$build"/findings/*/ 2> /dev/null | tr '\n' ' ')"
exit "$status"
