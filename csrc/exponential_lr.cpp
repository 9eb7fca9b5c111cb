#include <torchclr/exponential_lr.h>

#include <cmath>
#include <tuple>

#include "archive.h"
#include "validate.h"

namespace torchclr {

ExponentialLR::ExponentialLR(torch::optim::Optimizer& optimizer, ExponentialLROptions options)
    : Scheduler(optimizer, "ExponentialLR"), options_(std::move(options)) {
  base_lrs_ = optimizer_lrs();
  validate();
  start(options_.last_step());
}

void ExponentialLR::validate() {
  detail::check_positive_lrs(name(), "the optimizer's lr", base_lrs_);
  TORCH_CHECK(std::isfinite(options_.gamma()) && options_.gamma() > 0, name(),
              ": expected gamma to be positive and finite, but got ", options_.gamma());
}

void ExponentialLR::compute(int64_t t, double* lrs, double* /*momentums*/) const {
  const double factor = std::pow(options_.gamma(), static_cast<double>(t));
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    lrs[g] = base_lrs_[g] * factor;
  }
}

void ExponentialLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_doubles(archive, "exponential_lr/base_lr", base_lrs_);
  detail::write_double(archive, "exponential_lr/gamma", options_.gamma());
}

void ExponentialLR::load_options(torch::serialize::InputArchive& archive) {
  detail::load_or_roll_back(
      [&] {
        base_lrs_ =
            detail::read_group_doubles(archive, "exponential_lr/base_lr", name(), num_groups());
        options_.gamma(detail::read_double(archive, "exponential_lr/gamma", name()));
        validate();
      },
      options_, base_lrs_);
}

}  // namespace torchclr
