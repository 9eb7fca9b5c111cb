#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>

namespace torchclr {

/// Options of `ConstantLR`.
///
/// Example (a third of the LR for the first 5 iterations, a simple warm-up):
/// ```
/// torchclr::ConstantLR scheduler(optimizer, torchclr::ConstantLROptions().factor(1.0 / 3)
///                                               .total_iters(5));
/// ```
struct ConstantLROptions {
  /// Factor applied before iteration total_iters, in [0, 1]. Default: 1/3
  TORCH_ARG(double, factor) = 1.0 / 3.0;
  /// Iterations (>= 1) that run at the reduced LR. Default: 5
  TORCH_ARG(int64_t, total_iters) = 5;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// A constant factor for the first iterations, as PyTorch's `ConstantLR`:
/// lr = base * factor for t < total_iters, then base. Scales the param groups' original LRs
/// (`Scheduler::base_lrs()`). Unlike PyTorch's, a factor of 0 is fine (PyTorch divides by it).
class ConstantLR : public FactorScheduler {
 public:
  ConstantLR(torch::optim::Optimizer& optimizer, ConstantLROptions options = {});

  /// The options in use; after `load()`, those of the checkpoint.
  const ConstantLROptions& options() const { return options_; }

 private:
  void multiply_factors(int64_t t, GroupSpan values) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;

  ConstantLROptions options_;
};

}  // namespace torchclr
