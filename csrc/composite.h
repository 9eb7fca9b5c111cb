#pragma once

// What SequentialLR and ChainedScheduler need of their children (not installed).

#include <torchclr/scheduler.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace torchclr {
namespace detail {

struct SchedulerAccess {
  static void compute(const Scheduler& s, int64_t t, GroupSpan lrs, GroupSpan momentums) {
    s.compute(t, lrs, momentums);
  }
  static bool cycles_momentum(const Scheduler& s) { return s.cycles_momentum(); }
  static void check_iteration(const Scheduler& s, int64_t t) { s.check_iteration(t); }
  static bool takes_metric(const Scheduler& s) { return s.takes_metric(); }
  static bool needs_metric(const Scheduler& s, int64_t t) { return s.needs_metric(t); }
  static bool observe(Scheduler& s, int64_t t, double metric) { return s.observe(t, metric); }
  static void load_state(Scheduler& s, torch::serialize::InputArchive& archive) {
    s.load_state(archive);
  }
  static const torch::optim::Optimizer* optimizer(const Scheduler& s) { return &s.optimizer_; }
  static void multiply_factors(const FactorScheduler& s, int64_t t, GroupSpan values) {
    s.multiply_factors(t, values);
  }
};

using Children = std::vector<std::shared_ptr<Scheduler>>;

/// Checks that there is at least one child, none is null, and all were built on `optimizer`.
void check_children(const std::string& owner, const torch::optim::Optimizer& optimizer,
                    const Children& children);

/// Writes each child's checkpoint under `prefix` + its index.
void save_children(torch::serialize::OutputArchive& archive, const std::string& prefix,
                   const Children& children);

/// Restores each child's state (not the optimizer) from the checkpoints `save_children` wrote.
void load_children(torch::serialize::InputArchive& archive, const std::string& prefix,
                   const Children& children, const std::string& owner);

}  // namespace detail
}  // namespace torchclr
