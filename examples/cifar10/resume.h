#pragma once

// A run's checkpoint: what it holds, the flags it records, and how a resume is checked against
// the flags it is given before anything is loaded.

#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "model.h"
#include "policies.h"
#include "train.h"

namespace cifar10 {

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
/// run's options (the scheduler at the checkpoint's iteration). A state that does not fit is an
/// error naming the file and what did not fit.
void restore_checkpoint(torch::serialize::InputArchive& archive, const std::string& name,
                        CifarNet& model, torch::optim::Optimizer& optimizer,
                        torchclr::Scheduler& scheduler);

/// Creates the directory of --checkpoint `path` and writes a file there, so that a bad path fails
/// before training rather than hours into it. Empty: nothing to do.
void prepare_checkpoint_path(const std::string& path);

/// Writes the run's state at `scheduler.last_step()` to `path` (replaced whole).
void save_checkpoint(const std::string& path, CifarNet& model, torch::optim::Optimizer& optimizer,
                     const torchclr::Scheduler& scheduler, const std::vector<Flag>& flags,
                     double wall_seconds, double train_seconds);

/// The checkpoint a run resumes from (`TrainOptions::resume`): read, verified, and its recorded
/// flags checked against the run's before anything is built from it. Without one, a run starts
/// at iteration 0.
class Resume {
 public:
  Resume(const TrainOptions& options, const std::vector<Flag>& flags);

  explicit operator bool() const { return file_ != nullptr; }
  /// The iteration the run continues from.
  int64_t iteration() const { return header_.iteration; }
  const CheckpointHeader& header() const { return header_; }

  /// Loads the checkpoint into objects built from the flags, and checks that the schedule it
  /// holds gives the LRs the flags give from here on.
  void restore(CifarNet& model, torch::optim::Optimizer& optimizer, torchclr::Scheduler& scheduler);

 private:
  std::string name_;
  std::unique_ptr<CheckpointFile> file_;  // (clang rejects an optional of the archive)
  CheckpointHeader header_;
};

}  // namespace cifar10
