// SequentialLR and ChainedScheduler as users write them: children built in order on the same
// optimizer (a warm-up first), resumed and checkpointed at any iteration, a warm-up before
// ReduceLROnPlateau, momentum across children, nesting.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fixture.h"

namespace torchclr_test {
namespace {

using namespace torchclr;  // NOLINT(google-build-using-namespace)
using Children = std::vector<std::shared_ptr<Scheduler>>;

// Warm-up over 5, cosine over 20, then step decay: built in the order users write them.
std::unique_ptr<SequentialLR> three_phases(torch::optim::Optimizer& optimizer, int64_t last_step) {
  auto warmup = std::make_shared<LinearLR>(optimizer, LinearLROptions(5).start_factor(0.1));
  auto cosine =
      std::make_shared<CosineAnnealingLR>(optimizer, CosineAnnealingLROptions(20).eta_min(0.01));
  auto steps = std::make_shared<StepLR>(optimizer, StepLROptions(4).gamma(0.5));
  return std::make_unique<SequentialLR>(optimizer, Children{warmup, cosine, steps},
                                        std::vector<int64_t>{5, 25}, last_step);
}

TEST(SequentialLR, EveryChildScalesTheOriginalLrWhateverTheBuildOrder) {
  auto opt = make_optimizer("sgd", {0.1, 0.2});
  auto scheduler = three_phases(*opt.optimizer, -1);
  EXPECT_DOUBLE_EQ(scheduler->lr_at(0, 1), 0.02);  // warm-up from a tenth
  EXPECT_DOUBLE_EQ(scheduler->lr_at(5, 1), 0.2);   // cosine starts at the original LR
  EXPECT_DOUBLE_EQ(scheduler->lr_at(25, 0), 0.1);  // and so does the step decay
  EXPECT_DOUBLE_EQ(scheduler->lr_at(29, 0), 0.05);

  // The cosine built before the warm-up: the same schedule.
  auto other = make_optimizer("sgd", {0.1, 0.2});
  auto cosine = std::make_shared<CosineAnnealingLR>(*other.optimizer,
                                                    CosineAnnealingLROptions(20).eta_min(0.01));
  auto warmup = std::make_shared<LinearLR>(*other.optimizer, LinearLROptions(5).start_factor(0.1));
  SequentialLR reordered(*other.optimizer, {warmup, cosine}, {5});
  for (int64_t t = 0; t < 25; ++t) EXPECT_EQ(reordered.lr_at(t, 1), scheduler->lr_at(t, 1)) << t;
}

TEST(SequentialLR, ResumedAtAnyIterationEqualsTheUninterruptedRunBitwise) {
  auto stepped_opt = make_optimizer("sgd", {0.1, 0.2});
  auto stepped = three_phases(*stepped_opt.optimizer, -1);
  for (int64_t k = 0; k < 40; ++k) {
    auto resumed_opt = make_optimizer("sgd", {0.1, 0.2});
    auto resumed = three_phases(*resumed_opt.optimizer, k);
    ASSERT_EQ(resumed->get_last_lr(), stepped->get_last_lr()) << k;

    auto loaded_opt = make_optimizer("sgd", {0.1, 0.2});
    auto loaded = three_phases(*loaded_opt.optimizer, -1);
    load_bytes(*loaded, checkpoint_bytes(*stepped));
    ASSERT_EQ(loaded->last_step(), k);
    ASSERT_EQ(loaded->get_last_lr(), stepped->get_last_lr()) << k;
    loaded->step();
    stepped->step();
    ASSERT_EQ(loaded->get_last_lr(), stepped->get_last_lr()) << k + 1;
  }
}

TEST(SequentialLR, CheckpointHoldsTheChildrenAndTheMilestones) {
  auto a_opt = make_optimizer("sgd", {0.1});
  auto a = three_phases(*a_opt.optimizer, -1);
  for (int i = 0; i < 12; ++i) a->step();
  // Loaded into children built with other options: the checkpoint's schedule comes back.
  auto b_opt = make_optimizer("sgd", {0.1});
  auto warmup = std::make_shared<LinearLR>(*b_opt.optimizer, LinearLROptions(2));
  auto cosine = std::make_shared<CosineAnnealingLR>(*b_opt.optimizer, CosineAnnealingLROptions(7));
  auto steps = std::make_shared<StepLR>(*b_opt.optimizer, StepLROptions(1));
  SequentialLR b(*b_opt.optimizer, {warmup, cosine, steps}, {2, 9});
  load_bytes(b, checkpoint_bytes(*a));
  EXPECT_EQ(b.milestones(), (std::vector<int64_t>{5, 25}));
  EXPECT_EQ(cosine->options().t_max(), 20);
  EXPECT_EQ(steps->options().step_size(), 4);
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(b.get_last_lr(), a->get_last_lr()) << i;
    a->step();
    b.step();
  }
}

TEST(SequentialLR, WarmUpBeforeReduceLROnPlateau) {
  auto opt = make_optimizer("sgd", {0.1});
  auto warmup = std::make_shared<LinearLR>(*opt.optimizer, LinearLROptions(3).start_factor(0.25));
  auto plateau =
      std::make_shared<ReduceLROnPlateau>(*opt.optimizer, ReduceLROnPlateauOptions().patience(1));
  SequentialLR scheduler(*opt.optimizer, {warmup, plateau}, {3});
  // The same plateau schedule alone, from the original LR, fed from the milestone on.
  auto alone_opt = make_optimizer("sgd", {0.1});
  ReduceLROnPlateau alone(*alone_opt.optimizer, ReduceLROnPlateauOptions().patience(1));

  EXPECT_DOUBLE_EQ(scheduler.get_last_lr()[0], 0.025);
  scheduler.step(9.0);  // warm-up: the metric is not used
  scheduler.step(9.0);
  EXPECT_DOUBLE_EQ(scheduler.get_last_lr()[0], 0.075);
  EXPECT_EQ(plateau->best(), std::numeric_limits<double>::infinity());
  const std::vector<double> metrics = {1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88};
  for (const double metric : metrics) {
    scheduler.step(metric);
    alone.step(metric);
    ASSERT_EQ(scheduler.get_last_lr(), alone.get_last_lr()) << metric;
  }
  EXPECT_LT(scheduler.get_last_lr()[0], 0.1);  // it did reduce
  expect_error([&] { scheduler.step(); },
               "SequentialLR: expected step(metric) with the value to monitor at iteration 12, "
               "but got step() without one");
  // A checkpoint taken mid-plateau continues the same way.
  auto again_opt = make_optimizer("sgd", {0.1});
  auto warmup2 =
      std::make_shared<LinearLR>(*again_opt.optimizer, LinearLROptions(3).start_factor(0.25));
  auto plateau2 = std::make_shared<ReduceLROnPlateau>(*again_opt.optimizer,
                                                      ReduceLROnPlateauOptions().patience(1));
  SequentialLR again(*again_opt.optimizer, {warmup2, plateau2}, {3});
  load_bytes(again, checkpoint_bytes(scheduler));
  EXPECT_EQ(plateau2->best(), plateau->best());
  for (const double metric : {0.9, 0.9, 0.9, 0.1, 0.2, 0.3}) {
    scheduler.step(metric);
    again.step(metric);
    ASSERT_EQ(again.get_last_lr(), scheduler.get_last_lr());
  }
}

TEST(SequentialLR, MomentumHoldsWhereTheRunningChildDoesNotCycleIt) {
  auto opt = make_optimizer("sgd", {0.1});
  auto warmup = std::make_shared<LinearLR>(*opt.optimizer, LinearLROptions(4).start_factor(0.5));
  auto one_cycle = std::make_shared<OneCycleLR>(*opt.optimizer, OneCycleLROptions(0.1, 20));
  auto constant = std::make_shared<ConstantLR>(*opt.optimizer, ConstantLROptions().factor(1));
  SequentialLR scheduler(*opt.optimizer, {warmup, one_cycle, constant}, {4, 24});
  for (int64_t t = 0; t < 4; ++t) {  // before the cycle: its first momentum
    EXPECT_EQ(scheduler.momentum_at(t, 0), one_cycle->momentum_at(0, 0)) << t;
  }
  for (int64_t t = 4; t < 24; ++t) {
    EXPECT_EQ(scheduler.momentum_at(t, 0), one_cycle->momentum_at(t - 4, 0)) << t;
  }
  for (int64_t t = 24; t < 30; ++t) {  // after it: its last momentum
    EXPECT_EQ(scheduler.momentum_at(t, 0), one_cycle->momentum_at(19, 0)) << t;
  }
  for (int i = 0; i < 29; ++i) scheduler.step();
  EXPECT_EQ(scheduler.get_last_momentum()[0], one_cycle->momentum_at(19, 0));
}

TEST(SequentialLR, NestsAndStepsThroughLibTorchsBaseClass) {
  auto opt = make_optimizer("sgd", {0.1});
  auto warmup =
      std::make_shared<ConstantLR>(*opt.optimizer, ConstantLROptions().factor(0.5).total_iters(2));
  auto cosine = std::make_shared<CosineAnnealingLR>(*opt.optimizer, CosineAnnealingLROptions(10));
  auto inner = std::make_shared<SequentialLR>(*opt.optimizer, Children{warmup, cosine},
                                              std::vector<int64_t>{2});
  auto tail = std::make_shared<ExponentialLR>(*opt.optimizer, ExponentialLROptions(0.9));
  SequentialLR outer(*opt.optimizer, {inner, tail}, {12});
  torch::optim::LRScheduler& base = outer;
  for (int64_t t = 1; t <= 15; ++t) {
    base.step();
    const double expected = t < 2    ? 0.05
                            : t < 12 ? cosine->lr_at(t - 2, 0)
                                     : 0.1 * std::pow(0.9, t - 12);
    EXPECT_DOUBLE_EQ(outer.get_last_lr()[0], expected) << t;
  }
}

TEST(ChainedScheduler, MultipliesTheFactorsAndNests) {
  auto opt = make_optimizer("sgd", {0.1});
  auto constant =
      std::make_shared<ConstantLR>(*opt.optimizer, ConstantLROptions().factor(0.5).total_iters(10));
  auto decay = std::make_shared<ExponentialLR>(*opt.optimizer, ExponentialLROptions(0.95));
  auto chain = std::make_shared<ChainedScheduler>(*opt.optimizer, Children{constant, decay});
  auto steps = std::make_shared<StepLR>(*opt.optimizer, StepLROptions(7).gamma(0.5));
  ChainedScheduler outer(*opt.optimizer, {chain, steps});
  for (int64_t t = 0; t < 30; ++t) {
    const double expected = 0.1 * (t < 10 ? 0.5 : 1.0) * std::pow(0.95, t) * std::pow(0.5, t / 7);
    EXPECT_DOUBLE_EQ(outer.get_last_lr()[0], expected) << t;
    outer.step();
  }
  auto again_opt = make_optimizer("sgd", {0.1});
  auto c2 = std::make_shared<ConstantLR>(*again_opt.optimizer,
                                         ConstantLROptions().factor(0.5).total_iters(10));
  auto d2 = std::make_shared<ExponentialLR>(*again_opt.optimizer, ExponentialLROptions(0.95));
  auto chain2 = std::make_shared<ChainedScheduler>(*again_opt.optimizer, Children{c2, d2});
  auto s2 = std::make_shared<StepLR>(*again_opt.optimizer, StepLROptions(7).gamma(0.5));
  ChainedScheduler again(*again_opt.optimizer, {chain2, s2});
  load_bytes(again, checkpoint_bytes(outer));
  EXPECT_EQ(again.last_step(), 30);
  EXPECT_EQ(again.get_last_lr(), outer.get_last_lr());
}

}  // namespace
}  // namespace torchclr_test
