#pragma once

#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace torchclr {

/// Whether `ReduceLROnPlateau`'s metric should fall (a loss) or rise (an accuracy).
enum class PlateauMode { Min, Max };

/// How `ReduceLROnPlateau` compares a metric with the best so far: relative to it, or by an
/// absolute margin.
enum class ThresholdMode { Rel, Abs };

/// Options of `ReduceLROnPlateau`, with PyTorch's names and defaults.
///
/// Example (validation loss, x0.5 after 3 epochs without a 1% improvement):
/// ```
/// torchclr::ReduceLROnPlateau scheduler(optimizer, torchclr::ReduceLROnPlateauOptions()
///                                                      .factor(0.5).patience(3).threshold(0.01));
/// for (int epoch = 0; epoch < epochs; ++epoch) {
///   train_one_epoch();
///   scheduler.step(validation_loss());
/// }
/// ```
struct ReduceLROnPlateauOptions {
  /// Min: the metric should fall; Max: it should rise. Default: PlateauMode::Min
  TORCH_ARG(PlateauMode, mode) = PlateauMode::Min;
  /// Factor applied to the LR on a plateau, in [0, 1). Default: 0.1
  TORCH_ARG(double, factor) = 0.1;
  /// Steps without improvement tolerated before the LR is reduced. Default: 10
  TORCH_ARG(int64_t, patience) = 10;
  /// Improvement needed to count as better, >= 0. Default: 1e-4
  TORCH_ARG(double, threshold) = 1e-4;
  /// Rel: better than best * (1 -/+ threshold); Abs: than best -/+ threshold. Default: Rel
  TORCH_ARG(ThresholdMode, threshold_mode) = ThresholdMode::Rel;
  /// Steps after a reduction during which bad steps are not counted. Default: 0
  TORCH_ARG(int64_t, cooldown) = 0;
  /// The LR is never reduced below this (>= 0), one value or one per param group. Default: 0
  TORCH_ARG(GroupValues, min_lr) = 0.0;
  /// A reduction smaller than eps (>= 0) is skipped. Default: 1e-8
  TORCH_ARG(double, eps) = 1e-8;
  /// Applied to every metric before it is used, so that all ranks of a data-parallel run take the
  /// same decision: `torchclr::all_reduce_metric(group)` (torchclr/distributed.h) averages it
  /// over the ranks. Never serialized. Default: nullptr (the metric as given)
  TORCH_ARG(std::function<double(double)>, reduce_metric) = nullptr;
};

/// Reduces the LR when a metric stops improving, as PyTorch's `ReduceLROnPlateau`, with its
/// exact rules in double precision, and unlike it a `torchclr::Scheduler`: it saves and loads
/// (the LRs, the best metric, the bad-step and cooldown counters), and it can follow a warm-up
/// inside a `SequentialLR`, which PyTorch cannot do.
///
/// Step it with `step(metric)`; a plain `step()` is an error. The LRs start at the param groups'
/// original LRs (`Scheduler::base_lrs()`); `lr_at(t, g)` is the current LR for every t (this
/// schedule follows the metric, not the iteration). A NaN metric is an error that changes nothing.
/// Like PyTorch's, a step writes the LRs into the optimizer only when they change (a reduction),
/// so an LR set by hand between reductions stays until the next reduction (which reduces the
/// scheduler's own LR, not the one set by hand).
class ReduceLROnPlateau : public Scheduler {
 public:
  ReduceLROnPlateau(torch::optim::Optimizer& optimizer, ReduceLROnPlateauOptions options = {});

  /// The options in use: one `min_lr` per param group; after `load()`, those of the checkpoint.
  const ReduceLROnPlateauOptions& options() const { return options_; }

  /// The best metric so far (+inf in Min mode and -inf in Max mode before the first).
  double best() const { return best_; }
  /// Steps since the last improvement, as PyTorch's `num_bad_epochs`.
  int64_t num_bad_steps() const { return num_bad_steps_; }
  /// Steps of cooldown left.
  int64_t cooldown_counter() const { return cooldown_counter_; }

 private:
  void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const override;
  bool takes_metric() const override { return true; }
  bool observe(int64_t t, double metric) override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;
  [[noreturn]] C10_NOINLINE void nan_metric() const;
  /// Sets best_ and the bound a metric must pass to improve on it.
  void set_best(double best);

  ReduceLROnPlateauOptions options_;
  std::vector<double> lrs_;
  double best_ = 0;  // set with the bound by set_best(), in the constructor and load()
  // PyTorch's is_better(metric) is `metric < bound` in Min mode and `metric > bound` in Max mode,
  // with the bound computed from best_ as PyTorch computes it (best * (1 - threshold), ...). It
  // changes only with best_, so it is computed there; Max mode keeps both negated (an exact
  // operation) and every step is one comparison: sign_ * metric < bound_.
  double sign_ = 1;
  double bound_ = 0;
  int64_t num_bad_steps_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace torchclr
