#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>
#include <utility>

namespace torchclr {

/// Options of `ExponentialLR`.
///
/// Example (the CLR paper's "exp" policy):
/// ```
/// torchclr::ExponentialLR scheduler(optimizer, torchclr::ExponentialLROptions(0.99994));
/// ```
struct ExponentialLROptions {
  ExponentialLROptions(double gamma) : gamma_(gamma) {}  // NOLINT(google-explicit-constructor)

  /// Factor applied every iteration.
  TORCH_ARG(double, gamma);
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Exponential decay, as PyTorch's `ExponentialLR` and Caffe's "exp" policy:
/// lr = base * gamma^t, computed in closed form (no drift from repeated products). Scales the
/// param groups' original LRs (`Scheduler::base_lrs()`). With gamma > 1 the LR grows without
/// end: stepping to the first iteration whose LR would not be a finite double is an error, and
/// the optimizer keeps the last finite LR.
class ExponentialLR : public FactorScheduler {
 public:
  ExponentialLR(torch::optim::Optimizer& optimizer, ExponentialLROptions options);

  /// The options in use; after `load()`, those of the checkpoint.
  const ExponentialLROptions& options() const { return options_; }

 private:
  void multiply_factors(int64_t t, GroupSpan values) const override;
  void check_iteration(int64_t t) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;
  /// The first iteration whose LR is not finite (gamma > 1), and its param group.
  std::pair<int64_t, size_t> find_first_non_finite() const;

  ExponentialLROptions options_;
  std::pair<int64_t, size_t> first_non_finite_;  // find_first_non_finite() of the options
};

}  // namespace torchclr
