// Every invalid option is a clear error naming the class, what was expected and what was given.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "fixture.h"

namespace torchclr_test {
namespace {

using torchclr::CyclicLR;
using torchclr::CyclicLROptions;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(CyclicLRErrors, RejectsNonPositiveOrNaNLearningRates) {
  auto opt = make_optimizer("sgd", {0.1});
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(0.0, 1.0)); },
               "CyclicLR: expected base_lr to be positive and finite, but got 0 for param group 0");
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(-1e-3, 1.0)); },
               "CyclicLR: expected base_lr to be positive and finite, but got -0.001");
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, kNaN)); },
               "CyclicLR: expected max_lr to be positive and finite, but got nan");
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(kNaN, 1.0)); },
               "CyclicLR: expected base_lr to be positive and finite, but got nan");
}

TEST(CyclicLRErrors, RejectsMaxLrBelowBaseLr) {
  auto opt = make_optimizer("sgd", {0.1, 0.1});
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(6e-3, 1e-3)); },
               "CyclicLR: expected max_lr >= base_lr, but got max_lr 0.001 and base_lr 0.006 for "
               "param group 0");
  expect_error(
      [&] {
        CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, {6e-3, 1e-4}));
      },
      "for param group 1");
}

TEST(CyclicLRErrors, RejectsStepSizesBelowOne) {
  auto opt = make_optimizer("sgd", {0.1});
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, 6e-3).step_size_up(0)); },
               "CyclicLR: expected step_size_up >= 1, but got 0");
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, 6e-3).step_size_down(-3)); },
               "CyclicLR: expected step_size_down >= 1, but got -3");
}

TEST(CyclicLRErrors, RejectsBadGammaAndMomentum) {
  auto opt = make_optimizer("sgd", {0.1});
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, 6e-3).gamma(0)); },
               "CyclicLR: expected gamma to be positive and finite, but got 0");
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, 6e-3).max_momentum(1.5)); },
               "CyclicLR: expected max_momentum in [0, 1), but got 1.5");
}

TEST(CyclicLRErrors, RejectsSizeMismatchWithParamGroups) {
  auto opt = make_optimizer("sgd", {0.1, 0.1, 0.1});
  expect_error(
      [&] {
        CyclicLR(*opt.optimizer, CyclicLROptions({1e-3, 2e-3}, 6e-3));
      },
      "CyclicLR: expected base_lr to have 1 value or one per param group (3), but got 2 "
      "values");
  expect_error(
      [&] {
        CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, 6e-3).base_momentum({0.8, 0.8}));
      },
      "CyclicLR: expected base_momentum to have 1 value or one per param group (3), but got 2");
}

TEST(CyclicLRErrors, RejectsMomentumCyclingWithoutMomentum) {
  auto opt = make_optimizer("adagrad", {0.1});
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, 6e-3)); },
               "CyclicLR: expected an optimizer with a momentum to cycle (SGD or RMSprop "
               "'momentum', Adam or AdamW 'betas'), but got one without; pass "
               "cycle_momentum(false)");
}

TEST(CyclicLRErrors, RejectsNegativeLastStep) {
  auto opt = make_optimizer("sgd", {0.1});
  expect_error([&] { CyclicLR(*opt.optimizer, CyclicLROptions(1e-3, 6e-3).last_step(-2)); },
               "CyclicLR: expected last_step >= -1, but got -2");
}

TEST(OneCycleLRErrors, RejectsBadOptions) {
  using torchclr::OneCycleLR;
  using torchclr::OneCycleLROptions;
  auto opt = make_optimizer("sgd", {0.1});
  expect_error([&] { OneCycleLR(*opt.optimizer, OneCycleLROptions(0.1, 100).pct_start(0)); },
               "OneCycleLR: expected pct_start in (0, 1), but got 0");
  expect_error([&] { OneCycleLR(*opt.optimizer, OneCycleLROptions(0.1, 100).pct_start(1.0)); },
               "OneCycleLR: expected pct_start in (0, 1), but got 1");
  expect_error([&] { OneCycleLR(*opt.optimizer, OneCycleLROptions(0.1, 0)); },
               "OneCycleLR: expected total_steps >= 1, but got 0");
  expect_error([&] { OneCycleLR(*opt.optimizer, OneCycleLROptions(-0.1, 100)); },
               "OneCycleLR: expected max_lr to be positive and finite, but got -0.1");
  expect_error([&] { OneCycleLR(*opt.optimizer, OneCycleLROptions(0.1, 100).div_factor(0)); },
               "OneCycleLR: expected div_factor to be positive and finite, but got 0");
  expect_error([&] { OneCycleLR(*opt.optimizer, OneCycleLROptions(0.1, 3)); },
               "OneCycleLR: expected every phase to span at least one iteration, but phase 1 of 2");
  expect_error(
      [&] {
        OneCycleLR(*opt.optimizer, OneCycleLROptions(0.1, 100).pct_start(0.6).three_phase(true));
      },
      "phase 3 of 3");
  expect_error(
      [&] { OneCycleLR(*opt.optimizer, OneCycleLROptions(0.1, 100).last_step(101)); },
      "OneCycleLR: tried to step to iteration 101, but the schedule has total_steps = 100");
  auto adagrad = make_optimizer("adagrad", {0.1});
  expect_error([&] { OneCycleLR(*adagrad.optimizer, OneCycleLROptions(0.1, 100)); },
               "OneCycleLR: expected an optimizer with a momentum to cycle");
}

TEST(DecaySchedulerErrors, RejectBadOptions) {
  auto opt = make_optimizer("sgd", {0.1});
  expect_error(
      [&] {
        torchclr::MultiStepLR(*opt.optimizer, torchclr::MultiStepLROptions({10, 0}));
      },
      "MultiStepLR: expected milestones >= 1, but got 0");
  expect_error(
      [&] {
        torchclr::MultiStepLR(*opt.optimizer, torchclr::MultiStepLROptions({10}).gamma(kNaN));
      },
      "MultiStepLR: expected gamma to be positive and finite, but got nan");
  expect_error([&] { torchclr::ExponentialLR(*opt.optimizer, torchclr::ExponentialLROptions(-1)); },
               "ExponentialLR: expected gamma to be positive and finite, but got -1");
  expect_error([&] { torchclr::LinearLR(*opt.optimizer, torchclr::LinearLROptions(0)); },
               "LinearLR: expected total_iters >= 1, but got 0");
  expect_error(
      [&] { torchclr::LinearLR(*opt.optimizer, torchclr::LinearLROptions(10).start_factor(0)); },
      "LinearLR: expected start_factor in (0, 1], but got 0");
  expect_error(
      [&] { torchclr::LinearLR(*opt.optimizer, torchclr::LinearLROptions(10).end_factor(1.5)); },
      "LinearLR: expected end_factor in [0, 1], but got 1.5");
  auto zero = make_optimizer("sgd", {0.0});
  expect_error(
      [&] { torchclr::ExponentialLR(*zero.optimizer, torchclr::ExponentialLROptions(0.9)); },
      "ExponentialLR: expected the optimizer's lr to be positive and finite, but got 0");
}

// Options whose LR leaves the doubles at an iteration the schedule reaches are rejected: up front
// where the schedule is bounded (1cycle's total_steps, multistep's milestones), at the step into it
// where the LR grows without end (gamma > 1), and never with a non-finite LR in the optimizer.
TEST(FiniteLrErrors, OneCycleRejectsDivFactorsThatOverflowTheLr) {
  using torchclr::OneCycleLR;
  using torchclr::OneCycleLROptions;
  auto opt = make_optimizer("sgd", {0.1});
  expect_error([&] { OneCycleLR(*opt.optimizer, OneCycleLROptions(0.1, 100).div_factor(1e-310)); },
               "OneCycleLR: expected a finite initial LR (max_lr / div_factor), but got inf for "
               "param group 0 (max_lr 0.1, div_factor 1e-310)");
  expect_error(
      [&] {
        OneCycleLR(*opt.optimizer,
                   OneCycleLROptions(0.1, 100).div_factor(1e-300).final_div_factor(1e-10));
      },
      "OneCycleLR: expected a finite minimum LR (max_lr / div_factor / final_div_factor), but "
      "got inf for param group 0");
}

TEST(FiniteLrErrors, MultiStepRejectsAGammaThatOverflowsAtTheLastMilestone) {
  auto opt = make_optimizer("sgd", {0.1});
  expect_error(
      [&] {
        torchclr::MultiStepLR(*opt.optimizer, torchclr::MultiStepLROptions({10, 20}).gamma(1e200));
      },
      "MultiStepLR: expected a finite LR after every milestone, but lr 0.1 x gamma 1e+200 ^ 2 "
      "is inf for param group 0");
  // One milestone: 1e199 is large but finite, so accepted.
  torchclr::MultiStepLR one(*opt.optimizer, torchclr::MultiStepLROptions({10}).gamma(1e200));
  EXPECT_DOUBLE_EQ(one.lr_at(10, 0), 1e199);
}

TEST(FiniteLrErrors, ExponentialStopsAtTheStepWhoseLrWouldBeInfinite) {
  auto opt = make_optimizer("sgd", {0.1});
  torchclr::ExponentialLR exp(*opt.optimizer, torchclr::ExponentialLROptions(1e200));
  exp.step();  // 1e199: finite
  EXPECT_DOUBLE_EQ(exp.get_last_lr()[0], 1e199);
  expect_error([&] { exp.step(); },
               "ExponentialLR: expected a finite LR at every iteration, but gamma 1e+200 takes "
               "param group 0's LR past the largest double at iteration 2");
  EXPECT_DOUBLE_EQ(exp.get_last_lr()[0], 1e199);  // the optimizer keeps a finite LR
  EXPECT_EQ(exp.last_step(), 1);
  auto other = make_optimizer("sgd", {0.1});
  expect_error(
      [&] {
        torchclr::ExponentialLR(*other.optimizer,
                                torchclr::ExponentialLROptions(1e200).last_step(5));
      },
      "at iteration 2");
  // Decay never overflows, however long it runs.
  auto decay = make_optimizer("sgd", {0.1});
  torchclr::ExponentialLR slow(*decay.optimizer,
                               torchclr::ExponentialLROptions(0.5).last_step(4000000000));
  EXPECT_EQ(slow.get_last_lr()[0], 0.0);
}

TEST(FiniteLrErrors, ExpRangeStopsAtTheStepWhoseLrWouldBeInfinite) {
  auto opt = make_optimizer("sgd", {0.1});
  CyclicLR cyclic(*opt.optimizer, CyclicLROptions(1e-3, 6e-3)
                                      .step_size_up(2)
                                      .mode(torchclr::CyclicMode::ExpRange)
                                      .gamma(1e100)
                                      .cycle_momentum(false));
  std::string message;
  for (int t = 0; t < 10 && message.empty(); ++t) {
    try {
      cyclic.step();
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    }
    EXPECT_TRUE(std::isfinite(cyclic.get_last_lr()[0])) << "iteration " << cyclic.last_step();
  }
  EXPECT_NE(message.find("CyclicLR: expected a finite LR at every iteration, but gamma 1e+100 "
                         "takes param group 0's LR past the largest double at iteration 4"),
            std::string::npos)
      << message;
  EXPECT_EQ(cyclic.last_step(), 3);
}

TEST(CheckpointErrors, RejectsAnotherSchedulerType) {
  auto opt = make_optimizer("sgd", {0.1});
  CyclicLR cyclic(*opt.optimizer, CyclicLROptions(1e-3, 6e-3));
  for (int i = 0; i < 23; ++i) cyclic.step();
  torch::serialize::OutputArchive out;
  cyclic.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  std::istringstream stream(bytes.str());
  in.load_from(stream);
  auto other = make_optimizer("sgd", {0.1});
  torchclr::OneCycleLR one_cycle(*other.optimizer, torchclr::OneCycleLROptions(0.1, 100));
  for (int i = 0; i < 7; ++i) one_cycle.step();
  const auto lrs = one_cycle.get_last_lr();
  const auto momentums = one_cycle.get_last_momentum();
  expect_error([&] { one_cycle.load(in); },
               "OneCycleLR: expected a checkpoint of a OneCycleLR, but got one of a CyclicLR");
  EXPECT_EQ(one_cycle.last_step(), 7);  // neither the checkpoint's 23 nor back to 0
  EXPECT_EQ(one_cycle.get_last_lr(), lrs);
  EXPECT_EQ(one_cycle.get_last_momentum(), momentums);
}

TEST(CheckpointErrors, RejectsAnotherNumberOfGroupsAndLeavesSchedulerUnchanged) {
  auto opt = make_optimizer("sgd", {0.1, 0.2});
  CyclicLR two(*opt.optimizer, CyclicLROptions(1e-3, 6e-3).step_size_up(5));
  for (int i = 0; i < 3; ++i) two.step();
  torch::serialize::OutputArchive out;
  two.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  std::istringstream stream(bytes.str());
  in.load_from(stream);
  auto other = make_optimizer("sgd", {0.1});
  CyclicLR one(*other.optimizer, CyclicLROptions(1e-3, 6e-3).step_size_up(5));
  expect_error([&] { one.load(in); },
               "CyclicLR: expected a checkpoint for 1 param groups, but got one for 2");
  EXPECT_EQ(one.last_step(), 0);
  EXPECT_EQ(one.get_last_lr()[0], 1e-3);
}

TEST(CheckpointErrors, RejectsAnArchiveThatIsNoSchedulerCheckpoint) {
  auto opt = make_optimizer("sgd", {0.1});
  torch::serialize::OutputArchive out;
  opt.optimizer->save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  std::istringstream stream(bytes.str());
  in.load_from(stream);
  CyclicLR cyclic(*opt.optimizer, CyclicLROptions(1e-3, 6e-3));
  expect_error([&] { cyclic.load(in); },
               "CyclicLR: expected a torchclr scheduler checkpoint, but the archive has no "
               "'torchclr/type' entry");
}

TEST(SchedulerErrors, RejectsOptimizerWhoseGroupCountChanged) {
  auto opt = make_optimizer("sgd", {0.1});
  CyclicLR cyclic(*opt.optimizer, CyclicLROptions(1e-3, 6e-3).step_size_up(4));
  opt.optimizer->add_param_group(
      torch::optim::OptimizerParamGroup({torch::zeros({1}, torch::requires_grad())},
                                        std::make_unique<torch::optim::SGDOptions>(0.1)));
  expect_error([&] { cyclic.step(); },
               "CyclicLR: expected the optimizer to keep its 1 param groups, but it now has 2");
}

}  // namespace
}  // namespace torchclr_test
