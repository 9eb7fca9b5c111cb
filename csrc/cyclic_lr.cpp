#include <torchclr/cyclic_lr.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "archive.h"
#include "validate.h"

namespace torchclr {

CyclicLR::CyclicLR(torch::optim::Optimizer& optimizer, CyclicLROptions options)
    : Scheduler(optimizer, "CyclicLR"), options_(std::move(options)) {
  base_lrs_ = per_group(options_.base_lr(), "base_lr");
  max_lrs_ = per_group(options_.max_lr(), "max_lr");
  base_momentums_ = per_group(options_.base_momentum(), "base_momentum");
  max_momentums_ = per_group(options_.max_momentum(), "max_momentum");
  validate();
  if (options_.cycle_momentum()) {
    require_momentum();
  }
  start(options_.last_step());
}

void CyclicLR::validate() {
  detail::check_positive_lrs(name(), "base_lr", base_lrs_);
  detail::check_positive_lrs(name(), "max_lr", max_lrs_);
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    TORCH_CHECK(max_lrs_[g] >= base_lrs_[g], name(),
                ": expected max_lr >= base_lr, but got max_lr ", max_lrs_[g], " and base_lr ",
                base_lrs_[g], " for param group ", g);
  }
  TORCH_CHECK(options_.step_size_up() >= 1, name(), ": expected step_size_up >= 1, but got ",
              options_.step_size_up());
  step_size_down_ = options_.step_size_down().value_or(options_.step_size_up());
  TORCH_CHECK(step_size_down_ >= 1, name(), ": expected step_size_down >= 1, but got ",
              step_size_down_);
  TORCH_CHECK(options_.step_size_up() <= std::numeric_limits<int64_t>::max() / 2 - step_size_down_,
              name(), ": expected step_size_up + step_size_down to fit in 64 bits, but got ",
              options_.step_size_up(), " + ", step_size_down_);
  TORCH_CHECK(std::isfinite(options_.gamma()) && options_.gamma() > 0, name(),
              ": expected gamma to be positive and finite, but got ", options_.gamma());
  if (options_.cycle_momentum()) {
    detail::check_momentums(name(), "base_momentum", base_momentums_);
    detail::check_momentums(name(), "max_momentum", max_momentums_);
  }
}

CyclicLR::Position CyclicLR::position(int64_t t) const {
  const int64_t up = options_.step_size_up();
  const int64_t period = up + step_size_down_;
  const int64_t pos = t % period;        // integer arithmetic: the peak is exactly max_lr
  const int64_t cycle = t / period + 1;  // cycles count from 1, as in PyTorch
  Position result;
  result.fraction = pos <= up
                        ? static_cast<double>(pos) / static_cast<double>(up)
                        : static_cast<double>(period - pos) / static_cast<double>(step_size_down_);
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

void CyclicLR::compute(int64_t t, double* lrs, double* momentums) const {
  const Position p = position(t);
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    // Same association as PyTorch: base + ((max - base) * fraction) * scale.
    const double height = (max_lrs_[g] - base_lrs_[g]) * p.fraction;
    lrs[g] = base_lrs_[g] + height * p.scale;
  }
  if (momentums != nullptr) {
    for (size_t g = 0; g < base_momentums_.size(); ++g) {
      const double height = (max_momentums_[g] - base_momentums_[g]) * p.fraction;
      momentums[g] = max_momentums_[g] - height * p.scale;
    }
  }
}

void CyclicLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_doubles(archive, "cyclic_lr/base_lr", base_lrs_);
  detail::write_doubles(archive, "cyclic_lr/max_lr", max_lrs_);
  detail::write_int(archive, "cyclic_lr/step_size_up", options_.step_size_up());
  detail::write_int(archive, "cyclic_lr/step_size_down", step_size_down_);
  detail::write_int(archive, "cyclic_lr/mode", static_cast<int64_t>(options_.mode()));
  detail::write_double(archive, "cyclic_lr/gamma", options_.gamma());
  detail::write_int(archive, "cyclic_lr/scale_mode", static_cast<int64_t>(options_.scale_mode()));
  detail::write_int(archive, "cyclic_lr/cycle_momentum", options_.cycle_momentum() ? 1 : 0);
  detail::write_doubles(archive, "cyclic_lr/base_momentum", base_momentums_);
  detail::write_doubles(archive, "cyclic_lr/max_momentum", max_momentums_);
}

void CyclicLR::load_options(torch::serialize::InputArchive& archive) {
  detail::load_or_roll_back(
      [&] {
        base_lrs_ = detail::read_group_doubles(archive, "cyclic_lr/base_lr", name(), num_groups());
        max_lrs_ = detail::read_group_doubles(archive, "cyclic_lr/max_lr", name(), num_groups());
        base_momentums_ =
            detail::read_group_doubles(archive, "cyclic_lr/base_momentum", name(), num_groups());
        max_momentums_ =
            detail::read_group_doubles(archive, "cyclic_lr/max_momentum", name(), num_groups());
        options_.step_size_up(detail::read_int(archive, "cyclic_lr/step_size_up", name()));
        options_.step_size_down(detail::read_int(archive, "cyclic_lr/step_size_down", name()));
        const int64_t mode = detail::read_int(archive, "cyclic_lr/mode", name());
        TORCH_CHECK(mode >= 0 && mode <= 2, name(), ": expected a mode between 0 and 2 in the ",
                    "checkpoint, but got ", mode);
        options_.mode(static_cast<CyclicMode>(mode));
        options_.gamma(detail::read_double(archive, "cyclic_lr/gamma", name()));
        const int64_t scale_mode = detail::read_int(archive, "cyclic_lr/scale_mode", name());
        TORCH_CHECK(scale_mode == 0 || scale_mode == 1, name(),
                    ": expected a scale mode of 0 or 1 ", "in the checkpoint, but got ",
                    scale_mode);
        options_.scale_mode(static_cast<ScaleMode>(scale_mode));
        options_.cycle_momentum(detail::read_int(archive, "cyclic_lr/cycle_momentum", name()) != 0);
        validate();
        if (options_.cycle_momentum()) {
          require_momentum();
        }
      },
      options_, step_size_down_, base_lrs_, max_lrs_, base_momentums_, max_momentums_);
}

}  // namespace torchclr
