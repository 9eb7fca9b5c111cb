#include <torchclr/lambda_lr.h>

#include <cmath>

namespace torchclr {

LambdaLR::LambdaLR(torch::optim::Optimizer& optimizer, LambdaLROptions options)
    : FactorScheduler(optimizer, "LambdaLR"), options_(std::move(options)) {
  check_base_lrs();
  auto& factors = options_.factors();
  TORCH_CHECK(factors.size() == 1 || factors.size() == num_groups(), name(),
              ": expected 1 factor function or one per param group (", num_groups(), "), but got ",
              factors.size());
  shared_ = factors.size() == 1;
  if (shared_) factors.resize(num_groups(), factors.front());
  for (size_t g = 0; g < factors.size(); ++g) {
    TORCH_CHECK(factors[g] != nullptr, name(), ": expected a factor function, but got an empty ",
                "one for param group ", g);
  }
  start(options_.last_step());
}

void LambdaLR::multiply_factors(int64_t t, GroupSpan values) const {
  double factor = 0;
  for (size_t g = 0; g < values.size(); ++g) {
    if (g == 0 || !shared_) {  // one function for every group runs once a step
      factor = options_.factors()[g](t);
      TORCH_CHECK(std::isfinite(factor) && factor >= 0, name(),
                  ": expected the factor function to return a finite value >= 0, but got ",
                  factor, " at iteration ", t, " for param group ", g);
    }
    values[g] *= factor;
  }
}

void LambdaLR::save_options(torch::serialize::OutputArchive& /*archive*/) const {}

void LambdaLR::load_options(torch::serialize::InputArchive& /*archive*/) { check_base_lrs(); }

}  // namespace torchclr
