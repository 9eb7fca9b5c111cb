#!/bin/bash
# Trains the CIFAR-10 network with PyTorch's Python API (bench/train_speed.py) and with the C++
# example (cifar10 train) on the same data, batch and threads, alternating ROUNDS times, and
# prints the images/s of each (best and median over the rounds) and their ratios. On a shared
# machine the best round is the one least disturbed by other processes.
#
#   bench/train_speed.sh [--build DIR] [--data-dir DIR] [--threads N] [--iters N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
data_dir=data/cifar10
threads=$(nproc)
iters=200
rounds=5
python=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

cifar10="$build/examples/cifar10/cifar10"
[ -x "$cifar10" ] || { echo "no $cifar10: build the examples first (cmake --build $build)" >&2; exit 1; }
"$python" -c "import torch" 2>/dev/null || { echo "$python has no torch (Debian: apt install python3-torch)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
best() { sort -g | tail -1; }

for round in $(seq "$rounds"); do
  # Both sides time every iteration after the data is loaded, the first one included.
  "$python" bench/train_speed.py --data-dir "$data_dir" --threads "$threads" --iters "$iters" --warmup 0 \
      --csv "$work/python.csv" | tee -a "$work/python.log"
  "$cifar10" train --dataset cifar10 --data-dir "$data_dir" --policy triangular --iters "$iters" \
      --eval-every 0 --threads "$threads" --out "$work/cpp" >/dev/null 2>&1
  cpp=$(grep '"images_per_second"' "$work/cpp/summary.json" | tr -dc '0-9.')
  cpu=$(grep '"cpu_seconds"' "$work/cpp/summary.json" | tr -dc '0-9.')
  cpp_cpu=$(awk -v n="$iters" -v s="$cpu" 'BEGIN { printf "%.1f", n * 100 / s }')
  echo "c++ images/s: $cpp ($iters iterations, $threads threads); images per CPU-second: $cpp_cpu"
  echo "$cpp" >> "$work/cpp.log"
  echo "$cpp_cpu" >> "$work/cpp_cpu.log"
done

sed -n 's/^python images\/s: \([0-9.]*\).*/\1/p' "$work/python.log" > "$work/python.values"
py_best=$(best < "$work/python.values")
py_median=$(median < "$work/python.values")
cpp_best=$(best < "$work/cpp.log")
cpp_median=$(median < "$work/cpp.log")
echo
echo "CIFAR-10 network, batch 100, $threads threads, $rounds rounds of $iters iterations each:"
echo "  python (PyTorch $("$python" -c 'import torch; print(torch.__version__)')): best $py_best, median $py_median images/s"
echo "  c++ (cifar10 train): best $cpp_best, median $cpp_median images/s"
sed -n 's/.*images per CPU-second: \([0-9.]*\).*/\1/p' "$work/python.log" > "$work/python_cpu.values"
py_cpu=$(median < "$work/python_cpu.values")
cpp_cpu=$(median < "$work/cpp_cpu.log")
echo "  images per CPU-second (median; the cost of each program, less sensitive to other load):"
echo "    python $py_cpu, c++ $cpp_cpu"
awk -v cb="$cpp_best" -v pb="$py_best" -v cm="$cpp_median" -v pm="$py_median" \
    -v cc="$cpp_cpu" -v pc="$py_cpu" \
    'BEGIN { printf "  ratio c++/python: best %.3f, median %.3f, per CPU-second %.3f\n", cb / pb, cm / pm, cc / pc }'
