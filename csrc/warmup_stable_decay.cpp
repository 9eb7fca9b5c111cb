#include <torchclr/warmup_stable_decay.h>

#include <algorithm>
#include <cmath>

#include "archive.h"
#include "validate.h"

namespace torchclr {

WarmupStableDecay::WarmupStableDecay(torch::optim::Optimizer& optimizer,
                                     WarmupStableDecayOptions options)
    : Scheduler(optimizer, "WarmupStableDecay"), options_(std::move(options)) {
  options_.min_lr(per_group(options_.min_lr(), "min_lr"));
  const int64_t total = options_.total_steps();
  options_.decay_steps(options_.decay_steps().value_or(total / 5));
  if (!options_.decay_from().has_value()) {
    TORCH_CHECK(options_.warmup_steps() + *options_.decay_steps() <= total, name(),
                ": expected warmup_steps + decay_steps <= total_steps, but got ",
                options_.warmup_steps(), " + ", *options_.decay_steps(), " > ", total);
    options_.decay_from(total - *options_.decay_steps());
  }
  validate();
  start(options_.last_step());
}

void WarmupStableDecay::validate() const {
  check_base_lrs();
  TORCH_CHECK(options_.total_steps() >= 1, name(), ": expected total_steps >= 1, but got ",
              options_.total_steps());
  TORCH_CHECK(options_.warmup_steps() >= 0, name(), ": expected warmup_steps >= 0, but got ",
              options_.warmup_steps());
  TORCH_CHECK(*options_.decay_steps() >= 0, name(), ": expected decay_steps >= 0, but got ",
              *options_.decay_steps());
  TORCH_CHECK(*options_.decay_from() >= options_.warmup_steps(), name(),
              ": expected decay_from >= warmup_steps (", options_.warmup_steps(), "), but got ",
              *options_.decay_from());
  detail::check_floor_lrs(name(), "min_lr", options_.min_lr().values());
}

void WarmupStableDecay::decay_from(int64_t k) {
  TORCH_CHECK(k >= last_step(), name(), ": expected decay_from >= the current iteration (",
              last_step(), "), but got ", k);
  TORCH_CHECK(k >= options_.warmup_steps(), name(), ": expected decay_from >= warmup_steps (",
              options_.warmup_steps(), "), but got ", k);
  options_.decay_from(k);
  write_current();
}

double WarmupStableDecay::shape(double p) const {
  switch (options_.decay()) {
    case DecayShape::Cosine:
      return (1 + std::cos(M_PI * p)) / 2;
    case DecayShape::OneMinusSqrt:
      return 1 - std::sqrt(p);
    case DecayShape::Linear:
      break;
  }
  return 1 - p;
}

void WarmupStableDecay::compute(int64_t t, GroupSpan lrs, GroupSpan /*momentums*/) const {
  const auto& base = base_lrs();
  const int64_t warmup = options_.warmup_steps();
  const int64_t decay_from = *options_.decay_from();
  const int64_t decay_steps = *options_.decay_steps();
  if (t < warmup) {
    const double fraction = static_cast<double>(t) / static_cast<double>(warmup);
    for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = base[g] * fraction;
    return;
  }
  if (t < decay_from) {
    for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = base[g];
    return;
  }
  const auto& min_lr = options_.min_lr().values();
  if (t >= decay_from + decay_steps) {
    for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = min_lr[g];
    return;
  }
  const double s = shape(static_cast<double>(t - decay_from) / static_cast<double>(decay_steps));
  for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = min_lr[g] + (base[g] - min_lr[g]) * s;
}

void WarmupStableDecay::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_int(archive, "warmup_stable_decay/total_steps", options_.total_steps());
  detail::write_int(archive, "warmup_stable_decay/warmup_steps", options_.warmup_steps());
  detail::write_int(archive, "warmup_stable_decay/decay_steps", *options_.decay_steps());
  detail::write_int(archive, "warmup_stable_decay/decay", static_cast<int64_t>(options_.decay()));
  detail::write_doubles(archive, "warmup_stable_decay/min_lr", options_.min_lr().values());
  detail::write_int(archive, "warmup_stable_decay/decay_from", *options_.decay_from());
}

void WarmupStableDecay::load_options(torch::serialize::InputArchive& archive) {
  const std::string prefix = "warmup_stable_decay/";
  options_.total_steps(detail::read_int(archive, prefix + "total_steps", name()));
  options_.warmup_steps(detail::read_int(archive, prefix + "warmup_steps", name()));
  options_.decay_steps(detail::read_int(archive, prefix + "decay_steps", name()));
  options_.decay(detail::read_enum<DecayShape>(archive, prefix + "decay", name(), 3));
  options_.min_lr(detail::read_group_doubles(archive, prefix + "min_lr", name(), num_groups()));
  options_.decay_from(detail::read_int(archive, prefix + "decay_from", name()));
  validate();
}

}  // namespace torchclr
