// Properties that hold for any options: bounds, period, exact peaks, triangular2 halving,
// resume and checkpoint equivalence, momentum on every supported optimizer.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "fixture.h"
#include "temp_dir.h"

namespace torchclr_test {
namespace {

using torchclr::CyclicLR;
using torchclr::CyclicLROptions;
using torchclr::CyclicMode;

TEST(CyclicLR, StaysWithinBoundsInEveryMode) {
  for (const auto mode : {CyclicMode::Triangular, CyclicMode::Triangular2, CyclicMode::ExpRange}) {
    auto opt = make_optimizer("sgd", {0.1});
    CyclicLR scheduler(
        *opt.optimizer,
        CyclicLROptions(1e-3, 6e-3).step_size_up(13).step_size_down(29).mode(mode).gamma(0.999));
    for (int t = 0; t < 2000; ++t) {
      const double lr = scheduler.get_last_lr()[0];
      ASSERT_GE(lr, 1e-3);
      ASSERT_LE(lr, 6e-3);
      const double momentum = scheduler.get_last_momentum()[0];
      ASSERT_GE(momentum, 0.8);
      ASSERT_LE(momentum, 0.9);
      scheduler.step();
    }
  }
}

TEST(CyclicLR, TriangularRepeatsWithItsPeriodAndHitsMaxLrExactly) {
  auto opt = make_optimizer("sgd", {0.1});
  const int64_t up = 7, down = 11;
  CyclicLR scheduler(*opt.optimizer,
                     CyclicLROptions(0.001, 0.006).step_size_up(up).step_size_down(down));
  // The triangle walked step by step (up steps of 1/up, then down steps of 1/down), without the
  // modulo the scheduler uses: every value of ten cycles, through lr_at, momentum_at and step().
  int64_t rising = 0, falling = 0;
  for (int64_t t = 0; t < 10 * (up + down); ++t) {
    const double fraction = falling == 0 ? static_cast<double>(rising) / up
                                         : static_cast<double>(down - falling) / down;
    EXPECT_TRUE(close_relative(0.001 + 0.005 * fraction, scheduler.lr_at(t, 0), 1e-15)) << t;
    EXPECT_TRUE(close_relative(0.9 - 0.1 * fraction, scheduler.momentum_at(t, 0), 1e-15)) << t;
    EXPECT_EQ(scheduler.get_last_lr()[0], scheduler.lr_at(t, 0)) << t;
    EXPECT_EQ(scheduler.lr_at(t, 0), scheduler.lr_at(t + up + down, 0)) << t;
    scheduler.step();
    if (falling == 0 && rising < up) {
      ++rising;
    } else if (++falling == down) {
      rising = falling = 0;
    }
  }
  for (int64_t cycle = 0; cycle < 1000; ++cycle) {
    EXPECT_EQ(scheduler.lr_at(cycle * (up + down) + up, 0), 0.006);
    EXPECT_EQ(scheduler.lr_at(cycle * (up + down), 0), 0.001);
    EXPECT_EQ(scheduler.momentum_at(cycle * (up + down) + up, 0), 0.8);
  }
}

TEST(CyclicLR, Triangular2HalvesAmplitudeEachCycle) {
  auto opt = make_optimizer("sgd", {0.1});
  const int64_t up = 50;
  CyclicLR scheduler(*opt.optimizer,
                     CyclicLROptions(0.001, 0.009).step_size_up(up).mode(CyclicMode::Triangular2));
  double amplitude = 0.008;
  for (int64_t cycle = 0; cycle < 12; ++cycle) {
    EXPECT_DOUBLE_EQ(scheduler.lr_at(cycle * 2 * up + up, 0) - 0.001, amplitude) << cycle;
    amplitude /= 2;
  }
}

TEST(CyclicLR, Triangular2StaysFiniteForTenMillionSteps) {
  auto opt = make_optimizer("sgd", {0.1});
  CyclicLR scheduler(*opt.optimizer,
                     CyclicLROptions(0.001, 0.006).step_size_up(2).mode(CyclicMode::Triangular2));
  for (int t = 0; t < 10000000; ++t) scheduler.step();
  EXPECT_EQ(scheduler.last_step(), 10000000);
  const double lr = scheduler.get_last_lr()[0];
  EXPECT_TRUE(std::isfinite(lr));
  EXPECT_EQ(lr, 0.001);  // amplitude 2^-(2.5 million) has flushed to zero
  EXPECT_TRUE(std::isfinite(scheduler.get_last_momentum()[0]));
}

TEST(CyclicLR, ResumeAtLastStepEqualsSteppingBitwise) {
  for (const auto mode : {CyclicMode::Triangular, CyclicMode::Triangular2, CyclicMode::ExpRange}) {
    const auto options = CyclicLROptions({1e-3, 2e-3}, {6e-3, 1e-2})
                             .step_size_up(17)
                             .step_size_down(5)
                             .mode(mode)
                             .gamma(0.998);
    auto stepped_opt = make_optimizer("sgd", {0.1, 0.1});
    CyclicLR stepped(*stepped_opt.optimizer, options);
    for (int64_t k = 0; k < 300; ++k) {
      auto resumed_opt = make_optimizer("sgd", {0.1, 0.1});
      CyclicLR resumed(*resumed_opt.optimizer, CyclicLROptions(options).last_step(k));
      ASSERT_EQ(resumed.get_last_lr(), stepped.get_last_lr()) << k;
      ASSERT_EQ(resumed.get_last_momentum(), stepped.get_last_momentum()) << k;
      stepped.step();
    }
  }
}

TEST(CyclicLR, CyclesAdamAndAdamWBeta1AndLeavesBeta2Alone) {
  auto sgd = make_optimizer("sgd", {0.1});
  const auto options =
      CyclicLROptions(1e-3, 6e-3).step_size_up(5).base_momentum(0.85).max_momentum(0.95);
  CyclicLR reference(*sgd.optimizer, options);
  for (const char* kind : {"adam", "adamw"}) {
    auto adam = make_optimizer(kind, {0.1});
    CyclicLR scheduler(*adam.optimizer, options);
    auto check = [&](const torch::optim::OptimizerOptions& o) {
      const auto* a = dynamic_cast<const torch::optim::AdamOptions*>(&o);
      const auto* w = dynamic_cast<const torch::optim::AdamWOptions*>(&o);
      return a ? a->betas() : w->betas();
    };
    for (int t = 0; t < 30; ++t) {
      const auto betas = check(adam.optimizer->param_groups()[0].options());
      EXPECT_EQ(std::get<0>(betas), reference.momentum_at(t, 0)) << kind << " " << t;
      EXPECT_EQ(std::get<1>(betas), 0.999) << kind;
      EXPECT_EQ(scheduler.get_last_lr()[0], reference.lr_at(t, 0));
      scheduler.step();
    }
  }
}

TEST(CyclicLR, WorksWithoutMomentumOnAdagrad) {
  auto opt = make_optimizer("adagrad", {0.1});
  CyclicLR scheduler(*opt.optimizer,
                     CyclicLROptions(1e-3, 6e-3).step_size_up(4).cycle_momentum(false));
  for (int i = 0; i < 4; ++i) scheduler.step();
  EXPECT_EQ(scheduler.get_last_lr()[0], 6e-3);
}

// Options of a user's own optimizer, with a set_lr of its own that must be the one called.
struct CountingOptions : torch::optim::OptimizerCloneableOptions<CountingOptions> {
  double lr = 0.1;
  int* set_lr_calls = nullptr;
  double get_lr() const override { return lr; }
  void set_lr(const double value) override {
    lr = value;
    ++*set_lr_calls;
  }
};

// Any optimizer's groups through their base class (LBFGS, Adadelta and a user's options have no
// inline fast path; LibTorch's others do).
struct AnyOptimizer : torch::optim::Optimizer {
  using Optimizer::Optimizer;
  torch::Tensor step(LossClosure /*closure*/) override { return {}; }
};

TEST(Scheduler, WritesTheLrOfEveryKindOfOptimizerOptions) {
  int calls = 0;
  std::vector<std::unique_ptr<torch::optim::OptimizerOptions>> kinds;
  kinds.push_back(std::make_unique<torch::optim::SGDOptions>(0.1));
  kinds.push_back(std::make_unique<torch::optim::AdamOptions>(0.1));
  kinds.push_back(std::make_unique<torch::optim::AdamWOptions>(0.1));
  kinds.push_back(std::make_unique<torch::optim::RMSpropOptions>(0.1));
  kinds.push_back(std::make_unique<torch::optim::AdagradOptions>(0.1));
  kinds.push_back(std::make_unique<torch::optim::LBFGSOptions>(0.1));
  kinds.push_back(std::make_unique<torchclr::AdadeltaOptions>(0.1));
  kinds.push_back(std::make_unique<CountingOptions>());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t g = 0; g < kinds.size(); ++g) {
    groups.emplace_back(std::vector<torch::Tensor>{torch::zeros({1})});
  }
  AnyOptimizer optimizer(groups, std::make_unique<torch::optim::SGDOptions>(0.1));
  // Set afterwards: LibTorch 2.x's constructor does not keep a group's options of a type other
  // than the defaults'.
  for (size_t g = 0; g < kinds.size(); ++g) {
    optimizer.param_groups()[g].set_options(kinds[g]->clone());
  }
  auto* user_options = dynamic_cast<CountingOptions*>(&optimizer.param_groups().back().options());
  ASSERT_NE(user_options, nullptr);
  user_options->set_lr_calls = &calls;
  torchclr::CosineAnnealingLR scheduler(optimizer, torchclr::CosineAnnealingLROptions(10));
  for (int t = 1; t <= 5; ++t) {
    scheduler.step();
    for (size_t g = 0; g < kinds.size(); ++g) {
      ASSERT_EQ(optimizer.param_groups()[g].options().get_lr(), scheduler.lr_at(t, g))
          << "group " << g << " at iteration " << t;
    }
  }
  EXPECT_EQ(calls, 6);  // construction and five steps, through its own set_lr
}

TEST(CyclicLR, CustomScaleFnIsKeptAcrossLoad) {
  auto fn = [](double cycle) { return 1.0 / cycle; };
  const auto options = CyclicLROptions(1e-3, 6e-3).step_size_up(3).scale_fn(fn);
  auto a_opt = make_optimizer("sgd", {0.1});
  CyclicLR a(*a_opt.optimizer, options);
  for (int i = 0; i < 10; ++i) a.step();
  const TempDir dir;
  const std::string path = dir.file("scheduler.pt");
  torch::save(a, path);
  auto b_opt = make_optimizer("sgd", {0.1});
  CyclicLR b(*b_opt.optimizer, options);
  torch::load(b, path);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(a.get_last_lr(), b.get_last_lr());
    a.step();
    b.step();
  }
}

TEST(CyclicLR, DrivesTheLearningRateTheOptimizerUses) {
  // d/dx (x^2 / 2) = x = 1 at x = 1: plain SGD moves x by exactly the LR.
  auto x = torch::ones({1}, torch::requires_grad());
  torch::optim::SGD sgd({x}, torch::optim::SGDOptions(0.5));
  CyclicLR scheduler(sgd, CyclicLROptions(0.01, 0.05).step_size_up(2).cycle_momentum(false));
  double expected = 1.0;
  for (int t = 0; t < 6; ++t) {
    x.data().fill_(1.0);
    sgd.zero_grad();
    (x * x / 2).sum().backward();
    const double lr = scheduler.lr_at(t, 0);
    sgd.step();
    scheduler.step();
    expected = 1.0 - lr;
    EXPECT_DOUBLE_EQ(x.item<double>(), static_cast<float>(expected)) << t;
  }
}

// A checkpoint mid-cycle, loaded into a freshly built scheduler, continues exactly as if the run
// had never stopped; for every scheduler type.
std::vector<std::string> checkpoint_fixtures() {
  return {"cyclic_momentum_groups", "cyclic_triangular",     "cyclic_triangular2",
          "cyclic_exp_range",       "one_cycle_three_phase", "one_cycle_adam",
          "multi_step_repeated",    "exponential_groups",    "linear_warmup"};
}

TEST(Scheduler, SaveLoadMidCycleEqualsNeverStopping) {
  for (const auto& name : checkpoint_fixtures()) {
    const Fixture fixture = load_fixture(name);
    const auto lrs = parse_doubles(fixture.config.at("lrs"));
    const std::string kind = fixture.config.at("optimizer");
    auto through_opt = make_optimizer(kind, lrs);
    auto through = make_scheduler(fixture, *through_opt.optimizer);
    auto first_opt = make_optimizer(kind, lrs);
    auto first = make_scheduler(fixture, *first_opt.optimizer);
    const int64_t stop = fixture.last_iteration() / 2 + 1;
    for (int64_t t = 0; t < stop; ++t) {
      through->step();
      first->step();
    }
    const TempDir dir;
    const std::string path = dir.file("scheduler.pt");
    torch::save(*first, path);
    // The second half of the run: a new optimizer (its LRs as configured, not as scheduled) and a
    // new scheduler built with the same options, then the checkpoint.
    auto second_opt = make_optimizer(kind, lrs);
    auto second = make_scheduler(fixture, *second_opt.optimizer);
    torch::load(*second, path);
    EXPECT_EQ(second->last_step(), stop) << name;
    for (int64_t t = stop; t < fixture.last_iteration(); ++t) {
      ASSERT_EQ(second->get_last_lr(), through->get_last_lr()) << name << " " << t;
      if (fixture.has_momentum()) {
        ASSERT_EQ(second->get_last_momentum(), through->get_last_momentum()) << name << " " << t;
      }
      second->step();
      through->step();
    }
  }
}

TEST(Scheduler, CheckpointRestoresOptionsThatDefineTheCurve) {
  auto a_opt = make_optimizer("sgd", {0.1});
  CyclicLR a(*a_opt.optimizer,
             CyclicLROptions(1e-3, 6e-3).step_size_up(10).mode(CyclicMode::Triangular2));
  for (int i = 0; i < 33; ++i) a.step();
  torch::serialize::OutputArchive out;
  a.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  auto b_opt = make_optimizer("sgd", {0.1});
  CyclicLR b(*b_opt.optimizer, CyclicLROptions(1e-2, 5e-2).step_size_up(3));
  torch::serialize::InputArchive in;
  std::istringstream stream(bytes.str());
  in.load_from(stream);
  b.load(in);
  EXPECT_EQ(b.options().step_size_up(), 10);
  EXPECT_EQ(b.options().mode(), CyclicMode::Triangular2);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(a.get_last_lr(), b.get_last_lr());
    a.step();
    b.step();
  }
}

TEST(OneCycleLR, FinalStepHoldsTheEndAndOneMoreIsAnError) {
  auto opt = make_optimizer("sgd", {0.1});
  torchclr::OneCycleLR scheduler(*opt.optimizer, torchclr::OneCycleLROptions(0.1, 20));
  for (int i = 0; i < 19; ++i) scheduler.step();
  const double last = scheduler.get_last_lr()[0];
  EXPECT_DOUBLE_EQ(last, 0.1 / 25 / 1e4);
  scheduler.step();  // iteration 20 = total_steps: PyTorch allows it; we hold the final values
  EXPECT_EQ(scheduler.get_last_lr()[0], last);
  EXPECT_EQ(scheduler.get_last_momentum()[0], 0.95);
  try {
    scheduler.step();
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find(
            "OneCycleLR: tried to step to iteration 21, but the schedule has total_steps = 20"),
        std::string::npos)
        << e.what();
  }
  EXPECT_EQ(scheduler.last_step(), 20);  // the failed step changed nothing
  EXPECT_EQ(scheduler.get_last_lr()[0], last);
}

TEST(OneCycleLR, PeaksAtMaxLrWithBaseMomentum) {
  auto opt = make_optimizer("sgd", {0.1});
  // The first phase ends at pct_start * total_steps - 1 = 24, an integer: the peak is an iteration.
  torchclr::OneCycleLR scheduler(
      *opt.optimizer, torchclr::OneCycleLROptions(0.4, 100).pct_start(0.25).anneal_strategy(
                          torchclr::AnnealStrategy::Linear));
  EXPECT_DOUBLE_EQ(scheduler.get_last_lr()[0], 0.4 / 25);
  EXPECT_EQ(scheduler.get_last_momentum()[0], 0.95);
  double peak = 0;
  for (int t = 0; t < 99; ++t) {
    scheduler.step();
    peak = std::max(peak, scheduler.get_last_lr()[0]);
    if (scheduler.last_step() == 24) {
      EXPECT_DOUBLE_EQ(scheduler.get_last_momentum()[0], 0.85);
    }
  }
  EXPECT_DOUBLE_EQ(peak, 0.4);
}

TEST(MultiStepLR, KeepsParamGroupRatios) {
  auto opt = make_optimizer("sgd", {0.001, 0.002});
  torchclr::MultiStepLR scheduler(*opt.optimizer, torchclr::MultiStepLROptions({60, 65}));
  for (int t = 0; t < 70; ++t) {
    const auto lrs = scheduler.get_last_lr();
    EXPECT_DOUBLE_EQ(lrs[1], 2 * lrs[0]);
    scheduler.step();
  }
  EXPECT_DOUBLE_EQ(scheduler.get_last_lr()[0], 0.001 * 0.1 * 0.1);
}

}  // namespace
}  // namespace torchclr_test
