#!/usr/bin/env bash
# On a GPU machine (after scripts/gpu_prepare.sh staged .gpu/): builds torchclr in the LibTorch
# 2.x lane (scripts/lane.sh --libtorch pypi, build-pypi/) against the LibTorch of the machine's
# PyTorch, runs the whole test suite there (cifar10_device_cuda trains on the GPU, the NCCL test
# all-reduces on it), then runs the paper's CIFAR-10 rows on the GPU at full length, one process
# per row side by side, each stopped at a deadline (a stopped row keeps its CSVs up to its last
# evaluation). Logs and a tarball of the results go to $OUT.
#   usage: OUT=DIR scripts/gpu_check.sh [build|test|table|all] [TABLE_SECONDS]
# Variables: TORCHCLR_PYTHON (default: python3; its PyTorch's LibTorch is built against),
# DEVICE (cuda), JOBS (nproc), ROWS (every paper row).
set -uo pipefail
cd "$(dirname "$0")/.."
step=${1:-all}
table_seconds=${2:-240}
out=${OUT:?set OUT to the folder the results go to}
mkdir -p "$out"
stage=$PWD/.gpu
prefix=$stage/prefix
export TORCHCLR_PYTHON=${TORCHCLR_PYTHON:-$(command -v python3)}
source scripts/lane.sh --libtorch pypi  # BUILD_DIR, LANE_PYTHON
jobs=${JOBS:-$(nproc)}
device=${DEVICE:-cuda}
table1="triangular2 fixed triangular2-stages decay exp_range exp"
table3="nesterov-triangular adam-triangular rmsprop-triangular adagrad-triangular adadelta-triangular
  nesterov-fixed adam-fixed rmsprop-fixed adagrad-fixed adadelta-fixed
  adam-triangular-70k rmsprop-triangular-70k"
rows=${ROWS:-$table1 $table3}
export FASHION_MNIST_DIR=$stage/fashion-mnist
exec > >(tee -a "$out/gpu_check.log") 2>&1
say() { echo "=== $(date -u +%T) $*"; }

build() {
  say "machine"
  nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  "$LANE_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
                     "available", torch.cuda.is_available())'
  grep '^torch==' scripts/requirements-libtorch2.txt | sed 's/^/pinned for the lane: /'
  if [ ! -f "$prefix/lib/cmake/GTest/GTestConfig.cmake" ]; then
    say "GoogleTest from source"
    cmake -S "$stage/googletest" -B /tmp/gtest-build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_GMOCK=OFF > /dev/null &&
      cmake --build /tmp/gtest-build -j "$jobs" > /dev/null &&
      cmake --install /tmp/gtest-build > /dev/null || { say "GoogleTest build failed"; return 1; }
  fi
  say "build the pypi lane in $BUILD_DIR"
  # GoogleTest and CLI11 from the stage; Gloo's headers (Debian's, as in the lane here) for
  # torchclr/distributed.h and its NCCL backend.
  CMAKE_PREFIX_PATH=$prefix CPATH=$prefix/include CMAKE_GENERATOR=Ninja JOBS=$jobs \
    bash scripts/build.sh --libtorch pypi -DTORCHCLR_BUILD_BENCHMARKS=OFF \
    -DTORCHCLR_REQUIRE_DISTRIBUTED=ON -DCMAKE_CUDA_ARCHITECTURES=90 2>&1 | tail -n 40
  [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
  grep -h "define TORCHCLR_WITH" "$BUILD_DIR/generated/include/torchclr/version.h"
}

data() {
  [ -f data/cifar10/cifar-10-batches-bin/test_batch.bin ] && return 0
  say "CIFAR-10 from the JPEG copy"
  local tmp
  tmp=$(mktemp -d)
  tar -xzf "$stage/cifar10/cifar10-jpeg.tar.gz" -C "$tmp" &&
    python3 "$stage/cifar10/jpeg_to_bin.py" "$tmp" data/cifar10/cifar-10-batches-bin
  local status=$?
  rm -rf "$tmp"
  (cd data/cifar10/cifar-10-batches-bin && sha256sum -c "$stage/cifar10/SHA256SUMS") || true
  return $status
}

tests() {
  say "ctest"
  ctest --test-dir "$BUILD_DIR" -j "$jobs" --timeout 300 --output-on-failure > "$out/ctest.log" 2>&1
  local status=$?
  grep -E "tests passed|tests failed|Failed|\*\*\*" "$out/ctest.log" | tail -n 30
  grep -A3 "cifar10_device_cuda" "$out/ctest.log" | grep -E "trained|no CUDA" || true
  grep -E "Nccl\.|fixtures_match_pytorch" "$out/ctest.log" || true
  return $status
}

table() {
  data || return 1
  say "the paper's rows on $device, full length, at most $table_seconds s"
  local bin=$BUILD_DIR/experiments/clr_paper/clr_paper dir=results-gpu pids=()
  mkdir -p "$dir"
  for row in $rows; do
    timeout -s KILL "$table_seconds" "$bin" compare --scale 1 --device "$device" --threads 2 \
      --rows "$row" --out "$dir" > "$dir/$row.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  "$bin" compare --scale 1 --device "$device" --report-only --out "$dir" > /dev/null 2>&1
  cat "$dir/results.md"
  for row in $rows; do tail -n 2 "$dir/$row.log"; done
  tar --exclude='checkpoint.pt' -czf "$out/results-gpu.tar.gz" "$dir"
}

status=0
case $step in
  build) build || status=1 ;;
  test) tests || status=1 ;;
  table) table || status=1 ;;
  all) { build && tests; } || status=1; table || status=1 ;;
  *) echo "unknown step $step (build, test, table, all)"; exit 2 ;;
esac
say "done, status $status"
exit $status
