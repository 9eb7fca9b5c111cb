#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>

namespace torchclr {

/// Options of `CosineAnnealingWarmRestarts`.
///
/// Example (SGDR: cycles of 10, 20, 40, ... iterations; each restart's peak 0.8 of the last):
/// ```
/// torchclr::CosineAnnealingWarmRestarts scheduler(
///     optimizer, torchclr::CosineAnnealingWarmRestartsOptions(10).t_mult(2).cycle_decay(0.8));
/// ```
struct CosineAnnealingWarmRestartsOptions {
  CosineAnnealingWarmRestartsOptions(int64_t t_0) : t_0_(t_0) {}  // NOLINT

  /// Iterations of the first cycle, >= 1.
  TORCH_ARG(int64_t, t_0);
  /// Each cycle is t_mult times as long as the one before (an integer >= 1). Default: 1
  TORCH_ARG(int64_t, t_mult) = 1;
  /// The lowest LR (>= 0), one value or one per param group. Default: 0
  TORCH_ARG(GroupValues, eta_min) = 0.0;
  /// Each restart's peak is this times the one before, in (0, 1] (timm's cycle_decay).
  /// Default: 1.0
  TORCH_ARG(double, cycle_decay) = 1.0;
  /// After this many cycles the LR stays at eta_min (timm's cycle_limit); 0: no limit. Default: 0
  TORCH_ARG(int64_t, cycle_limit) = 0;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Cosine annealing with warm restarts (SGDR, arXiv 1608.03983), as PyTorch's
/// `CosineAnnealingWarmRestarts`: cycle i lasts t_0 * t_mult^i iterations and runs
/// lr = eta_min + (peak_i - eta_min) * (1 + cos(pi * t_cur / t_i)) / 2 with peak_i = base *
/// cycle_decay^i. The cycle is found with integers (PyTorch's epoch path takes a floating-point
/// logarithm and can land in the wrong cycle at a boundary). Scales the param groups' original
/// LRs (`Scheduler::base_lrs()`).
class CosineAnnealingWarmRestarts : public Scheduler {
 public:
  CosineAnnealingWarmRestarts(torch::optim::Optimizer& optimizer,
                              CosineAnnealingWarmRestartsOptions options);

  /// The options in use: one `eta_min` per param group; after `load()`, those of the checkpoint.
  const CosineAnnealingWarmRestartsOptions& options() const { return options_; }

  /// Where iteration t falls: its cycle (from 0), the iteration within it, and the cycle length.
  struct Position {
    int64_t cycle;
    int64_t t_cur;
    int64_t t_i;
  };
  Position position(int64_t t) const;

 private:
  void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;

  CosineAnnealingWarmRestartsOptions options_;
};

}  // namespace torchclr
