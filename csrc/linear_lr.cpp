#include <torchclr/linear_lr.h>

#include <algorithm>

#include "archive.h"

namespace torchclr {

LinearLR::LinearLR(torch::optim::Optimizer& optimizer, LinearLROptions options)
    : FactorScheduler(optimizer, "LinearLR"), options_(std::move(options)) {
  validate();
  start(options_.last_step());
}

void LinearLR::validate() const {
  check_base_lrs();
  TORCH_CHECK(options_.start_factor() > 0 && options_.start_factor() <= 1, name(),
              ": expected start_factor in (0, 1], but got ", options_.start_factor());
  TORCH_CHECK(options_.end_factor() >= 0 && options_.end_factor() <= 1, name(),
              ": expected end_factor in [0, 1], but got ", options_.end_factor());
  TORCH_CHECK(options_.total_iters() >= 1, name(), ": expected total_iters >= 1, but got ",
              options_.total_iters());
}

void LinearLR::multiply_factors(int64_t t, GroupSpan values) const {
  const double done = static_cast<double>(std::min(t, options_.total_iters())) /
                      static_cast<double>(options_.total_iters());
  const double factor =
      options_.start_factor() + (options_.end_factor() - options_.start_factor()) * done;
  for (size_t g = 0; g < values.size(); ++g) values[g] *= factor;
}

void LinearLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_int(archive, "linear_lr/total_iters", options_.total_iters());
  detail::write_double(archive, "linear_lr/start_factor", options_.start_factor());
  detail::write_double(archive, "linear_lr/end_factor", options_.end_factor());
}

void LinearLR::load_options(torch::serialize::InputArchive& archive) {
  options_.total_iters(detail::read_int(archive, "linear_lr/total_iters", name()));
  options_.start_factor(detail::read_double(archive, "linear_lr/start_factor", name()));
  options_.end_factor(detail::read_double(archive, "linear_lr/end_factor", name()));
  validate();
}

}  // namespace torchclr
