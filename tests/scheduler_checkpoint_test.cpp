// Checkpoints of every scheduler: a load restores every option that defines the curve, and every
// way a load can fail leaves the scheduler and the optimizer exactly as they were.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fixture.h"

namespace torchclr_test {
namespace {

using torchclr::Scheduler;

// ---------------------------------------------------------------------------------------------
// Checkpoints as lists of entries, so that a test can drop or replace any one of them.

using Entry = std::pair<std::string, c10::IValue>;
using Entries = std::vector<Entry>;

std::string to_bytes(torch::serialize::OutputArchive& archive) {
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

Entries entries_of_bytes(const std::string& bytes) {
  torch::serialize::InputArchive in;
  std::istringstream stream(bytes);
  in.load_from(stream);
  Entries entries;
  for (const auto& key : in.keys()) {
    c10::IValue value;
    if (in.try_read(key, value)) entries.emplace_back(key, value);
  }
  return entries;
}

Entries checkpoint_of(const Scheduler& scheduler) {
  torch::serialize::OutputArchive out;
  scheduler.save(out);
  return entries_of_bytes(to_bytes(out));
}

std::string bytes_of(const Entries& entries) {
  torch::serialize::OutputArchive out;
  for (const auto& [key, value] : entries) {
    if (value.isTensor()) {
      out.write(key, value.toTensor());
    } else {
      out.write(key, value);
    }
  }
  return to_bytes(out);
}

// Loads `entries` into `scheduler` through a real archive, as torch::load would.
void load_entries(Scheduler& scheduler, const Entries& entries) {
  const std::string bytes = bytes_of(entries);
  torch::serialize::InputArchive in;
  std::istringstream stream(bytes);
  in.load_from(stream);
  scheduler.load(in);
}

Entries without(const Entries& entries, const std::string& key) {
  Entries out;
  for (const auto& entry : entries) {
    if (entry.first != key) out.push_back(entry);
  }
  return out;
}

Entries with(Entries entries, const std::string& key, c10::IValue value) {
  bool found = false;
  for (auto& entry : entries) {
    if (entry.first == key) {
      entry.second = std::move(value);
      found = true;
    }
  }
  EXPECT_TRUE(found) << "no entry '" << key << "' in the checkpoint";
  return entries;
}

bool bitwise_equal(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

bool bitwise_equal(const c10::IValue& a, const c10::IValue& b) {
  if (a.isTensor() && b.isTensor()) {
    const auto x = a.toTensor().contiguous();
    const auto y = b.toTensor().contiguous();
    return x.scalar_type() == y.scalar_type() && x.sizes() == y.sizes() &&
           std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
  }
  if (a.isDouble() && b.isDouble()) return bitwise_equal(a.toDouble(), b.toDouble());
  if (a.isInt() && b.isInt()) return a.toInt() == b.toInt();
  if (a.isString() && b.isString()) return a.toStringRef() == b.toStringRef();
  return false;
}

::testing::AssertionResult same_checkpoint(const Entries& expected, const Entries& actual) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure()
           << expected.size() << " entries expected, " << actual.size() << " found";
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i].first != actual[i].first) {
      return ::testing::AssertionFailure()
             << "entry " << i << ": '" << expected[i].first << "' vs '" << actual[i].first << "'";
    }
    if (!bitwise_equal(expected[i].second, actual[i].second)) {
      return ::testing::AssertionFailure()
             << "entry '" << expected[i].first << "' differs: " << expected[i].second << " vs "
             << actual[i].second;
    }
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// What a scheduler and its optimizer are, compared bitwise.

constexpr int64_t kCurveLength = 160;

struct State {
  int64_t last_step = 0;
  std::vector<double> curve;      // lr_at (and momentum_at) of every group, t = 0 .. kCurveLength
  std::vector<double> optimizer;  // every group's LR (and momentum) as the optimizer holds it
  Entries checkpoint;
};

// The LRs and, for a scheduler that cycles momentum, the momentum of every param group.
std::vector<double> optimizer_values(torch::optim::Optimizer& optimizer, bool momentum) {
  std::vector<double> values;
  for (const auto& group : optimizer.param_groups()) {
    values.push_back(group.options().get_lr());
    if (momentum) values.push_back(torchclr::get_momentum(group.options()));
  }
  return values;
}

std::vector<double> curve_of(const Scheduler& scheduler, bool momentum) {
  std::vector<double> curve;
  for (int64_t t = 0; t <= kCurveLength; ++t) {
    for (size_t g = 0; g < scheduler.num_groups(); ++g) {
      curve.push_back(scheduler.lr_at(t, g));
      if (momentum) curve.push_back(scheduler.momentum_at(t, g));
    }
  }
  return curve;
}

State state_of(const Scheduler& scheduler, torch::optim::Optimizer& optimizer, bool momentum) {
  return {scheduler.last_step(), curve_of(scheduler, momentum),
          optimizer_values(optimizer, momentum), checkpoint_of(scheduler)};
}

::testing::AssertionResult same_values(const char* what, const std::vector<double>& expected,
                                       const std::vector<double>& actual) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure()
           << what << ": " << expected.size() << " values vs " << actual.size();
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!bitwise_equal(expected[i], actual[i])) {
      return ::testing::AssertionFailure()
             << what << " [" << i << "]: " << expected[i] << " vs " << actual[i];
    }
  }
  return ::testing::AssertionSuccess();
}

void expect_same_state(const State& expected, const State& actual) {
  EXPECT_EQ(expected.last_step, actual.last_step);
  EXPECT_TRUE(same_values("curve", expected.curve, actual.curve));
  EXPECT_TRUE(same_values("optimizer", expected.optimizer, actual.optimizer));
  EXPECT_TRUE(same_checkpoint(expected.checkpoint, actual.checkpoint));
}

// ---------------------------------------------------------------------------------------------
// One case per scheduler: two schedulers of the same type that differ in every option (and, where
// the base LRs come from the optimizer, in the optimizer's LRs), and option values a checkpoint
// must not be allowed to carry.

using Factory = std::function<std::unique_ptr<Scheduler>(torch::optim::Optimizer&)>;

struct Built {
  OptimizerUnderTest optimizer;
  std::unique_ptr<Scheduler> scheduler;
};

struct Case {
  std::string name;
  std::string optimizer;  // make_optimizer kind
  std::vector<double> lrs, other_lrs;
  bool momentum = false;
  Factory make, make_other;
  int64_t steps = 0, other_steps = 0;  // where each one is when the checkpoint is taken
  std::vector<Entry> invalid;          // one bad option value at a time
  std::string invalid_message;         // what each of those errors contains
  bool metric = false;                 // stepped with step(metric) (ReduceLROnPlateau)

  // One step, with a metric that falls and then stalls where the schedule takes one.
  void advance(Scheduler& scheduler) const {
    if (metric) {
      const double t = static_cast<double>(scheduler.last_step() + 1);
      scheduler.step(std::max(1.0 / (1.0 + t), 0.1) + 0.01 * std::fmod(t, 3.0));
    } else {
      scheduler.step();
    }
  }

  Built build(bool other) const {
    Built b{make_optimizer(optimizer, other ? other_lrs : lrs, other ? 0.5 : 0.9), nullptr};
    b.scheduler = (other ? make_other : make)(*b.optimizer.optimizer);
    for (int64_t i = 0; i < (other ? other_steps : steps); ++i) advance(*b.scheduler);
    return b;
  }
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

c10::IValue doubles(std::vector<double> values) { return torch::tensor(values, torch::kFloat64); }

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<Case> cases() {
  using namespace torchclr;
  std::vector<Case> out;
  {
    Case c;
    c.name = "CyclicLR";
    c.optimizer = "sgd";
    c.lrs = c.other_lrs = {0.1, 0.1};
    c.momentum = true;
    c.make = [](torch::optim::Optimizer& o) {
      return std::make_unique<CyclicLR>(o, CyclicLROptions({1e-3, 2e-3}, {6e-3, 1e-2})
                                               .step_size_up(7)
                                               .step_size_down(13)
                                               .mode(CyclicMode::ExpRange)
                                               .gamma(0.995)
                                               .base_momentum({0.8, 0.82})
                                               .max_momentum({0.9, 0.93}));
    };
    c.make_other = [](torch::optim::Optimizer& o) {
      return std::make_unique<CyclicLR>(o, CyclicLROptions({2e-2, 3e-2}, {5e-2, 4e-2})
                                               .step_size_up(3)
                                               .mode(CyclicMode::Triangular2)
                                               .scale_mode(ScaleMode::Iterations)
                                               .base_momentum(0.7)
                                               .max_momentum(0.75));
    };
    c.steps = 45;
    c.other_steps = 4;
    c.invalid = {{"cyclic_lr/base_lr", doubles({-1e-3, 2e-3})},
                 {"cyclic_lr/max_lr", doubles({6e-3, kNaN})},
                 {"cyclic_lr/max_lr", doubles({6e-3, 1e-3})},  // below base_lr
                 {"cyclic_lr/step_size_up", int64_t{0}},
                 {"cyclic_lr/step_size_down", int64_t{-2}},
                 {"cyclic_lr/step_size_up", std::numeric_limits<int64_t>::max()},
                 {"cyclic_lr/mode", int64_t{3}},
                 {"cyclic_lr/scale_mode", int64_t{2}},
                 {"cyclic_lr/gamma", 0.0},
                 {"cyclic_lr/base_momentum", doubles({0.8, 1.0})},
                 {"cyclic_lr/max_momentum", doubles({-0.1, 0.9})}};
    out.push_back(std::move(c));
  }
  {
    Case c;
    c.name = "OneCycleLR";
    c.optimizer = "adam";
    c.lrs = c.other_lrs = {0.1, 0.1};
    c.momentum = true;
    c.make = [](torch::optim::Optimizer& o) {
      return std::make_unique<OneCycleLR>(o, OneCycleLROptions({0.1, 0.3}, 120)
                                                 .pct_start(0.25)
                                                 .anneal_strategy(AnnealStrategy::Linear)
                                                 .div_factor(10)
                                                 .final_div_factor(100)
                                                 .three_phase(true)
                                                 .base_momentum({0.8, 0.85})
                                                 .max_momentum({0.9, 0.92}));
    };
    c.make_other = [](torch::optim::Optimizer& o) {
      return std::make_unique<OneCycleLR>(o, OneCycleLROptions(0.5, 200));
    };
    c.steps = 70;
    c.other_steps = 9;
    c.invalid = {{"one_cycle_lr/max_lr", doubles({0.1, 0.0})},
                 {"one_cycle_lr/total_steps", int64_t{0}},
                 {"one_cycle_lr/pct_start", 1.0},
                 {"one_cycle_lr/pct_start", 0.004},  // first phase shorter than an iteration
                 {"one_cycle_lr/anneal_strategy", int64_t{2}},
                 {"one_cycle_lr/div_factor", -25.0},
                 {"one_cycle_lr/final_div_factor", kNaN},
                 {"one_cycle_lr/base_momentum", doubles({0.8, 1.5})},
                 {"one_cycle_lr/max_momentum", doubles({0.9, -0.5})}};
    out.push_back(std::move(c));
  }
  {
    Case c;
    c.name = "MultiStepLR";
    c.optimizer = "sgd";
    c.lrs = {0.1, 0.02};
    c.other_lrs = {0.5, 0.7};
    c.make = [](torch::optim::Optimizer& o) {
      return std::make_unique<MultiStepLR>(o, MultiStepLROptions({10, 30, 30, 90}).gamma(0.5));
    };
    c.make_other = [](torch::optim::Optimizer& o) {
      return std::make_unique<MultiStepLR>(o, MultiStepLROptions({3}));
    };
    c.steps = 31;
    c.other_steps = 5;
    c.invalid = {{"torchclr/base_lr", doubles({0.1, -0.02})},
                 {"multi_step_lr/milestones", torch::tensor(std::vector<int64_t>{10, 0})},
                 {"multi_step_lr/gamma", kNaN}};
    out.push_back(std::move(c));
  }
  {
    Case c;
    c.name = "ExponentialLR";
    c.optimizer = "sgd";
    c.lrs = {0.1, 0.02};
    c.other_lrs = {0.5, 0.7};
    c.make = [](torch::optim::Optimizer& o) {
      return std::make_unique<ExponentialLR>(o, ExponentialLROptions(0.97));
    };
    c.make_other = [](torch::optim::Optimizer& o) {
      return std::make_unique<ExponentialLR>(o, ExponentialLROptions(0.5));
    };
    c.steps = 12;
    c.other_steps = 3;
    c.invalid = {{"torchclr/base_lr", doubles({kNaN, 0.02})}, {"exponential_lr/gamma", -0.9}};
    out.push_back(std::move(c));
  }
  {
    Case c;
    c.name = "LinearLR";
    c.optimizer = "sgd";
    c.lrs = {0.1, 0.02};
    c.other_lrs = {0.5, 0.7};
    c.make = [](torch::optim::Optimizer& o) {
      return std::make_unique<LinearLR>(o, LinearLROptions(100).start_factor(0.2).end_factor(0.9));
    };
    c.make_other = [](torch::optim::Optimizer& o) {
      return std::make_unique<LinearLR>(o, LinearLROptions(7));
    };
    c.steps = 40;
    c.other_steps = 2;
    c.invalid = {{"torchclr/base_lr", doubles({0.1, 0.0})},
                 {"linear_lr/total_iters", int64_t{0}},
                 {"linear_lr/start_factor", 0.0},
                 {"linear_lr/end_factor", 1.5}};
    out.push_back(std::move(c));
  }
  // The schedules beyond the CLR set: two groups, base LRs from the optimizer.
  auto decay_case = [](std::string name, Factory make, Factory make_other, int64_t steps,
                       int64_t other_steps, std::vector<Entry> invalid) {
    Case c;
    c.name = std::move(name);
    c.optimizer = "sgd";
    c.lrs = {0.1, 0.02};
    c.other_lrs = {0.5, 0.7};
    c.make = std::move(make);
    c.make_other = std::move(make_other);
    c.steps = steps;
    c.other_steps = other_steps;
    c.invalid = std::move(invalid);
    return c;
  };
  out.push_back(decay_case(
      "StepLR",
      [](torch::optim::Optimizer& o) {
        return std::make_unique<StepLR>(o, StepLROptions(7).gamma(0.5));
      },
      [](torch::optim::Optimizer& o) { return std::make_unique<StepLR>(o, StepLROptions(2)); }, 15,
      3,
      {{"torchclr/base_lr", doubles({0.1, -1.0})},
       {"step_lr/step_size", int64_t{0}},
       {"step_lr/gamma", 0.0}}));
  out.push_back(decay_case(
      "ConstantLR",
      [](torch::optim::Optimizer& o) {
        return std::make_unique<ConstantLR>(o, ConstantLROptions().factor(0.25).total_iters(40));
      },
      [](torch::optim::Optimizer& o) { return std::make_unique<ConstantLR>(o); }, 12, 2,
      {{"constant_lr/factor", 1.5}, {"constant_lr/total_iters", int64_t{0}}}));
  out.push_back(decay_case(
      "PolynomialLR",
      [](torch::optim::Optimizer& o) {
        return std::make_unique<PolynomialLR>(o, PolynomialLROptions(100).power(2));
      },
      [](torch::optim::Optimizer& o) {
        return std::make_unique<PolynomialLR>(o, PolynomialLROptions(10));
      },
      30, 4, {{"polynomial_lr/power", -1.0}, {"polynomial_lr/total_iters", int64_t{0}}}));
  // A checkpoint keeps LambdaLR's iteration and base LRs, never its function: both use one.
  const auto lambda = [](torch::optim::Optimizer& o) {
    return std::make_unique<LambdaLR>(
        o, LambdaLROptions([](int64_t t) { return std::pow(0.99, static_cast<double>(t)); }));
  };
  out.push_back(
      decay_case("LambdaLR", lambda, lambda, 20, 3, {{"torchclr/base_lr", doubles({0.0, 0.02})}}));
  out.push_back(decay_case(
      "CosineAnnealingLR",
      [](torch::optim::Optimizer& o) {
        return std::make_unique<CosineAnnealingLR>(
            o, CosineAnnealingLROptions(50).eta_min({0.001, 0.002}));
      },
      [](torch::optim::Optimizer& o) {
        return std::make_unique<CosineAnnealingLR>(o, CosineAnnealingLROptions(9));
      },
      20, 2,
      {{"cosine_annealing_lr/t_max", int64_t{0}},
       {"cosine_annealing_lr/eta_min", doubles({-1.0, 0.0})}}));
  out.push_back(decay_case(
      "CosineAnnealingWarmRestarts",
      [](torch::optim::Optimizer& o) {
        return std::make_unique<CosineAnnealingWarmRestarts>(o,
                                                             CosineAnnealingWarmRestartsOptions(5)
                                                                 .t_mult(2)
                                                                 .eta_min(1e-4)
                                                                 .cycle_decay(0.8)
                                                                 .cycle_limit(4));
      },
      [](torch::optim::Optimizer& o) {
        return std::make_unique<CosineAnnealingWarmRestarts>(o,
                                                             CosineAnnealingWarmRestartsOptions(3));
      },
      30, 1,
      {{"cosine_annealing_warm_restarts/t_0", int64_t{0}},
       {"cosine_annealing_warm_restarts/t_mult", int64_t{0}},
       {"cosine_annealing_warm_restarts/eta_min", doubles({kNaN, 0.0})},
       {"cosine_annealing_warm_restarts/cycle_decay", 1.5},
       {"cosine_annealing_warm_restarts/cycle_limit", int64_t{-1}}}));
  out.push_back(decay_case(
      "WarmupStableDecay",
      [](torch::optim::Optimizer& o) {
        return std::make_unique<WarmupStableDecay>(o, WarmupStableDecayOptions(200)
                                                          .warmup_steps(10)
                                                          .decay_steps(50)
                                                          .decay(DecayShape::Cosine)
                                                          .min_lr({0.001, 0.0}));
      },
      [](torch::optim::Optimizer& o) {
        return std::make_unique<WarmupStableDecay>(o, WarmupStableDecayOptions(30));
      },
      160, 5,
      {{"warmup_stable_decay/total_steps", int64_t{0}},
       {"warmup_stable_decay/warmup_steps", int64_t{-1}},
       {"warmup_stable_decay/decay_steps", int64_t{-1}},
       {"warmup_stable_decay/decay", int64_t{3}},
       {"warmup_stable_decay/decay_from", int64_t{5}},  // inside the warm-up
       {"warmup_stable_decay/min_lr", doubles({-1.0, 0.0})}}));
  {
    Case c = decay_case(
        "ReduceLROnPlateau",
        [](torch::optim::Optimizer& o) {
          return std::make_unique<ReduceLROnPlateau>(
              o,
              ReduceLROnPlateauOptions().factor(0.5).patience(2).cooldown(1).min_lr({1e-4, 0.0}));
        },
        [](torch::optim::Optimizer& o) {
          return std::make_unique<ReduceLROnPlateau>(
              o, ReduceLROnPlateauOptions().mode(PlateauMode::Max));
        },
        25, 3,
        {{"reduce_lr_on_plateau/mode", int64_t{2}},
         {"reduce_lr_on_plateau/threshold_mode", int64_t{2}},
         {"reduce_lr_on_plateau/factor", 1.0},
         {"reduce_lr_on_plateau/patience", int64_t{-1}},
         {"reduce_lr_on_plateau/threshold", -1.0},
         {"reduce_lr_on_plateau/cooldown", int64_t{-1}},
         {"reduce_lr_on_plateau/eps", kNaN},
         {"reduce_lr_on_plateau/min_lr", doubles({-1.0, 0.0})},
         {"reduce_lr_on_plateau/lr", doubles({-1.0, 0.1})},
         {"reduce_lr_on_plateau/best", kNaN},
         {"reduce_lr_on_plateau/num_bad_steps", int64_t{-1}}});
    c.metric = true;
    out.push_back(std::move(c));
  }
  return out;
}

class Checkpoint : public ::testing::TestWithParam<Case> {
 protected:
  // Loads `entries` into a scheduler built with the other options, expects an error containing
  // `message`, then expects the scheduler and its optimizer exactly as before the load.
  void expect_rejected(const Entries& entries, const std::string& message,
                       const std::string& what) {
    SCOPED_TRACE(what);
    const auto& c = GetParam();
    auto victim = c.build(/*other=*/true);
    const State before = state_of(*victim.scheduler, *victim.optimizer.optimizer, c.momentum);
    try {
      load_entries(*victim.scheduler, entries);
      ADD_FAILURE() << "the load succeeded";
    } catch (const c10::Error& e) {
      const std::string text = e.what_without_backtrace();
      EXPECT_EQ(text.rfind(c.name + ": expected", 0), 0u) << text;
      EXPECT_NE(text.find(message), std::string::npos)
          << text << "\nexpected to contain: " << message;
    }
    expect_same_state(before, state_of(*victim.scheduler, *victim.optimizer.optimizer, c.momentum));
  }

  Entries valid_checkpoint() const { return checkpoint_of(*GetParam().build(false).scheduler); }
};

// A checkpoint restores every option: a scheduler built with other options (and, for the
// schedules that take their base LRs from the optimizer, on an optimizer with other LRs) follows
// the saved one's whole curve after the load, bitwise.
TEST_P(Checkpoint, LoadIntoOtherOptionsRestoresTheWholeCurve) {
  const auto& c = GetParam();
  auto saved = c.build(false);
  auto loaded = c.build(true);
  const State expected = state_of(*saved.scheduler, *saved.optimizer.optimizer, c.momentum);
  ASSERT_FALSE(same_values("curve", expected.curve, curve_of(*loaded.scheduler, c.momentum)))
      << "the two schedulers must differ before the load";
  load_entries(*loaded.scheduler, checkpoint_of(*saved.scheduler));
  expect_same_state(expected, state_of(*loaded.scheduler, *loaded.optimizer.optimizer, c.momentum));
  for (int i = 0; i < 20; ++i) {
    c.advance(*saved.scheduler);
    c.advance(*loaded.scheduler);
    ASSERT_TRUE(same_values("optimizer", optimizer_values(*saved.optimizer.optimizer, c.momentum),
                            optimizer_values(*loaded.optimizer.optimizer, c.momentum)))
        << "step " << i;
  }
}

TEST_P(Checkpoint, MissingKeyIsRejectedAndChangesNothing) {
  const Entries valid = valid_checkpoint();
  ASSERT_GT(valid.size(), 4u);
  for (const auto& entry : valid) {
    // The type entry missing means "not a torchclr checkpoint"; every other key is named.
    const std::string message = entry.first == "torchclr/type"
                                    ? "has no 'torchclr/type' entry"
                                    : "expected the key '" + entry.first + "' in the checkpoint";
    expect_rejected(without(valid, entry.first), message, "without " + entry.first);
  }
}

// Every entry replaced by one of another kind: an integer where a double belongs and the other
// way round, float32 or 2-d tensors where 1-d float64 belong, int64 where float64 belongs.
TEST_P(Checkpoint, WrongDtypeIsRejectedAndChangesNothing) {
  const Entries valid = valid_checkpoint();
  for (const auto& [key, value] : valid) {
    std::vector<c10::IValue> wrong;
    if (value.isTensor()) {
      const auto tensor = value.toTensor();
      wrong.push_back(tensor.scalar_type() == torch::kFloat64 ? tensor.to(torch::kFloat32)
                                                              : tensor.to(torch::kFloat64));
      wrong.push_back(tensor.unsqueeze(0));
      wrong.push_back(c10::IValue(1.0));
    } else if (value.isDouble()) {
      wrong.push_back(c10::IValue(int64_t{1}));
      wrong.push_back(torch::tensor({value.toDouble()}, torch::kFloat64));
    } else if (value.isInt()) {
      wrong.push_back(c10::IValue(static_cast<double>(value.toInt())));
      wrong.push_back(c10::IValue(std::string("1")));
    } else {
      wrong.push_back(c10::IValue(int64_t{1}));
    }
    for (const auto& bad : wrong) {
      std::ostringstream what;
      what << key << " = " << bad;
      expect_rejected(with(valid, key, bad), "expected", what.str());
    }
  }
}

TEST_P(Checkpoint, InvalidOptionOrBadEnumIsRejectedAndChangesNothing) {
  const auto& c = GetParam();
  const Entries valid = valid_checkpoint();
  ASSERT_FALSE(c.invalid.empty());
  for (const auto& [key, bad] : c.invalid) {
    std::ostringstream what;
    what << key << " = " << bad;
    expect_rejected(with(valid, key, bad), "expected", what.str());
  }
}

TEST_P(Checkpoint, WrongGroupCountIsRejectedAndChangesNothing) {
  const Entries valid = valid_checkpoint();
  expect_rejected(with(valid, "torchclr/num_groups", int64_t{3}),
                  "expected a checkpoint for 2 param groups, but got one for 3", "num_groups 3");
  // The header right, a per-group option with one value too many.
  for (const auto& [key, value] : valid) {
    if (!value.isTensor() || value.toTensor().scalar_type() != torch::kFloat64) continue;
    const auto longer = torch::cat({value.toTensor(), value.toTensor().narrow(0, 0, 1)});
    expect_rejected(with(valid, key, longer),
                    "expected '" + key + "' to hold one value per param group (2), but got 3", key);
  }
}

TEST_P(Checkpoint, WrongTypeOrVersionIsRejectedAndChangesNothing) {
  const auto& c = GetParam();
  const Entries valid = valid_checkpoint();
  for (const auto& other : cases()) {
    if (other.name == c.name) continue;
    expect_rejected(checkpoint_of(*other.build(false).scheduler),
                    "expected a checkpoint of a " + c.name + ", but got one of a " + other.name,
                    other.name);
  }
  expect_rejected(with(valid, "torchclr/version", int64_t{0}),
                  "expected a checkpoint format version between 1 and 2, but got 0", "version 0");
  expect_rejected(with(valid, "torchclr/version", int64_t{3}),
                  "expected a checkpoint format version between 1 and 2, but got 3", "version 3");
}

TEST_P(Checkpoint, IterationOutOfRangeIsRejectedAndChangesNothing) {
  const Entries valid = valid_checkpoint();
  expect_rejected(with(valid, "torchclr/last_step", int64_t{-1}),
                  "expected a checkpoint step >= 0, but got -1", "last_step -1");
  const int64_t too_far = int64_t{std::numeric_limits<unsigned>::max()} + 1;
  expect_rejected(with(valid, "torchclr/last_step", too_far), "expected a checkpoint step",
                  "last_step 2^32");
}

TEST_P(Checkpoint, OptimizerThatChangedItsGroupCountIsRejectedAndChangesNothing) {
  const auto& c = GetParam();
  auto victim = c.build(/*other=*/true);
  auto& optimizer = *victim.optimizer.optimizer;
  optimizer.add_param_group(torch::optim::OptimizerParamGroup(
      {torch::zeros({1}, torch::requires_grad())}, optimizer.defaults().clone()));
  const Entries before = checkpoint_of(*victim.scheduler);
  const int64_t step = victim.scheduler->last_step();
  try {
    load_entries(*victim.scheduler, valid_checkpoint());
    ADD_FAILURE() << "the load succeeded";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find(c.name + ": expected the optimizer to keep its 2 param "
                                                  "groups, but it now has 3"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(victim.scheduler->last_step(), step);
  EXPECT_TRUE(same_checkpoint(before, checkpoint_of(*victim.scheduler)));
}

INSTANTIATE_TEST_SUITE_P(EveryScheduler, Checkpoint, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// The checkpoint's options are valid on their own but its iteration is past the end of the
// schedule they define: the check runs after the options are read, and must still leave the
// scheduler as it was.
TEST(OneCycleLRCheckpoint, StepPastTheCheckpointsTotalStepsIsRejectedAndChangesNothing) {
  const Case c = cases()[1];
  ASSERT_EQ(c.name, "OneCycleLR");
  Entries bad = with(checkpoint_of(*c.build(false).scheduler), "one_cycle_lr/total_steps",
                     int64_t{c.steps - 1});
  auto victim = c.build(true);
  const State before = state_of(*victim.scheduler, *victim.optimizer.optimizer, true);
  try {
    load_entries(*victim.scheduler, bad);
    ADD_FAILURE() << "the load succeeded";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("OneCycleLR: tried to step to iteration 70, but the "
                                         "schedule has total_steps = 69"),
              std::string::npos)
        << e.what();
  }
  expect_same_state(before, state_of(*victim.scheduler, *victim.optimizer.optimizer, true));
}

// A momentum-cycling checkpoint cannot be loaded by a scheduler whose optimizer has no momentum.
TEST(CyclicLRCheckpoint, MomentumCyclingOnAnOptimizerWithoutMomentumIsRejectedAndChangesNothing) {
  auto sgd = make_optimizer("sgd", {0.1});
  torchclr::CyclicLR saved(*sgd.optimizer, torchclr::CyclicLROptions(1e-3, 6e-3).step_size_up(4));
  for (int i = 0; i < 6; ++i) saved.step();
  auto adagrad = make_optimizer("adagrad", {0.1});
  torchclr::CyclicLR victim(
      *adagrad.optimizer,
      torchclr::CyclicLROptions(2e-3, 5e-3).step_size_up(9).cycle_momentum(false));
  victim.step();
  const State before = state_of(victim, *adagrad.optimizer, false);
  try {
    load_entries(victim, checkpoint_of(saved));
    ADD_FAILURE() << "the load succeeded";
  } catch (const c10::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("CyclicLR: expected an optimizer with a momentum to cycle"),
        std::string::npos)
        << e.what();
  }
  expect_same_state(before, state_of(victim, *adagrad.optimizer, false));
}

}  // namespace
}  // namespace torchclr_test
