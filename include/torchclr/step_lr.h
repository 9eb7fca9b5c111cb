#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>
#include <utility>

namespace torchclr {

/// Options of `StepLR`.
///
/// Example (x0.1 every 30 epochs, stepped once an epoch):
/// ```
/// torchclr::StepLR scheduler(optimizer, torchclr::StepLROptions(30).gamma(0.1));
/// ```
struct StepLROptions {
  StepLROptions(int64_t step_size) : step_size_(step_size) {}  // NOLINT

  /// Iterations between two multiplications by gamma.
  TORCH_ARG(int64_t, step_size);
  /// Factor applied every step_size iterations. Default: 0.1
  TORCH_ARG(double, gamma) = 0.1;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Step decay every `step_size` iterations, as PyTorch's `StepLR`:
/// lr = base * gamma^(t / step_size) (integer division). Scales the param groups' original LRs
/// (`Scheduler::base_lrs()`). With gamma > 1 the LR grows without end: stepping to the first
/// iteration whose LR would not be a finite double is an error, and the optimizer keeps the last
/// finite LR.
class StepLR : public FactorScheduler {
 public:
  StepLR(torch::optim::Optimizer& optimizer, StepLROptions options);

  /// The options in use; after `load()`, those of the checkpoint.
  const StepLROptions& options() const { return options_; }

 private:
  void multiply_factors(int64_t t, GroupSpan values) const override;
  void check_iteration(int64_t t) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;
  /// The first iteration whose LR is not finite (gamma > 1), and its param group.
  std::pair<int64_t, size_t> find_first_non_finite() const;

  StepLROptions options_;
  std::pair<int64_t, size_t> first_non_finite_;  // find_first_non_finite() of the options
};

}  // namespace torchclr
