#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>

namespace torchclr {

/// How `OneCycleLR` moves between the ends of a phase.
enum class AnnealStrategy { Cos, Linear };

/// Options of `OneCycleLR`.
///
/// Example:
/// ```
/// torchclr::OneCycleLR scheduler(optimizer, torchclr::OneCycleLROptions(0.1, 10000)
///                                               .pct_start(0.25)
///                                               .anneal_strategy(torchclr::AnnealStrategy::Linear));
/// ```
struct OneCycleLROptions {
  OneCycleLROptions(GroupValues max_lr, int64_t total_steps)
      : max_lr_(std::move(max_lr)), total_steps_(total_steps) {}

  /// Peak LR, one value or one per param group.
  TORCH_ARG(GroupValues, max_lr);
  /// Length of the schedule in iterations.
  TORCH_ARG(int64_t, total_steps);
  /// Fraction of the iterations spent raising the LR. Default: 0.3
  TORCH_ARG(double, pct_start) = 0.3;
  /// Shape of each phase. Default: AnnealStrategy::Cos
  TORCH_ARG(AnnealStrategy, anneal_strategy) = AnnealStrategy::Cos;
  /// Initial LR = max_lr / div_factor. Default: 25
  TORCH_ARG(double, div_factor) = 25.0;
  /// Final LR = initial LR / final_div_factor. Default: 1e4
  TORCH_ARG(double, final_div_factor) = 1e4;
  /// Rise, fall back to the initial LR, then annihilate (the 1cycle paper's form). Default: false
  TORCH_ARG(bool, three_phase) = false;
  /// Cycle momentum inversely to the LR (SGD/RMSprop momentum, Adam/AdamW beta1). Default: true
  TORCH_ARG(bool, cycle_momentum) = true;
  /// Momentum at the LR peak, one value or one per param group. Default: 0.85
  TORCH_ARG(GroupValues, base_momentum) = 0.85;
  /// Momentum at the start and the end, one value or one per param group. Default: 0.95
  TORCH_ARG(GroupValues, max_momentum) = 0.95;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// The 1cycle policy (Smith and Topin, arXiv 1708.07120), numbers as PyTorch's `OneCycleLR`.
///
/// Iterations 0 .. total_steps - 1 follow PyTorch to the last bits. One more `step()` (to
/// iteration total_steps, which a loop that steps after every batch reaches) holds the final
/// values, where PyTorch extrapolates the last phase; any step beyond that is an error.
class OneCycleLR : public Scheduler {
 public:
  OneCycleLR(torch::optim::Optimizer& optimizer, OneCycleLROptions options);

  /// The options in use: one value per param group; after `load()`, those of the checkpoint.
  const OneCycleLROptions& options() const { return options_; }

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr;              // 0: initial, 1: max, 2: min
    int start_momentum, end_momentum;  // 0: max, 1: base
  };

  void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const override;
  bool cycles_momentum() const override { return options_.cycle_momentum(); }
  void check_iteration(int64_t t) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;

  void validate() const;
  /// The phases of the options' schedule, their ends as PyTorch computes them.
  std::vector<Phase> make_phases() const;
  /// The phase of iteration t and the fraction of it done.
  std::pair<const Phase*, double> locate(int64_t t) const;
  /// Anneals from start to end; `weight` is cos(pi * pct) + 1 for Cos and pct for Linear.
  double anneal(double start, double end, double weight) const;

  OneCycleLROptions options_;
  std::vector<Phase> phases_;
};

}  // namespace torchclr
