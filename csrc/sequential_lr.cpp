#include <torchclr/sequential_lr.h>

#include <algorithm>

#include "archive.h"
#include "composite.h"

namespace torchclr {

using detail::SchedulerAccess;

SequentialLR::SequentialLR(torch::optim::Optimizer& optimizer,
                           std::vector<std::shared_ptr<Scheduler>> schedulers,
                           std::vector<int64_t> milestones, int64_t last_step)
    : Scheduler(optimizer, "SequentialLR"),
      children_(std::move(schedulers)),
      milestones_(std::move(milestones)) {
  detail::check_children(name(), optimizer, children_);
  validate();
  start(last_step);
}

void SequentialLR::validate() const {
  TORCH_CHECK(milestones_.size() + 1 == children_.size(), name(),
              ": expected one milestone fewer than schedulers (", children_.size() - 1,
              "), but got ", milestones_.size(), " milestones");
  for (size_t i = 0; i < milestones_.size(); ++i) {
    const int64_t previous = i == 0 ? 0 : milestones_[i - 1];
    TORCH_CHECK(milestones_[i] > previous, name(), ": expected increasing milestones >= 1, but ",
                "got ", milestones_[i], " after ", previous);
  }
}

size_t SequentialLR::active(int64_t t) const {
  return static_cast<size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), t) -
                             milestones_.begin());
}

int64_t SequentialLR::local(int64_t t, size_t i) const {
  return i == 0 ? t : t - milestones_[i - 1];
}

void SequentialLR::held_momentum(size_t i, GroupSpan scratch, GroupSpan momentums) const {
  for (size_t j = i; j-- > 0;) {
    if (SchedulerAccess::cycles_momentum(*children_[j])) {
      const int64_t last = milestones_[j] - 1 - (j == 0 ? 0 : milestones_[j - 1]);
      SchedulerAccess::compute(*children_[j], last, scratch, momentums);
      return;
    }
  }
  for (size_t j = i + 1; j < children_.size(); ++j) {
    if (SchedulerAccess::cycles_momentum(*children_[j])) {
      SchedulerAccess::compute(*children_[j], 0, scratch, momentums);
      return;
    }
  }
}

void SequentialLR::compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const {
  const size_t i = active(t);
  const Scheduler& child = *children_[i];
  if (!momentums.empty() && !SchedulerAccess::cycles_momentum(child)) {
    held_momentum(i, lrs, momentums);  // lrs is scratch here: the child writes it below
    momentums = GroupSpan();
  }
  SchedulerAccess::compute(child, local(t, i), lrs, momentums);
}

bool SequentialLR::cycles_momentum() const {
  return std::any_of(children_.begin(), children_.end(),
                     [](const auto& child) { return SchedulerAccess::cycles_momentum(*child); });
}

void SequentialLR::check_iteration(int64_t t) const {
  const size_t i = active(t);
  SchedulerAccess::check_iteration(*children_[i], local(t, i));
}

bool SequentialLR::takes_metric() const {
  return std::any_of(children_.begin(), children_.end(),
                     [](const auto& child) { return SchedulerAccess::takes_metric(*child); });
}

bool SequentialLR::needs_metric(int64_t t) const {
  const size_t i = active(t);
  return SchedulerAccess::needs_metric(*children_[i], local(t, i));
}

bool SequentialLR::observe(int64_t t, double metric) {
  const size_t i = active(t);
  SchedulerAccess::observe(*children_[i], local(t, i), metric);
  // Always write: the optimizer may hold the previous schedule's LRs (a plateau's "unchanged"
  // means unchanged since its own last step, which another schedule may have overwritten).
  return true;
}

void SequentialLR::save_options(torch::serialize::OutputArchive& archive) const {
  detail::write_ints(archive, "sequential_lr/milestones", milestones_);
  detail::save_children(archive, "sequential_lr/scheduler_", children_);
}

void SequentialLR::load_options(torch::serialize::InputArchive& archive) {
  milestones_ = detail::read_ints(archive, "sequential_lr/milestones", name());
  validate();
  detail::load_children(archive, "sequential_lr/scheduler_", children_, name());
}

}  // namespace torchclr
