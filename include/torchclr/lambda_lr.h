#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace torchclr {

/// Options of `LambdaLR`: one factor function for every param group, or one per group.
///
/// Example (linear warm-up over 1000 iterations, then inverse square root):
/// ```
/// torchclr::LambdaLR scheduler(optimizer, torchclr::LambdaLROptions([](int64_t t) {
///   return t < 1000 ? (t + 1) / 1000.0 : std::sqrt(1000.0 / (t + 1));
/// }));
/// ```
struct LambdaLROptions {
  using Factor = std::function<double(int64_t)>;

  LambdaLROptions(Factor factor) : factors_{std::move(factor)} {}                 // NOLINT
  LambdaLROptions(std::vector<Factor> factors) : factors_(std::move(factors)) {}  // NOLINT

  /// The factor of the base LR at iteration t (finite and >= 0): one function, or one per param
  /// group. Never serialized: a loaded scheduler keeps the functions it was built with.
  TORCH_ARG(std::vector<Factor>, factors);
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// The base LR times a function of the iteration, as PyTorch's `LambdaLR`: lr = base * factor(t).
/// Scales the param groups' original LRs (`Scheduler::base_lrs()`). A factor that is NaN,
/// infinite or negative is an error at the step that meets it, which then changes nothing.
/// A checkpoint holds the iteration and the base LRs; the functions stay those of construction.
class LambdaLR : public FactorScheduler {
 public:
  LambdaLR(torch::optim::Optimizer& optimizer, LambdaLROptions options);

  /// The options in use: one function per param group.
  const LambdaLROptions& options() const { return options_; }

 private:
  void multiply_factors(int64_t t, GroupSpan values) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;

  LambdaLROptions options_;
  bool shared_ = false;  // one function for every group
};

}  // namespace torchclr
