#include <torchclr/one_cycle_lr.h>

#include <algorithm>
#include <cmath>

#include "archive.h"
#include "validate.h"

namespace torchclr {
namespace {

constexpr int kInitialLr = 0;
constexpr int kMaxLr = 1;
constexpr int kMinLr = 2;
constexpr int kMaxMomentum = 0;
constexpr int kBaseMomentum = 1;

}  // namespace

OneCycleLR::OneCycleLR(torch::optim::Optimizer& optimizer, OneCycleLROptions options)
    : Scheduler(optimizer, "OneCycleLR"), options_(std::move(options)) {
  options_.max_lr(per_group(options_.max_lr(), "max_lr"));
  options_.base_momentum(per_group(options_.base_momentum(), "base_momentum"));
  options_.max_momentum(per_group(options_.max_momentum(), "max_momentum"));
  validate();
  phases_ = make_phases();
  start(options_.last_step());
}

void OneCycleLR::validate() const {
  detail::check_positive_lrs(name(), "max_lr", options_.max_lr().values());
  const int64_t total = options_.total_steps();
  TORCH_CHECK(total >= 1, name(), ": expected total_steps >= 1, but got ", total);
  const double pct = options_.pct_start();
  TORCH_CHECK(pct > 0 && pct < 1, name(), ": expected pct_start in (0, 1), but got ", pct);
  TORCH_CHECK(std::isfinite(options_.div_factor()) && options_.div_factor() > 0, name(),
              ": expected div_factor to be positive and finite, but got ", options_.div_factor());
  TORCH_CHECK(std::isfinite(options_.final_div_factor()) && options_.final_div_factor() > 0, name(),
              ": expected final_div_factor to be positive and finite, but got ",
              options_.final_div_factor());
  const auto& max_lrs = options_.max_lr().values();
  for (size_t g = 0; g < max_lrs.size(); ++g) {
    const double initial = max_lrs[g] / options_.div_factor();
    TORCH_CHECK(std::isfinite(initial), name(),
                ": expected a finite initial LR (max_lr / div_factor), but got ", initial,
                " for param group ", g, " (max_lr ", max_lrs[g], ", div_factor ",
                options_.div_factor(), ")");
    const double min = initial / options_.final_div_factor();
    TORCH_CHECK(std::isfinite(min), name(),
                ": expected a finite minimum LR (max_lr / div_factor / final_div_factor), but got ",
                min, " for param group ", g, " (final_div_factor ", options_.final_div_factor(),
                ")");
  }
  if (options_.cycle_momentum()) {
    detail::check_momentums(name(), "base_momentum", options_.base_momentum().values());
    detail::check_momentums(name(), "max_momentum", options_.max_momentum().values());
  }
  const std::vector<Phase> phases = make_phases();
  double start = 0;
  for (size_t i = 0; i < phases.size(); ++i) {
    TORCH_CHECK(phases[i].end_step > start, name(), ": expected every phase to span at least ",
                "one iteration, but phase ", i + 1, " of ", phases.size(), " runs from ", start,
                " to ", phases[i].end_step, " (total_steps ", total, ", pct_start ", pct,
                "); raise total_steps or change pct_start");
    start = phases[i].end_step;
  }
}

std::vector<OneCycleLR::Phase> OneCycleLR::make_phases() const {
  // Phase ends as PyTorch computes them: floats, not floored.
  const double t = static_cast<double>(options_.total_steps());
  const double pct = options_.pct_start();
  if (options_.three_phase()) {
    return {{pct * t - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
            {2 * pct * t - 2, kMaxLr, kInitialLr, kBaseMomentum, kMaxMomentum},
            {t - 1, kInitialLr, kMinLr, kMaxMomentum, kMaxMomentum}};
  }
  return {{pct * t - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
          {t - 1, kMaxLr, kMinLr, kBaseMomentum, kMaxMomentum}};
}

void OneCycleLR::check_iteration(int64_t t) const {
  TORCH_CHECK(t <= options_.total_steps(), name(), ": tried to step to iteration ", t,
              ", but the schedule has total_steps = ", options_.total_steps());
}

std::pair<const OneCycleLR::Phase*, double> OneCycleLR::locate(int64_t t) const {
  // Iteration total_steps, reachable by one final step(), holds the end of the last phase.
  const double step = static_cast<double>(std::min<int64_t>(t, options_.total_steps() - 1));
  double start = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& phase = phases_[i];
    if (step <= phase.end_step || i + 1 == phases_.size()) {
      return {&phase, (step - start) / (phase.end_step - start)};
    }
    start = phase.end_step;
  }
  return {&phases_.back(), 1.0};  // unreachable: the last phase always matches
}

double OneCycleLR::anneal(double start, double end, double weight) const {
  // The same operations as PyTorch's _annealing_cos / _annealing_linear.
  if (options_.anneal_strategy() == AnnealStrategy::Cos) {
    return end + (start - end) / 2.0 * weight;
  }
  return (end - start) * weight + start;
}

void OneCycleLR::compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const {
  const auto located = locate(t);
  const Phase& phase = *located.first;
  const double weight = options_.anneal_strategy() == AnnealStrategy::Cos
                            ? std::cos(M_PI * located.second) + 1
                            : located.second;
  const auto& max_lrs = options_.max_lr().values();
  for (size_t g = 0; g < lrs.size(); ++g) {
    const double initial = max_lrs[g] / options_.div_factor();
    const double ends[] = {initial, max_lrs[g], initial / options_.final_div_factor()};
    lrs[g] = anneal(ends[phase.start_lr], ends[phase.end_lr], weight);
  }
  const auto& base_momentums = options_.base_momentum().values();
  const auto& max_momentums = options_.max_momentum().values();
  for (size_t g = 0; g < momentums.size(); ++g) {
    const double ends[] = {max_momentums[g], base_momentums[g]};
    momentums[g] = anneal(ends[phase.start_momentum], ends[phase.end_momentum], weight);
  }
}

void OneCycleLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_doubles(archive, "one_cycle_lr/max_lr", options_.max_lr().values());
  detail::write_int(archive, "one_cycle_lr/total_steps", options_.total_steps());
  detail::write_double(archive, "one_cycle_lr/pct_start", options_.pct_start());
  detail::write_int(archive, "one_cycle_lr/anneal_strategy",
                    static_cast<int64_t>(options_.anneal_strategy()));
  detail::write_double(archive, "one_cycle_lr/div_factor", options_.div_factor());
  detail::write_double(archive, "one_cycle_lr/final_div_factor", options_.final_div_factor());
  detail::write_int(archive, "one_cycle_lr/three_phase", options_.three_phase() ? 1 : 0);
  detail::write_int(archive, "one_cycle_lr/cycle_momentum", options_.cycle_momentum() ? 1 : 0);
  detail::write_doubles(archive, "one_cycle_lr/base_momentum", options_.base_momentum().values());
  detail::write_doubles(archive, "one_cycle_lr/max_momentum", options_.max_momentum().values());
}

void OneCycleLR::load_options(torch::serialize::InputArchive& archive) {
  options_.max_lr(detail::read_group_doubles(archive, "one_cycle_lr/max_lr", name(), num_groups()));
  options_.base_momentum(
      detail::read_group_doubles(archive, "one_cycle_lr/base_momentum", name(), num_groups()));
  options_.max_momentum(
      detail::read_group_doubles(archive, "one_cycle_lr/max_momentum", name(), num_groups()));
  options_.total_steps(detail::read_int(archive, "one_cycle_lr/total_steps", name()));
  options_.pct_start(detail::read_double(archive, "one_cycle_lr/pct_start", name()));
  options_.anneal_strategy(
      detail::read_enum<AnnealStrategy>(archive, "one_cycle_lr/anneal_strategy", name(), 2));
  options_.div_factor(detail::read_double(archive, "one_cycle_lr/div_factor", name()));
  options_.final_div_factor(detail::read_double(archive, "one_cycle_lr/final_div_factor", name()));
  options_.three_phase(detail::read_int(archive, "one_cycle_lr/three_phase", name()) != 0);
  options_.cycle_momentum(detail::read_int(archive, "one_cycle_lr/cycle_momentum", name()) != 0);
  validate();
  phases_ = make_phases();
}

}  // namespace torchclr
