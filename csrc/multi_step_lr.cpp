#include <torchclr/multi_step_lr.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "archive.h"
#include "validate.h"

namespace torchclr {

MultiStepLR::MultiStepLR(torch::optim::Optimizer& optimizer, MultiStepLROptions options)
    : Scheduler(optimizer, "MultiStepLR"), options_(std::move(options)) {
  base_lrs_ = optimizer_lrs();
  validate();
  start(options_.last_step());
}

void MultiStepLR::validate() {
  detail::check_positive_lrs(name(), "the optimizer's lr", base_lrs_);
  for (const int64_t milestone : options_.milestones()) {
    TORCH_CHECK(milestone >= 1, name(), ": expected milestones >= 1, but got ", milestone);
  }
  std::sort(options_.milestones().begin(), options_.milestones().end());
  TORCH_CHECK(std::isfinite(options_.gamma()) && options_.gamma() > 0, name(),
              ": expected gamma to be positive and finite, but got ", options_.gamma());
}

void MultiStepLR::compute(int64_t t, double* lrs, double* /*momentums*/) const {
  const auto& milestones = options_.milestones();
  const auto passed =
      std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin();
  const double factor = std::pow(options_.gamma(), static_cast<double>(passed));
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    lrs[g] = base_lrs_[g] * factor;
  }
}

void MultiStepLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_doubles(archive, "multi_step_lr/base_lr", base_lrs_);
  detail::write_ints(archive, "multi_step_lr/milestones", options_.milestones());
  detail::write_double(archive, "multi_step_lr/gamma", options_.gamma());
}

void MultiStepLR::load_options(torch::serialize::InputArchive& archive) {
  detail::load_or_roll_back(
      [&] {
        base_lrs_ =
            detail::read_group_doubles(archive, "multi_step_lr/base_lr", name(), num_groups());
        options_.milestones(detail::read_ints(archive, "multi_step_lr/milestones", name()));
        options_.gamma(detail::read_double(archive, "multi_step_lr/gamma", name()));
        validate();
      },
      options_, base_lrs_);
}

}  // namespace torchclr
