#include <c10/macros/Macros.h>
#include <c10/util/Exception.h>
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>
#include <torchclr/momentum.h>
#include <torchclr/scheduler.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <sstream>
#include <typeinfo>
#include <unordered_map>
#include <utility>

#include "archive.h"
#include "validate.h"

namespace torchclr {
namespace {

// Version 2 added the base LRs under kBaseLrKey (version 1 kept them under a per-type key, and
// only for the types that scale them).
constexpr int64_t kFormatVersion = 2;
const char* const kTypeKey = "torchclr/type";
const char* const kVersionKey = "torchclr/version";
const char* const kGroupsKey = "torchclr/num_groups";
const char* const kStepKey = "torchclr/last_step";
const char* const kBaseLrKey = "torchclr/base_lr";

/// Where a version-1 checkpoint kept the base LRs, for the types that had them.
const char* legacy_base_lr_key(const std::string& type) {
  if (type == "MultiStepLR") return "multi_step_lr/base_lr";
  if (type == "ExponentialLR") return "exponential_lr/base_lr";
  if (type == "LinearLR") return "linear_lr/base_lr";
  return nullptr;
}

/// Each optimizer's original LRs: recorded by the first torchclr scheduler built on it, shared by
/// every scheduler built on it while one of them is alive (PyTorch keeps `initial_lr` in the
/// param group for the same purpose; LibTorch's param group options have no room for it).
class OriginalLrs {
 public:
  static OriginalLrs& instance() {
    static OriginalLrs registry;
    return registry;
  }

  /// Registers one more scheduler on `optimizer`; returns the original LRs of its groups
  /// (`current` for the first scheduler, and for groups added since).
  std::vector<double> attach(const torch::optim::Optimizer* optimizer,
                             const std::vector<double>& current) {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& entry = entries_[optimizer];
    ++entry.schedulers;
    for (size_t g = entry.lrs.size(); g < current.size(); ++g) entry.lrs.push_back(current[g]);
    return std::vector<double>(entry.lrs.begin(), entry.lrs.begin() + current.size());
  }

  void detach(const torch::optim::Optimizer* optimizer) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = entries_.find(optimizer);
    if (it != entries_.end() && --it->second.schedulers == 0) entries_.erase(it);
  }

 private:
  struct Entry {
    std::vector<double> lrs;
    size_t schedulers = 0;
  };
  std::mutex mutex_;
  std::unordered_map<const torch::optim::Optimizer*, Entry> entries_;
};

// An optimizer's param groups, read from the optimizer: `Optimizer::param_groups()` is exported
// out of line, and the member it returns is protected (as for GroupOptions below).
struct OptimizerGroups : torch::optim::Optimizer {
  static const std::vector<torch::optim::OptimizerParamGroup>& of(
      const torch::optim::Optimizer& optimizer) {
    return optimizer.*(&OptimizerGroups::param_groups_);
  }
};

// A param group's options, read from the group. LibTorch's `OptimizerParamGroup::options()` is an
// exported out-of-line function that calls another (`has_options()`): with 64 groups the two
// calls were two thirds of a step. The member they return is protected, and a derived type may
// name it.
struct GroupOptions : torch::optim::OptimizerParamGroup {
  static torch::optim::OptimizerOptions& of(torch::optim::OptimizerParamGroup& group) {
    const auto& options = group.*(&GroupOptions::options_);
    if (C10_UNLIKELY(options == nullptr)) missing();
    return *options;
  }
  [[noreturn]] C10_NOINLINE static void missing() {
    TORCH_CHECK(false, "torchclr: expected a param group with options, but got one without");
  }
};

// Writes a group's LR. `OptimizerOptions::set_lr` is virtual, and each LibTorch optimizer's
// override is an exported out-of-line function that calls the inline setter of its `lr` option;
// with 64 groups those calls were half a step. LibTorch's own option types, matched exactly (a
// user's subclass keeps its own set_lr), get the inline setter directly. The check compares
// type_info addresses, one load fewer than `==` (which compares their names): each of these types
// has its type_info in LibTorch's library alone, and were one ever not unique, the check would
// only miss and fall back to set_lr.
template <typename Options>
bool set_lr_as(torch::optim::OptimizerOptions& options, const std::type_info& type, double lr) {
  if (&type != &typeid(Options)) return false;
  static_cast<Options&>(options).lr(lr);
  return true;
}

void write_lr(torch::optim::OptimizerOptions& options, double lr) {
  const std::type_info& type = typeid(options);
  if (set_lr_as<torch::optim::SGDOptions>(options, type, lr) ||
      set_lr_as<torch::optim::AdamOptions>(options, type, lr) ||
      set_lr_as<torch::optim::AdamWOptions>(options, type, lr) ||
      set_lr_as<torch::optim::RMSpropOptions>(options, type, lr) ||
      set_lr_as<torch::optim::AdagradOptions>(options, type, lr)) {
    return;
  }
  options.set_lr(lr);
}

std::string serialize(const Scheduler& scheduler) {
  torch::serialize::OutputArchive archive;
  scheduler.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

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
  base_lrs_ = OriginalLrs::instance().attach(&optimizer_, optimizer_lrs());
}

Scheduler::~Scheduler() { OriginalLrs::instance().detach(&optimizer_); }

std::vector<double> Scheduler::per_group(const GroupValues& values, const char* option) const {
  return values.expand(num_groups_, name_.c_str(), option);
}

void Scheduler::check_base_lrs() const {
  detail::check_positive_lrs(name_, "the optimizer's lr", base_lrs_);
}

std::vector<double> Scheduler::optimizer_lrs() const {
  check_group_count();
  std::vector<double> lrs;
  lrs.reserve(num_groups_);
  for (auto& group : optimizer_.param_groups()) {
    lrs.push_back(GroupOptions::of(group).get_lr());
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

C10_ALWAYS_INLINE void Scheduler::check_group_count() const {
  if (C10_UNLIKELY(OptimizerGroups::of(optimizer_).size() != num_groups_)) group_count_changed();
}

void Scheduler::group_count_changed() const {
  TORCH_CHECK(false, name_, ": expected the optimizer to keep its ", num_groups_,
              " param groups, but it now has ", optimizer_.param_groups().size());
}

void Scheduler::start(int64_t last_step) {
  TORCH_CHECK(last_step >= -1, name_, ": expected last_step >= -1, but got ", last_step);
  TORCH_CHECK(last_step <= std::numeric_limits<unsigned>::max(), name_,
              ": expected last_step to fit the step counter, but got ", last_step);
  const int64_t t = last_step < 0 ? 0 : last_step;
  check_iteration(t);
  if (cycles_momentum()) {
    require_momentum();
  }
  apply(t);
}

void Scheduler::check_finite_lrs(int64_t t, const std::vector<double>& lrs) const {
  // One pass without branches first, over the exponent bits (all ones: inf or NaN), which
  // vectorises: the error is the rare case.
  constexpr uint64_t kExponent = 0x7ff0000000000000;
  uint64_t any_not_finite = 0;
  for (const double lr : lrs) {
    uint64_t bits;
    std::memcpy(&bits, &lr, sizeof bits);
    any_not_finite |= static_cast<uint64_t>((bits & kExponent) == kExponent);
  }
  if (C10_LIKELY(any_not_finite == 0)) return;
  for (size_t g = 0; g < lrs.size(); ++g) {
    TORCH_CHECK(std::isfinite(lrs[g]), name_, ": expected a finite LR at every iteration, but ",
                "param group ", g, "'s LR at iteration ", t, " is ", lrs[g],
                "; the optimizer keeps its last finite LR");
  }
}

void Scheduler::compute_and_write_momentum(int64_t t, std::vector<double>& lrs) {
  check_group_count();
  lrs.resize(num_groups_);
  if (!cycles_momentum()) {
    compute(t, lrs, GroupSpan());
    check_finite_lrs(t, lrs);
    return;
  }
  momentums_.resize(num_groups_);
  compute(t, lrs, momentums_);
  check_finite_lrs(t, lrs);
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < num_groups_; ++g) {
    set_momentum(GroupOptions::of(groups[g]), momentums_[g]);
  }
}

void Scheduler::apply(int64_t t) {
  compute_and_write_momentum(t, step_lrs_);
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < num_groups_; ++g) {
    write_lr(GroupOptions::of(groups[g]), step_lrs_[g]);
  }
  step_count_ = static_cast<unsigned>(t);
}

C10_ALWAYS_INLINE int64_t Scheduler::next_iteration() const {
  if (C10_UNLIKELY(step_count_ == std::numeric_limits<unsigned>::max())) step_counter_full();
  return static_cast<int64_t>(step_count_) + 1;
}

void Scheduler::step_counter_full() const {
  TORCH_CHECK(false, name_, ": expected fewer steps than the step counter holds, but got ",
              step_count_);
}

void Scheduler::step() {
  const int64_t t = next_iteration();
  TORCH_CHECK(!needs_metric(t), name_, ": expected step(metric) with the value to monitor at ",
              "iteration ", t, ", but got step() without one");
  check_iteration(t);
  apply(t);
}

std::vector<double> Scheduler::get_lrs() {
  const int64_t t = next_iteration();
  TORCH_CHECK(!needs_metric(t), name_, ": expected step(metric) with the value to monitor at ",
              "iteration ", t, ", but got step() without one");
  check_iteration(t);
  std::vector<double> lrs;
  compute_and_write_momentum(t, lrs);
  return lrs;  // LRScheduler::step() writes them and moves the iteration on
}

void Scheduler::step(double metric) {
  const int64_t t = next_iteration();
  if (!metric_at_every_step_) {
    if (C10_UNLIKELY(!needs_metric(t))) {
      step_unmonitored(t, metric);
      return;
    }
    // needs_metric(t) implies takes_metric().
    check_iteration(t);
  }
  check_group_count();
  // A reduce hook may run in observe(): every rank gets this far alike.
  if (observe(t, metric)) {
    apply(t);
  } else {
    step_count_ = static_cast<unsigned>(t);  // the optimizer holds this iteration's LRs
  }
}

void Scheduler::step_unmonitored(int64_t t, double metric) {
  TORCH_CHECK(takes_metric(), name_, ": expected step() (this schedule is a function of the ",
              "iteration and takes no metric), but got step(", metric, ")");
  check_iteration(t);
  TORCH_CHECK(!std::isnan(metric), name_, ": expected a metric that is not NaN, but got nan");
  apply(t);
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
  compute(t, lrs, GroupSpan());
  return lrs[group];
}

double Scheduler::momentum_at(int64_t t, size_t group) const {
  check_group_index(t, group);
  TORCH_CHECK(cycles_momentum(), name_, ": expected a scheduler that cycles momentum, but this ",
              "one does not");
  std::vector<double> lrs(num_groups_), momentums(num_groups_);
  compute(t, lrs, momentums);
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
  detail::write_doubles(archive, kBaseLrKey, base_lrs_);
  save_options(archive);
}

int64_t Scheduler::read_header(torch::serialize::InputArchive& archive, int64_t* version) const {
  c10::IValue type;
  TORCH_CHECK(archive.try_read(kTypeKey, type) && type.isString(), name_,
              ": expected a torchclr scheduler checkpoint, but the archive has no '", kTypeKey,
              "' entry");
  TORCH_CHECK(type.toStringRef() == name_, name_, ": expected a checkpoint of a ", name_,
              ", but got one of a ", type.toStringRef());
  *version = detail::read_int(archive, kVersionKey, name_);
  TORCH_CHECK(*version >= 1 && *version <= kFormatVersion, name_,
              ": expected a checkpoint format version between 1 and ", kFormatVersion, ", but got ",
              *version);
  const int64_t groups = detail::read_int(archive, kGroupsKey, name_);
  TORCH_CHECK(groups == static_cast<int64_t>(num_groups_), name_, ": expected a checkpoint for ",
              num_groups_, " param groups, but got one for ", groups);
  const int64_t step = detail::read_int(archive, kStepKey, name_);
  TORCH_CHECK(step >= 0 && step <= std::numeric_limits<unsigned>::max(), name_,
              ": expected a checkpoint step >= 0, but got ", step);
  return step;
}

void Scheduler::load_state(torch::serialize::InputArchive& archive) {
  int64_t version = 0;
  const int64_t step = read_header(archive, &version);
  if (version >= 2) {
    base_lrs_ = detail::read_group_doubles(archive, kBaseLrKey, name_, num_groups_);
  } else if (const char* key = legacy_base_lr_key(name_)) {
    base_lrs_ = detail::read_group_doubles(archive, key, name_, num_groups_);
  }
  load_options(archive);
  check_iteration(step);
  if (cycles_momentum()) {
    require_momentum();
  }
  step_count_ = static_cast<unsigned>(step);
}

void Scheduler::load(torch::serialize::InputArchive& archive) {
  int64_t version = 0;
  read_header(archive, &version);  // a checkpoint of something else changes nothing
  const std::string snapshot = serialize(*this);
  try {
    load_state(archive);
    apply(last_step());  // computes every value before it writes any
  } catch (...) {
    torch::serialize::InputArchive previous;
    std::istringstream bytes(snapshot);
    previous.load_from(bytes);
    load_state(previous);
    throw;
  }
}

void FactorScheduler::compute(int64_t t, GroupSpan lrs, GroupSpan /*momentums*/) const {
  const auto& base = base_lrs();
  for (size_t g = 0; g < lrs.size(); ++g) lrs[g] = base[g];
  multiply_factors(t, lrs);
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
