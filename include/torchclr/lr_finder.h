#pragma once

#include <c10/util/Exception.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>
#include <torchclr/lr_suggestion.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace torchclr {

/// Options of `LRFinder::range_test`.
///
/// Example:
/// ```
/// auto result = finder.range_test(train_step, torchclr::RangeTestOptions()
///                                                 .start_lr(1e-6)
///                                                 .end_lr(1)
///                                                 .num_iters(200));
/// ```
struct RangeTestOptions {
  /// LR of the first iteration (of the first param group). Default: 1e-7
  TORCH_ARG(double, start_lr) = 1e-7;
  /// LR of the last iteration (of the first param group). Default: 10
  TORCH_ARG(double, end_lr) = 10.0;
  /// Iterations (optimizer steps) of the sweep, `start_lr` and `end_lr` included. Default: 100
  TORCH_ARG(int64_t, num_iters) = 100;
  /// Spacing of the LRs between `start_lr` and `end_lr`. Default: RangeMode::Exponential
  TORCH_ARG(RangeMode, mode) = RangeMode::Exponential;
  /// Record an exponential moving average of the loss, bias-corrected as in fastai. Default: true
  TORCH_ARG(bool, smoothing) = true;
  /// Weight of the past in the moving average, in [0, 1). Default: 0.98
  TORCH_ARG(double, smoothing_beta) = 0.98;
  /// Stop once the smoothed loss exceeds the best one by this factor: `smoothed - best >
  /// (threshold - 1) * |best|`, which is `smoothed > threshold * best` for positive losses and
  /// stays meaningful for negative ones; infinity never stops. Default: 4
  TORCH_ARG(double, diverge_threshold) = 4.0;
  /// Calls of `train_step` whose gradients are summed (each loss divided by this count) before
  /// one optimizer step. Default: 1
  TORCH_ARG(int64_t, accumulation_steps) = 1;
  /// Put the parameters, buffers, training mode, optimizer state and LRs back exactly as they
  /// were, whether the test ends normally or by an exception. Default: true
  TORCH_ARG(bool, restore) = true;
  /// Where to keep the snapshot: empty keeps it in CPU memory, a path writes it to that file
  /// (removed after the restore). Never on the accelerator. Default: ""
  TORCH_ARG(std::string, snapshot_path) = "";
  /// Smith's accuracy form: a metric where higher is better (validation accuracy), evaluated
  /// under `torch::NoGradGuard` every `eval_every` iterations; pair it with
  /// `RangeMode::Linear`. Default: nullptr
  TORCH_ARG(std::function<double()>, eval) = nullptr;
  /// Iterations between two calls of `eval`. Default: 1
  TORCH_ARG(int64_t, eval_every) = 1;
  /// Applied to every loss value before it is recorded or tested for divergence. A
  /// data-parallel run passes its all-reduce (mean over ranks) here so that every rank records
  /// the same curve and stops at the same iteration. Default: nullptr (identity)
  TORCH_ARG(std::function<double(double)>, reduce_loss) = nullptr;
  /// Called after the backward pass of every step, before the optimizer step (and after the loss
  /// was found finite). A data-parallel run averages its gradients here, e.g.
  /// `[&] { averager.synchronize(); }` with a `torchclr::GradientAverager`. Default: nullptr
  TORCH_ARG(std::function<void()>, after_backward) = nullptr;
};

/// Why a range test ended.
enum class StopReason {
  Completed,      ///< all `num_iters` iterations ran
  Diverged,       ///< the smoothed loss crossed `diverge_threshold` times the best
  NonFiniteLoss,  ///< a loss was NaN or infinite; it is not recorded
};

/// What a range test recorded. Index i of `lrs`, `losses` and `smoothed_losses` is the i-th
/// optimizer step; a non-finite loss stops the test and is never recorded.
struct RangeTestResult {
  /// The sweep's spacing; slopes are taken against log(LR) in exponential mode.
  RangeMode mode = RangeMode::Exponential;
  /// LR of the first param group at each recorded step.
  std::vector<double> lrs;
  /// Loss of each recorded step (after `reduce_loss`).
  std::vector<double> losses;
  /// Bias-corrected moving average of `losses` (equal to `losses` without smoothing).
  std::vector<double> smoothed_losses;
  /// With `eval`: the LR (first param group) at which each metric was measured.
  std::vector<double> metric_lrs;
  /// With `eval`: the metric, measured after the step at the same index of `metric_lrs`.
  std::vector<double> metrics;
  /// LR of each param group divided by that of the first, as kept during the sweep.
  std::vector<double> group_scales{1.0};
  /// Why the test ended.
  StopReason stop_reason = StopReason::Completed;
  /// The LR (first param group) of the step that ended the test early; NaN when completed.
  double stop_lr = std::numeric_limits<double>::quiet_NaN();
  /// The loss that ended the test early (smoothed when diverged, the raw value when not
  /// finite); NaN when completed.
  double stop_loss = std::numeric_limits<double>::quiet_NaN();

  /// Whether the test stopped on divergence or on a non-finite loss.
  bool diverged() const { return stop_reason != StopReason::Completed; }

  /// The suggestion of `torchclr::suggest(*this, options)`.
  LRSuggestion suggest(const SuggestOptions& options = SuggestOptions()) const;

  /// `lr` for every param group, keeping the sweep's ratios between groups: feed it to
  /// `CyclicLROptions` when the optimizer has discriminative LRs.
  std::vector<double> for_groups(double lr) const;

  /// Writes `lr,loss,smoothed_loss,metric` (metric empty where not measured), one row a step.
  void save_csv(const std::string& path) const;
};

/// The suggestion rules of torchclr/lr_suggestion.h on a range test's curve: with metrics the
/// accuracy rule (`suggest_from_metric`), otherwise the loss rule (`suggest_from_loss`).
LRSuggestion suggest(const RangeTestResult& result,
                     const SuggestOptions& options = SuggestOptions());

/// The LR of iteration `t` of a sweep of `num_iters` iterations from `start_lr` to `end_lr`;
/// both endpoints are exact.
double range_lr_at(int64_t t, int64_t num_iters, double start_lr, double end_lr, RangeMode mode);

/// The LR range test (Smith, arXiv 1506.01186 section 3.3): trains for a few iterations with
/// the LR rising from `start_lr` to `end_lr`, records the loss, then puts everything back.
///
/// The snapshot is taken once, before the sweep: parameters, buffers and the optimizer's state
/// (through the optimizer's own `save()`, so any optimizer that serializes itself is covered)
/// are written to one archive in CPU memory or in `snapshot_path`, and each param group's
/// options are cloned. The restore reads all of it back bitwise (`load()`, then the options),
/// with the modules' training flags, and clears the gradients. Optimizers whose `step()` needs a
/// closure (LBFGS) are not supported.
///
/// Example:
/// ```
/// torchclr::LRFinder finder(*model, optimizer);
/// auto result = finder.range_test([&] {
///   auto batch = next_batch();
///   return torch::nll_loss(model->forward(batch.data), batch.target);
/// });
/// auto s = result.suggest();
/// torchclr::CyclicLR scheduler(optimizer, torchclr::CyclicLROptions(s.base_lr, s.max_lr));
/// ```
class LRFinder {
 public:
  LRFinder(torch::nn::Module& model, torch::optim::Optimizer& optimizer);

  /// Runs the test. `train_step` draws the next batch, runs the forward pass and returns the
  /// scalar loss; the finder sets the LRs, zeroes the gradients, runs backward and the
  /// optimizer step, and records.
  RangeTestResult range_test(const std::function<torch::Tensor()>& train_step,
                             RangeTestOptions options = RangeTestOptions());

  /// Runs the test over a LibTorch data loader, cycling through it as often as needed.
  /// `loss_fn(batch)` runs the forward pass on a batch and returns the scalar loss.
  template <typename DataLoader, typename LossFn,
            typename = decltype(std::declval<DataLoader&>().begin())>
  RangeTestResult range_test(DataLoader& loader, LossFn loss_fn,
                             RangeTestOptions options = RangeTestOptions()) {
    auto it = loader.begin();
    TORCH_CHECK(it != loader.end(),
                "LRFinder: expected a data loader with at least one batch, "
                "but got an empty one");
    return range_test(
        [&]() -> torch::Tensor {
          if (it == loader.end()) {
            it = loader.begin();
            TORCH_CHECK(it != loader.end(),
                        "LRFinder: expected a data loader with at least one "
                        "batch, but got an empty one on a later pass");
          }
          auto loss = loss_fn(*it);
          ++it;
          return loss;
        },
        std::move(options));
  }

 private:
  void run(const std::function<torch::Tensor()>& train_step, const RangeTestOptions& options,
           RangeTestResult& result);

  torch::nn::Module& model_;
  torch::optim::Optimizer& optimizer_;
};

}  // namespace torchclr
