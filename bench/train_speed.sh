#!/bin/bash
# Trains the CIFAR-10 network with PyTorch's Python API (bench/train_speed.py) and with the C++
# example (cifar10 train) on the same data, batch and threads, alternating ROUNDS times, and
# prints the images/s of each (best and median over the rounds) and their ratios. On a shared
# machine the best round is the one least disturbed by other processes. --other-build DIR adds a
# second build of the example to every round (another LibTorch: build/ is Debian's 1.13,
# build-pypi/ PyTorch's 2.x wheel) and compares the two C++ builds as well.
#
#   bench/train_speed.sh [--build DIR] [--other-build DIR] [--python PYTHON] [--data-dir DIR]
#                        [--threads N] [--iters N] [--rounds N] [--python-channels-last]
# --python-channels-last lays the Python side's batches out channels-last too, as the C++
# example does (by default Python runs the network as written, in PyTorch's NCHW).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
data_dir=data/cifar10
threads=$(nproc)
iters=200
rounds=5
python=/usr/bin/python3
other=
python_flags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --other-build) other=$2; shift 2 ;;
    --python-channels-last) python_flags+=(--channels-last); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

cifar10="$build/examples/cifar10/cifar10"
for dir in "$build" $other; do
  [ -x "$dir/examples/cifar10/cifar10" ] ||
    { echo "no $dir/examples/cifar10/cifar10: build the examples first (cmake --build $dir)" >&2; exit 1; }
done
"$python" -c "import torch" 2>/dev/null || { echo "$python has no torch (Debian: apt install python3-torch)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
best() { sort -g | tail -1; }

# cpp_round BINARY LABEL: one C++ training run; appends its images/s to $work/LABEL.log.
cpp_round() {
  rm -rf "$work/$2"
  "$1" train --dataset cifar10 --data-dir "$data_dir" --policy triangular --iters "$iters" \
      --eval-every 0 --threads "$threads" --out "$work/$2" >/dev/null 2>&1
  local ips cpu per_cpu version
  ips=$(grep '"images_per_second"' "$work/$2/summary.json" | tr -dc '0-9.')
  cpu=$(grep '"cpu_seconds"' "$work/$2/summary.json" | tr -dc '0-9.')
  version=$(grep -o '"torch_version": "[^"]*"' "$work/$2/summary.json" | cut -d'"' -f4)
  per_cpu=$(awk -v n="$iters" -v s="$cpu" 'BEGIN { printf "%.1f", n * 100 / s }')
  echo "c++ ($1, LibTorch $version) images/s: $ips ($iters iterations, $threads threads);" \
    "images per CPU-second: $per_cpu"
  echo "$ips" >> "$work/$2.log"
  echo "$per_cpu" >> "$work/${2}_cpu.log"
  echo "$version" > "$work/$2.version"
}

for round in $(seq "$rounds"); do
  # Both sides time every iteration after the data is loaded, the first one included.
  "$python" bench/train_speed.py --data-dir "$data_dir" --threads "$threads" --iters "$iters" --warmup 0 \
      --csv "$work/python.csv" "${python_flags[@]}" | tee -a "$work/python.log"
  cpp_round "$cifar10" cpp
  if [ -n "$other" ]; then
    cpp_round "$other/examples/cifar10/cifar10" other
  fi
done

sed -n 's/^python images\/s: \([0-9.]*\).*/\1/p' "$work/python.log" > "$work/python.values"
py_best=$(best < "$work/python.values")
py_median=$(median < "$work/python.values")
cpp_best=$(best < "$work/cpp.log")
cpp_median=$(median < "$work/cpp.log")
echo
echo "CIFAR-10 network, batch 100, $threads threads, $rounds rounds of $iters iterations each:"
echo "  python (PyTorch $("$python" -c 'import torch; print(torch.__version__)')): best $py_best, median $py_median images/s"
echo "  c++ ($build, LibTorch $(cat "$work/cpp.version")): best $cpp_best, median $cpp_median images/s"
sed -n 's/.*images per CPU-second: \([0-9.]*\).*/\1/p' "$work/python.log" > "$work/python_cpu.values"
py_cpu=$(median < "$work/python_cpu.values")
cpp_cpu=$(median < "$work/cpp_cpu.log")
echo "  images per CPU-second (median; the cost of each program, less sensitive to other load):"
echo "    python $py_cpu, c++ $cpp_cpu"
awk -v cb="$cpp_best" -v pb="$py_best" -v cm="$cpp_median" -v pm="$py_median" \
    -v cc="$cpp_cpu" -v pc="$py_cpu" \
    'BEGIN { printf "  ratio c++/python: best %.3f, median %.3f, per CPU-second %.3f\n", cb / pb, cm / pm, cc / pc }'
if [ -n "$other" ]; then
  other_best=$(best < "$work/other.log")
  other_median=$(median < "$work/other.log")
  other_cpu=$(median < "$work/other_cpu.log")
  echo "  c++ ($other, LibTorch $(cat "$work/other.version")): best $other_best, median" \
    "$other_median images/s; images per CPU-second (median) $other_cpu"
  awk -v cb="$cpp_best" -v ob="$other_best" -v cm="$cpp_median" -v om="$other_median" \
      -v cc="$cpp_cpu" -v oc="$other_cpu" -v a="$build" -v b="$other" \
      'BEGIN { printf "  ratio %s/%s: best %.3f, median %.3f, per CPU-second %.3f\n", a, b, cb / ob, cm / om, cc / oc }'
fi
