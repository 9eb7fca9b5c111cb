#!/usr/bin/env bash
# Starts a longer run from a shorter one's latest checkpoint, where the two share everything but
# their length (schedule, optimizer, seed, data order: Table 3's adam-triangular and
# adam-triangular-70k), so the shorter run's state at iteration k is the longer one's. Copies the
# checkpoint and the CSV rows up to k into DST, which `clr_paper compare` (or `cifar10 train
# --resume`) then continues to its own length. A running `compare` writing into SRC's folder is
# paused while the files are read, so the checkpoint and the rows agree.
#   scripts/seed_row.sh SRC_ROW_DIR DST_ROW_DIR
set -euo pipefail
src=${1:?usage: scripts/seed_row.sh SRC_ROW_DIR DST_ROW_DIR}
dst=${2:?usage: scripts/seed_row.sh SRC_ROW_DIR DST_ROW_DIR}
for f in checkpoint.pt train.csv eval.csv; do
  [ -f "$src/$f" ] || { echo "seed_row.sh: expected $src/$f (a run with a checkpoint), but it is missing" >&2; exit 2; }
done
if [ -e "$dst/summary.json" ]; then
  echo "seed_row.sh: $dst has finished (summary.json): nothing to seed" >&2
  exit 2
fi
pid=$(pgrep -f -- "--out $(dirname "$src")" | head -n 1 || true)
resume() { if [ -n "$pid" ]; then kill -CONT "$pid" 2> /dev/null || true; fi; }
trap resume EXIT
# A checkpoint is written after its evaluation row: once eval.csv is no newer (the two may share
# a timestamp), it holds the iteration of eval.csv's last row.
caught_up() { ! [ "$src/eval.csv" -nt "$src/checkpoint.pt" ]; }
for _ in $(seq 1 60); do
  if [ -n "$pid" ]; then kill -STOP "$pid"; fi
  if caught_up; then break; fi
  resume
  sleep 5
done
caught_up || { echo "seed_row.sh: $src's checkpoint never caught up with its eval.csv" >&2; exit 1; }
k=$(tail -n 1 "$src/eval.csv" | cut -d, -f1)
mkdir -p "$dst"
head -n $((k + 1)) "$src/train.csv" > "$dst/train.csv.partial"
awk -F, -v k="$k" 'NR == 1 || $1 <= k' "$src/eval.csv" > "$dst/eval.csv.partial"
files="checkpoint.pt train.csv eval.csv"
# segments.csv (where it exists): the invocations that trained iterations before k.
if [ -f "$src/segments.csv" ]; then
  awk -F, -v k="$k" 'NR == 1 || $1 < k' "$src/segments.csv" > "$dst/segments.csv.partial"
  files="$files segments.csv"
fi
# The checkpoint last, so that it is no older than the CSVs, as in a running row's folder.
cp "$src/checkpoint.pt" "$dst/checkpoint.pt.partial"
resume
for f in $files; do mv "$dst/$f.partial" "$dst/$f"; done
echo "$dst: seeded from $src at iteration $k"
