#include <c10/util/Exception.h>
#include <torchclr/lr_suggestion.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace torchclr {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The curve that the rules look at: a centred running median, which has no lag and ignores
/// isolated spikes. The window shrinks symmetrically at both ends.
std::vector<double> running_median(const std::vector<double>& values, int64_t window) {
  const int64_t n = static_cast<int64_t>(values.size());
  const int64_t half = window / 2;
  std::vector<double> out(values.size());
  std::vector<double> buffer;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t h = std::min({half, i, n - 1 - i});
    buffer.assign(values.begin() + (i - h), values.begin() + (i + h + 1));
    std::nth_element(buffer.begin(), buffer.begin() + h, buffer.end());
    out[static_cast<size_t>(i)] = buffer[static_cast<size_t>(h)];
  }
  return out;
}

double median_of_first(const std::vector<double>& values, int64_t count) {
  std::vector<double> head(values.begin(),
                           values.begin() + std::min<int64_t>(count, values.size()));
  const size_t mid = head.size() / 2;
  std::nth_element(head.begin(), head.begin() + mid, head.end());
  return head[mid];
}

int64_t auto_window(int64_t window, size_t n) {
  if (window > 0) {
    return window | 1;
  }
  return std::max<int64_t>(3, static_cast<int64_t>(n) / 10) | 1;
}

std::vector<double> abscissa(const std::vector<double>& lrs, RangeMode mode) {
  std::vector<double> x(lrs);
  if (mode == RangeMode::Exponential) {
    for (auto& v : x) {
      v = std::log(v);
    }
  }
  return x;
}

/// Index of the steepest slope of `f` against `x` in [first, last], by central differences
/// over `half` points on each side; `sign` -1 finds the steepest fall, +1 the steepest rise.
size_t steepest(const std::vector<double>& f, const std::vector<double>& x, size_t first,
                size_t last, int64_t half, double sign) {
  const size_t n = f.size();
  size_t best_index = first;
  double best_slope = -std::numeric_limits<double>::infinity();
  for (size_t i = first; i <= last; ++i) {
    const size_t lo = i >= static_cast<size_t>(half) ? i - half : 0;
    const size_t hi = std::min(n - 1, i + half);
    if (hi == lo || x[hi] == x[lo]) {
      continue;
    }
    const double slope = sign * (f[hi] - f[lo]) / (x[hi] - x[lo]);
    if (slope > best_slope) {
      best_slope = slope;
      best_index = i;
    }
  }
  return best_index;
}

LRSuggestion unavailable(SuggestionRule rule) {
  LRSuggestion s;
  s.lr = s.base_lr = s.max_lr = kNaN;
  s.rule = rule;
  return s;
}

void check_curve(const std::vector<double>& lrs, const std::vector<double>& values,
                 const char* what) {
  TORCH_CHECK(lrs.size() == values.size(), "suggest: expected as many LRs as ", what, ", but got ",
              lrs.size(), " LRs and ", values.size(), " ", what);
  for (size_t i = 0; i < lrs.size(); ++i) {
    TORCH_CHECK(std::isfinite(lrs[i]) && lrs[i] > 0,
                "suggest: expected positive finite LRs, but got ", lrs[i], " at index ", i);
    TORCH_CHECK(i == 0 || lrs[i] > lrs[i - 1], "suggest: expected increasing LRs, but got ", lrs[i],
                " after ", lrs[i - 1], " at index ", i);
  }
}

void check_suggest_options(const SuggestOptions& options) {
  TORCH_CHECK(options.window() >= 0, "suggest: expected window >= 0, but got ", options.window());
  TORCH_CHECK(options.max_lr_divisor() >= 1, "suggest: expected max_lr_divisor >= 1, but got ",
              options.max_lr_divisor());
  TORCH_CHECK(options.onset_fraction() > 0 && options.onset_fraction() < 1,
              "suggest: expected onset_fraction in (0, 1), but got ", options.onset_fraction());
  TORCH_CHECK(options.max_ratio() >= 2, "suggest: expected max_ratio >= 2, but got ",
              options.max_ratio());
  TORCH_CHECK(options.blowup() >= 0, "suggest: expected blowup >= 0, but got ", options.blowup());
}

double clamp_base(double base, double max_lr, double max_ratio) {
  return std::min(std::max(base, max_lr / max_ratio), max_lr / 2);
}

}  // namespace

std::string to_string(SuggestionRule rule) {
  switch (rule) {
    case SuggestionRule::LossEdge:
      return "loss edge";
    case SuggestionRule::LossMinimum:
      return "loss minimum";
    case SuggestionRule::AccuracyCurve:
      return "accuracy curve";
    case SuggestionRule::TooFewPoints:
      return "too few points";
    case SuggestionRule::NoDescent:
      return "no descent";
  }
  return "unknown";
}

LRSuggestion suggest_from_loss(const std::vector<double>& lrs, const std::vector<double>& losses,
                               RangeMode mode, bool blew_up, const SuggestOptions& options) {
  check_curve(lrs, losses, "losses");
  check_suggest_options(options);
  if (lrs.size() < 5) {
    return unavailable(SuggestionRule::TooFewPoints);
  }
  const int64_t window = auto_window(options.window(), lrs.size());
  const auto f = running_median(losses, window);
  const auto x = abscissa(lrs, mode);
  const double first = median_of_first(losses, window);
  const size_t n = f.size();
  const size_t i_min = static_cast<size_t>(std::min_element(f.begin(), f.end()) - f.begin());
  const double descent = first - f[i_min];
  if (!(descent > 0) || i_min == 0) {
    return unavailable(SuggestionRule::NoDescent);
  }
  LRSuggestion s;
  // The last point at or below the blow-up level: the loss exceeds it for good after that.
  const double blowup_level = first + options.blowup() * descent;
  size_t i_edge = n - 1;
  while (i_edge > i_min && f[i_edge] > blowup_level) {
    --i_edge;
  }
  if (i_edge + 1 < n || blew_up) {
    s.rule = SuggestionRule::LossEdge;
  } else {
    s.rule = SuggestionRule::LossMinimum;
    i_edge = i_min;
  }
  s.max_lr = lrs[i_edge] / options.max_lr_divisor();

  size_t i_onset = 0;
  while (i_onset < i_min && f[i_onset] > first - options.onset_fraction() * descent) {
    ++i_onset;
  }
  s.base_lr = clamp_base(lrs[i_onset], s.max_lr, options.max_ratio());

  const size_t i_steep = steepest(f, x, i_onset, i_min, window / 2, -1.0);
  s.lr = std::min(std::max(lrs[i_steep], s.base_lr), s.max_lr);
  return s;
}

LRSuggestion suggest_from_metric(const std::vector<double>& lrs, const std::vector<double>& metrics,
                                 RangeMode mode, const SuggestOptions& options) {
  check_curve(lrs, metrics, "metrics");
  check_suggest_options(options);
  if (lrs.size() < 3) {
    return unavailable(SuggestionRule::TooFewPoints);
  }
  const int64_t window = auto_window(options.window(), lrs.size());
  const auto f = running_median(metrics, window);
  const auto x = abscissa(lrs, mode);
  const double first = median_of_first(metrics, window);
  const size_t i_peak = static_cast<size_t>(std::max_element(f.begin(), f.end()) - f.begin());
  const double rise = f[i_peak] - first;
  if (!(rise > 0) || i_peak == 0) {
    return unavailable(SuggestionRule::NoDescent);
  }
  LRSuggestion s;
  s.rule = SuggestionRule::AccuracyCurve;
  size_t i_max = 0;
  while (i_max < i_peak && f[i_max] < first + 0.9 * rise) {
    ++i_max;
  }
  s.max_lr = lrs[i_max];
  size_t i_onset = 0;
  while (i_onset < i_max && f[i_onset] < first + options.onset_fraction() * rise) {
    ++i_onset;
  }
  s.base_lr = clamp_base(lrs[i_onset], s.max_lr, options.max_ratio());
  const size_t i_steep = steepest(f, x, i_onset, i_max, window / 2, +1.0);
  s.lr = std::min(std::max(lrs[i_steep], s.base_lr), s.max_lr);
  return s;
}

}  // namespace torchclr
