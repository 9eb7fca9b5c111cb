#!/usr/bin/env bash
# Stages what scripts/gpu_check.sh needs on a bare GPU machine that has CUDA, CMake, ninja and
# PyTorch (with its LibTorch) but no Debian packages and no network: CLI11's headers and CMake
# package, Gloo's headers (for torchclr/distributed.h and its NCCL backend, as in the LibTorch 2.x
# lane here), GoogleTest's source, and the CIFAR-10 JPEG archive with its converter. Everything goes
# into .gpu/ (ignored by git; name it in the device run's `carry`), about 53 MB with
# Fashion-MNIST (Debian's dataset-fashion-mnist), which some tests train on.
# usage: scripts/gpu_prepare.sh [CIFAR10_JPEG_DIR]   (default ../shared/data/cifar10)
set -euo pipefail
cd "$(dirname "$0")/.."
jpeg_dir=${1:-../shared/data/cifar10}
stage=.gpu
rm -rf "$stage"
mkdir -p "$stage/prefix/include" "$stage/prefix/share/cmake" "$stage/cifar10"
cp -r /usr/include/CLI /usr/include/gloo "$stage/prefix/include/"
cp -r /usr/share/cmake/CLI11 "$stage/prefix/share/cmake/"
cp -r /usr/src/googletest "$stage/googletest"
cp "$jpeg_dir"/{cifar10-jpeg.tar.gz,jpeg_to_bin.py,SHA256SUMS} "$stage/cifar10/"
cp -r /usr/share/datasets/fashion-mnist "$stage/fashion-mnist"
du -sh "$stage"
