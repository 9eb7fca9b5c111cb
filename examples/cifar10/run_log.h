#pragma once

// What a training run writes for people and for the tables: train.csv (one row per iteration),
// eval.csv (one row per evaluation), a progress line on stderr, and summary.json.

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "train.h"

namespace cifar10 {

/// The CSVs and the progress line of one run. Without `TrainOptions::out_dir` it writes no
/// files; without `TrainOptions::progress` it prints nothing.
class RunLog {
 public:
  /// Opens the CSVs for appending. A resume at `resumed_at` keeps the rows before it (each file
  /// replaced whole, never rewritten in place) and warns when some are missing.
  RunLog(const TrainOptions& options, std::optional<int64_t> resumed_at);
  ~RunLog();

  /// Iteration `t` trained at `lr` and `momentum` with training loss `loss`.
  void train_row(int64_t t, double lr, double momentum, double loss, double train_seconds);
  /// The test set after `done` iterations; flushes both CSVs.
  void eval_row(int64_t done, const EvalResult& eval, double train_seconds);
  /// Flushes the CSVs and ends the progress line.
  void finish();

  /// The best test accuracy in eval.csv before this invocation (a resume continues it).
  std::optional<double> best_accuracy_before() const { return best_before_; }

 private:
  class Progress;
  std::unique_ptr<Progress> progress_;
  std::ofstream train_csv_, eval_csv_;
  std::optional<double> best_before_;
  double loss_sum_ = 0.0;  // training loss since the last evaluation, for the progress line
  int64_t loss_count_ = 0;
};

/// What summary.json records beside the options and the result.
struct RunFacts {
  int64_t resumed_from = 0;
  /// Processor time of this invocation's loop, evaluations included: on a shared machine, images
  /// per CPU-second measure the program's own cost better than images per second.
  double cpu_seconds = 0.0;
  int64_t train_images = 0;
  int64_t test_images = 0;
  int64_t world_size = 1;
  std::string note;
};

/// Writes `out_dir/summary.json` (replaced whole).
void write_summary(const TrainOptions& options, const TrainResult& result, const RunFacts& facts);

/// What a run's summary.json records: its result, and the length it was given (-1 where absent).
struct RunSummary {
  TrainResult result;
  int64_t target_iterations = -1;
};

/// Reads `out_dir/summary.json`; nullopt where there is none, or it is not a run's summary.
std::optional<RunSummary> read_summary(const std::string& out_dir);

/// The result of a run resumed from a checkpoint at its last iteration: nothing to train. The
/// run's summary.json stays as it is; where it is missing or stale (a kill between the last
/// checkpoint and the summary), it is written again from the checkpoint and eval.csv.
TrainResult finished_run(const TrainOptions& options, double final_lr, int64_t iteration,
                         double wall_seconds, double train_seconds, const RunFacts& facts);

/// What eval.csv says: its last row and the best accuracy (all nullopt without rows).
struct EvalHistory {
  std::optional<int64_t> last_iteration;
  std::optional<double> last_loss, last_accuracy, best_accuracy;
};

/// Reads a run's eval.csv; rows that do not parse (the header, a line cut short) are skipped.
EvalHistory read_eval_csv(const std::string& path);

/// Keeps the header and the rows of a CSV whose first column is an iteration below `limit`
/// (rows without one, and an unfinished last line, are dropped); writes them to `path.partial`
/// and renames that over `path`, so a kill leaves the old file or the new one. A missing file
/// becomes the header alone. Returns the number of rows kept.
/// With `append`, that text (whole lines) follows the kept rows in the same replacement.
int64_t rewrite_csv(const std::string& path, const std::string& header, int64_t limit,
                    const std::string& append = "");

/// How a run computed, beyond the code and LibTorch: the fused layers' kernels (the same bits
/// either way; they differ in speed) and the instruction-set caps that LibTorch's CPU kernels read
/// from the environment (`ONEDNN_MAX_CPU_ISA`, else `DNNL_MAX_CPU_ISA`, and
/// `ATEN_CPU_CAPABILITY`; empty where unset). oneDNN's convolutions round differently with
/// AVX-512 than with AVX2, so the same binary trains to other bits on CPUs that differ there
/// unless the cap makes them agree (docs/results/README.md).
struct NumericsFacts {
  std::string fused_layer_isa, onednn_max_cpu_isa, aten_cpu_capability;
};
NumericsFacts numerics_facts();

}  // namespace cifar10
