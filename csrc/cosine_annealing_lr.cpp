#include <torchclr/cosine_annealing_lr.h>

#include <cmath>

#include "archive.h"
#include "validate.h"

namespace torchclr {

CosineAnnealingLR::CosineAnnealingLR(torch::optim::Optimizer& optimizer,
                                     CosineAnnealingLROptions options)
    : Scheduler(optimizer, "CosineAnnealingLR"), options_(std::move(options)) {
  options_.eta_min(per_group(options_.eta_min(), "eta_min"));
  validate();
  start(options_.last_step());
}

void CosineAnnealingLR::validate() const {
  check_base_lrs();
  TORCH_CHECK(options_.t_max() >= 1, name(), ": expected t_max >= 1, but got ", options_.t_max());
  detail::check_floor_lrs(name(), "eta_min", options_.eta_min().values());
}

void CosineAnnealingLR::compute(int64_t t, GroupSpan lrs, GroupSpan /*momentums*/) const {
  // PyTorch's closed form, operation for operation.
  const double wave =
      1 + std::cos(M_PI * static_cast<double>(t) / static_cast<double>(options_.t_max()));
  const auto& base = base_lrs();
  const auto& eta_min = options_.eta_min().values();
  for (size_t g = 0; g < lrs.size(); ++g) {
    lrs[g] = eta_min[g] + (base[g] - eta_min[g]) * wave / 2;
  }
}

void CosineAnnealingLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_int(archive, "cosine_annealing_lr/t_max", options_.t_max());
  detail::write_doubles(archive, "cosine_annealing_lr/eta_min", options_.eta_min().values());
}

void CosineAnnealingLR::load_options(torch::serialize::InputArchive& archive) {
  options_.t_max(detail::read_int(archive, "cosine_annealing_lr/t_max", name()));
  options_.eta_min(
      detail::read_group_doubles(archive, "cosine_annealing_lr/eta_min", name(), num_groups()));
  validate();
}

}  // namespace torchclr
