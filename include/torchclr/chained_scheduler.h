#pragma once

#include <torchclr/scheduler.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace torchclr {

/// The product of several schedules, as PyTorch's `ChainedScheduler`: lr = base * the product of
/// the children's factors at t. Every child must have the form lr = base * factor(t) (a
/// `FactorScheduler`: StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR,
/// LambdaLR, or another ChainedScheduler); any other is an error, where PyTorch would multiply
/// recursive forms that no longer mean what they say.
///
/// Build the children first, on the same optimizer; step only the ChainedScheduler. A checkpoint
/// holds the children's.
///
/// Example (a third of the LR for 5 iterations, and x0.95 every iteration):
/// ```
/// auto constant = std::make_shared<torchclr::ConstantLR>(optimizer,
/// torchclr::ConstantLROptions()); auto decay =
/// std::make_shared<torchclr::ExponentialLR>(optimizer,
///                                                        torchclr::ExponentialLROptions(0.95));
/// torchclr::ChainedScheduler scheduler(optimizer, {constant, decay});
/// ```
class ChainedScheduler : public FactorScheduler {
 public:
  ChainedScheduler(torch::optim::Optimizer& optimizer,
                   std::vector<std::shared_ptr<Scheduler>> schedulers, int64_t last_step = -1);

  const std::vector<std::shared_ptr<Scheduler>>& schedulers() const { return children_; }

 private:
  void multiply_factors(int64_t t, GroupSpan values) const override;
  void check_iteration(int64_t t) const override;
  void save_options(torch::serialize::OutputArchive& archive) const override;
  void load_options(torch::serialize::InputArchive& archive) override;

  std::vector<std::shared_ptr<Scheduler>> children_;
  std::vector<const FactorScheduler*> factors_;  // the children, as what they are
};

}  // namespace torchclr
