#!/usr/bin/env bash
# `cifar10` used as a hostile user would: bad flags, resumes with other flags, finished runs,
# damaged checkpoints, short data files. Every case ends in a clear error naming the flag or file
# (never a crash, a 309-digit number or an internal assertion) or in the right behaviour.
# Runs on a tiny generated CIFAR-10 layout (all-zero images, label 0).
# `compare` goes to the experiments' binary (clr_paper), which shares the example's flags.
# usage: cifar10_cli_test.sh CIFAR10_BINARY CLR_PAPER_BINARY
set -uo pipefail
bin=$1
paper=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# layout DIR RECORDS_OF_DATA_BATCH_3: 20 records in every file but data_batch_3.
layout() {
  local batches=$1/cifar-10-batches-bin
  mkdir -p "$batches"
  for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    local records=20
    [ "$f" != data_batch_3 ] || records=$2
    head -c $((3073 * records)) /dev/zero > "$batches/$f.bin"
  done
}
layout "$work/data" 20
layout "$work/short" 19
data=(--dataset cifar10 --data-dir "$work/data" --threads 1)
limit=$((120 * ${TORCHCLR_TEST_TIME_SCALE:-1}))  # seconds for one run (more under sanitizers)

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect_error NAME TEXT ARGS...: a non-zero exit within $limit s whose output contains TEXT and
# none of the messages that explain nothing.
expect_error() {
  local name=$1 text=$2
  shift 2
  local status=0 program=$bin
  [ "$1" != compare ] || program=$paper
  timeout "$limit" "$program" "$@" > "$work/log" 2>&1 || status=$?
  if [ "$status" -eq 124 ]; then
    fail "$name: still running after $limit s, expected an error containing: $text"
  elif [ "$status" -eq 0 ]; then
    fail "$name: exit 0, expected an error containing: $text"
    sed 's/^/    /' "$work/log"
  elif ! grep -qF -- "$text" "$work/log"; then
    fail "$name: expected the error to contain: $text"
    sed 's/^/    /' "$work/log"
  elif grep -qE 'INTERNAL ASSERT|1797693|report a bug' "$work/log"; then
    fail "$name: an error that explains nothing"
    sed 's/^/    /' "$work/log"
  else
    echo "ok: $name: $(grep -F -- "$text" "$work/log" | head -1)"
  fi
}

# Flags that used to be replaced, clamped or accepted silently.
for gamma in nan -2 0 inf; do
  expect_error "--gamma $gamma" "--gamma: expected a positive finite number, but got '$gamma'" \
    train "${data[@]}" --policy exp --gamma "$gamma" --iters 5 --out "$work/x"
done
expect_error "onecycle base > max" \
  "--base-lr: expected a value below --max-lr (0.001) for onecycle, but got 0.01" \
  train "${data[@]}" --policy onecycle --base-lr 0.01 --max-lr 0.001 --iters 5 --out "$work/x"
expect_error "--stages UNTIL 0" "--stages: expected UNTIL >= 1, but got '0.001:0.005:20:0'" \
  train "${data[@]}" --policy triangular --stages 0.001:0.005:20:0 --out "$work/x"
expect_error "--stages trailing comma" \
  "--stages: expected BASE:MAX:STEP:UNTIL items separated by single commas, but got" \
  train "${data[@]}" --policy triangular --stages 0.001:0.005:20:40, --out "$work/x"
expect_error "--milestones trailing comma" \
  "--milestones: expected comma-separated iterations, but got '10,'" \
  train "${data[@]}" --policy multistep --milestones 10, --out "$work/x"
expect_error "range-test --eval-images 0" \
  "--eval-images: expected an integer between 1 and" \
  range-test "${data[@]}" --eval-images 0 --out "$work/x"
expect_error "range-test --epochs nan" "--epochs: expected a positive finite number, but got 'nan'" \
  range-test "${data[@]}" --epochs nan --out "$work/x"
expect_error "range-test --epochs 1e300" "--epochs: expected at most" \
  range-test "${data[@]}" --epochs 1e300 --batch-size 10 --out "$work/x"
expect_error "--iters past int64" \
  "--iters: expected an integer between 1 and 9223372036854775807, but got '99999999999999999999'" \
  train "${data[@]}" --iters 99999999999999999999 --out "$work/x"
expect_error "--seed -1" "--seed: expected an integer between 0 and 18446744073709551615, but got '-1'" \
  train "${data[@]}" --seed -1 --out "$work/x"
expect_error "--iters 010 (octal)" "--iters: expected an integer between 1 and" \
  train "${data[@]}" --iters 010 --out "$work/x"

# Messages that name the flag, what was expected and what was given.
expect_error "--iters 0" "--iters: expected an integer between 1 and 9223372036854775807, but got '0'" \
  train "${data[@]}" --iters 0 --out "$work/x"
expect_error "--scale 0" "--scale: expected a number in (0, 1], but got '0'" \
  compare "${data[@]}" --scale 0 --out "$work/x"
expect_error "--base-lr nan" "--base-lr: expected a positive finite number, but got 'nan'" \
  train "${data[@]}" --base-lr nan --out "$work/x"
echo x > "$work/file"
expect_error "--data-dir is a file" "is a file, not a directory" \
  train --dataset cifar10 --data-dir "$work/file" --threads 1 --out "$work/x"
expect_error "range-test --batch-size 100000" \
  "--batch-size: expected at most 100 (the training images), but got 100000" \
  range-test "${data[@]}" --batch-size 100000 --out "$work/x"

# A resume whose flags disagree with the checkpoint: each difference named, nothing trained.
"$bin" train "${data[@]}" --policy triangular --step-size 2 --iters 4 --batch-size 10 \
  --eval-every 0 --checkpoint "$work/tri.pt" --out "$work/tri" > "$work/log" 2>&1 ||
  { fail "training a checkpoint"; cat "$work/log"; }
expect_error "resume with another --policy" \
  "--policy: the checkpoint has triangular, the flags give triangular2" \
  train "${data[@]}" --policy triangular2 --step-size 2 --iters 8 --batch-size 10 \
  --resume "$work/tri.pt" --out "$work/tri"
expect_error "resume with another --optimizer" \
  "--optimizer: the checkpoint has sgd, the flags give adam" \
  train "${data[@]}" --policy triangular --step-size 2 --iters 8 --batch-size 10 \
  --optimizer adam --resume "$work/tri.pt" --out "$work/tri"
"$bin" train "${data[@]}" --policy exp --gamma 0.9 --iters 4 --batch-size 10 --eval-every 0 \
  --checkpoint "$work/exp.pt" --out "$work/exp" > "$work/log" 2>&1 ||
  { fail "training an exp checkpoint"; cat "$work/log"; }
expect_error "exp resumed as fixed" "--policy: the checkpoint has exp, the flags give fixed" \
  train "${data[@]}" --policy fixed --iters 8 --batch-size 10 --resume "$work/exp.pt" \
  --out "$work/exp"

# A resume of a finished run changes nothing and says so.
"$bin" train "${data[@]}" --policy triangular --step-size 2 --iters 4 --batch-size 10 \
  --eval-every 2 --checkpoint "$work/done.pt" --out "$work/done" > "$work/log" 2>&1 ||
  { fail "training a finished run"; cat "$work/log"; }
cp "$work/done/summary.json" "$work/summary.before"
if "$bin" train "${data[@]}" --policy triangular --step-size 2 --iters 4 --batch-size 10 \
  --eval-every 2 --resume "$work/done.pt" --out "$work/done" > "$work/log" 2>&1; then
  if cmp -s "$work/summary.before" "$work/done/summary.json" &&
    grep -q "already at iteration 4 of 4" "$work/log"; then
    echo "ok: resuming a finished run: $(grep "already at" "$work/log")"
  else
    fail "resuming a finished run changed summary.json or said nothing"
    cat "$work/log"
  fi
else
  fail "resuming a finished run failed"
  cat "$work/log"
fi

# A damaged checkpoint: one flipped bit in the middle of the file.
cp "$work/done.pt" "$work/flipped.pt"
size=$(stat -c %s "$work/flipped.pt")
offset=$((size / 2))
byte=$(od -An -tu1 -j "$offset" -N1 "$work/flipped.pt" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 4)))" |
  dd of="$work/flipped.pt" bs=1 seek="$offset" conv=notrunc status=none
expect_error "a flipped bit in the checkpoint" "flipped.pt" \
  train "${data[@]}" --policy triangular --step-size 2 --iters 8 --batch-size 10 \
  --resume "$work/flipped.pt" --out "$work/flipped"

# A training file cut on a record boundary: the counts are printed, recorded and warned about.
if "$bin" train --dataset cifar10 --data-dir "$work/short" --threads 1 --iters 2 \
  --batch-size 10 --eval-every 0 --out "$work/short-run" > "$work/log" 2>&1; then
  if grep -q "data_batch_3.bin holds 19 records, not 10000" "$work/log" &&
    grep -q "99 training and 20 test images" "$work/log" &&
    grep -q '"train_images": 99,' "$work/short-run/summary.json" &&
    grep -q '"test_images": 20,' "$work/short-run/summary.json"; then
    echo "ok: a short data file: $(grep "data_batch_3" "$work/log")"
  else
    fail "a short data file went unreported"
    cat "$work/log" "$work/short-run/summary.json"
  fi
else
  fail "training on a short data file failed"
  cat "$work/log"
fi

# --flush-denormal through compare: each row records it, in its command, summary and segments.
if "$paper" compare "${data[@]}" --preset demo --demo-iters 4 --rows triangular2 \
  --flush-denormal --out "$work/flushed" > "$work/log" 2>&1; then
  row=$work/flushed/triangular2
  if grep -q '"flush_denormal": true,' "$row/summary.json" &&
    grep -q -- '--flush-denormal' "$row/summary.json" &&
    [ "$(tail -n 1 "$row/segments.csv" | cut -d, -f1)" = 0 ] &&
    head -n 1 "$row/segments.csv" | grep -q ',flush_denormal,' &&
    tail -n 1 "$row/segments.csv" | grep -qE ',cpu,1,'; then
    echo "ok: --flush-denormal recorded: $(tail -n 1 "$row/segments.csv")"
  else
    fail "--flush-denormal was not recorded"
    cat "$work/log" "$row/summary.json" "$row/segments.csv"
  fi
else
  fail "compare --flush-denormal failed"
  cat "$work/log"
fi

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "all cases passed"
