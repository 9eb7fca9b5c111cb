#include <torchclr/step_lr.h>

#include <cmath>

#include "archive.h"
#include "validate.h"

namespace torchclr {

StepLR::StepLR(torch::optim::Optimizer& optimizer, StepLROptions options)
    : FactorScheduler(optimizer, "StepLR"), options_(std::move(options)) {
  validate();
  first_non_finite_ = find_first_non_finite();
  start(options_.last_step());
}

void StepLR::validate() const {
  check_base_lrs();
  TORCH_CHECK(options_.step_size() >= 1, name(), ": expected step_size >= 1, but got ",
              options_.step_size());
  TORCH_CHECK(std::isfinite(options_.gamma()) && options_.gamma() > 0, name(),
              ": expected gamma to be positive and finite, but got ", options_.gamma());
}

std::pair<int64_t, size_t> StepLR::find_first_non_finite() const {
  const double gamma = options_.gamma();
  const int64_t step_size = options_.step_size();
  const auto& base = base_lrs();
  return detail::first_non_finite_step(base.size(), [&](int64_t t, size_t g) {
    return gamma <= 1 ||
           std::isfinite(base[g] * std::pow(gamma, static_cast<double>(t / step_size)));
  });
}

void StepLR::check_iteration(int64_t t) const {
  detail::check_finite_step(name(), first_non_finite_, options_.gamma(), t);
}

void StepLR::multiply_factors(int64_t t, GroupSpan values) const {
  const double factor = std::pow(options_.gamma(), static_cast<double>(t / options_.step_size()));
  for (size_t g = 0; g < values.size(); ++g) values[g] *= factor;
}

void StepLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_int(archive, "step_lr/step_size", options_.step_size());
  detail::write_double(archive, "step_lr/gamma", options_.gamma());
}

void StepLR::load_options(torch::serialize::InputArchive& archive) {
  options_.step_size(detail::read_int(archive, "step_lr/step_size", name()));
  options_.gamma(detail::read_double(archive, "step_lr/gamma", name()));
  validate();
  first_non_finite_ = find_first_non_finite();
}

}  // namespace torchclr
