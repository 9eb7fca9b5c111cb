// Every scheduler against the golden sequences of PyTorch's Python schedulers (fixtures/,
// written by generate_fixtures.py): after construction and after each step(), when resumed at
// any iteration, and through lr_at(), to 1e-12 relative.

#include <gtest/gtest.h>

#include <set>

#include "fixture.h"

namespace torchclr_test {
namespace {

class Golden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { fixture_ = load_fixture(GetParam()); }

  OptimizerUnderTest fresh_optimizer() const {
    return make_optimizer(fixture_.config.at("optimizer"), parse_doubles(fixture_.config.at("lrs")),
                          0.9);
  }

  void expect_row(const torchclr::Scheduler& scheduler, size_t t) const {
    const auto& row = fixture_.rows.at(t);
    const size_t groups = fixture_.num_groups();
    const auto lrs = scheduler.get_last_lr();
    ASSERT_EQ(lrs.size(), groups);
    for (size_t g = 0; g < groups; ++g) {
      EXPECT_TRUE(close_relative(row[g], lrs[g])) << "lr of group " << g << " at iteration " << t;
    }
    if (fixture_.has_momentum()) {
      const auto momentums = scheduler.get_last_momentum();
      for (size_t g = 0; g < groups; ++g) {
        EXPECT_TRUE(close_relative(row[groups + g], momentums[g]))
            << "momentum of group " << g << " at iteration " << t;
      }
    }
  }

  Fixture fixture_;
};

TEST_P(Golden, MatchesPyTorchAfterEveryStep) {
  auto opt = fresh_optimizer();
  auto scheduler = make_scheduler(fixture_, *opt.optimizer);
  for (size_t t = 0; t < fixture_.rows.size(); ++t) {
    if (t > 0) scheduler->step();
    EXPECT_EQ(scheduler->last_step(), static_cast<int64_t>(t));
    expect_row(*scheduler, t);
    if (HasFailure()) return;
  }
}

TEST_P(Golden, MatchesPyTorchWhenResumedAtAnyIteration) {
  const size_t last = fixture_.rows.size() - 1;
  for (const size_t k : {size_t{0}, size_t{1}, last / 3, last / 2, last - 1, last}) {
    auto opt = fresh_optimizer();
    auto scheduler = make_scheduler(fixture_, *opt.optimizer, static_cast<int64_t>(k));
    expect_row(*scheduler, k);
    for (size_t t = k + 1; t <= last && t < k + 5; ++t) {
      scheduler->step();
      expect_row(*scheduler, t);
    }
    if (HasFailure()) return;
  }
}

TEST_P(Golden, LrAtMatchesPyTorchWithoutStepping) {
  auto opt = fresh_optimizer();
  auto scheduler = make_scheduler(fixture_, *opt.optimizer);
  for (size_t t = 0; t < fixture_.rows.size(); ++t) {
    for (size_t g = 0; g < fixture_.num_groups(); ++g) {
      EXPECT_TRUE(close_relative(fixture_.rows[t][g], scheduler->lr_at(static_cast<int64_t>(t), g)))
          << "group " << g << " iteration " << t;
    }
  }
  EXPECT_EQ(scheduler->last_step(), 0);
}

TEST_P(Golden, StepsThroughLibTorchBaseClassReference) {
  auto opt = fresh_optimizer();
  auto scheduler = make_scheduler(fixture_, *opt.optimizer);
  torch::optim::LRScheduler& base = *scheduler;
  for (size_t t = 1; t < fixture_.rows.size(); ++t) base.step();
  expect_row(*scheduler, fixture_.rows.size() - 1);
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Golden, ::testing::ValuesIn(fixture_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(GoldenFixtures, CoverEverySchedulerAndMode) {
  std::set<std::string> seen;
  for (const auto& name : fixture_names()) {
    const Fixture fixture = load_fixture(name);
    std::string key = fixture.config.at("scheduler");
    if (key == "CyclicLR") {
      key += "/" + fixture.config.at("mode") + "/" + fixture.config.at("scale_fn") + "/" +
             fixture.config.at("scale_mode");
    } else if (key == "OneCycleLR") {
      key += "/" + fixture.config.at("anneal_strategy") + "/" + fixture.config.at("three_phase");
    }
    seen.insert(key);
  }
  for (const char* expected :
       {"CyclicLR/triangular/none/cycle", "CyclicLR/triangular2/none/cycle",
        "CyclicLR/exp_range/none/cycle", "CyclicLR/triangular/hyperbolic/cycle",
        "CyclicLR/triangular/slow_decay/iterations", "OneCycleLR/cos/0", "OneCycleLR/linear/0",
        "OneCycleLR/cos/1", "OneCycleLR/linear/1", "MultiStepLR", "ExponentialLR", "LinearLR"}) {
    EXPECT_TRUE(seen.count(expected)) << "no fixture for " << expected;
  }
}

}  // namespace
}  // namespace torchclr_test
