#pragma once

#include <c10/util/Optional.h>
#include <torch/arg.h>
#include <torchclr/scheduler.h>

#include <cstdint>
#include <functional>
#include <utility>

namespace torchclr {

/// The amplitude policies of the CLR paper (arXiv 1506.01186, section 3.1).
enum class CyclicMode {
  Triangular,   ///< constant amplitude
  Triangular2,  ///< amplitude halved at the start of every cycle
  ExpRange,     ///< amplitude scaled by gamma^iteration
};

/// What a custom `scale_fn` receives: the cycle number (from 1) or the iteration (from 0).
enum class ScaleMode { Cycle, Iterations };

/// Options of `CyclicLR`.
///
/// Example:
/// ```
/// torchclr::CyclicLR scheduler(optimizer, torchclr::CyclicLROptions(1e-3, 6e-3)
///                                             .step_size_up(2000)
///                                             .mode(torchclr::CyclicMode::Triangular2));
/// ```
struct CyclicLROptions {
  CyclicLROptions(GroupValues base_lr, GroupValues max_lr)
      : base_lr_(std::move(base_lr)), max_lr_(std::move(max_lr)) {}

  /// Lower LR bound of the cycle, one value or one per param group.
  TORCH_ARG(GroupValues, base_lr);
  /// Upper LR bound of the cycle, one value or one per param group.
  TORCH_ARG(GroupValues, max_lr);
  /// Iterations in the rising half of a cycle. Default: 2000
  TORCH_ARG(int64_t, step_size_up) = 2000;
  /// Iterations in the falling half of a cycle. Default: nullopt (same as `step_size_up`)
  TORCH_ARG(c10::optional<int64_t>, step_size_down) = c10::nullopt;
  /// Amplitude policy; ignored when `scale_fn` is set. Default: CyclicMode::Triangular
  TORCH_ARG(CyclicMode, mode) = CyclicMode::Triangular;
  /// Per-iteration factor of `CyclicMode::ExpRange`. Default: 1.0
  TORCH_ARG(double, gamma) = 1.0;
  /// Custom amplitude scale, overriding `mode`; never serialized (a loaded scheduler keeps the
  /// one given at construction). Default: nullptr
  TORCH_ARG(std::function<double(double)>, scale_fn) = nullptr;
  /// Argument of a custom `scale_fn`: cycle number or iteration. Default: ScaleMode::Cycle
  TORCH_ARG(ScaleMode, scale_mode) = ScaleMode::Cycle;
  /// Cycle momentum inversely to the LR (SGD/RMSprop momentum, Adam/AdamW beta1). Default: true
  TORCH_ARG(bool, cycle_momentum) = true;
  /// Momentum at the LR peak, one value or one per param group. Default: 0.8
  TORCH_ARG(GroupValues, base_momentum) = 0.8;
  /// Momentum at the LR trough, one value or one per param group. Default: 0.9
  TORCH_ARG(GroupValues, max_momentum) = 0.9;
  /// -1 starts at iteration 0; k >= 0 resumes at iteration k. Default: -1
  TORCH_ARG(int64_t, last_step) = -1;
};

/// Cyclical learning rates (Smith, arXiv 1506.01186): the LR moves linearly between `base_lr`
/// and `max_lr` in cycles of `step_size_up + step_size_down` iterations, with the amplitude
/// scaled by the mode (triangular, triangular2, exp_range) or a custom `scale_fn`.
///
/// Numbers follow PyTorch's `torch.optim.lr_scheduler.CyclicLR`, with two differences that only
/// remove failures: the position in the cycle is computed with integers, so the peak is exactly
/// `max_lr`, and triangular2 never overflows (PyTorch raises after about 1,100 cycles). As in
/// PyTorch, exp_range shrinks the amplitude only; `base_lr` stays fixed. An exp_range with
/// gamma > 1 grows without end: stepping to the first iteration whose LR would not be a finite
/// double is an error, and the optimizer keeps the last finite LR.
class CyclicLR : public Scheduler {
 public:
  CyclicLR(torch::optim::Optimizer& optimizer, CyclicLROptions options);

  /// The options in use: one value per param group, `step_size_down` resolved; after `load()`,
  /// those of the checkpoint.
  const CyclicLROptions& options() const { return options_; }

 private:
  void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const override;
  bool cycles_momentum() const override { return options_.cycle_momentum(); }
  void check_iteration(int64_t t) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;

  /// One value per group for every per-group option, and step_size_down resolved.
  void expand_options();
  void validate() const;
  /// The first iteration whose LR is not finite (exp_range with gamma > 1), and its param group.
  std::pair<int64_t, size_t> find_first_non_finite() const;
  struct Position {
    double fraction = 0.0;  ///< 0 at the trough of the cycle, 1 at its peak
    double scale = 1.0;     ///< amplitude factor of the mode or of scale_fn
  };
  Position position(int64_t t) const;

  CyclicLROptions options_;
  std::pair<int64_t, size_t> first_non_finite_;  // find_first_non_finite() of the options
};

}  // namespace torchclr
