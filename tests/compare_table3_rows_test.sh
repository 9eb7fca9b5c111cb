#!/usr/bin/env bash
# `clr_paper compare --rows` with the ids of the paper's Table 3 rows, on Fashion-MNIST:
#   - every id is accepted, and the table lists each row with the paper's figure;
#   - a row trains through the CLI (AdaDelta, at the smallest scale: 3 iterations), and its
#     result stays in the table when another invocation reports other rows;
#   - an unknown id is a clear error naming it.
# usage: compare_table3_rows_test.sh CLR_PAPER_BINARY
set -euo pipefail
fashion=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
compare() { "$bin" compare --dataset fashion-mnist --data-dir "$fashion" --threads 1 "$@"; }

rows=nesterov-triangular,adam-triangular,rmsprop-triangular,adagrad-triangular
rows+=,adadelta-triangular,nesterov-fixed,adam-fixed,rmsprop-fixed,adagrad-fixed,adadelta-fixed
rows+=,adam-triangular-70k,rmsprop-triangular-70k
compare --report-only --rows "$rows" --out "$work/table3" > "$work/report.log" 2>&1 ||
  { cat "$work/report.log"; fail "--report-only --rows $rows"; }
md=$work/table3/results.md
for label in "Nesterov, triangular 0.001-0.006 | nesterov | triangular 0.001-0.006 step 2000 | 25000 | 81.3 (Table 3)" \
             "RMSprop, triangular 0.0001-0.0003, 70k | rmsprop | triangular 0.0001-0.0003 step 2000 | 70000 | 75.1 (Table 3)" \
             "AdaGrad, fixed (0.003, x0.1 at 60k and 65k) | adagrad | multistep 0.003, x0.1 at 60000 65000 | 70000 | 74.6 (Table 3)" \
             "AdaDelta, triangular 0.01-0.1 | adadelta | triangular 0.01-0.1 step 2000 | 25000 | 67.3 (Table 3)"; do
  grep -qF "| $label | not run |" "$md" || { cat "$md"; fail "no row '$label'"; }
done
[ "$(grep -c 'not run' "$md")" -eq 12 ] || { cat "$md"; fail "expected 12 rows not run"; }

compare --scale 0.0001 --rows adadelta-triangular --out "$work/table3" > "$work/train.log" 2>&1 ||
  { cat "$work/train.log"; fail "training adadelta-triangular"; }
grep -q '"optimizer": "adadelta"' "$work/table3/adadelta-triangular/summary.json" ||
  fail "adadelta-triangular did not train with adadelta"
grep -qE '^\| AdaDelta, triangular 0.01-0.1 \| adadelta \| triangular 0.01-0.1 step 1 \| 3 \| 67.3 \(Table 3\) \| [0-9.]+ \|' "$md" ||
  { cat "$md"; fail "no result for adadelta-triangular"; }
# A later report of every row keeps this one's result.
compare --report-only --rows nesterov-fixed --out "$work/table3" > "$work/report2.log" 2>&1 ||
  { cat "$work/report2.log"; fail "--report-only --rows nesterov-fixed"; }
grep -qE '^\| AdaDelta, triangular 0.01-0.1 \| .* \| 67.3 \(Table 3\) \| [0-9.]+ \|' "$md" ||
  { cat "$md"; fail "the report of another row dropped adadelta-triangular"; }
grep -qF "| Nesterov, fixed (0.001, x0.1 at 60k and 65k) |" "$md" || { cat "$md"; fail "nesterov-fixed"; }

if compare --report-only --rows adadelta-cyclic --out "$work/table3" > "$work/bad.log" 2>&1; then
  fail "an unknown row was accepted"
fi
grep -q "compare: unknown row 'adadelta-cyclic'" "$work/bad.log" || { cat "$work/bad.log"; fail "message"; }
echo "compare --rows: every Table 3 row accepted"
