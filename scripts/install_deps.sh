#!/usr/bin/env bash
# Installs what torchclr needs to build, test and run its examples on Debian/Ubuntu, skipping what
# is already there: Debian's packages, and for `--libtorch pypi` PyTorch's wheel in a virtual
# environment (scripts/lane.sh).
#   scripts/install_deps.sh [--libtorch debian|pypi]
set -euo pipefail
source "$(dirname "$0")/lane.sh"

packages=(cmake g++ make ccache libgloo-dev libgtest-dev libbenchmark-dev libcli11-dev
          nlohmann-json3-dev zlib1g-dev gnuplot-nox dataset-fashion-mnist)
case "$LANE" in
  # python3-torch: PyTorch 1.13's Python schedulers, which the fixtures are checked against.
  debian) packages+=(libtorch-dev python3-torch) ;;
  pypi) packages+=(python3-venv) ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi

if [ "$LANE" = pypi ]; then
  requirements=$ROOT/scripts/requirements-libtorch2.txt
  torch_pin=$(sed -n 's/^torch==\([^ ;]*\).*/\1/p' "$requirements")
  if [ -n "${TORCHCLR_PYTHON:-}" ]; then
    "$LANE_PYTHON" -c 'import torch' || { echo "$LANE_PYTHON: no PyTorch" >&2; exit 1; }
  elif ! "$LANE_PYTHON" -c "import sys, torch
sys.exit(torch.__version__.split('+')[0] != '$torch_pin')" 2>/dev/null; then
    [ -x "$LANE_PYTHON" ] || /usr/bin/python3 -m venv "$VENV"
    echo "Installing PyTorch $torch_pin into $VENV (CUDA wheel and NVIDIA's runtime wheels, ~4 GB)"
    "$VENV/bin/pip" install --disable-pip-version-check -q -r "$requirements"
  fi
  # The CUDA wheel's TorchConfig.cmake looks for the CUDA toolkit.
  command -v nvcc > /dev/null || [ -x /usr/local/cuda/bin/nvcc ] ||
    echo "warning: no CUDA toolkit (nvcc) found; PyTorch's CUDA wheel needs one to configure" >&2
fi
