#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>

namespace torchclr {

/// Options of `CosineAnnealingLR`.
///
/// Example (cosine from the optimizer's LR down to 1e-5 over 50,000 iterations):
/// ```
/// torchclr::CosineAnnealingLR scheduler(optimizer,
///                                       torchclr::CosineAnnealingLROptions(50000).eta_min(1e-5));
/// ```
struct CosineAnnealingLROptions {
  CosineAnnealingLROptions(int64_t t_max) : t_max_(t_max) {}  // NOLINT

  /// Iterations from the base LR down to eta_min (half a cosine period).
  TORCH_ARG(int64_t, t_max);
  /// The lowest LR (>= 0), one value or one per param group. Default: 0
  TORCH_ARG(GroupValues, eta_min) = 0.0;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Cosine annealing (Loshchilov and Hutter, arXiv 1608.03983), as PyTorch's `CosineAnnealingLR`:
/// lr = eta_min + (base - eta_min) * (1 + cos(pi * t / t_max)) / 2, in closed form for every t
/// (past t_max the cosine rises again, as in PyTorch; step a SequentialLR or stop at t_max to
/// hold). Scales the param groups' original LRs (`Scheduler::base_lrs()`).
class CosineAnnealingLR : public Scheduler {
 public:
  CosineAnnealingLR(torch::optim::Optimizer& optimizer, CosineAnnealingLROptions options);

  /// The options in use: one `eta_min` per param group; after `load()`, those of the checkpoint.
  const CosineAnnealingLROptions& options() const { return options_; }

 private:
  void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;

  CosineAnnealingLROptions options_;
};

}  // namespace torchclr
