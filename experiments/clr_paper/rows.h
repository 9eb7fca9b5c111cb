#pragma once

// The CLR paper's CIFAR-10 rows (arXiv 1506.01186, Tables 1-3) as `cifar10 train` runs.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "train.h"

namespace clr_paper {

/// One row of a comparison: a training run and the paper's figure for it.
struct CompareRow {
  std::string id;     ///< directory name and `--rows` key, e.g. "triangular2"
  std::string label;  ///< what the paper calls it
  cifar10::TrainOptions options;
  std::optional<double> paper_accuracy;
  std::string paper_source;  ///< "Table 1", ...
};

/// `iterations * scale`, rounded, at least 1.
int64_t scaled(int64_t iterations, double scale);

/// The paper's CIFAR-10 rows (Tables 1-3), every iteration count and step size multiplied by
/// `scale`, and exponential gammas raised to 1/`scale` so each LR curve keeps its shape.
/// Table 3's ids are OPTIMIZER-fixed (70k), OPTIMIZER-triangular (25k) and, for Adam and RMSprop,
/// OPTIMIZER-triangular-70k, with OPTIMIZER one of nesterov, adam, rmsprop, adagrad, adadelta.
std::vector<CompareRow> paper_rows(double scale);

/// The rows named by `ids`, in that order (all of `rows` when `ids` is empty); an unknown id is
/// an error listing the known ones.
std::vector<CompareRow> select_rows(const std::vector<CompareRow>& rows,
                                    const std::vector<std::string>& ids);

/// The short demo: triangular2, step decay and Adam (triangular), `iterations` each.
std::vector<CompareRow> demo_rows(int64_t iterations);

}  // namespace clr_paper
