#pragma once

#include <c10/util/Exception.h>
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

/// A writable view of one value per param group (C++17 has no `std::span`). Schedules write an
/// iteration's LRs and momentums through it; an empty view means "not asked for".
class GroupSpan {
 public:
  GroupSpan() = default;
  GroupSpan(double* data, size_t size) : data_(data), size_(size) {}
  GroupSpan(std::vector<double>& values)  // NOLINT(google-explicit-constructor)
      : data_(values.data()), size_(values.size()) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  double& operator[](size_t group) const {
    TORCH_INTERNAL_ASSERT_DEBUG_ONLY(group < size_);
    return data_[group];
  }

 private:
  double* data_ = nullptr;
  size_t size_ = 0;
};

namespace detail {
struct SchedulerAccess;  // lets composites drive their children (csrc/composite.h)
}  // namespace detail

/// Base class of every torchclr scheduler.
///
/// A torchclr schedule is a pure function of the iteration t: `lr_at(t, group)` and, where
/// momentum is cycled, `momentum_at(t, group)`. This class does all the bookkeeping around it:
/// it keeps its own reference to the optimizer, writes the iteration-0 values at construction,
/// resumes at any iteration, writes LRs and momentum on every `step()`, and saves and loads.
/// (`ReduceLROnPlateau` is the one exception: its LR follows a metric, passed to `step(metric)`.)
///
/// A torchclr scheduler also works through a `torch::optim::LRScheduler&`: LibTorch's `step()`
/// then asks `get_lrs()` for the next iteration's LRs, momentum is cycled either way.
///
/// After construction the optimizer holds the values of iteration 0 (or of `last_step` when
/// resuming); after k calls of `step()` it holds those of iteration k, as in PyTorch's Python
/// schedulers. The optimizer never gets an LR that is not a finite double: constructing,
/// resuming or stepping at an iteration whose LR would overflow is an error, and the optimizer
/// keeps its last values.
///
/// Base LRs: the schedules that scale the optimizer's LR (every one but `CyclicLR` and
/// `OneCycleLR`, which set their own bounds) scale each group's *original* LR: the LR the group
/// had when the first torchclr scheduler still alive on that optimizer was built. So children
/// built one after the other for a `SequentialLR` (a warm-up first, which writes its own starting
/// LR into the optimizer) all scale the same LR, as PyTorch's `initial_lr` does. Once every
/// scheduler on an optimizer is destroyed, the next one records the LRs afresh.
class Scheduler : public torch::optim::LRScheduler {
 public:
  ~Scheduler() override;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Moves to the next iteration and writes its values into the optimizer. The same as LibTorch's
  /// `LRScheduler::step()` (which a `torch::optim::LRScheduler&` calls, to the same effect),
  /// without its allocation and with one pass over the param groups.
  void step();

  /// Moves to the next iteration with the value a metric-driven schedule monitors (validation
  /// loss, accuracy): `ReduceLROnPlateau`, or a `SequentialLR` that holds one (the metric is not
  /// used while another of its schedules runs). An error for a schedule that takes no metric, and
  /// for a NaN metric.
  void step(double metric);

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

  /// Each param group's original LR, which the schedule scales (see the class comment).
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  /// The class name written into checkpoints and error messages ("CyclicLR", ...).
  const std::string& name() const { return name_; }

  /// The number of param groups this scheduler drives.
  size_t num_groups() const { return num_groups_; }

  /// Writes the iteration, the base LRs and the options that define the schedule, with the type
  /// name, the number of param groups and a format version.
  void save(torch::serialize::OutputArchive& archive) const;

  /// Restores a checkpoint written by `save()` of a scheduler of the same type with the same
  /// number of param groups, then writes that iteration's LRs (and momentum) into the optimizer:
  /// `Optimizer::load` does not restore LRs, this does. A checkpoint that cannot be loaded is an
  /// error that leaves the scheduler and the optimizer as they were.
  void load(torch::serialize::InputArchive& archive);

 protected:
  Scheduler(torch::optim::Optimizer& optimizer, std::string name);

  /// Sets the iteration to `last_step` (-1: start, k >= 0: resume at k), checks that the
  /// optimizer has a momentum where the schedule cycles it, and writes the iteration's values into
  /// the optimizer. Derived constructors call this last, once their options are validated.
  void start(int64_t last_step);

  /// Declares that every iteration takes the metric (`needs_metric(t)` is always true) and that
  /// `check_iteration(t)` accepts every t, so that `step(metric)` need not ask: ReduceLROnPlateau,
  /// whose whole step is one comparison, calls it in its constructor.
  void set_metric_at_every_step() { metric_at_every_step_ = true; }

  /// Writes the current iteration's values into the optimizer again, after an option changed.
  void write_current() { apply(last_step()); }

  /// Per-group values of an option, size checked against the optimizer's param groups.
  std::vector<double> per_group(const GroupValues& values, const char* option) const;

  /// Checks that every base LR is positive and finite (schedules that scale them call it).
  void check_base_lrs() const;

  torch::optim::Optimizer& optimizer() const { return optimizer_; }

 private:
  /// The schedule at iteration t: one LR per param group into `lrs` and, when `momentums` is not
  /// empty, one momentum per group into `momentums`. Work shared by the groups is done once.
  virtual void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const = 0;
  /// Whether this scheduler writes momentum into the optimizer.
  virtual bool cycles_momentum() const { return false; }
  /// Throws when iteration `t` is outside the schedule (1cycle past its total steps).
  virtual void check_iteration(int64_t /*t*/) const {}
  /// Whether `step(metric)` feeds this schedule (ReduceLROnPlateau and composites holding one).
  virtual bool takes_metric() const { return false; }
  /// Whether iteration `t` can only be reached through `step(metric)`.
  virtual bool needs_metric(int64_t /*t*/) const { return takes_metric(); }
  /// Takes the metric of the step to iteration `t` (called only where `needs_metric(t)`); returns
  /// whether the step must compute and write the schedule's values. False only where they are
  /// unchanged and the optimizer's are left as they are: ReduceLROnPlateau between reductions,
  /// as PyTorch's (construction and `load()` always write).
  virtual bool observe(int64_t /*t*/, double /*metric*/) { return true; }
  virtual void save_options(torch::serialize::OutputArchive& archive) const = 0;
  /// Reads and validates the options written by `save_options`. It may throw part-way: `load()`
  /// then puts the whole scheduler back as it was.
  virtual void load_options(torch::serialize::InputArchive& archive) = 0;

  /// Called by `LRScheduler::step()` before it increments the iteration: validates iteration
  /// t + 1, writes its momentum and returns its LRs (which the base class writes).
  std::vector<double> get_lrs() final;

  int64_t next_iteration() const;
  /// step(metric) at an iteration whose schedule takes no metric (a SequentialLR's warm-up).
  C10_NOINLINE void step_unmonitored(int64_t t, double metric);
  [[noreturn]] C10_NOINLINE void step_counter_full() const;
  [[noreturn]] C10_NOINLINE void group_count_changed() const;
  void require_momentum() const;
  std::vector<double> optimizer_lrs() const;
  void check_group_count() const;
  void check_group_index(int64_t t, size_t group) const;
  /// Throws when an LR of iteration t is not finite: the last line of defence for schedules
  /// whose options pass every check but whose LRs overflow together (a ChainedScheduler of two
  /// growing factors, a LambdaLR factor times a large LR).
  void check_finite_lrs(int64_t t, const std::vector<double>& lrs) const;
  /// Computes iteration t into `lrs` (an error, before anything is written, when one is not
  /// finite) and writes its momentum into the optimizer.
  void compute_and_write_momentum(int64_t t, std::vector<double>& lrs);
  /// Writes iteration t's values into the optimizer and makes it the current iteration.
  void apply(int64_t t);
  /// Checks the type, format version and group count of a checkpoint; returns its iteration.
  int64_t read_header(torch::serialize::InputArchive& archive, int64_t* version) const;
  /// Everything `load()` restores, without writing into the optimizer.
  void load_state(torch::serialize::InputArchive& archive);

  friend struct detail::SchedulerAccess;

  torch::optim::Optimizer& optimizer_;
  std::string name_;
  size_t num_groups_;
  std::vector<double> base_lrs_;
  std::vector<double> step_lrs_, momentums_;  // reused by every step
  bool metric_at_every_step_ = false;
};

/// A schedule of the form lr = base_lr * factor(t), the form `ChainedScheduler` multiplies:
/// `StepLR`, `MultiStepLR`, `ConstantLR`, `LinearLR`, `ExponentialLR`, `PolynomialLR`, `LambdaLR`.
class FactorScheduler : public Scheduler {
 protected:
  using Scheduler::Scheduler;

 private:
  /// Multiplies each group's value by the schedule's factor at iteration t.
  virtual void multiply_factors(int64_t t, GroupSpan values) const = 0;
  void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const final;

  friend struct detail::SchedulerAccess;
};

/// `archive << scheduler` and `archive >> scheduler`, so that `torch::save(scheduler, path)` and
/// `torch::load(scheduler, path)` work as they do for optimizers.
torch::serialize::OutputArchive& operator<<(torch::serialize::OutputArchive& archive,
                                            const Scheduler& scheduler);
torch::serialize::InputArchive& operator>>(torch::serialize::InputArchive& archive,
                                           Scheduler& scheduler);

}  // namespace torchclr
