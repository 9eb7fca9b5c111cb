#include <torchclr/reduce_lr_on_plateau.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "archive.h"
#include "validate.h"

namespace torchclr {
namespace {

double worst(PlateauMode mode) {
  return mode == PlateauMode::Min ? std::numeric_limits<double>::infinity()
                                  : -std::numeric_limits<double>::infinity();
}

}  // namespace

ReduceLROnPlateau::ReduceLROnPlateau(torch::optim::Optimizer& optimizer,
                                     ReduceLROnPlateauOptions options)
    : Scheduler(optimizer, "ReduceLROnPlateau"), options_(std::move(options)), lrs_(base_lrs()) {
  options_.min_lr(per_group(options_.min_lr(), "min_lr"));
  validate();
  set_best(worst(options_.mode()));
  set_metric_at_every_step();
  start(-1);
}

void ReduceLROnPlateau::validate() const {
  check_base_lrs();
  TORCH_CHECK(options_.mode() == PlateauMode::Min || options_.mode() == PlateauMode::Max, name(),
              ": expected mode Min or Max, but got ", static_cast<int>(options_.mode()));
  TORCH_CHECK(options_.threshold_mode() == ThresholdMode::Rel ||
                  options_.threshold_mode() == ThresholdMode::Abs,
              name(), ": expected threshold_mode Rel or Abs, but got ",
              static_cast<int>(options_.threshold_mode()));
  TORCH_CHECK(options_.factor() >= 0 && options_.factor() < 1, name(),
              ": expected factor in [0, 1), but got ", options_.factor());
  TORCH_CHECK(options_.patience() >= 0, name(), ": expected patience >= 0, but got ",
              options_.patience());
  TORCH_CHECK(std::isfinite(options_.threshold()) && options_.threshold() >= 0, name(),
              ": expected threshold to be finite and >= 0, but got ", options_.threshold());
  TORCH_CHECK(options_.cooldown() >= 0, name(), ": expected cooldown >= 0, but got ",
              options_.cooldown());
  TORCH_CHECK(std::isfinite(options_.eps()) && options_.eps() >= 0, name(),
              ": expected eps to be finite and >= 0, but got ", options_.eps());
  detail::check_floor_lrs(name(), "min_lr", options_.min_lr().values());
}

void ReduceLROnPlateau::set_best(double best) {
  best_ = best;
  // PyTorch's is_better, operation for operation: the bound is computed as it computes it.
  const double threshold = options_.threshold();
  const bool rel = options_.threshold_mode() == ThresholdMode::Rel;
  if (options_.mode() == PlateauMode::Min) {
    sign_ = 1;
    bound_ = rel ? best * (1. - threshold) : best - threshold;
  } else {
    sign_ = -1;
    bound_ = -(rel ? best * (threshold + 1.) : best + threshold);
  }
}

void ReduceLROnPlateau::nan_metric() const {
  TORCH_CHECK(false, name(), ": expected a metric that is not NaN, but got nan");
}

bool ReduceLROnPlateau::observe(int64_t /*t*/, double metric) {
  if (options_.reduce_metric()) metric = options_.reduce_metric()(metric);
  if (C10_UNLIKELY(std::isnan(metric))) nan_metric();
  if (sign_ * metric < bound_) {  // is_better(metric)
    set_best(metric);
    num_bad_steps_ = 0;
  } else {
    ++num_bad_steps_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_steps_ = 0;  // bad steps in cooldown do not count
  }
  if (num_bad_steps_ <= options_.patience()) return false;
  const auto& min_lr = options_.min_lr().values();
  bool changed = false;
  for (size_t g = 0; g < lrs_.size(); ++g) {
    const double reduced = std::max(lrs_[g] * options_.factor(), min_lr[g]);
    if (lrs_[g] - reduced > options_.eps()) {
      lrs_[g] = reduced;
      changed = true;
    }
  }
  cooldown_counter_ = options_.cooldown();
  num_bad_steps_ = 0;
  return changed;
}

void ReduceLROnPlateau::compute(int64_t /*t*/, GroupSpan lrs, GroupSpan /*momentums*/) const {
  for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = lrs_[g];
}

void ReduceLROnPlateau::save_options(torch::serialize::OutputArchive& archive) const {
  const std::string prefix = "reduce_lr_on_plateau/";
  detail::write_int(archive, prefix + "mode", static_cast<int64_t>(options_.mode()));
  detail::write_double(archive, prefix + "factor", options_.factor());
  detail::write_int(archive, prefix + "patience", options_.patience());
  detail::write_double(archive, prefix + "threshold", options_.threshold());
  detail::write_int(archive, prefix + "threshold_mode",
                    static_cast<int64_t>(options_.threshold_mode()));
  detail::write_int(archive, prefix + "cooldown", options_.cooldown());
  detail::write_doubles(archive, prefix + "min_lr", options_.min_lr().values());
  detail::write_double(archive, prefix + "eps", options_.eps());
  detail::write_doubles(archive, prefix + "lr", lrs_);
  detail::write_double(archive, prefix + "best", best_);
  detail::write_int(archive, prefix + "num_bad_steps", num_bad_steps_);
  detail::write_int(archive, prefix + "cooldown_counter", cooldown_counter_);
}

void ReduceLROnPlateau::load_options(torch::serialize::InputArchive& archive) {
  const std::string prefix = "reduce_lr_on_plateau/";
  options_.mode(detail::read_enum<PlateauMode>(archive, prefix + "mode", name(), 2));
  options_.factor(detail::read_double(archive, prefix + "factor", name()));
  options_.patience(detail::read_int(archive, prefix + "patience", name()));
  options_.threshold(detail::read_double(archive, prefix + "threshold", name()));
  options_.threshold_mode(
      detail::read_enum<ThresholdMode>(archive, prefix + "threshold_mode", name(), 2));
  options_.cooldown(detail::read_int(archive, prefix + "cooldown", name()));
  options_.min_lr(detail::read_group_doubles(archive, prefix + "min_lr", name(), num_groups()));
  options_.eps(detail::read_double(archive, prefix + "eps", name()));
  validate();
  lrs_ = detail::read_group_doubles(archive, prefix + "lr", name(), num_groups());
  detail::check_floor_lrs(name(), "the checkpoint's lr", lrs_);
  set_best(detail::read_double(archive, prefix + "best", name()));
  TORCH_CHECK(!std::isnan(best_), name(), ": expected a best metric that is not NaN in the ",
              "checkpoint, but got nan");
  num_bad_steps_ = detail::read_int(archive, prefix + "num_bad_steps", name());
  cooldown_counter_ = detail::read_int(archive, prefix + "cooldown_counter", name());
  TORCH_CHECK(num_bad_steps_ >= 0 && cooldown_counter_ >= 0, name(),
              ": expected counters >= 0 in the checkpoint, but got num_bad_steps ", num_bad_steps_,
              " and cooldown_counter ", cooldown_counter_);
}

}  // namespace torchclr
