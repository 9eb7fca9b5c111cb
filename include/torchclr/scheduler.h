#pragma once

#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>
#include <torch/serialize/archive.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace torchclr {

/// One value for every param group, or one value per param group.
///
/// Converts implicitly from a `double` (replicated to every group) and from a list or vector
/// (one entry per group, size checked against the optimizer when a scheduler is built).
/// Example: `CyclicLROptions(1e-3, {6e-3, 1.2e-2})`.
class GroupValues {
 public:
  GroupValues(double value) : values_{value} {}  // NOLINT(google-explicit-constructor)
  GroupValues(std::vector<double> values)        // NOLINT(google-explicit-constructor)
      : values_(std::move(values)) {}
  GroupValues(std::initializer_list<double> values)  // NOLINT(google-explicit-constructor)
      : values_(values) {}

  /// The values as given: one entry (replicated) or one per group.
  const std::vector<double>& values() const { return values_; }

  /// One value per group for an optimizer with `num_groups` param groups. `owner` and `name`
  /// appear in the error when the size matches neither 1 nor `num_groups`.
  std::vector<double> expand(size_t num_groups, const char* owner, const char* name) const;

 private:
  std::vector<double> values_;
};

/// Base class of every torchclr scheduler.
///
/// A torchclr schedule is a pure function of the iteration t: `lr_at(t, group)` and, where
/// momentum is cycled, `momentum_at(t, group)`. This class does all the bookkeeping around it:
/// it keeps its own reference to the optimizer, writes the iteration-0 values at construction,
/// resumes at any iteration, writes LRs and momentum on every `step()`, and saves and loads.
///
/// `step()` is LibTorch's own `torch::optim::LRScheduler::step()`, so a torchclr scheduler also
/// works through a `torch::optim::LRScheduler&`: momentum is cycled either way.
///
/// After construction the optimizer holds the values of iteration 0 (or of `last_step` when
/// resuming); after k calls of `step()` it holds those of iteration k, as in PyTorch's Python
/// schedulers.
class Scheduler : public torch::optim::LRScheduler {
 public:
  ~Scheduler() override = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// The LR of each param group at the current iteration.
  std::vector<double> get_last_lr() const;

  /// The momentum (SGD/RMSprop `momentum`, Adam/AdamW `betas` first element) of each param
  /// group as the optimizer holds it now.
  std::vector<double> get_last_momentum() const;

  /// The current iteration: 0 after construction, k after k calls of `step()`.
  int64_t last_step() const { return static_cast<int64_t>(step_count_); }

  /// The schedule's LR of `group` at iteration `t`, without touching the optimizer.
  double lr_at(int64_t t, size_t group) const;

  /// The schedule's momentum of `group` at iteration `t`, without touching the optimizer; an
  /// error for a scheduler that does not cycle momentum.
  double momentum_at(int64_t t, size_t group) const;

  /// The class name written into checkpoints and error messages ("CyclicLR", ...).
  const std::string& name() const { return name_; }

  /// The number of param groups this scheduler drives.
  size_t num_groups() const { return num_groups_; }

  /// Writes the iteration and the options that define the schedule, with the type name, the
  /// number of param groups and a format version.
  void save(torch::serialize::OutputArchive& archive) const;

  /// Restores a checkpoint written by `save()` of a scheduler of the same type with the same
  /// number of param groups, then writes that iteration's LRs (and momentum) into the optimizer:
  /// `Optimizer::load` does not restore LRs, this does.
  void load(torch::serialize::InputArchive& archive);

 protected:
  Scheduler(torch::optim::Optimizer& optimizer, std::string name);

  /// Sets the iteration to `last_step` (-1: start, k >= 0: resume at k) and writes its values into
  /// the optimizer. Derived constructors call this last, once their options are validated.
  void start(int64_t last_step);

  /// Checks that the optimizer can cycle momentum; derived classes call it when asked to.
  void require_momentum() const;

  /// Per-group values of an option, size checked against the optimizer's param groups.
  std::vector<double> per_group(const GroupValues& values, const char* option) const;

  /// The optimizer's LR of each param group right now.
  std::vector<double> optimizer_lrs() const;

  torch::optim::Optimizer& optimizer() const { return optimizer_; }

 private:
  /// The schedule at iteration t: one LR per param group into `lrs` and, when `momentums` is not
  /// null, one momentum per group into `momentums`. Work shared by the groups is done once.
  virtual void compute(int64_t t, double* lrs, double* momentums) const = 0;
  /// Whether this scheduler writes momentum into the optimizer.
  virtual bool cycles_momentum() const { return false; }
  /// Throws when iteration `t` is outside the schedule (1cycle past its total steps).
  virtual void check_iteration(int64_t /*t*/) const {}
  virtual void save_options(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load_options(torch::serialize::InputArchive& archive) = 0;

  /// Called by `LRScheduler::step()` before it increments the iteration: validates iteration
  /// t + 1, writes its momentum and returns its LRs (which the base class writes).
  std::vector<double> get_lrs() final;

  void check_group_count() const;
  void check_group_index(int64_t t, size_t group) const;
  /// Computes iteration t and writes its momentum into the optimizer; returns its LRs.
  std::vector<double> compute_and_write_momentum(int64_t t);
  void apply(int64_t t);

  torch::optim::Optimizer& optimizer_;
  std::string name_;
  size_t num_groups_;
  std::vector<double> momentums_;  // reused by every step
};

/// `archive << scheduler` and `archive >> scheduler`, so that `torch::save(scheduler, path)` and
/// `torch::load(scheduler, path)` work as they do for optimizers.
torch::serialize::OutputArchive& operator<<(torch::serialize::OutputArchive& archive,
                                            const Scheduler& scheduler);
torch::serialize::InputArchive& operator>>(torch::serialize::InputArchive& archive,
                                           Scheduler& scheduler);

}  // namespace torchclr
