#include <torchclr/constant_lr.h>

#include "archive.h"

namespace torchclr {

ConstantLR::ConstantLR(torch::optim::Optimizer& optimizer, ConstantLROptions options)
    : FactorScheduler(optimizer, "ConstantLR"), options_(std::move(options)) {
  validate();
  start(options_.last_step());
}

void ConstantLR::validate() const {
  check_base_lrs();
  TORCH_CHECK(options_.factor() >= 0 && options_.factor() <= 1, name(),
              ": expected factor in [0, 1], but got ", options_.factor());
  TORCH_CHECK(options_.total_iters() >= 1, name(), ": expected total_iters >= 1, but got ",
              options_.total_iters());
}

void ConstantLR::multiply_factors(int64_t t, GroupSpan values) const {
  if (t >= options_.total_iters()) return;
  for (size_t g = 0; g < values.size(); ++g) values[g] *= options_.factor();
}

void ConstantLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_double(archive, "constant_lr/factor", options_.factor());
  detail::write_int(archive, "constant_lr/total_iters", options_.total_iters());
}

void ConstantLR::load_options(torch::serialize::InputArchive& archive) {
  options_.factor(detail::read_double(archive, "constant_lr/factor", name()));
  options_.total_iters(detail::read_int(archive, "constant_lr/total_iters", name()));
  validate();
}

}  // namespace torchclr
