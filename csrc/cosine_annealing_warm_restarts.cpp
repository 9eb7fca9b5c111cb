#include <torchclr/cosine_annealing_warm_restarts.h>

#include <cmath>
#include <limits>

#include "archive.h"
#include "validate.h"

namespace torchclr {

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(torch::optim::Optimizer& optimizer,
                                                         CosineAnnealingWarmRestartsOptions options)
    : Scheduler(optimizer, "CosineAnnealingWarmRestarts"), options_(std::move(options)) {
  options_.eta_min(per_group(options_.eta_min(), "eta_min"));
  validate();
  start(options_.last_step());
}

void CosineAnnealingWarmRestarts::validate() const {
  check_base_lrs();
  TORCH_CHECK(options_.t_0() >= 1, name(), ": expected t_0 >= 1, but got ", options_.t_0());
  TORCH_CHECK(options_.t_mult() >= 1, name(), ": expected t_mult >= 1, but got ",
              options_.t_mult());
  detail::check_floor_lrs(name(), "eta_min", options_.eta_min().values());
  TORCH_CHECK(options_.cycle_decay() > 0 && options_.cycle_decay() <= 1, name(),
              ": expected cycle_decay in (0, 1], but got ", options_.cycle_decay());
  TORCH_CHECK(options_.cycle_limit() >= 0, name(), ": expected cycle_limit >= 0 (0: no limit), ",
              "but got ", options_.cycle_limit());
}

CosineAnnealingWarmRestarts::Position CosineAnnealingWarmRestarts::position(int64_t t) const {
  const int64_t t_0 = options_.t_0();
  const int64_t t_mult = options_.t_mult();
  if (t_mult == 1) return {t / t_0, t % t_0, t_0};
  // Cycles grow geometrically: at most 63 of them fit in 64 bits.
  Position p{0, t, t_0};
  while (p.t_cur >= p.t_i) {
    p.t_cur -= p.t_i;
    ++p.cycle;
    if (p.t_i > std::numeric_limits<int64_t>::max() / t_mult) {
      p.t_i = std::numeric_limits<int64_t>::max();  // longer than any iteration can reach
    } else {
      p.t_i *= t_mult;
    }
  }
  return p;
}

void CosineAnnealingWarmRestarts::compute(int64_t t, GroupSpan lrs, GroupSpan /*momentums*/) const {
  const Position p = position(t);
  const auto& eta_min = options_.eta_min().values();
  if (options_.cycle_limit() > 0 && p.cycle >= options_.cycle_limit()) {
    for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = eta_min[g];
    return;
  }
  const double decay = std::pow(options_.cycle_decay(), static_cast<double>(p.cycle));
  // PyTorch's get_lr, operation for operation.
  const double wave =
      1 + std::cos(M_PI * static_cast<double>(p.t_cur) / static_cast<double>(p.t_i));
  const auto& base = base_lrs();
  for (size_t g = 0; g < lrs.size(); ++g) {
    const double peak = base[g] * decay;
    lrs[g] = eta_min[g] + (peak - eta_min[g]) * wave / 2;
  }
}

void CosineAnnealingWarmRestarts::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_int(archive, "cosine_annealing_warm_restarts/t_0", options_.t_0());
  detail::write_int(archive, "cosine_annealing_warm_restarts/t_mult", options_.t_mult());
  detail::write_doubles(archive, "cosine_annealing_warm_restarts/eta_min",
                        options_.eta_min().values());
  detail::write_double(archive, "cosine_annealing_warm_restarts/cycle_decay",
                       options_.cycle_decay());
  detail::write_int(archive, "cosine_annealing_warm_restarts/cycle_limit", options_.cycle_limit());
}

void CosineAnnealingWarmRestarts::load_options(torch::serialize::InputArchive& archive) {
  const std::string prefix = "cosine_annealing_warm_restarts/";
  options_.t_0(detail::read_int(archive, prefix + "t_0", name()));
  options_.t_mult(detail::read_int(archive, prefix + "t_mult", name()));
  options_.eta_min(detail::read_group_doubles(archive, prefix + "eta_min", name(), num_groups()));
  options_.cycle_decay(detail::read_double(archive, prefix + "cycle_decay", name()));
  options_.cycle_limit(detail::read_int(archive, prefix + "cycle_limit", name()));
  validate();
}

}  // namespace torchclr
