#include <torchclr/linear_lr.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "archive.h"
#include "validate.h"

namespace torchclr {

LinearLR::LinearLR(torch::optim::Optimizer& optimizer, LinearLROptions options)
    : Scheduler(optimizer, "LinearLR"), options_(std::move(options)) {
  base_lrs_ = optimizer_lrs();
  validate();
  start(options_.last_step());
}

void LinearLR::validate() {
  detail::check_positive_lrs(name(), "the optimizer's lr", base_lrs_);
  TORCH_CHECK(options_.start_factor() > 0 && options_.start_factor() <= 1, name(),
              ": expected start_factor in (0, 1], but got ", options_.start_factor());
  TORCH_CHECK(options_.end_factor() >= 0 && options_.end_factor() <= 1, name(),
              ": expected end_factor in [0, 1], but got ", options_.end_factor());
  TORCH_CHECK(options_.total_iters() >= 1, name(), ": expected total_iters >= 1, but got ",
              options_.total_iters());
}

void LinearLR::compute(int64_t t, double* lrs, double* /*momentums*/) const {
  const double done = static_cast<double>(std::min(t, options_.total_iters())) /
                      static_cast<double>(options_.total_iters());
  const double factor =
      options_.start_factor() + (options_.end_factor() - options_.start_factor()) * done;
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    lrs[g] = base_lrs_[g] * factor;
  }
}

void LinearLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_doubles(archive, "linear_lr/base_lr", base_lrs_);
  detail::write_int(archive, "linear_lr/total_iters", options_.total_iters());
  detail::write_double(archive, "linear_lr/start_factor", options_.start_factor());
  detail::write_double(archive, "linear_lr/end_factor", options_.end_factor());
}

void LinearLR::load_options(torch::serialize::InputArchive& archive) {
  detail::load_or_roll_back(
      [&] {
        base_lrs_ = detail::read_group_doubles(archive, "linear_lr/base_lr", name(), num_groups());
        options_.total_iters(detail::read_int(archive, "linear_lr/total_iters", name()));
        options_.start_factor(detail::read_double(archive, "linear_lr/start_factor", name()));
        options_.end_factor(detail::read_double(archive, "linear_lr/end_factor", name()));
        validate();
      },
      options_, base_lrs_);
}

}  // namespace torchclr
