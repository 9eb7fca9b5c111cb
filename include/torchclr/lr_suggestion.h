#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

namespace torchclr {

/// How the LR rises from `start_lr` to `end_lr` during a range test; the suggestion rules take
/// slopes against log(LR) in exponential mode and against LR in linear mode.
enum class RangeMode {
  Exponential,  ///< equal steps in log(LR), as fastai and pytorch-lr-finder do by default
  Linear,       ///< equal steps in LR, as in the CLR paper
};

/// The rule behind an `LRSuggestion`.
enum class SuggestionRule {
  LossEdge,       ///< loss form, `max_lr` from where the loss blows up (the edge of stability)
  LossMinimum,    ///< loss form without a blow-up: `max_lr` from the minimum of the loss
  AccuracyCurve,  ///< Smith's accuracy form: where the metric starts rising and stops rising
  TooFewPoints,   ///< fewer than 5 recorded points: nothing trustworthy, all fields are NaN
  NoDescent,      ///< the loss never fell: all fields are NaN
};

/// The rule's name, for logs: "loss edge", "loss minimum", "accuracy curve", "too few points",
/// "no descent".
std::string to_string(SuggestionRule rule);

/// What a range test suggests. All LRs are those of the first param group; see
/// `RangeTestResult::for_groups` for the others.
struct LRSuggestion {
  /// A single LR for a constant or step schedule (plain SGD, Adam).
  double lr = 0.0;
  /// Lower bound of a cyclical schedule: `CyclicLROptions(base_lr, max_lr)`.
  double base_lr = 0.0;
  /// Upper bound of a cyclical schedule (or of 1cycle), safely below divergence.
  double max_lr = 0.0;
  /// The rule that produced the values.
  SuggestionRule rule = SuggestionRule::LossEdge;
};

/// Tuning of the suggestion rules; the defaults are the documented rules.
///
/// Example: `torchclr::suggest(result, torchclr::SuggestOptions().max_lr_divisor(4))`.
struct SuggestOptions {
  /// Points in the centred running median that denoises the curve before any rule looks at it;
  /// 0 picks `num_points / 10` (made odd, at least 3). Default: 0
  TORCH_ARG(int64_t, window) = 0;
  /// The loss has blown up once the denoised loss exceeds its starting level by this many times
  /// its descent (starting level minus minimum). Default: 10
  TORCH_ARG(double, blowup) = 10.0;
  /// `max_lr` is the LR of the edge of stability (or of the minimum) divided by this. Default: 6
  TORCH_ARG(double, max_lr_divisor) = 6.0;
  /// `base_lr` is where the loss has made this fraction of its total descent. Default: 0.1
  TORCH_ARG(double, onset_fraction) = 0.1;
  /// `base_lr` is at least `max_lr` divided by this (Smith: 3 to 4; 1cycle: 25). Default: 10
  TORCH_ARG(double, max_ratio) = 10.0;
};

/// Loss rule, on the raw `losses` recorded at `lrs` (increasing). `blew_up`: the test stopped
/// early on divergence or a non-finite loss.
/// 1. The losses are denoised by a centred running median of `window` points: no lag (unlike the
///    recorded moving average) and blind to single spikes. `first` is the median of the first
///    `window` losses.
/// 2. The edge of stability is where the loss blows up: the last point at which the denoised
///    loss is at or below `first + blowup * (first - minimum)` (`blowup` 10), past which it stays
///    above; when the curve never gets there, the last point if the test blew up
///    (`SuggestionRule::LossEdge`), otherwise the minimum (`SuggestionRule::LossMinimum`, an
///    underestimate: widen `end_lr` until the test diverges). The edge, not the minimum, tracks
///    divergence: with momentum and noisy batches the minimum sits an order of magnitude below
///    the LR that diverges, while the blow-up comes 1 to 7 times past it.
/// 3. `max_lr` = edge / `max_lr_divisor` (6).
/// 4. `base_lr` = the LR where the denoised loss has made `onset_fraction` (10%) of its descent
///    from `first` to the minimum (Smith: "when the loss starts to fall"), kept within
///    [`max_lr / max_ratio`, `max_lr / 2`].
/// 5. `lr` = the steepest descent between that onset and the minimum (slope against log(LR) in
///    exponential mode, against LR in linear mode, by central differences over `window / 2`
///    points on each side), kept within [`base_lr`, `max_lr`].
LRSuggestion suggest_from_loss(const std::vector<double>& lrs, const std::vector<double>& losses,
                               RangeMode mode, bool blew_up,
                               const SuggestOptions& options = SuggestOptions());

/// Smith's accuracy rule, on `metrics` (higher is better) measured at `lrs` (increasing):
/// with the denoised metric rising from its first value m0 to its peak, `base_lr` is where it
/// has made `onset_fraction` (10%) of that rise ("when the accuracy starts to increase"),
/// `max_lr` where it has made 90% of it ("when the accuracy slows, becomes ragged, or starts to
/// fall"), and `lr` the steepest rise in between. `base_lr` is kept within
/// [`max_lr / max_ratio`, `max_lr / 2`] and `lr` within [`base_lr`, `max_lr`].
LRSuggestion suggest_from_metric(const std::vector<double>& lrs, const std::vector<double>& metrics,
                                 RangeMode mode, const SuggestOptions& options = SuggestOptions());

}  // namespace torchclr
