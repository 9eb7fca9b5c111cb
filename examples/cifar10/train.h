#pragma once

#include <torch/types.h>
#include <torchclr/distributed.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dataset.h"
#include "model.h"
#include "policies.h"

namespace cifar10 {

/// One training run.
struct TrainOptions {
  PolicyOptions policy;
  OptimizerKind optimizer = OptimizerKind::Sgd;
  int64_t iterations = 70000;
  int64_t batch_size = 100;
  /// Evaluate on the test set every this many iterations and at the end; 0: never.
  int64_t eval_every = 1000;
  int64_t eval_batch_size = 1000;
  uint64_t seed = 1;
  /// Recorded in summary.json; the caller sets torch's thread count.
  int threads = 1;
  /// Recorded in summary.json and segments.csv; the caller sets it (cifar10::setup).
  bool flush_denormal = false;
  torch::Device device = torch::kCPU;
  /// Written at every evaluation and at the end when not empty, and only while the model is
  /// finite: a run that diverges keeps its last good checkpoint. Its directory is created, and
  /// checked writable, before training.
  std::string checkpoint;
  /// A checkpoint to continue from: same model, optimizer and schedule state, same data order.
  /// Its flags (see `resume_flags`) must match these options; a checkpoint at the last
  /// iteration trains nothing and keeps the run's summary.json.
  std::string resume;
  /// Where train.csv, eval.csv and summary.json go; empty: nowhere.
  std::string out_dir;
  /// The command line that reproduces this run, for summary.json.
  std::string command;
  std::string dataset;
  /// A progress line on stderr: overwritten in place on a terminal, one line per evaluation
  /// otherwise.
  bool progress = true;
  std::string label;
  /// Data-parallel training: every rank trains on its share of each global batch of
  /// `batch_size` images, gradients are averaged after backward, and only rank 0 writes CSVs,
  /// checkpoints and progress. Null: one process.
  std::shared_ptr<torchclr::ProcessGroup> group;
};

struct EvalResult {
  double loss = 0.0;
  double accuracy = 0.0;  ///< percent
};

struct TrainResult {
  int64_t iterations = 0;  ///< iterations completed
  std::optional<double> final_test_accuracy;
  std::optional<double> best_test_accuracy;
  std::optional<double> final_test_loss;
  double final_lr = 0.0;
  double images_per_second = 0.0;
  double wall_seconds = 0.0;
  bool diverged = false;
  std::string message;  ///< why the run stopped early
  /// Resumed from a checkpoint already at the last iteration: nothing was trained.
  bool already_finished = false;
};

/// Loss and accuracy of `model` on `data`, in eval mode without gradients. With a process group,
/// each rank evaluates its own contiguous shard and the sums are all-reduced: every rank returns
/// the figures of the whole of `data`.
EvalResult test(CifarNet& model, const ImageData& data, int64_t batch_size,
                torchclr::ProcessGroup* group = nullptr);

/// Trains the paper's network on `train`, evaluating on `test`. Stops early, with `diverged`
/// set and its CSVs flushed, at the first non-finite training loss, test loss or model.
TrainResult train(const TrainOptions& options, const ImageData& train, const ImageData& test);

/// The run's schedule: `options.policy` with the run's length (`TrainOptions::iterations`, which
/// onecycle and multistep's default milestones depend on).
PolicyOptions schedule_options(const TrainOptions& options);

/// Checks the options that do not depend on the data, naming the flag of each bad value.
void check_train_options(const TrainOptions& options);

}  // namespace cifar10
