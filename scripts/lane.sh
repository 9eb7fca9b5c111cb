# Which LibTorch the scripts build against; sourced by install_deps.sh, build.sh, test.sh,
# setup.sh and gpu_check.sh. Two lanes, each with its own build directory:
#   debian  Debian's libtorch-dev (LibTorch 1.13, apt), in build/            (the default)
#   pypi    PyTorch's wheel from PyPI (LibTorch 2.x, version pinned in
#           scripts/requirements-libtorch2.txt) in a virtual environment, in build-pypi/
# Chosen by `--libtorch debian|pypi` among the script's arguments, else $TORCHCLR_LIBTORCH.
# The venv is .venv/ in the checkout (ignored by git) unless $TORCHCLR_VENV names another;
# $TORCHCLR_PYTHON names a Python whose PyTorch the pypi lane uses instead (a GPU machine's).
# Sets LANE, BUILD_DIR, VENV, LANE_PYTHON (the Python whose PyTorch checks the fixtures) and
# LANE_ARGS (the script's other arguments); lane_cmake_args sets LANE_CMAKE_ARGS, the lane's
# CMake arguments.

LANE=${TORCHCLR_LIBTORCH:-debian}
LANE_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --libtorch) LANE=${2:?--libtorch needs debian or pypi}; shift 2 ;;
    --libtorch=*) LANE=${1#--libtorch=}; shift ;;
    *) LANE_ARGS+=("$1"); shift ;;
  esac
done
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${TORCHCLR_VENV:-$ROOT/.venv}
case "$LANE" in
  debian) BUILD_DIR=build; LANE_PYTHON=/usr/bin/python3 ;;
  pypi) BUILD_DIR=build-pypi; LANE_PYTHON=${TORCHCLR_PYTHON:-$VENV/bin/python} ;;
  *) echo "unknown LibTorch lane '$LANE': expected debian (LibTorch 1.13, apt) or pypi" \
          "(LibTorch 2.x, pip)" >&2; exit 2 ;;
esac

# ccache where installed; its sloppiness lets it cache the precompiled header and its users.
if command -v ccache > /dev/null; then
  : "${CCACHE_SLOPPINESS:=pch_defines,time_macros,include_file_mtime,include_file_ctime}"
  export CCACHE_SLOPPINESS
fi

lane_cmake_args() {
  LANE_CMAKE_ARGS=("-DTORCHCLR_FIXTURE_PYTHON=$LANE_PYTHON")
  if command -v ccache > /dev/null; then
    LANE_CMAKE_ARGS+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  if [ "$LANE" = pypi ]; then
    local prefix
    prefix=$("$LANE_PYTHON" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)') ||
      { echo "$LANE_PYTHON has no PyTorch: run scripts/install_deps.sh --libtorch pypi" >&2; exit 1; }
    LANE_CMAKE_ARGS+=("-DCMAKE_PREFIX_PATH=$prefix")
  fi
}
