#include <torchclr/multi_step_lr.h>

#include <algorithm>
#include <cmath>

#include "archive.h"
#include "validate.h"

namespace torchclr {

MultiStepLR::MultiStepLR(torch::optim::Optimizer& optimizer, MultiStepLROptions options)
    : FactorScheduler(optimizer, "MultiStepLR"), options_(std::move(options)) {
  std::sort(options_.milestones().begin(), options_.milestones().end());
  validate();
  start(options_.last_step());
}

void MultiStepLR::validate() const {
  check_base_lrs();
  for (const int64_t milestone : options_.milestones()) {
    TORCH_CHECK(milestone >= 1, name(), ": expected milestones >= 1, but got ", milestone);
  }
  TORCH_CHECK(std::isfinite(options_.gamma()) && options_.gamma() > 0, name(),
              ": expected gamma to be positive and finite, but got ", options_.gamma());
  // The LR after the last milestone the step counter reaches is the largest when gamma > 1.
  const auto& milestones = options_.milestones();
  const auto reached =
      std::upper_bound(milestones.begin(), milestones.end(), detail::kLastReachableStep) -
      milestones.begin();
  const auto& base = base_lrs();
  for (size_t g = 0; g < base.size() && options_.gamma() > 1; ++g) {
    const double last = base[g] * std::pow(options_.gamma(), static_cast<double>(reached));
    TORCH_CHECK(std::isfinite(last), name(),
                ": expected a finite LR after every milestone, but lr ", base[g], " x gamma ",
                options_.gamma(), " ^ ", reached, " is ", last, " for param group ", g);
  }
}

void MultiStepLR::multiply_factors(int64_t t, GroupSpan values) const {
  const auto& milestones = options_.milestones();
  const auto passed =
      std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin();
  const double factor = std::pow(options_.gamma(), static_cast<double>(passed));
  for (size_t g = 0; g < values.size(); ++g) values[g] *= factor;
}

void MultiStepLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_ints(archive, "multi_step_lr/milestones", options_.milestones());
  detail::write_double(archive, "multi_step_lr/gamma", options_.gamma());
}

void MultiStepLR::load_options(torch::serialize::InputArchive& archive) {
  options_.milestones(detail::read_ints(archive, "multi_step_lr/milestones", name()));
  std::sort(options_.milestones().begin(), options_.milestones().end());
  options_.gamma(detail::read_double(archive, "multi_step_lr/gamma", name()));
  validate();
}

}  // namespace torchclr
