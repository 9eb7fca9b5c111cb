#include <torchclr/cyclic_lr.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "archive.h"
#include "validate.h"

namespace torchclr {

CyclicLR::CyclicLR(torch::optim::Optimizer& optimizer, CyclicLROptions options)
    : Scheduler(optimizer, "CyclicLR"), options_(std::move(options)) {
  expand_options();
  validate();
  first_non_finite_ = find_first_non_finite();
  start(options_.last_step());
}

void CyclicLR::expand_options() {
  options_.base_lr(per_group(options_.base_lr(), "base_lr"));
  options_.max_lr(per_group(options_.max_lr(), "max_lr"));
  options_.base_momentum(per_group(options_.base_momentum(), "base_momentum"));
  options_.max_momentum(per_group(options_.max_momentum(), "max_momentum"));
  options_.step_size_down(options_.step_size_down().value_or(options_.step_size_up()));
}

void CyclicLR::validate() const {
  const auto& base_lrs = options_.base_lr().values();
  const auto& max_lrs = options_.max_lr().values();
  detail::check_positive_lrs(name(), "base_lr", base_lrs);
  detail::check_positive_lrs(name(), "max_lr", max_lrs);
  for (size_t g = 0; g < base_lrs.size(); ++g) {
    TORCH_CHECK(max_lrs[g] >= base_lrs[g], name(), ": expected max_lr >= base_lr, but got max_lr ",
                max_lrs[g], " and base_lr ", base_lrs[g], " for param group ", g);
  }
  const int64_t up = options_.step_size_up();
  const int64_t down = *options_.step_size_down();
  TORCH_CHECK(up >= 1, name(), ": expected step_size_up >= 1, but got ", up);
  TORCH_CHECK(down >= 1, name(), ": expected step_size_down >= 1, but got ", down);
  TORCH_CHECK(up <= std::numeric_limits<int64_t>::max() / 2 - down, name(),
              ": expected step_size_up + step_size_down to fit in 64 bits, but got ", up, " + ",
              down);
  TORCH_CHECK(std::isfinite(options_.gamma()) && options_.gamma() > 0, name(),
              ": expected gamma to be positive and finite, but got ", options_.gamma());
  if (options_.cycle_momentum()) {
    detail::check_momentums(name(), "base_momentum", options_.base_momentum().values());
    detail::check_momentums(name(), "max_momentum", options_.max_momentum().values());
  }
}

std::pair<int64_t, size_t> CyclicLR::find_first_non_finite() const {
  // The LR never exceeds base + (max - base) * gamma^t, and gamma^t must stay finite for the
  // troughs (0 * inf is NaN).
  const bool grows =
      !options_.scale_fn() && options_.mode() == CyclicMode::ExpRange && options_.gamma() > 1;
  const auto& base_lrs = options_.base_lr().values();
  const auto& max_lrs = options_.max_lr().values();
  return detail::first_non_finite_step(base_lrs.size(), [&](int64_t t, size_t g) {
    if (!grows) return true;
    const double scale = std::pow(options_.gamma(), static_cast<double>(t));
    return std::isfinite(scale) && std::isfinite(base_lrs[g] + (max_lrs[g] - base_lrs[g]) * scale);
  });
}

void CyclicLR::check_iteration(int64_t t) const {
  detail::check_finite_step(name(), first_non_finite_, options_.gamma(), t);
}

CyclicLR::Position CyclicLR::position(int64_t t) const {
  const int64_t up = options_.step_size_up();
  const int64_t down = *options_.step_size_down();
  const int64_t period = up + down;
  const int64_t pos = t % period;        // integer arithmetic: the peak is exactly max_lr
  const int64_t cycle = t / period + 1;  // cycles count from 1, as in PyTorch
  Position result;
  result.fraction = pos <= up ? static_cast<double>(pos) / static_cast<double>(up)
                              : static_cast<double>(period - pos) / static_cast<double>(down);
  if (options_.scale_fn()) {
    const double arg = options_.scale_mode() == ScaleMode::Cycle ? static_cast<double>(cycle)
                                                                 : static_cast<double>(t);
    result.scale = options_.scale_fn()(arg);
  } else if (options_.mode() == CyclicMode::Triangular2) {
    // 1 / 2^(cycle - 1), flushing to zero where PyTorch overflows (about cycle 1,100).
    const int64_t halvings = std::min<int64_t>(cycle - 1, 2048);
    result.scale = std::ldexp(1.0, -static_cast<int>(halvings));
  } else if (options_.mode() == CyclicMode::ExpRange) {
    result.scale = std::pow(options_.gamma(), static_cast<double>(t));
  }
  return result;
}

void CyclicLR::compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const {
  const Position p = position(t);
  const auto& base_lrs = options_.base_lr().values();
  const auto& max_lrs = options_.max_lr().values();
  for (size_t g = 0; g < lrs.size(); ++g) {
    // Same association as PyTorch: base + ((max - base) * fraction) * scale.
    const double height = (max_lrs[g] - base_lrs[g]) * p.fraction;
    lrs[g] = base_lrs[g] + height * p.scale;
  }
  const auto& base_momentums = options_.base_momentum().values();
  const auto& max_momentums = options_.max_momentum().values();
  for (size_t g = 0; g < momentums.size(); ++g) {
    const double height = (max_momentums[g] - base_momentums[g]) * p.fraction;
    momentums[g] = max_momentums[g] - height * p.scale;
  }
}

void CyclicLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_doubles(archive, "cyclic_lr/base_lr", options_.base_lr().values());
  detail::write_doubles(archive, "cyclic_lr/max_lr", options_.max_lr().values());
  detail::write_int(archive, "cyclic_lr/step_size_up", options_.step_size_up());
  detail::write_int(archive, "cyclic_lr/step_size_down", *options_.step_size_down());
  detail::write_int(archive, "cyclic_lr/mode", static_cast<int64_t>(options_.mode()));
  detail::write_double(archive, "cyclic_lr/gamma", options_.gamma());
  detail::write_int(archive, "cyclic_lr/scale_mode", static_cast<int64_t>(options_.scale_mode()));
  detail::write_int(archive, "cyclic_lr/cycle_momentum", options_.cycle_momentum() ? 1 : 0);
  detail::write_doubles(archive, "cyclic_lr/base_momentum", options_.base_momentum().values());
  detail::write_doubles(archive, "cyclic_lr/max_momentum", options_.max_momentum().values());
}

void CyclicLR::load_options(torch::serialize::InputArchive& archive) {
  options_.base_lr(detail::read_group_doubles(archive, "cyclic_lr/base_lr", name(), num_groups()));
  options_.max_lr(detail::read_group_doubles(archive, "cyclic_lr/max_lr", name(), num_groups()));
  options_.base_momentum(
      detail::read_group_doubles(archive, "cyclic_lr/base_momentum", name(), num_groups()));
  options_.max_momentum(
      detail::read_group_doubles(archive, "cyclic_lr/max_momentum", name(), num_groups()));
  options_.step_size_up(detail::read_int(archive, "cyclic_lr/step_size_up", name()));
  options_.step_size_down(detail::read_int(archive, "cyclic_lr/step_size_down", name()));
  options_.mode(detail::read_enum<CyclicMode>(archive, "cyclic_lr/mode", name(), 3));
  options_.gamma(detail::read_double(archive, "cyclic_lr/gamma", name()));
  options_.scale_mode(detail::read_enum<ScaleMode>(archive, "cyclic_lr/scale_mode", name(), 2));
  options_.cycle_momentum(detail::read_int(archive, "cyclic_lr/cycle_momentum", name()) != 0);
  validate();
  first_non_finite_ = find_first_non_finite();
}

}  // namespace torchclr
