#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>
#include <vector>

namespace torchclr {

/// Options of `MultiStepLR`.
///
/// Example (Caffe's `cifar10_full` schedule: 0.001, x0.1 at 60k and 65k):
/// ```
/// torch::optim::SGD optimizer(params, torch::optim::SGDOptions(0.001).momentum(0.9));
/// torchclr::MultiStepLR scheduler(optimizer, torchclr::MultiStepLROptions({60000, 65000}));
/// ```
struct MultiStepLROptions {
  MultiStepLROptions(std::vector<int64_t> milestones) : milestones_(std::move(milestones)) {}

  /// Iterations (>= 1) at which the LR is multiplied by gamma; a repeated one applies twice.
  TORCH_ARG(std::vector<int64_t>, milestones);
  /// Factor applied at each milestone. Default: 0.1
  TORCH_ARG(double, gamma) = 0.1;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Step decay at given iterations, as PyTorch's `MultiStepLR`: lr = base * gamma^(number of
/// milestones <= t). Scales the param groups' original LRs
/// (`Scheduler::base_lrs()`).
class MultiStepLR : public FactorScheduler {
 public:
  MultiStepLR(torch::optim::Optimizer& optimizer, MultiStepLROptions options);

  /// The options in use (milestones sorted); after `load()`, those of the checkpoint.
  const MultiStepLROptions& options() const { return options_; }

 private:
  void multiply_factors(int64_t t, GroupSpan values) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;

  MultiStepLROptions options_;
};

}  // namespace torchclr
