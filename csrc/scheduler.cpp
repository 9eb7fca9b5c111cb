#include <c10/util/Exception.h>
#include <torchclr/momentum.h>
#include <torchclr/scheduler.h>

#include <limits>
#include <sstream>
#include <utility>

#include "archive.h"

namespace torchclr {
namespace {

constexpr int64_t kFormatVersion = 1;
const char* const kTypeKey = "torchclr/type";
const char* const kVersionKey = "torchclr/version";
const char* const kGroupsKey = "torchclr/num_groups";
const char* const kStepKey = "torchclr/last_step";

}  // namespace

std::vector<double> GroupValues::expand(size_t num_groups, const char* owner,
                                        const char* name) const {
  if (values_.size() == 1) {
    return std::vector<double>(num_groups, values_.front());
  }
  TORCH_CHECK(values_.size() == num_groups, owner, ": expected ", name,
              " to have 1 value or one per param group (", num_groups, "), but got ",
              values_.size(), " values");
  return values_;
}

Scheduler::Scheduler(torch::optim::Optimizer& optimizer, std::string name)
    : torch::optim::LRScheduler(optimizer),
      optimizer_(optimizer),
      name_(std::move(name)),
      num_groups_(optimizer.param_groups().size()) {
  TORCH_CHECK(num_groups_ > 0, name_, ": expected an optimizer with at least one param group, ",
              "but got none");
}

std::vector<double> Scheduler::per_group(const GroupValues& values, const char* option) const {
  return values.expand(num_groups_, name_.c_str(), option);
}

std::vector<double> Scheduler::optimizer_lrs() const {
  check_group_count();
  std::vector<double> lrs;
  lrs.reserve(num_groups_);
  for (const auto& group : optimizer_.param_groups()) {
    lrs.push_back(group.options().get_lr());
  }
  return lrs;
}

void Scheduler::require_momentum() const {
  for (const auto& group : optimizer_.param_groups()) {
    TORCH_CHECK(has_momentum(group.options()), name_,
                ": expected an optimizer with a momentum to cycle (SGD or RMSprop 'momentum', "
                "Adam or AdamW 'betas'), but got one without; pass cycle_momentum(false)");
  }
}

void Scheduler::check_group_count() const {
  TORCH_CHECK(optimizer_.param_groups().size() == num_groups_, name_, ": expected the optimizer ",
              "to keep its ", num_groups_, " param groups, but it now has ",
              optimizer_.param_groups().size());
}

void Scheduler::start(int64_t last_step) {
  TORCH_CHECK(last_step >= -1, name_, ": expected last_step >= -1, but got ", last_step);
  TORCH_CHECK(last_step <= std::numeric_limits<unsigned>::max(), name_,
              ": expected last_step to fit the step counter, but got ", last_step);
  const int64_t t = last_step < 0 ? 0 : last_step;
  check_iteration(t);
  apply(t);
}

std::vector<double> Scheduler::compute_and_write_momentum(int64_t t) {
  check_group_count();
  std::vector<double> lrs(num_groups_);
  if (!cycles_momentum()) {
    compute(t, lrs.data(), nullptr);
    return lrs;
  }
  momentums_.resize(num_groups_);
  compute(t, lrs.data(), momentums_.data());
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < num_groups_; ++g) {
    set_momentum(groups[g].options(), momentums_[g]);
  }
  return lrs;
}

void Scheduler::apply(int64_t t) {
  const std::vector<double> lrs = compute_and_write_momentum(t);
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < num_groups_; ++g) {
    groups[g].options().set_lr(lrs[g]);
  }
  step_count_ = static_cast<unsigned>(t);
}

std::vector<double> Scheduler::get_lrs() {
  TORCH_CHECK(step_count_ < std::numeric_limits<unsigned>::max(), name_,
              ": expected fewer steps than the step counter holds, but got ", step_count_);
  const int64_t t = static_cast<int64_t>(step_count_) + 1;
  check_iteration(t);
  return compute_and_write_momentum(t);  // LRScheduler::step() writes the LRs
}

std::vector<double> Scheduler::get_last_lr() const { return optimizer_lrs(); }

void Scheduler::check_group_index(int64_t t, size_t group) const {
  TORCH_CHECK(t >= 0, name_, ": expected an iteration >= 0, but got ", t);
  TORCH_CHECK(group < num_groups_, name_, ": expected a param group index below ", num_groups_,
              ", but got ", group);
}

double Scheduler::lr_at(int64_t t, size_t group) const {
  check_group_index(t, group);
  std::vector<double> lrs(num_groups_);
  compute(t, lrs.data(), nullptr);
  return lrs[group];
}

double Scheduler::momentum_at(int64_t t, size_t group) const {
  check_group_index(t, group);
  TORCH_CHECK(cycles_momentum(), name_, ": expected a scheduler that cycles momentum, but this ",
              "one does not");
  std::vector<double> lrs(num_groups_), momentums(num_groups_);
  compute(t, lrs.data(), momentums.data());
  return momentums[group];
}

std::vector<double> Scheduler::get_last_momentum() const {
  check_group_count();
  std::vector<double> momentums;
  momentums.reserve(num_groups_);
  for (const auto& group : optimizer_.param_groups()) {
    momentums.push_back(get_momentum(group.options()));
  }
  return momentums;
}

void Scheduler::save(torch::serialize::OutputArchive& archive) const {
  archive.write(kTypeKey, c10::IValue(name_));
  detail::write_int(archive, kVersionKey, kFormatVersion);
  detail::write_int(archive, kGroupsKey, static_cast<int64_t>(num_groups_));
  detail::write_int(archive, kStepKey, last_step());
  save_options(archive);
}

void Scheduler::load(torch::serialize::InputArchive& archive) {
  c10::IValue type;
  TORCH_CHECK(archive.try_read(kTypeKey, type) && type.isString(), name_,
              ": expected a torchclr scheduler checkpoint, but the archive has no '", kTypeKey,
              "' entry");
  TORCH_CHECK(type.toStringRef() == name_, name_, ": expected a checkpoint of a ", name_,
              ", but got one of a ", type.toStringRef());
  const int64_t version = detail::read_int(archive, kVersionKey, name_);
  TORCH_CHECK(version >= 1 && version <= kFormatVersion, name_,
              ": expected a checkpoint format version between 1 and ", kFormatVersion, ", but got ",
              version);
  const int64_t groups = detail::read_int(archive, kGroupsKey, name_);
  TORCH_CHECK(groups == static_cast<int64_t>(num_groups_), name_, ": expected a checkpoint for ",
              num_groups_, " param groups, but got one for ", groups);
  const int64_t step = detail::read_int(archive, kStepKey, name_);
  TORCH_CHECK(step >= 0 && step <= std::numeric_limits<unsigned>::max(), name_,
              ": expected a checkpoint step >= 0, but got ", step);
  // load_options() rolls its own reads back when one fails. What comes after it can fail too
  // (the step past the loaded schedule's end, an optimizer whose group count changed): then the
  // options this scheduler had before are loaded back, from a copy saved here.
  torch::serialize::OutputArchive previous;
  save_options(previous);
  load_options(archive);
  try {
    check_iteration(step);
    apply(step);
  } catch (...) {
    std::stringstream bytes;
    previous.save_to(bytes);
    torch::serialize::InputArchive restore;
    restore.load_from(bytes);
    load_options(restore);
    throw;
  }
}

torch::serialize::OutputArchive& operator<<(torch::serialize::OutputArchive& archive,
                                            const Scheduler& scheduler) {
  scheduler.save(archive);
  return archive;
}

torch::serialize::InputArchive& operator>>(torch::serialize::InputArchive& archive,
                                           Scheduler& scheduler) {
  scheduler.load(archive);
  return archive;
}

}  // namespace torchclr
