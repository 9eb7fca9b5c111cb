#pragma once

#include <torch/types.h>
#include <torchclr/distributed.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "checkpoint.h"
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

/// Fills the int64 tensor `order` with the data order of epoch `epoch`: a function of the seed
/// and the epoch only, so a resumed run sees the same batches as an uninterrupted one.
void shuffle_epoch(torch::Tensor& order, uint64_t seed, int64_t epoch);

/// The indices, in `epoch_order`, of this rank's share of global batch `t`: the global batch is
/// `batch` consecutive entries, and each of the `world` ranks takes `batch / world` of them.
torch::Tensor rank_batch(const torch::Tensor& epoch_order, int64_t t, int64_t batch, int64_t rank,
                         int64_t world);

/// Loss and accuracy of `model` on `data`, in eval mode without gradients. With a process group,
/// each rank evaluates its own contiguous shard and the sums are all-reduced: every rank returns
/// the figures of the whole of `data`.
EvalResult test(CifarNet& model, const ImageData& data, int64_t batch_size,
                torchclr::ProcessGroup* group = nullptr);

/// Trains the paper's network on `train`, evaluating on `test`. Stops early, with `diverged`
/// set and its CSVs flushed, at the first non-finite training loss, test loss or model.
TrainResult train(const TrainOptions& options, const ImageData& train, const ImageData& test);

/// Checks the options that do not depend on the data, naming the flag of each bad value.
void check_train_options(const TrainOptions& options);

/// The option values as `cifar10 train` flags (without the data set and output options), each
/// number written so that it reads back exactly.
std::vector<Flag> run_flags(const TrainOptions& options);

/// What a resume must match: the flags that define the schedule, the optimizer and the data
/// order, and the number of training images. A run's length is not among them unless the
/// schedule depends on it (onecycle, multistep's default milestones), so a resume may extend it.
std::vector<Flag> resume_flags(const TrainOptions& options, int64_t train_images);

/// `run_flags` as one string of arguments.
std::string train_arguments(const TrainOptions& options);

/// Where a checkpoint's run stood, and the flags it was written with.
struct CheckpointHeader {
  int64_t iteration = 0;
  double wall_seconds = 0.0;
  double train_seconds = 0.0;
  int64_t format = 1;
  std::vector<Flag> flags;  ///< `resume_flags` of the run; empty in format 1
};

/// Reads the header of a checkpoint read by `read_checkpoint_file`; `name` is used in errors.
CheckpointHeader read_checkpoint_header(CheckpointFile& file, const std::string& name);

/// Loads the model, optimizer and schedule states of a checkpoint into objects built with the
/// run's options (the schedule at the checkpoint's iteration). A state that does not fit is an
/// error naming the file and what did not fit.
void restore_checkpoint(torch::serialize::InputArchive& archive, const std::string& name,
                        CifarNet& model, torch::optim::Optimizer& optimizer, Schedule& schedule);

/// Keeps the header and the rows of a CSV whose first column is an iteration below `limit`
/// (rows without one, and an unfinished last line, are dropped); writes them to `path.partial`
/// and renames that over `path`, so a kill leaves the old file or the new one. A missing file
/// becomes the header alone. Returns the number of rows kept.
int64_t rewrite_csv(const std::string& path, const std::string& header, int64_t limit);

}  // namespace cifar10
