#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>

namespace torchclr {

/// Options of `PolynomialLR`.
///
/// Example (the "poly" schedule of semantic segmentation: power 0.9 over the whole run):
/// ```
/// torchclr::PolynomialLR scheduler(optimizer, torchclr::PolynomialLROptions(90000).power(0.9));
/// ```
struct PolynomialLROptions {
  PolynomialLROptions(int64_t total_iters) : total_iters_(total_iters) {}  // NOLINT

  /// Iterations over which the LR decays to 0; it stays 0 afterwards.
  TORCH_ARG(int64_t, total_iters);
  /// Power of the polynomial, >= 0. Default: 1.0
  TORCH_ARG(double, power) = 1.0;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Polynomial decay, as PyTorch's `PolynomialLR`:
/// lr = base * (1 - min(t, total_iters) / total_iters)^power, exactly 0 from total_iters on (for a
/// positive power). Scales the param groups' original LRs (`Scheduler::base_lrs()`).
class PolynomialLR : public FactorScheduler {
 public:
  PolynomialLR(torch::optim::Optimizer& optimizer, PolynomialLROptions options);

  /// The options in use; after `load()`, those of the checkpoint.
  const PolynomialLROptions& options() const { return options_; }

 private:
  void multiply_factors(int64_t t, GroupSpan values) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;

  PolynomialLROptions options_;
};

}  // namespace torchclr
