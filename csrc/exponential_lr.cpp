#include <torchclr/exponential_lr.h>

#include <cmath>

#include "archive.h"
#include "validate.h"

namespace torchclr {

ExponentialLR::ExponentialLR(torch::optim::Optimizer& optimizer, ExponentialLROptions options)
    : FactorScheduler(optimizer, "ExponentialLR"), options_(std::move(options)) {
  validate();
  first_non_finite_ = find_first_non_finite();
  start(options_.last_step());
}

void ExponentialLR::validate() const {
  check_base_lrs();
  TORCH_CHECK(std::isfinite(options_.gamma()) && options_.gamma() > 0, name(),
              ": expected gamma to be positive and finite, but got ", options_.gamma());
}

std::pair<int64_t, size_t> ExponentialLR::find_first_non_finite() const {
  const double gamma = options_.gamma();
  const auto& base = base_lrs();
  return detail::first_non_finite_step(base.size(), [&](int64_t t, size_t g) {
    return gamma <= 1 || std::isfinite(base[g] * std::pow(gamma, static_cast<double>(t)));
  });
}

void ExponentialLR::check_iteration(int64_t t) const {
  detail::check_finite_step(name(), first_non_finite_, options_.gamma(), t);
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
  first_non_finite_ = find_first_non_finite();
}

}  // namespace torchclr
