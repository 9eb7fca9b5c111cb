// Bad options of the schedules beyond the CLR set and of composites: each a clear error naming
// the class, what was expected and what was given; a checkpoint that fails to load part-way
// leaves the scheduler and the optimizer exactly as they were.

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fixture.h"

namespace torchclr_test {
namespace {

using namespace torchclr;  // NOLINT(google-build-using-namespace)
using Children = std::vector<std::shared_ptr<Scheduler>>;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(SchedulesErrors, StepConstantPolynomialLambda) {
  auto opt = make_optimizer("sgd", {0.1, 0.1});
  auto& o = *opt.optimizer;
  expect_error([&] { StepLR(o, StepLROptions(0)); }, "StepLR: expected step_size >= 1, but got 0");
  expect_error([&] { StepLR(o, StepLROptions(3).gamma(kNaN)); },
               "StepLR: expected gamma to be positive and finite, but got nan");
  expect_error([&] { ConstantLR(o, ConstantLROptions().factor(1.5)); },
               "ConstantLR: expected factor in [0, 1], but got 1.5");
  expect_error([&] { ConstantLR(o, ConstantLROptions().factor(-0.1)); },
               "ConstantLR: expected factor in [0, 1], but got -0.1");
  expect_error([&] { ConstantLR(o, ConstantLROptions().total_iters(0)); },
               "ConstantLR: expected total_iters >= 1, but got 0");
  expect_error([&] { PolynomialLR(o, PolynomialLROptions(10).power(-1)); },
               "PolynomialLR: expected power to be finite and >= 0, but got -1");
  expect_error([&] { PolynomialLR(o, PolynomialLROptions(0)); },
               "PolynomialLR: expected total_iters >= 1, but got 0");
  const auto one = [](int64_t) { return 1.0; };
  expect_error(
      [&] {
        LambdaLR(o, LambdaLROptions({one, one, one}));
      },
      "LambdaLR: expected 1 factor function or one per param group (2), but got 3");
  expect_error([&] { LambdaLR(o, LambdaLROptions(LambdaLROptions::Factor())); },
               "LambdaLR: expected a factor function, but got an empty one for param group 0");
}

// StepLR with gamma > 1 grows without end: the step into the first iteration whose LR would not
// be finite is an error, and the optimizer keeps the last finite LR.
TEST(SchedulesErrors, StepLrStopsAtTheStepWhoseLrWouldBeInfinite) {
  auto opt = make_optimizer("sgd", {0.1});
  StepLR step(*opt.optimizer, StepLROptions(2).gamma(1e200));
  step.step();
  step.step();  // iteration 2: 1e199, finite
  EXPECT_DOUBLE_EQ(step.get_last_lr()[0], 1e199);
  step.step();  // iteration 3: still 1e199
  expect_error([&] { step.step(); },
               "StepLR: expected a finite LR at every iteration, but gamma 1e+200 takes param "
               "group 0's LR past the largest double at iteration 4");
  EXPECT_DOUBLE_EQ(step.get_last_lr()[0], 1e199);
  EXPECT_EQ(step.last_step(), 3);
  auto other = make_optimizer("sgd", {0.1});
  expect_error([&] { StepLR(*other.optimizer, StepLROptions(2).gamma(1e200).last_step(9)); },
               "at iteration 4");
  // Decay never overflows, however long it runs.
  auto decay = make_optimizer("sgd", {0.1});
  StepLR slow(*decay.optimizer, StepLROptions(1).gamma(0.5).last_step(4000000000));
  EXPECT_EQ(slow.get_last_lr()[0], 0.0);
}

// Schedules whose options each pass but whose LRs overflow together: the scheduler refuses the
// iteration before the optimizer sees an infinite LR.
TEST(SchedulesErrors, LrsThatOverflowTogetherAreAnErrorAtThatIteration) {
  auto opt = make_optimizer("sgd", {0.1});
  auto& o = *opt.optimizer;
  auto a = std::make_shared<ExponentialLR>(o, ExponentialLROptions(1e200));
  auto b = std::make_shared<ExponentialLR>(o, ExponentialLROptions(1e200));
  ChainedScheduler chained(o, Children{a, b});
  EXPECT_DOUBLE_EQ(chained.get_last_lr()[0], 0.1);
  expect_error([&] { chained.step(); },
               "ChainedScheduler: expected a finite LR at every iteration, but param group 0's "
               "LR at iteration 1 is inf; the optimizer keeps its last finite LR");
  EXPECT_DOUBLE_EQ(chained.get_last_lr()[0], 0.1);
  EXPECT_EQ(chained.last_step(), 0);

  auto big = make_optimizer("sgd", {1e10});
  const auto huge = [](int64_t t) { return t < 2 ? 1.0 : 1e300; };
  LambdaLR lambda(*big.optimizer, LambdaLROptions(huge));
  lambda.step();
  expect_error([&] { lambda.step(); }, "LambdaLR: expected a finite LR at every iteration, "
                                       "but param group 0's LR at iteration 2 is inf");
  EXPECT_DOUBLE_EQ(lambda.get_last_lr()[0], 1e10);
  EXPECT_EQ(lambda.last_step(), 1);
  // Through LibTorch's LRScheduler::step() too.
  torch::optim::LRScheduler& base = lambda;
  expect_error([&] { base.step(); }, "LambdaLR: expected a finite LR at every iteration");
  EXPECT_DOUBLE_EQ(lambda.get_last_lr()[0], 1e10);
}

TEST(SchedulesErrors, CosineAndWarmRestarts) {
  auto opt = make_optimizer("sgd", {0.1});
  auto& o = *opt.optimizer;
  expect_error([&] { CosineAnnealingLR(o, CosineAnnealingLROptions(0)); },
               "CosineAnnealingLR: expected t_max >= 1, but got 0");
  expect_error(
      [&] { CosineAnnealingLR(o, CosineAnnealingLROptions(10).eta_min(-1e-3)); },
      "CosineAnnealingLR: expected eta_min to be finite and >= 0, but got -0.001 for param "
      "group 0");
  expect_error(
      [&] {
        CosineAnnealingLR(o, CosineAnnealingLROptions(10).eta_min({0.0, 0.0}));
      },
      "CosineAnnealingLR: expected eta_min to have 1 value or one per param group (1), but "
      "got 2 values");
  using WR = CosineAnnealingWarmRestartsOptions;
  expect_error([&] { CosineAnnealingWarmRestarts(o, WR(0)); },
               "CosineAnnealingWarmRestarts: expected t_0 >= 1, but got 0");
  expect_error([&] { CosineAnnealingWarmRestarts(o, WR(5).t_mult(0)); },
               "CosineAnnealingWarmRestarts: expected t_mult >= 1, but got 0");
  expect_error([&] { CosineAnnealingWarmRestarts(o, WR(5).cycle_decay(1.5)); },
               "CosineAnnealingWarmRestarts: expected cycle_decay in (0, 1], but got 1.5");
  expect_error([&] { CosineAnnealingWarmRestarts(o, WR(5).cycle_decay(0)); },
               "CosineAnnealingWarmRestarts: expected cycle_decay in (0, 1], but got 0");
  expect_error([&] { CosineAnnealingWarmRestarts(o, WR(5).cycle_limit(-1)); },
               "CosineAnnealingWarmRestarts: expected cycle_limit >= 0 (0: no limit), but got -1");
  auto zero = make_optimizer("sgd", {0.0});
  expect_error(
      [&] { CosineAnnealingLR(*zero.optimizer, CosineAnnealingLROptions(10)); },
      "CosineAnnealingLR: expected the optimizer's lr to be positive and finite, but got 0 "
      "for param group 0");
}

TEST(SchedulesErrors, WarmupStableDecay) {
  auto opt = make_optimizer("sgd", {0.1});
  auto& o = *opt.optimizer;
  using W = WarmupStableDecayOptions;
  expect_error([&] { WarmupStableDecay(o, W(100).warmup_steps(30).decay_steps(80)); },
               "WarmupStableDecay: expected warmup_steps + decay_steps <= total_steps, but got 30 "
               "+ 80 > 100");
  expect_error([&] { WarmupStableDecay(o, W(0)); },
               "WarmupStableDecay: expected total_steps >= 1, but got 0");
  expect_error([&] { WarmupStableDecay(o, W(100).decay_steps(-5)); },
               "WarmupStableDecay: expected decay_steps >= 0, but got -5");
  expect_error([&] { WarmupStableDecay(o, W(100).warmup_steps(20).decay_from(10)); },
               "WarmupStableDecay: expected decay_from >= warmup_steps (20), but got 10");
  expect_error([&] { WarmupStableDecay(o, W(100).min_lr(kNaN)); },
               "WarmupStableDecay: expected min_lr to be finite and >= 0, but got nan");
}

TEST(SchedulesErrors, ReduceLROnPlateau) {
  auto opt = make_optimizer("sgd", {0.1, 0.1});
  auto& o = *opt.optimizer;
  using P = ReduceLROnPlateauOptions;
  expect_error([&] { ReduceLROnPlateau(o, P().factor(1.0)); },
               "ReduceLROnPlateau: expected factor in [0, 1), but got 1");
  expect_error([&] { ReduceLROnPlateau(o, P().factor(-0.5)); },
               "ReduceLROnPlateau: expected factor in [0, 1), but got -0.5");
  expect_error([&] { ReduceLROnPlateau(o, P().patience(-1)); },
               "ReduceLROnPlateau: expected patience >= 0, but got -1");
  expect_error([&] { ReduceLROnPlateau(o, P().threshold(-1e-4)); },
               "ReduceLROnPlateau: expected threshold to be finite and >= 0, but got -0.0001");
  expect_error([&] { ReduceLROnPlateau(o, P().cooldown(-2)); },
               "ReduceLROnPlateau: expected cooldown >= 0, but got -2");
  expect_error([&] { ReduceLROnPlateau(o, P().eps(kNaN)); },
               "ReduceLROnPlateau: expected eps to be finite and >= 0, but got nan");
  expect_error(
      [&] {
        ReduceLROnPlateau(o, P().min_lr({0.1, 0.2, 0.3}));
      },
      "ReduceLROnPlateau: expected min_lr to have 1 value or one per param group (2), but "
      "got 3 values");
  expect_error([&] { ReduceLROnPlateau(o, P().mode(static_cast<PlateauMode>(7))); },
               "ReduceLROnPlateau: expected mode Min or Max, but got 7");
  expect_error([&] { ReduceLROnPlateau(o, P().threshold_mode(static_cast<ThresholdMode>(3))); },
               "ReduceLROnPlateau: expected threshold_mode Rel or Abs, but got 3");
}

TEST(SchedulesErrors, SequentialLR) {
  auto opt = make_optimizer("sgd", {0.1});
  auto& o = *opt.optimizer;
  auto warmup = std::make_shared<LinearLR>(o, LinearLROptions(5));
  auto cosine = std::make_shared<CosineAnnealingLR>(o, CosineAnnealingLROptions(10));
  expect_error(
      [&] {
        SequentialLR(o, {warmup, cosine}, {5, 10});
      },
      "SequentialLR: expected one milestone fewer than schedulers (1), but got 2 "
      "milestones");
  expect_error(
      [&] {
        SequentialLR(o, {warmup, cosine, warmup}, {5, 5});
      },
      "SequentialLR: expected increasing milestones >= 1, but got 5 after 5");
  expect_error(
      [&] {
        SequentialLR(o, {warmup, cosine}, {0});
      },
      "SequentialLR: expected increasing milestones >= 1, but got 0 after 0");
  expect_error([&] { SequentialLR(o, {}, {}); },
               "SequentialLR: expected at least one scheduler, but got none");
  expect_error(
      [&] {
        SequentialLR(o, {warmup, nullptr}, {5});
      },
      "SequentialLR: expected a scheduler, but scheduler 1 is null");
  auto other = make_optimizer("sgd", {0.1});
  auto elsewhere = std::make_shared<StepLR>(*other.optimizer, StepLROptions(3));
  expect_error(
      [&] {
        SequentialLR(o, {warmup, elsewhere}, {5});
      },
      "SequentialLR: expected every scheduler to be built on this optimizer, but scheduler "
      "1 (a StepLR) was built on another one");
  SequentialLR plain(o, {warmup, cosine}, {5});
  expect_error([&] { plain.step(0.5); },
               "SequentialLR: expected step() (this schedule is a function of the iteration and "
               "takes no metric), but got step(0.5)");
  expect_error([&] { cosine->step(1.0); }, "CosineAnnealingLR: expected step() (this schedule");
  auto plateau = std::make_shared<ReduceLROnPlateau>(o);
  SequentialLR with_plateau(o, {warmup, plateau}, {5});
  expect_error([&] { with_plateau.step(kNaN); },
               "SequentialLR: expected a metric that is not NaN, but got nan");
  EXPECT_EQ(with_plateau.last_step(), 0);
}

TEST(SchedulesErrors, ChainedSchedulerNeedsMultiplicativeChildren) {
  auto opt = make_optimizer("sgd", {0.1});
  auto& o = *opt.optimizer;
  auto constant = std::make_shared<ConstantLR>(o, ConstantLROptions());
  auto cosine = std::make_shared<CosineAnnealingLR>(o, CosineAnnealingLROptions(10));
  expect_error(
      [&] {
        ChainedScheduler(o, {constant, cosine});
      },
      "ChainedScheduler: expected schedulers of the form lr = base_lr * factor(t) (StepLR, "
      "MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, LambdaLR, "
      "ChainedScheduler), but got a CosineAnnealingLR as scheduler 1, which has no such "
      "form");
  auto plateau = std::make_shared<ReduceLROnPlateau>(o);
  expect_error([&] { ChainedScheduler(o, {plateau}); },
               "but got a ReduceLROnPlateau as scheduler 0");
  auto other = make_optimizer("sgd", {0.1});
  auto elsewhere = std::make_shared<StepLR>(*other.optimizer, StepLROptions(3));
  expect_error(
      [&] {
        ChainedScheduler(o, {constant, elsewhere});
      },
      "ChainedScheduler: expected every scheduler to be built on this optimizer, but "
      "scheduler 1 (a StepLR) was built on another one");
}

/// `archive` with `key` overwritten: a checkpoint that is well formed up to that key.
std::string with_value(const Scheduler& scheduler, const std::string& key, c10::IValue value) {
  torch::serialize::OutputArchive archive;
  scheduler.save(archive);
  archive.write(key, value);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

/// Loads `bytes` into `scheduler`, expects `message`, and checks that nothing changed: its
/// checkpoint, its LRs and the optimizer's.
void expect_failed_load_changes_nothing(Scheduler& scheduler, torch::optim::Optimizer& optimizer,
                                        const std::string& bytes, const std::string& message) {
  const std::string before = checkpoint_bytes(scheduler);
  const auto lrs = scheduler.get_last_lr();
  std::vector<double> curve;
  for (int64_t t = 0; t < 50; ++t) curve.push_back(scheduler.lr_at(t, 0));
  optimizer.param_groups()[0].options().set_lr(0.123);  // the optimizer too stays as it is
  expect_error([&] { load_bytes(scheduler, bytes); }, message);
  EXPECT_EQ(checkpoint_bytes(scheduler), before);
  for (int64_t t = 0; t < 50; ++t) EXPECT_EQ(scheduler.lr_at(t, 0), curve[t]) << t;
  EXPECT_EQ(optimizer.param_groups()[0].options().get_lr(), 0.123);
  optimizer.param_groups()[0].options().set_lr(lrs[0]);
}

TEST(SchedulesErrors, FailedLoadPartWayLeavesEverythingAsItWas) {
  auto src_opt = make_optimizer("sgd", {0.3});
  CosineAnnealingLR source(*src_opt.optimizer, CosineAnnealingLROptions(40).eta_min(0.01));
  for (int i = 0; i < 7; ++i) source.step();
  auto opt = make_optimizer("sgd", {0.1});
  CosineAnnealingLR cosine(*opt.optimizer, CosineAnnealingLROptions(10));
  cosine.step();
  // base LRs and eta_min read fine, then t_max is bad.
  expect_failed_load_changes_nothing(cosine, *opt.optimizer,
                                     with_value(source, "cosine_annealing_lr/t_max", int64_t{0}),
                                     "CosineAnnealingLR: expected t_max >= 1, but got 0");

  auto plateau_src_opt = make_optimizer("sgd", {0.3});
  ReduceLROnPlateau plateau_src(*plateau_src_opt.optimizer);
  plateau_src.step(1.0);
  auto plateau_opt = make_optimizer("sgd", {0.1});
  ReduceLROnPlateau plateau(*plateau_opt.optimizer, ReduceLROnPlateauOptions().patience(3));
  plateau.step(2.0);
  expect_failed_load_changes_nothing(
      plateau, *plateau_opt.optimizer,
      with_value(plateau_src, "reduce_lr_on_plateau/cooldown_counter", int64_t{-1}),
      "ReduceLROnPlateau: expected counters >= 0 in the checkpoint");
}

TEST(SchedulesErrors, FailedLoadOfACompositeLeavesEveryChildAsItWas) {
  // The checkpoint's first child loads, its second is of another type.
  auto src_opt = make_optimizer("sgd", {0.3});
  auto src_warmup = std::make_shared<LinearLR>(*src_opt.optimizer, LinearLROptions(9));
  auto src_cosine =
      std::make_shared<CosineAnnealingLR>(*src_opt.optimizer, CosineAnnealingLROptions(40));
  SequentialLR source(*src_opt.optimizer, {src_warmup, src_cosine}, {9});
  for (int i = 0; i < 12; ++i) source.step();
  auto opt = make_optimizer("sgd", {0.1});
  auto warmup = std::make_shared<LinearLR>(*opt.optimizer, LinearLROptions(3));
  auto steps = std::make_shared<StepLR>(*opt.optimizer, StepLROptions(2));
  SequentialLR scheduler(*opt.optimizer, {warmup, steps}, {3});
  scheduler.step();
  const std::string warmup_before = checkpoint_bytes(*warmup);
  expect_failed_load_changes_nothing(scheduler, *opt.optimizer, checkpoint_bytes(source),
                                     "StepLR: expected a checkpoint of a StepLR, but got one of a "
                                     "CosineAnnealingLR");
  EXPECT_EQ(checkpoint_bytes(*warmup), warmup_before);
  EXPECT_EQ(warmup->options().total_iters(), 3);
}

}  // namespace
}  // namespace torchclr_test
