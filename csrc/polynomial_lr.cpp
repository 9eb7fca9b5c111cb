#include <torchclr/polynomial_lr.h>

#include <algorithm>
#include <cmath>

#include "archive.h"

namespace torchclr {

PolynomialLR::PolynomialLR(torch::optim::Optimizer& optimizer, PolynomialLROptions options)
    : FactorScheduler(optimizer, "PolynomialLR"), options_(std::move(options)) {
  validate();
  start(options_.last_step());
}

void PolynomialLR::validate() const {
  check_base_lrs();
  TORCH_CHECK(options_.total_iters() >= 1, name(), ": expected total_iters >= 1, but got ",
              options_.total_iters());
  TORCH_CHECK(std::isfinite(options_.power()) && options_.power() >= 0, name(),
              ": expected power to be finite and >= 0, but got ", options_.power());
}

void PolynomialLR::multiply_factors(int64_t t, GroupSpan values) const {
  const double total = static_cast<double>(options_.total_iters());
  const double done = static_cast<double>(std::min(t, options_.total_iters()));
  const double factor = std::pow(1.0 - done / total, options_.power());
  for (size_t g = 0; g < values.size(); ++g) values[g] *= factor;
}

void PolynomialLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_int(archive, "polynomial_lr/total_iters", options_.total_iters());
  detail::write_double(archive, "polynomial_lr/power", options_.power());
}

void PolynomialLR::load_options(torch::serialize::InputArchive& archive) {
  options_.total_iters(detail::read_int(archive, "polynomial_lr/total_iters", name()));
  options_.power(detail::read_double(archive, "polynomial_lr/power", name()));
  validate();
}

}  // namespace torchclr
