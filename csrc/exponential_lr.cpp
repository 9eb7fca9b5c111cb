#include <torchclr/exponential_lr.h>

#include <cmath>

#include "archive.h"

namespace torchclr {

ExponentialLR::ExponentialLR(torch::optim::Optimizer& optimizer, ExponentialLROptions options)
    : FactorScheduler(optimizer, "ExponentialLR"), options_(std::move(options)) {
  validate();
  start(options_.last_step());
}

void ExponentialLR::validate() const {
  check_base_lrs();
  TORCH_CHECK(std::isfinite(options_.gamma()) && options_.gamma() > 0, name(),
              ": expected gamma to be positive and finite, but got ", options_.gamma());
}

void ExponentialLR::multiply_factors(int64_t t, GroupSpan values) const {
  const double factor = std::pow(options_.gamma(), static_cast<double>(t));
  for (size_t g = 0; g < values.size(); ++g) values[g] *= factor;
}

void ExponentialLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_double(archive, "exponential_lr/gamma", options_.gamma());
}

void ExponentialLR::load_options(torch::serialize::InputArchive& archive) {
  options_.gamma(detail::read_double(archive, "exponential_lr/gamma", name()));
  validate();
}

}  // namespace torchclr
