// Properties of the schedules beyond the CLR set and of the base class: original LRs, options
// after load, warm restarts' integer cycles, WSD's movable cooldown, LambdaLR and
// ReduceLROnPlateau checkpoints.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "fixture.h"

namespace torchclr_test {
namespace {

using namespace torchclr;  // NOLINT(google-build-using-namespace)

TEST(Scheduler, BuiltAfterAWarmUpTakesTheGroupsOriginalLr) {
  auto opt = make_optimizer("sgd", {0.1, 0.3});
  LinearLR warmup(*opt.optimizer, LinearLROptions(5).start_factor(0.1));
  EXPECT_DOUBLE_EQ(warmup.get_last_lr()[0], 0.01);  // the warm-up wrote its starting LR
  CosineAnnealingLR cosine(*opt.optimizer, CosineAnnealingLROptions(10));
  EXPECT_EQ(cosine.base_lrs(), (std::vector<double>{0.1, 0.3}));
  EXPECT_EQ(cosine.get_last_lr(), (std::vector<double>{0.1, 0.3}));
}

TEST(Scheduler, RecordsTheLrsAfreshOnceEverySchedulerOnTheOptimizerIsGone) {
  auto opt = make_optimizer("sgd", {0.1});
  { ExponentialLR first(*opt.optimizer, ExponentialLROptions(0.5)); }
  opt.optimizer->param_groups()[0].options().set_lr(0.7);
  ExponentialLR second(*opt.optimizer, ExponentialLROptions(0.5));
  EXPECT_EQ(second.base_lrs()[0], 0.7);
  auto other = make_optimizer("sgd", {0.2});  // another optimizer has its own record
  StepLR third(*other.optimizer, StepLROptions(3));
  EXPECT_EQ(third.base_lrs()[0], 0.2);
}

TEST(Scheduler, OptionsAfterLoadAreThoseOfTheCheckpoint) {
  auto a_opt = make_optimizer("sgd", {0.1, 0.1});
  CyclicLR a(*a_opt.optimizer,
             CyclicLROptions({1e-3, 2e-3}, 6e-3).step_size_up(4).step_size_down(9));
  auto b_opt = make_optimizer("sgd", {0.1, 0.1});
  CyclicLR b(*b_opt.optimizer, CyclicLROptions(1e-2, 5e-2).step_size_up(3));
  EXPECT_EQ(*b.options().step_size_down(), 3);  // resolved at construction
  load_bytes(b, checkpoint_bytes(a));
  EXPECT_EQ(b.options().base_lr().values(), (std::vector<double>{1e-3, 2e-3}));
  EXPECT_EQ(b.options().max_lr().values(), (std::vector<double>{6e-3, 6e-3}));
  EXPECT_EQ(*b.options().step_size_down(), 9);

  auto c_opt = make_optimizer("sgd", {0.1});
  OneCycleLR c(*c_opt.optimizer, OneCycleLROptions(0.4, 100).max_momentum(0.9));
  auto d_opt = make_optimizer("sgd", {0.1});
  OneCycleLR d(*d_opt.optimizer, OneCycleLROptions(0.1, 50));
  load_bytes(d, checkpoint_bytes(c));
  EXPECT_EQ(d.options().max_lr().values(), std::vector<double>{0.4});
  EXPECT_EQ(d.options().max_momentum().values(), std::vector<double>{0.9});
  EXPECT_EQ(d.options().total_steps(), 100);
}

TEST(Scheduler, CheckpointCarriesTheBaseLrs) {
  auto a_opt = make_optimizer("sgd", {0.1});
  MultiStepLR a(*a_opt.optimizer, MultiStepLROptions({3}));
  auto b_opt = make_optimizer("sgd", {0.5});  // a run whose optimizer was built with another LR
  MultiStepLR b(*b_opt.optimizer, MultiStepLROptions({3}));
  load_bytes(b, checkpoint_bytes(a));
  EXPECT_EQ(b.base_lrs()[0], 0.1);
  EXPECT_EQ(b.get_last_lr()[0], 0.1);
}

TEST(Scheduler, LoadsAVersionOneCheckpoint) {
  // The layout before the base LRs moved into the base class: MultiStepLR kept its own.
  torch::serialize::OutputArchive archive;
  archive.write("torchclr/type", c10::IValue(std::string("MultiStepLR")));
  archive.write("torchclr/version", c10::IValue(int64_t{1}));
  archive.write("torchclr/num_groups", c10::IValue(int64_t{1}));
  archive.write("torchclr/last_step", c10::IValue(int64_t{12}));
  archive.write("multi_step_lr/base_lr",
                torch::tensor(std::vector<double>{0.001}, torch::kFloat64));
  archive.write("multi_step_lr/milestones", torch::tensor(std::vector<int64_t>{10, 20}));
  archive.write("multi_step_lr/gamma", c10::IValue(0.1));
  std::ostringstream bytes;
  archive.save_to(bytes);
  auto opt = make_optimizer("sgd", {0.5});
  MultiStepLR scheduler(*opt.optimizer, MultiStepLROptions({3}).gamma(0.5));
  load_bytes(scheduler, bytes.str());
  EXPECT_EQ(scheduler.last_step(), 12);
  EXPECT_EQ(scheduler.base_lrs()[0], 0.001);
  EXPECT_EQ(scheduler.options().milestones(), (std::vector<int64_t>{10, 20}));
  EXPECT_DOUBLE_EQ(scheduler.get_last_lr()[0], 0.0001);
}

TEST(CosineAnnealingWarmRestarts, CountsCyclesWithIntegersAtEveryBoundary) {
  auto opt = make_optimizer("sgd", {0.1});
  CosineAnnealingWarmRestarts scheduler(*opt.optimizer,
                                        CosineAnnealingWarmRestartsOptions(3).t_mult(2));
  int64_t restart = 0, length = 3;
  for (int64_t cycle = 0; cycle < 40; ++cycle) {
    const auto at = scheduler.position(restart);
    EXPECT_EQ(at.cycle, cycle);
    EXPECT_EQ(at.t_cur, 0);
    EXPECT_EQ(at.t_i, length);
    EXPECT_EQ(scheduler.lr_at(restart, 0), 0.1);  // the peak, exactly
    const auto before = scheduler.position(restart + length - 1);
    EXPECT_EQ(before.cycle, cycle);
    EXPECT_EQ(before.t_cur, length - 1);
    restart += length;
    length *= 2;
  }
}

TEST(CosineAnnealingWarmRestarts, CycleDecayScalesEachPeakAndCycleLimitHoldsTheFloor) {
  auto opt = make_optimizer("sgd", {0.1});
  CosineAnnealingWarmRestarts scheduler(
      *opt.optimizer,
      CosineAnnealingWarmRestartsOptions(4).eta_min(0.001).cycle_decay(0.5).cycle_limit(3));
  EXPECT_DOUBLE_EQ(scheduler.lr_at(0, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduler.lr_at(4, 0), 0.05);
  EXPECT_DOUBLE_EQ(scheduler.lr_at(8, 0), 0.025);
  for (int64_t t = 12; t < 100; ++t) EXPECT_EQ(scheduler.lr_at(t, 0), 0.001) << t;
}

TEST(CosineAnnealingWarmRestarts, HugeTMultNeverOverflows) {
  auto opt = make_optimizer("sgd", {0.1});
  CosineAnnealingWarmRestarts scheduler(
      *opt.optimizer, CosineAnnealingWarmRestartsOptions(1000).t_mult(int64_t{1} << 40));
  const auto p = scheduler.position(std::numeric_limits<int64_t>::max() / 2);
  EXPECT_EQ(p.cycle, 2);
  EXPECT_TRUE(std::isfinite(scheduler.lr_at(std::numeric_limits<int64_t>::max() / 2, 0)));
}

TEST(WarmupStableDecay, WarmsUpFromZeroHoldsThenCoolsDownToMinLr) {
  auto opt = make_optimizer("sgd", {0.1});
  WarmupStableDecay scheduler(*opt.optimizer, WarmupStableDecayOptions(100)
                                                  .warmup_steps(10)
                                                  .decay_steps(20)
                                                  .decay(DecayShape::OneMinusSqrt)
                                                  .min_lr(0.001));
  EXPECT_EQ(scheduler.get_last_lr()[0], 0.0);
  EXPECT_DOUBLE_EQ(scheduler.lr_at(5, 0), 0.05);
  for (int64_t t = 10; t <= 80; ++t) EXPECT_EQ(scheduler.lr_at(t, 0), 0.1) << t;
  EXPECT_DOUBLE_EQ(scheduler.lr_at(85, 0), 0.001 + 0.099 * (1 - std::sqrt(0.25)));
  EXPECT_EQ(scheduler.lr_at(100, 0), 0.001);
  EXPECT_EQ(scheduler.lr_at(1000, 0), 0.001);
  EXPECT_EQ(*scheduler.options().decay_from(), 80);
}

TEST(WarmupStableDecay, DecayStepsDefaultToAFifthOfTheRun) {
  auto opt = make_optimizer("sgd", {0.1});
  WarmupStableDecay scheduler(*opt.optimizer, WarmupStableDecayOptions(1000));
  EXPECT_EQ(*scheduler.options().decay_steps(), 200);
  EXPECT_EQ(*scheduler.options().decay_from(), 800);
}

TEST(WarmupStableDecay, CooldownBranchesOffACheckpointOfTheStablePhase) {
  const auto options =
      WarmupStableDecayOptions(1000000).warmup_steps(100).decay_steps(50).decay(DecayShape::Cosine);
  auto main_opt = make_optimizer("sgd", {0.1});
  WarmupStableDecay main_run(*main_opt.optimizer, options);
  for (int i = 0; i < 400; ++i) main_run.step();
  const std::string checkpoint = checkpoint_bytes(main_run);

  auto branch_opt = make_optimizer("sgd", {0.1});
  WarmupStableDecay branch(*branch_opt.optimizer, options);
  load_bytes(branch, checkpoint);
  branch.decay_from(400);
  for (int i = 1; i <= 60; ++i) {
    branch.step();
    main_run.step();
    const double p = std::min(i, 50) / 50.0;
    EXPECT_DOUBLE_EQ(branch.get_last_lr()[0], 0.1 * (1 + std::cos(M_PI * p)) / 2) << i;
    EXPECT_EQ(main_run.get_last_lr()[0], 0.1);  // the main run goes on, unchanged
  }
  // The moved cooldown is part of the branch's checkpoint.
  auto again_opt = make_optimizer("sgd", {0.1});
  WarmupStableDecay again(*again_opt.optimizer, options);
  load_bytes(again, checkpoint_bytes(branch));
  EXPECT_EQ(*again.options().decay_from(), 400);
  EXPECT_EQ(again.get_last_lr(), branch.get_last_lr());
  expect_error(
      [&] { again.decay_from(300); },
      "WarmupStableDecay: expected decay_from >= the current iteration (460), but got 300");
}

TEST(LambdaLR, CheckpointRestoresTheIterationAndKeepsTheFunction) {
  const auto factor = [](int64_t t) { return 1.0 / static_cast<double>(t + 1); };
  auto a_opt = make_optimizer("sgd", {0.2});
  LambdaLR a(*a_opt.optimizer, LambdaLROptions(factor));
  for (int i = 0; i < 7; ++i) a.step();
  auto b_opt = make_optimizer("sgd", {0.2});
  LambdaLR b(*b_opt.optimizer, LambdaLROptions(factor));
  load_bytes(b, checkpoint_bytes(a));
  EXPECT_EQ(b.last_step(), 7);
  EXPECT_EQ(b.get_last_lr()[0], 0.2 / 8);
  b.step();
  EXPECT_EQ(b.get_last_lr()[0], 0.2 / 9);
}

TEST(LambdaLR, AFactorThatIsNotFiniteIsAnErrorThatChangesNothing) {
  auto opt = make_optimizer("sgd", {0.1});
  LambdaLR scheduler(*opt.optimizer, LambdaLROptions([](int64_t t) {
    return t == 3 ? std::numeric_limits<double>::quiet_NaN() : 1.0;
  }));
  scheduler.step();
  scheduler.step();
  expect_error([&] { scheduler.step(); },
               "LambdaLR: expected the factor function to return a finite value >= 0, but got nan "
               "at iteration 3 for param group 0");
  EXPECT_EQ(scheduler.last_step(), 2);
  EXPECT_EQ(scheduler.get_last_lr()[0], 0.1);
}

TEST(ConstantLR, AFactorOfZeroWorks) {  // PyTorch's recursive form divides by it
  auto opt = make_optimizer("sgd", {0.1});
  ConstantLR scheduler(*opt.optimizer, ConstantLROptions().factor(0).total_iters(2));
  EXPECT_EQ(scheduler.get_last_lr()[0], 0.0);
  scheduler.step();
  scheduler.step();
  EXPECT_EQ(scheduler.get_last_lr()[0], 0.1);
}

TEST(PolynomialLR, IsExactlyZeroFromTotalItersOn) {
  auto opt = make_optimizer("sgd", {0.1});
  PolynomialLR scheduler(*opt.optimizer, PolynomialLROptions(10).power(0.9));
  for (int64_t t = 10; t < 30; ++t) EXPECT_EQ(scheduler.lr_at(t, 0), 0.0);
  EXPECT_GT(scheduler.lr_at(9, 0), 0.0);
}

TEST(ReduceLROnPlateau, CheckpointHoldsBestAndCounters) {
  const auto options = ReduceLROnPlateauOptions().patience(2).cooldown(3);
  auto a_opt = make_optimizer("sgd", {0.1});
  ReduceLROnPlateau a(*a_opt.optimizer, options);
  for (const double metric : {1.0, 0.5, 0.6, 0.7, 0.8, 0.9}) a.step(metric);
  EXPECT_DOUBLE_EQ(a.get_last_lr()[0], 0.01);
  EXPECT_EQ(a.best(), 0.5);
  EXPECT_EQ(a.cooldown_counter(), 2);  // the 6th step ran in cooldown
  auto b_opt = make_optimizer("sgd", {0.1});
  ReduceLROnPlateau b(*b_opt.optimizer, options);
  load_bytes(b, checkpoint_bytes(a));
  EXPECT_EQ(b.best(), 0.5);
  EXPECT_EQ(b.num_bad_steps(), a.num_bad_steps());
  EXPECT_EQ(b.cooldown_counter(), 2);
  EXPECT_EQ(b.last_step(), 6);
  EXPECT_EQ(b.get_last_lr(), a.get_last_lr());
  for (const double metric : {0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.4, 0.9}) {
    a.step(metric);
    b.step(metric);
    ASSERT_EQ(b.get_last_lr(), a.get_last_lr());
    ASSERT_EQ(b.num_bad_steps(), a.num_bad_steps());
  }
}

TEST(ReduceLROnPlateau, AppliesTheReduceHookBeforeComparing) {
  // A hook that stands for an all-reduce: every rank then sees the same (here: halved) metric.
  std::vector<double> seen;
  auto opt = make_optimizer("sgd", {0.1});
  ReduceLROnPlateau scheduler(*opt.optimizer,
                              ReduceLROnPlateauOptions().patience(0).reduce_metric([&](double m) {
                                seen.push_back(m);
                                return m / 2;
                              }));
  scheduler.step(4.0);
  scheduler.step(3.0);
  EXPECT_EQ(scheduler.best(), 1.5);
  EXPECT_EQ(seen, (std::vector<double>{4.0, 3.0}));
}

// As PyTorch's: the groups are written only when the LRs change, so an LR set by hand stays until
// the next reduction, which reduces the scheduler's own LR.
TEST(ReduceLROnPlateau, WritesTheLrsOnlyWhenTheyChange) {
  auto opt = make_optimizer("sgd", {0.1, 0.2});
  ReduceLROnPlateau scheduler(*opt.optimizer, ReduceLROnPlateauOptions().patience(1));
  auto& groups = opt.optimizer->param_groups();
  scheduler.step(1.0);  // best
  groups[0].options().set_lr(0.5);
  scheduler.step(1.0);  // one bad step: no reduction, no write
  EXPECT_EQ(groups[0].options().get_lr(), 0.5);
  EXPECT_EQ(groups[1].options().get_lr(), 0.2);
  scheduler.step(1.0);  // two: a reduction writes every group
  EXPECT_NEAR(groups[0].options().get_lr(), 0.01, 1e-15);
  EXPECT_NEAR(groups[1].options().get_lr(), 0.02, 1e-15);
  groups[1].options().set_lr(0.7);
  const std::string state = checkpoint_bytes(scheduler);
  torch::serialize::InputArchive archive;
  std::istringstream in(state);
  archive.load_from(in);
  scheduler.load(archive);  // a load writes, whatever changed
  EXPECT_NEAR(groups[1].options().get_lr(), 0.02, 1e-15);
}

TEST(ReduceLROnPlateau, ANaNMetricIsAnErrorThatChangesNothing) {
  auto opt = make_optimizer("sgd", {0.1});
  ReduceLROnPlateau scheduler(*opt.optimizer, ReduceLROnPlateauOptions().patience(0));
  scheduler.step(1.0);
  const std::string before = checkpoint_bytes(scheduler);
  expect_error([&] { scheduler.step(std::numeric_limits<double>::quiet_NaN()); },
               "ReduceLROnPlateau: expected a metric that is not NaN, but got nan");
  EXPECT_EQ(checkpoint_bytes(scheduler), before);
  EXPECT_EQ(scheduler.last_step(), 1);
}

TEST(ReduceLROnPlateau, StepWithoutAMetricIsAnError) {
  auto opt = make_optimizer("sgd", {0.1});
  ReduceLROnPlateau scheduler(*opt.optimizer);
  expect_error([&] { scheduler.step(); },
               "ReduceLROnPlateau: expected step(metric) with the value to monitor at iteration 1, "
               "but got step() without one");
  torch::optim::LRScheduler& base = scheduler;
  expect_error([&] { base.step(); }, "ReduceLROnPlateau: expected step(metric)");
  EXPECT_EQ(scheduler.last_step(), 0);
}

}  // namespace
}  // namespace torchclr_test
