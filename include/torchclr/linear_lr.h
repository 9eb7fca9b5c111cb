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
/// The base LRs are the optimizer's LRs at construction.
class LinearLR : public Scheduler {
 public:
  LinearLR(torch::optim::Optimizer& optimizer, LinearLROptions options);

  const LinearLROptions& options() const { return options_; }

 private:
  void compute(int64_t t, double* lrs, double* momentums) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate();

  LinearLROptions options_;
  std::vector<double> base_lrs_;
};

}  // namespace torchclr
