#pragma once

#include <torchclr/scheduler.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace torchclr {

/// Runs schedules one after the other, as PyTorch's `SequentialLR`: schedule i runs from
/// milestone i-1 (0 for the first) to milestone i, restarted at its own iteration 0.
///
/// Build the children first, on the same optimizer, in order; each scales the param groups'
/// original LRs (`Scheduler::base_lrs()`), even after a warm-up built before it has written its
/// own starting LR. Step only the SequentialLR. A checkpoint holds the children's, and resuming
/// (`last_step` or `load()`) at any iteration gives the values of the uninterrupted run.
///
/// Example (500 iterations of linear warm-up, then cosine over the remaining 9,500):
/// ```
/// auto warmup = std::make_shared<torchclr::LinearLR>(
///     optimizer, torchclr::LinearLROptions(500).start_factor(0.01));
/// auto cosine = std::make_shared<torchclr::CosineAnnealingLR>(
///     optimizer, torchclr::CosineAnnealingLROptions(9500));
/// torchclr::SequentialLR scheduler(optimizer, {warmup, cosine}, {500});
/// ```
///
/// A `ReduceLROnPlateau` child is fed by `step(metric)` while it runs (an error is `step()`
/// there); before, `step(metric)` moves the schedule on and leaves the metric unused. So a warm-up
/// before a plateau schedule counts in the unit of `step(metric)` calls (usually epochs).
///
/// Momentum: where the running schedule cycles momentum, its momentum; otherwise the last
/// momentum of the latest cycling schedule before it (or, if none, the first momentum of the
/// next one), which is what the optimizer holds in PyTorch's SequentialLR.
class SequentialLR : public Scheduler {
 public:
  SequentialLR(torch::optim::Optimizer& optimizer,
               std::vector<std::shared_ptr<Scheduler>> schedulers, std::vector<int64_t> milestones,
               int64_t last_step = -1);

  const std::vector<std::shared_ptr<Scheduler>>& schedulers() const { return children_; }
  /// The milestones in use; after `load()`, those of the checkpoint.
  const std::vector<int64_t>& milestones() const { return milestones_; }

 private:
  void compute(int64_t t, GroupSpan lrs, GroupSpan momentums) const override;
  bool cycles_momentum() const override;
  void check_iteration(int64_t t) const override;
  bool takes_metric() const override;
  bool needs_metric(int64_t t) const override;
  bool observe(int64_t t, double metric) override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;
  void validate() const;

  /// The schedule that runs at iteration t.
  size_t active(int64_t t) const;
  /// Iteration t of the whole as the iteration of child i.
  int64_t local(int64_t t, size_t i) const;
  /// The momentum of iteration t where the running child i does not cycle it.
  void held_momentum(size_t i, GroupSpan scratch, GroupSpan momentums) const;

  std::vector<std::shared_ptr<Scheduler>> children_;
  std::vector<int64_t> milestones_;
};

}  // namespace torchclr
