#include <torchclr/chained_scheduler.h>

#include "composite.h"

namespace torchclr {

using detail::SchedulerAccess;

ChainedScheduler::ChainedScheduler(torch::optim::Optimizer& optimizer,
                                   std::vector<std::shared_ptr<Scheduler>> schedulers,
                                   int64_t last_step)
    : FactorScheduler(optimizer, "ChainedScheduler"), children_(std::move(schedulers)) {
  detail::check_children(name(), optimizer, children_);
  for (size_t i = 0; i < children_.size(); ++i) {
    const auto* factor = dynamic_cast<const FactorScheduler*>(children_[i].get());
    TORCH_CHECK(factor != nullptr, name(), ": expected schedulers of the form lr = base_lr * ",
                "factor(t) (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, ",
                "PolynomialLR, LambdaLR, ChainedScheduler), but got a ", children_[i]->name(),
                " as scheduler ", i, ", which has no such form");
    factors_.push_back(factor);
  }
  check_base_lrs();
  start(last_step);
}

void ChainedScheduler::multiply_factors(int64_t t, GroupSpan values) const {
  for (const FactorScheduler* factor : factors_) {
    SchedulerAccess::multiply_factors(*factor, t, values);
  }
}

void ChainedScheduler::check_iteration(int64_t t) const {
  for (const auto& child : children_) SchedulerAccess::check_iteration(*child, t);
}

void ChainedScheduler::save_options(torch::serialize::OutputArchive& archive) const {
  detail::save_children(archive, "chained_scheduler/scheduler_", children_);
}

void ChainedScheduler::load_options(torch::serialize::InputArchive& archive) {
  detail::load_children(archive, "chained_scheduler/scheduler_", children_, name());
  check_base_lrs();
}

}  // namespace torchclr
