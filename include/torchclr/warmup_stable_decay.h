#pragma once

#include <c10/util/Optional.h>
#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>

namespace torchclr {

/// The shape of `WarmupStableDecay`'s cooldown, with p its progress from 0 to 1.
enum class DecayShape {
  Linear,        ///< 1 - p
  Cosine,        ///< (1 + cos(pi p)) / 2
  OneMinusSqrt,  ///< 1 - sqrt(p), which matched cosine's final loss in arXiv 2405.18392
};

/// Options of `WarmupStableDecay`.
///
/// Example (100,000 iterations: 2,000 of warm-up, a 1-sqrt cooldown over the last 20,000):
/// ```
/// torchclr::WarmupStableDecay scheduler(
///     optimizer, torchclr::WarmupStableDecayOptions(100000).warmup_steps(2000).decay_steps(20000)
///                    .decay(torchclr::DecayShape::OneMinusSqrt));
/// ```
struct WarmupStableDecayOptions {
  WarmupStableDecayOptions(int64_t total_steps) : total_steps_(total_steps) {}  // NOLINT

  /// Length of the schedule; the cooldown ends here unless `decay_from` moves it.
  TORCH_ARG(int64_t, total_steps);
  /// Iterations of the linear warm-up from 0 to the base LR. Default: 0
  TORCH_ARG(int64_t, warmup_steps) = 0;
  /// Iterations of the cooldown. Default: nullopt, a fifth of total_steps
  TORCH_ARG(c10::optional<int64_t>, decay_steps) = c10::nullopt;
  /// Shape of the cooldown. Default: DecayShape::Linear
  TORCH_ARG(DecayShape, decay) = DecayShape::Linear;
  /// The LR at the end of the cooldown and after it (>= 0), one value or one per param group.
  /// Default: 0
  TORCH_ARG(GroupValues, min_lr) = 0.0;
  /// Iteration at which the cooldown starts. Default: nullopt, total_steps - decay_steps
  TORCH_ARG(c10::optional<int64_t>, decay_from) = c10::nullopt;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Warmup-stable-decay (MiniCPM, arXiv 2404.06395; Hägele et al., arXiv 2405.18392), the
/// "trapezoid": a linear warm-up from 0 to the base LR over `warmup_steps`, the base LR, then a
/// cooldown to `min_lr` over `decay_steps` iterations from `decay_from` (by default the last
/// `decay_steps` of `total_steps`); `min_lr` afterwards. With p = (t - decay_from) / decay_steps:
/// lr = min_lr + (base - min_lr) * shape(p). PyTorch has no such class (transformers'
/// `get_wsd_schedule` is a LambdaLR). Scales the param groups' original LRs
/// (`Scheduler::base_lrs()`).
///
/// The cooldown can start at any iteration: `decay_from(k)` on a running or resumed scheduler
/// branches a cooldown off the stable phase (the point of WSD: one long run, cooldowns from its
/// checkpoints). A checkpoint holds the moved start.
class WarmupStableDecay : public Scheduler {
 public:
  WarmupStableDecay(torch::optim::Optimizer& optimizer, WarmupStableDecayOptions options);

  /// The options in use: one `min_lr` per param group, `decay_steps` and `decay_from` resolved;
  /// after `load()`, those of the checkpoint.
  const WarmupStableDecayOptions& options() const { return options_; }

  /// Starts the cooldown at iteration `k` (>= the current iteration and >= warmup_steps); it
  /// lasts `decay_steps`. Writes the current iteration's LRs (unchanged unless k is now).
  void decay_from(int64_t k);

 private:
  void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;
  /// The shape's value at cooldown progress p in [0, 1].
  double shape(double p) const;

  WarmupStableDecayOptions options_;
};

}  // namespace torchclr
