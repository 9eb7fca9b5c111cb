#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dataset.h"
#include "train.h"

namespace cifar10 {

/// One row of the comparison: a training run and the paper's figure for it.
struct CompareRow {
  std::string id;     ///< directory name and `--rows` key, e.g. "triangular2"
  std::string label;  ///< what the paper calls it
  TrainOptions options;
  std::optional<double> paper_accuracy;
  std::string paper_source;  ///< "Table 1", ...
};

/// The paper's CIFAR-10 rows (Tables 1-3), every iteration count and step size divided by
/// 1/`scale`, and exponential gammas raised to 1/`scale` so each LR curve keeps its shape.
/// Table 3's ids are OPTIMIZER-fixed (70k), OPTIMIZER-triangular (25k) and, for Adam and RMSprop,
/// OPTIMIZER-triangular-70k, with OPTIMIZER one of nesterov, adam, rmsprop, adagrad, adadelta.
std::vector<CompareRow> paper_rows(double scale);

/// The rows named by `ids`, in that order (all of `rows` when `ids` is empty); an unknown id is
/// an error listing the known ones.
std::vector<CompareRow> select_rows(const std::vector<CompareRow>& rows,
                                    const std::vector<std::string>& ids);

/// The short demo: triangular2, step decay and Adam (triangular), `iterations` each.
std::vector<CompareRow> demo_rows(int64_t iterations);

struct CompareOptions {
  std::string out_dir = "results/compare";
  std::string preset = "paper";
  double scale = 1.0;
  int64_t demo_iterations = 1000;
  std::vector<std::string> rows;  ///< ids to run, in this order; empty: all
  int64_t eval_every = 0;         ///< 0: 1000 x scale, at least 500 (paper), 250 (demo)
  uint64_t seed = 1;
  int threads = 1;
  torch::Device device = torch::kCPU;
  bool progress = true;
  /// Only rewrite results.md and the plots from the rows already in `out_dir`.
  bool report_only = false;
  /// How `cifar10 train` was reached and the data options, for each row's reproducing command.
  std::string train_prefix = "cifar10 train";
  std::string command;
};

/// Runs every selected row not already finished in `out_dir` (a row with a checkpoint resumes),
/// rewriting results.md and the plots after each: the table and plots show the selected rows and
/// every other row of the preset with a directory in `out_dir`, in the preset's order. Returns
/// the Markdown table.
std::string run_compare(const CompareOptions& options, const DataPair& data);

/// results.md for the rows in `out_dir` (rows not run yet are listed as such).
std::string write_report(const CompareOptions& options, const std::vector<CompareRow>& rows,
                         const std::string& dataset);

/// The paragraph under the table: the data, the seed and what "final" and "best" mean.
std::string table_note(const std::string& dataset, uint64_t seed);

/// accuracy.png and lr.png from the rows' CSVs, through gnuplot (each replaced whole, never left
/// half-drawn).
bool write_plots(const std::string& out_dir, const std::vector<CompareRow>& rows);

}  // namespace cifar10
