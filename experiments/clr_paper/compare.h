#pragma once

// `clr_paper compare`: runs rows of the paper's tables and writes their table and plots.

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dataset.h"
#include "rows.h"
#include "train.h"

namespace clr_paper {

struct CompareOptions {
  std::string out_dir = "results/compare";
  std::string preset = "paper";
  double scale = 1.0;
  int64_t demo_iterations = 1000;
  std::vector<std::string> rows;  ///< ids to run, in this order; empty: all
  int64_t eval_every = 0;         ///< 0: 1000 x scale, at least 500 (paper), 250 (demo)
  uint64_t seed = 1;
  int threads = 1;
  bool flush_denormal = false;  ///< recorded for each row; the caller sets it (cifar10::setup)
  torch::Device device = torch::kCPU;
  bool progress = true;
  /// Only rewrite results.md and the plots from the rows already in `out_dir`.
  bool report_only = false;
  /// How `cifar10 train` is reached and the data options, for each row's reproducing command.
  std::string train_prefix = "cifar10 train";
  std::string command;
};

/// What the table shows of a row: the result of a run, from this invocation's memory or from
/// the summary.json of an earlier one.
using RowResults = std::map<std::string, cifar10::TrainResult>;

/// Runs every selected row not already finished in `out_dir` (a row with a checkpoint resumes),
/// rewriting results.md and the plots after each: the table and plots show the selected rows and
/// every other row of the preset with a directory in `out_dir`, in the preset's order. Returns
/// the Markdown table.
std::string run_compare(const CompareOptions& options, const cifar10::DataPair& data);

/// results.md for `rows`: each row's result from `results`, else (another invocation's row)
/// from its summary.json, else its progress in eval.csv, else "not run".
std::string write_report(const CompareOptions& options, const std::vector<CompareRow>& rows,
                         const RowResults& results, const std::string& dataset);

/// The paragraph under the table: the data, the seed and what "final" and "best" mean.
std::string table_note(const std::string& dataset, uint64_t seed);

/// accuracy.png and lr.png from the rows' CSVs, through gnuplot (each replaced whole, never left
/// half-drawn).
bool write_plots(const std::string& out_dir, const std::vector<CompareRow>& rows);

}  // namespace clr_paper
