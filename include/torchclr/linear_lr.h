#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>

namespace torchclr {

/// Options of `LinearLR`.
///
/// Example (the CLR paper's "decay" policy: 0.007 linearly down to 0.001 over 4000 iterations):
/// ```
/// torch::optim::SGD optimizer(params, torch::optim::SGDOptions(0.007).momentum(0.9));
/// torchclr::LinearLR scheduler(optimizer,
///                              torchclr::LinearLROptions(4000).start_factor(1.0).end_factor(1.0 /
///                              7));
/// ```
struct LinearLROptions {
  LinearLROptions(int64_t total_iters) : total_iters_(total_iters) {}  // NOLINT

  /// Iterations over which the factor moves from start to end; it is held afterwards.
  TORCH_ARG(int64_t, total_iters);
  /// Factor at iteration 0, in (0, 1]. Default: 1/3
  TORCH_ARG(double, start_factor) = 1.0 / 3.0;
  /// Factor from iteration total_iters on, in [0, 1]. Default: 1.0
  TORCH_ARG(double, end_factor) = 1.0;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Linear change of the LR by a factor, as PyTorch's `LinearLR`:
/// lr = base * (start + (end - start) * min(t, total_iters) / total_iters), in closed form.
/// Scales the param groups' original LRs (`Scheduler::base_lrs()`).
class LinearLR : public FactorScheduler {
 public:
  LinearLR(torch::optim::Optimizer& optimizer, LinearLROptions options);

  /// The options in use; after `load()`, those of the checkpoint.
  const LinearLROptions& options() const { return options_; }

 private:
  void multiply_factors(int64_t t, GroupSpan values) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;

  LinearLROptions options_;
};

}  // namespace torchclr
