#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torchclr/adadelta.h>
#include <torchclr/cyclic_lr.h>
#include <torchclr/lr_finder.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "compat.h"
#include "temp_dir.h"

namespace {

using torchclr_test::TempDir;

using torchclr::LRFinder;
using torchclr::RangeMode;
using torchclr::RangeTestOptions;
using torchclr::RangeTestResult;
using torchclr::StopReason;
using torchclr::SuggestionRule;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// Helpers

bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) {
    return false;
  }
  if (!a.defined()) {
    return true;
  }
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) {
    return false;
  }
  auto ca = a.detach().cpu().contiguous();
  auto cb = b.detach().cpu().contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

std::vector<torch::Tensor> clone_all(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> out;
  for (const auto& t : tensors) {
    out.push_back(t.detach().clone());
  }
  return out;
}

void expect_bitwise_equal(const std::vector<torch::Tensor>& a,
                          const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(a[i], b[i])) << "tensor " << i;
  }
}

// A loss whose value is chosen by the test but which still has a graph to the model.
torch::Tensor scripted_loss(torch::nn::Module& model, double value) {
  auto params = model.parameters();
  return params[0].sum() * 0.0 + value;
}

// A small network with buffers (batch norm) and a fixed data set.
struct Net : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
  Net() {
    fc1 = register_module("fc1", torch::nn::Linear(8, 16));
    bn = register_module("bn", torch::nn::BatchNorm1d(16));
    fc2 = register_module("fc2", torch::nn::Linear(16, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return fc2->forward(torch::relu(bn->forward(fc1->forward(x))));
  }
};

struct Data {
  torch::Tensor x, y;
};

// Three classes split by a fixed linear map; `seed` draws the inputs.
Data make_data(int64_t n, uint64_t seed) {
  torch::manual_seed(42);
  auto w = torch::randn({8, 3});
  torch::manual_seed(seed);
  auto x = torch::randn({n, 8});
  auto y = torch::argmax(torch::matmul(x, w), 1);
  return {x, y};
}

// A deterministic training step over a fixed data set, batch by batch.
struct Stepper {
  Net& net;
  Data data;
  int64_t batch = 16;
  int64_t cursor = 0;
  torch::Tensor operator()() {
    const int64_t n = data.x.size(0);
    auto xb = data.x.narrow(0, cursor, batch);
    auto yb = data.y.narrow(0, cursor, batch);
    cursor = (cursor + batch) % n;
    return torch::nn::functional::cross_entropy(net.forward(xb), yb);
  }
};

void train_steps(torch::optim::Optimizer& optimizer, Stepper& step, int steps) {
  for (int i = 0; i < steps; ++i) {
    optimizer.zero_grad();
    step().backward();
    optimizer.step();
  }
}

// Runs the same warm-up on two identical nets, `run` (a range test) on the first, then the same
// continuation on both: the restore is exact, optimizer state included, when they end bitwise
// equal.
template <typename MakeOptimizer, typename Run>
void expect_exact_restore_after(MakeOptimizer make_optimizer, Run run,
                                torch::Device device = torch::kCPU) {
  torch::manual_seed(0);
  Net a;
  torch::manual_seed(0);
  Net b;
  a.to(device);
  b.to(device);
  auto opt_a = make_optimizer(a);
  auto opt_b = make_optimizer(b);
  const auto data = make_data(64, 1);
  Stepper step_a{a, {data.x.to(device), data.y.to(device)}};
  Stepper step_b{b, {data.x.to(device), data.y.to(device)}};
  train_steps(*opt_a, step_a, 3);
  train_steps(*opt_b, step_b, 3);

  const auto params_before = clone_all(a.parameters());
  const auto buffers_before = clone_all(a.buffers());
  const double lr_before = opt_a->param_groups()[0].options().get_lr();
  const size_t state_before = opt_a->state().size();
  const int64_t cursor = step_a.cursor;

  LRFinder finder(a, *opt_a);
  run(finder, step_a);
  step_a.cursor = cursor;

  expect_bitwise_equal(a.parameters(), params_before);
  expect_bitwise_equal(a.buffers(), buffers_before);
  EXPECT_EQ(opt_a->param_groups()[0].options().get_lr(), lr_before);
  EXPECT_EQ(opt_a->state().size(), state_before);

  train_steps(*opt_a, step_a, 4);
  train_steps(*opt_b, step_b, 4);
  expect_bitwise_equal(a.parameters(), b.parameters());
  expect_bitwise_equal(a.buffers(), b.buffers());
}

template <typename MakeOptimizer>
void expect_exact_restore(MakeOptimizer make_optimizer, RangeTestOptions options = {},
                          torch::Device device = torch::kCPU) {
  expect_exact_restore_after(
      make_optimizer,
      [&](LRFinder& finder, Stepper& step) {
        auto result = finder.range_test(step, RangeTestOptions(options).num_iters(20).end_lr(1.0));
        ASSERT_FALSE(result.lrs.empty());
      },
      device);
}

template <typename Fn>
void expect_error(Fn fn, const std::string& substring) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing \"" << substring << "\"";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
  }
}

// Least squares 0.5 * ||A w - b||^2 / n whose Hessian A^T A / n has the given eigenvalues, so
// that gradient descent diverges above 2 / lambda_max (heavy-ball momentum m: 2 (1 + m) /
// lambda_max).
struct LeastSquares : torch::nn::Module {
  torch::Tensor w;
  explicit LeastSquares(int64_t d) {
    w = register_parameter("w", torch::zeros({d}, torch::kDouble));
  }
};

struct Problem {
  torch::Tensor A, b;
};

std::vector<double> spectrum(double lambda_max, double condition, int64_t d) {
  std::vector<double> out;
  for (int64_t i = 0; i < d; ++i) {
    out.push_back(lambda_max * std::pow(condition, -static_cast<double>(i) / (d - 1)));
  }
  return out;
}

Problem make_problem(const std::vector<double>& eigenvalues, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t d = static_cast<int64_t>(eigenvalues.size());
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  auto u = std::get<0>(torch::linalg_qr(torch::randn({n, d}, opts)));
  auto v = std::get<0>(torch::linalg_qr(torch::randn({d, d}, opts)));
  auto s = torch::sqrt(torch::tensor(eigenvalues, opts) * static_cast<double>(n));
  auto a = torch::matmul(u * s.unsqueeze(0), v.t());
  auto b = torch::matmul(a, torch::randn({d}, opts)) + 0.5 * torch::randn({n}, opts);
  return {a, b};
}

struct Analytic {
  double lambda_max;
  double condition;
  int64_t batch;     // 0: full batch
  int64_t seed = 1;  // draws the problem (seed 1: the problem seed 7) and the batches
};

// Every case runs with seed 1; TORCHCLR_ANALYTIC_SEEDS=N runs each with seeds 1 to N instead
// (bench/lr_finder_seeds.sh runs 20 and summarises the ratios).
int64_t analytic_seeds() {
  const char* seeds = std::getenv("TORCHCLR_ANALYTIC_SEEDS");
  return seeds != nullptr ? std::max<int64_t>(1, std::atoll(seeds)) : 1;
}

Problem make_problem(const Analytic& c, int64_t n) {
  return make_problem(spectrum(c.lambda_max, c.condition, 10), n, 6 + c.seed);
}

RangeTestResult run_analytic(const Analytic& c, LeastSquares& model,
                             torch::optim::Optimizer& optimizer) {
  const int64_t n = 512;
  auto p = make_problem(c, n);
  torch::manual_seed(c.seed);
  LRFinder finder(model, optimizer);
  // The sweep ends well past divergence (100 > 20 / lambda_max), as it should: the rules read
  // the blow-up.
  return finder.range_test(
      [&] {
        auto a = p.A;
        auto b = p.b;
        if (c.batch > 0) {
          auto idx = torch::randint(n, {c.batch}, torch::kLong);
          a = a.index_select(0, idx);
          b = b.index_select(0, idx);
        }
        return 0.5 * (torch::matmul(a, model.w) - b).pow(2).mean();
      },
      RangeTestOptions().start_lr(1e-6).end_lr(100));
}

std::vector<Analytic> analytic_cases(std::vector<int64_t> batches) {
  std::vector<Analytic> cases;
  for (int64_t seed = 1; seed <= analytic_seeds(); ++seed) {
    for (double lambda_max : {1.0, 10.0, 100.0}) {
      for (double condition : {10.0, 100.0}) {
        for (int64_t batch : batches) {
          cases.push_back({lambda_max, condition, batch, seed});
        }
      }
    }
  }
  return cases;
}

// Also records max_lr / divergence as a test property: run with --gtest_output=xml:FILE to
// collect the figures.
void expect_pair_below_divergence(const std::string& optimizer, const Analytic& c,
                                  const RangeTestResult& result, double divergence) {
  const auto s = result.suggest();
  char key[112];
  std::snprintf(key, sizeof(key), "%s_lambda%g_cond%g_batch%lld_seed%lld", optimizer.c_str(),
                c.lambda_max, c.condition, static_cast<long long>(c.batch),
                static_cast<long long>(c.seed));
  ::testing::Test::RecordProperty(key, std::to_string(s.max_lr / divergence));
  SCOPED_TRACE("lambda_max " + std::to_string(c.lambda_max) + ", condition " +
               std::to_string(c.condition) + ", batch " + std::to_string(c.batch) + ", seed " +
               std::to_string(c.seed) + ", max_lr " + std::to_string(s.max_lr) + ", divergence " +
               std::to_string(divergence));
  EXPECT_LT(s.max_lr, divergence);
  EXPECT_GT(s.max_lr, divergence / 10);
  EXPECT_LT(s.base_lr, s.max_lr);
  EXPECT_GT(s.base_lr, 0);
  EXPECT_GE(s.lr, s.base_lr);
  EXPECT_LE(s.lr, s.max_lr);
}

// ---------------------------------------------------------------------------------------------
// The sweep

TEST(RangeSchedule, EndpointsAreExactInBothModes) {
  for (auto mode : {RangeMode::Exponential, RangeMode::Linear}) {
    EXPECT_EQ(torchclr::range_lr_at(0, 100, 1e-7, 10, mode), 1e-7);
    EXPECT_EQ(torchclr::range_lr_at(99, 100, 1e-7, 10, mode), 10.0);
    EXPECT_EQ(torchclr::range_lr_at(1, 2, 3e-3, 0.7, mode), 0.7);
  }
}

TEST(RangeSchedule, ExponentialStepsAreGeometric) {
  const double ratio = torchclr::range_lr_at(1, 9, 1e-4, 1e4, RangeMode::Exponential) / 1e-4;
  EXPECT_NEAR(ratio, 10.0, 1e-12);
  for (int64_t t = 1; t < 9; ++t) {
    const double r = torchclr::range_lr_at(t, 9, 1e-4, 1e4, RangeMode::Exponential) /
                     torchclr::range_lr_at(t - 1, 9, 1e-4, 1e4, RangeMode::Exponential);
    EXPECT_NEAR(r, 10.0, 1e-9);
  }
}

TEST(RangeSchedule, LinearStepsAreEqual) {
  for (int64_t t = 0; t < 11; ++t) {
    EXPECT_NEAR(torchclr::range_lr_at(t, 11, 0.1, 1.1, RangeMode::Linear), 0.1 + 0.1 * t, 1e-15);
  }
}

// ---------------------------------------------------------------------------------------------
// Recording

TEST(LRFinder, SetsEachLrBeforeTheStepAndRecordsIt) {
  LeastSquares model(3);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.5));
  LRFinder finder(model, optimizer);
  std::vector<double> seen;
  auto result = finder.range_test(
      [&] {
        seen.push_back(optimizer.param_groups()[0].options().get_lr());
        return scripted_loss(model, 1.0);
      },
      RangeTestOptions().num_iters(10).start_lr(1e-3).end_lr(1e-1));
  ASSERT_EQ(result.lrs.size(), 10u);
  EXPECT_EQ(result.stop_reason, StopReason::Completed);
  EXPECT_FALSE(result.diverged());
  EXPECT_EQ(seen, result.lrs);
  for (int64_t t = 0; t < 10; ++t) {
    EXPECT_EQ(result.lrs[t], torchclr::range_lr_at(t, 10, 1e-3, 1e-1, RangeMode::Exponential));
  }
  EXPECT_EQ(optimizer.param_groups()[0].options().get_lr(), 0.5);
}

TEST(LRFinder, LinearModeSpacesLrsEvenly) {
  LeastSquares model(3);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.5));
  auto result =
      LRFinder(model, optimizer)
          .range_test(
              [&] { return scripted_loss(model, 1.0); },
              RangeTestOptions().num_iters(5).start_lr(0.1).end_lr(0.5).mode(RangeMode::Linear));
  ASSERT_EQ(result.lrs.size(), 5u);
  EXPECT_EQ(result.mode, RangeMode::Linear);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(result.lrs[i], 0.1 * (i + 1), 1e-15);
  }
}

TEST(LRFinder, SmoothedLossIsTheDebiasedMovingAverage) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  const std::vector<double> losses = {3.0, 1.0, 2.0, 0.5, 0.25};
  size_t i = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, losses[i++]); },
                                RangeTestOptions().num_iters(5).smoothing_beta(0.9));
  ASSERT_EQ(result.losses.size(), 5u);
  double avg = 0;
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_DOUBLE_EQ(result.losses[k], losses[k]);
    avg = 0.9 * avg + 0.1 * losses[k];
    EXPECT_NEAR(result.smoothed_losses[k], avg / (1 - std::pow(0.9, k + 1)), 1e-12);
  }
  EXPECT_DOUBLE_EQ(result.smoothed_losses[0], 3.0);  // debiased: no pull towards zero
}

TEST(LRFinder, WithoutSmoothingTheSmoothedLossIsTheRawLoss) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  int i = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, 1.0 / ++i); },
                                RangeTestOptions().num_iters(6).smoothing(false));
  EXPECT_EQ(result.smoothed_losses, result.losses);
}

TEST(LRFinder, KeepsTheLrRatiosOfParamGroups) {
  torch::nn::Linear a(2, 2), b(2, 2);
  torch::optim::SGD optimizer(
      std::vector<torch::optim::OptimizerParamGroup>{
          torch::optim::OptimizerParamGroup(a->parameters(),
                                            std::make_unique<torch::optim::SGDOptions>(1e-2)),
          torch::optim::OptimizerParamGroup(b->parameters(),
                                            std::make_unique<torch::optim::SGDOptions>(1e-3))},
      torch::optim::SGDOptions(1e-2));
  // LibTorch 2.x gives a group whose lr equals SGDOptions' constructor default (1e-3) the
  // optimizer's default instead; set it after construction, as every version keeps it.
  optimizer.param_groups()[1].options().set_lr(1e-3);
  torch::nn::Sequential model(a, b);
  std::vector<double> ratios;
  auto result =
      LRFinder(*model, optimizer)
          .range_test(
              [&] {
                auto& groups = optimizer.param_groups();
                ratios.push_back(groups[1].options().get_lr() / groups[0].options().get_lr());
                return model->forward(torch::ones({1, 2})).sum();
              },
              RangeTestOptions().num_iters(8).end_lr(1e-1).diverge_threshold(kInf));
  ASSERT_EQ(ratios.size(), 8u);
  for (double r : ratios) {
    EXPECT_NEAR(r, 0.1, 1e-12);
  }
  ASSERT_EQ(result.group_scales.size(), 2u);
  EXPECT_NEAR(result.group_scales[1], 0.1, 1e-15);
  const auto lrs = result.for_groups(0.5);
  EXPECT_EQ(lrs[0], 0.5);
  EXPECT_NEAR(lrs[1], 0.05, 1e-15);
  EXPECT_EQ(optimizer.param_groups()[0].options().get_lr(), 1e-2);
  EXPECT_EQ(optimizer.param_groups()[1].options().get_lr(), 1e-3);
}

TEST(LRFinder, AccumulatesGradientsOverSeveralCalls) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  int calls = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test(
                        [&] {
                          ++calls;
                          return scripted_loss(model, calls % 2 == 1 ? 1.0 : 3.0);
                        },
                        RangeTestOptions().num_iters(4).accumulation_steps(2).smoothing(false));
  EXPECT_EQ(calls, 8);
  ASSERT_EQ(result.losses.size(), 4u);
  for (double loss : result.losses) {
    EXPECT_DOUBLE_EQ(loss, 2.0);
  }
}

TEST(LRFinder, AccumulationAveragesTheGradients) {
  // w -= lr * mean of the two gradients: with losses w and 3 w, the step is 2 lr.
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  int calls = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test(
                        [&] {
                          ++calls;
                          return model.w.sum() * (calls % 2 == 1 ? 1.0 : 3.0);
                        },
                        RangeTestOptions()
                            .num_iters(2)
                            .start_lr(0.25)
                            .end_lr(0.5)
                            .accumulation_steps(2)
                            .restore(false)
                            .diverge_threshold(kInf));
  EXPECT_NEAR(model.w.item<double>(), -2 * (0.25 + 0.5), 1e-12);
}

TEST(LRFinder, ReduceLossHookSeesEveryLossAndItsResultIsRecorded) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  std::vector<double> seen;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, 1.5); },
                                RangeTestOptions().num_iters(3).reduce_loss([&](double v) {
                                  seen.push_back(v);
                                  return v * 2;
                                }));
  EXPECT_EQ(seen, std::vector<double>(3, 1.5));
  EXPECT_EQ(result.losses, std::vector<double>(3, 3.0));
}

TEST(LRFinder, ReduceLossDecidesTheStop) {
  // A rank whose own loss is flat stops where the reduced (all-ranks) loss diverges.
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  int t = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, 1.0); },
                                RangeTestOptions().num_iters(20).smoothing(false).reduce_loss(
                                    [&](double v) { return t++ < 5 ? v : v * 100; }));
  EXPECT_EQ(result.stop_reason, StopReason::Diverged);
  EXPECT_EQ(result.lrs.size(), 6u);
}

TEST(LRFinder, AfterBackwardHookRunsBetweenBackwardAndTheStepAndCanChangeGradients) {
  // d/dw of w^2/2 at w = 1 is 1; the hook halves every gradient (as an average over two ranks
  // whose other rank contributes zero would), so each SGD step moves w by lr / 2.
  auto w = torch::ones({1}, torch::requires_grad());
  struct One : torch::nn::Module {
    explicit One(torch::Tensor p) { register_parameter("w", std::move(p)); }
  } module(w);
  torch::optim::SGD optimizer({w}, torch::optim::SGDOptions(0.1));
  int calls = 0;
  LRFinder(module, optimizer)
      .range_test([&] { return (w * w / 2).sum() + 0 * w.detach().sum(); },
                  RangeTestOptions()
                      .num_iters(2)
                      .start_lr(0.25)
                      .end_lr(0.5)
                      .restore(false)
                      .smoothing(false)
                      .diverge_threshold(kInf)
                      .after_backward([&] {
                        ++calls;
                        ASSERT_TRUE(w.grad().defined());
                        w.mutable_grad().mul_(0.5);
                      }));
  EXPECT_EQ(calls, 2);
  const double after_first = 1 - 0.25 * 0.5;
  EXPECT_NEAR(w.item<double>(), after_first - 0.5 * 0.5 * after_first, 1e-6);
}

TEST(LRFinder, EvalMetricIsRecordedEveryEvalEveryIterationsWithoutGrad) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  int evals = 0;
  bool grad_enabled = true;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, 1.0); },
                                RangeTestOptions()
                                    .num_iters(20)
                                    .start_lr(0.01)
                                    .end_lr(0.2)
                                    .mode(RangeMode::Linear)
                                    .eval_every(5)
                                    .eval([&] {
                                      grad_enabled = torch::GradMode::is_enabled();
                                      return static_cast<double>(++evals);
                                    }));
  EXPECT_FALSE(grad_enabled);
  ASSERT_EQ(result.metrics.size(), 4u);
  EXPECT_EQ(result.metrics, (std::vector<double>{1, 2, 3, 4}));
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(result.metric_lrs[k], result.lrs[5 * k + 4]);
  }
}

TEST(LRFinder, SavesCsv) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, 2.0); },
                                RangeTestOptions().num_iters(4).smoothing(false).eval_every(2).eval(
                                    [] { return 0.5; }));
  const TempDir dir;
  const std::string path = dir.file("range_test.csv");
  result.save_csv(path);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "lr,loss,smoothed_loss,metric");
  EXPECT_EQ(lines[1].substr(lines[1].size() - 5), ",2,2,");
  EXPECT_EQ(lines[2].substr(lines[2].size() - 8), ",2,2,0.5");
  EXPECT_EQ(lines[4].substr(0, 3), "10,");
}

TEST(LRFinder, DataLoaderOverloadCyclesThroughTheLoader) {
  torch::manual_seed(0);
  auto dataset = torch::data::datasets::TensorDataset(torch::randn({6, 2}))
                     .map(torch::data::transforms::Stack<torch::data::TensorExample>());
  auto loader = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
      std::move(dataset), torch::data::DataLoaderOptions().batch_size(2));
  torch::nn::Linear model(2, 1);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  int batches = 0;
  auto result = LRFinder(*model, optimizer)
                    .range_test(
                        *loader,
                        [&](torch::data::TensorExample& batch) {
                          ++batches;
                          EXPECT_EQ(batch.data.size(0), 2);
                          return model->forward(batch.data).pow(2).mean();
                        },
                        // No early stop: this test is about cycling, not divergence.
                        RangeTestOptions().num_iters(10).end_lr(1e-2).diverge_threshold(kInf));
  EXPECT_EQ(batches, 10);  // three batches a pass, cycled
  EXPECT_EQ(result.lrs.size(), 10u);
}

// ---------------------------------------------------------------------------------------------
// Stopping

TEST(LRFinder, StopsWhenTheSmoothedLossExceedsTheThresholdTimesTheBest) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  const std::vector<double> losses = {4, 3, 2, 1, 1.5, 2.5, 3.9, 4.1, 8, 16};
  size_t i = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, losses[i++]); },
                                RangeTestOptions().num_iters(10).smoothing(false));
  EXPECT_EQ(result.stop_reason, StopReason::Diverged);
  EXPECT_TRUE(result.diverged());
  ASSERT_EQ(result.lrs.size(), 8u);  // the point that crossed 4 x best is recorded
  EXPECT_EQ(result.stop_lr, result.lrs.back());
  EXPECT_DOUBLE_EQ(result.stop_loss, 4.1);
}

TEST(LRFinder, DivergenceWorksWithNegativeLosses) {
  // The same curve shifted by -10: best -9, stop once the loss rises 3 x |best| above it.
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  const std::vector<double> losses = {-6, -7, -8, -9, -5, 0, 17, 19, 30, 40};
  size_t i = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, losses[i++]); },
                                RangeTestOptions().num_iters(10).smoothing(false));
  EXPECT_EQ(result.stop_reason, StopReason::Diverged);
  EXPECT_EQ(result.lrs.size(), 8u);
  EXPECT_DOUBLE_EQ(result.stop_loss, 19);
}

TEST(LRFinder, FallingNegativeLossesNeverCountAsDivergence) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  int t = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, -1.0 - t++); },
                                RangeTestOptions().num_iters(30));
  EXPECT_EQ(result.stop_reason, StopReason::Completed);
  EXPECT_EQ(result.lrs.size(), 30u);
}

TEST(LRFinder, NanLossStopsAtOnceAndIsNotRecorded) {
  LeastSquares model(2);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  int t = 0;
  const auto before = clone_all(model.parameters());
  bool moved = false;  // the steps before the NaN trained the model: the restore has work to do
  auto result = LRFinder(model, optimizer)
                    .range_test(
                        [&] {
                          const auto loss = (model.w - 1).pow(2).sum();
                          if (t++ < 7) return loss;
                          moved = !torch::equal(model.w, before[0]);
                          return loss * kNaN;
                        },
                        RangeTestOptions().num_iters(20));
  EXPECT_TRUE(moved);
  EXPECT_EQ(result.stop_reason, StopReason::NonFiniteLoss);
  EXPECT_TRUE(result.diverged());
  EXPECT_EQ(t, 8);
  ASSERT_EQ(result.lrs.size(), 7u);
  EXPECT_EQ(result.losses.size(), 7u);
  EXPECT_EQ(result.smoothed_losses.size(), 7u);
  EXPECT_EQ(result.stop_lr, torchclr::range_lr_at(7, 20, 1e-7, 10, RangeMode::Exponential));
  EXPECT_TRUE(std::isnan(result.stop_loss));
  expect_bitwise_equal(model.parameters(), before);
}

TEST(LRFinder, InfiniteLossStopsAtOnce) {
  LeastSquares model(2);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  int t = 0;
  auto result = LRFinder(model, optimizer)
                    .range_test([&] { return scripted_loss(model, t++ == 3 ? kInf : 1.0); },
                                RangeTestOptions().num_iters(20));
  EXPECT_EQ(result.stop_reason, StopReason::NonFiniteLoss);
  EXPECT_EQ(result.lrs.size(), 3u);
  EXPECT_EQ(result.stop_loss, kInf);
}

TEST(LRFinder, NanLossStopsWithoutStepping) {
  LeastSquares model(2);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  int t = 0;
  LRFinder(model, optimizer)
      .range_test(
          [&] {
            ++t;
            return t == 3 ? model.w.sum() * kNaN : model.w.sum();
          },
          RangeTestOptions().num_iters(5).restore(false).start_lr(1).end_lr(2));
  EXPECT_TRUE(torch::isfinite(model.w).all().item<bool>());
}

// ---------------------------------------------------------------------------------------------
// Restore

TEST(LRFinderRestore, SgdWithMomentumIsExact) {
  expect_exact_restore([](Net& net) {
    return std::make_unique<torch::optim::SGD>(
        net.parameters(),
        torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-4));
  });
}

TEST(LRFinderRestore, AdamIsExact) {
  expect_exact_restore([](Net& net) {
    return std::make_unique<torch::optim::Adam>(net.parameters(),
                                                torch::optim::AdamOptions(1e-3).amsgrad(true));
  });
}

TEST(LRFinderRestore, AdamWIsExact) {
  expect_exact_restore([](Net& net) {
    return std::make_unique<torch::optim::AdamW>(net.parameters(),
                                                 torch::optim::AdamWOptions(1e-3));
  });
}

TEST(LRFinderRestore, RmspropIsExact) {
  expect_exact_restore([](Net& net) {
    return std::make_unique<torch::optim::RMSprop>(
        net.parameters(), torch::optim::RMSpropOptions(1e-3).momentum(0.9).centered(true));
  });
}

TEST(LRFinderRestore, AdagradIsExact) {
  expect_exact_restore([](Net& net) {
    return std::make_unique<torch::optim::Adagrad>(net.parameters(),
                                                   torch::optim::AdagradOptions(1e-2));
  });
}

// Not a LibTorch optimizer: the snapshot goes through its own save/load.
TEST(LRFinderRestore, TorchclrAdadeltaIsExact) {
  expect_exact_restore([](Net& net) {
    return std::make_unique<torchclr::Adadelta>(net.parameters(),
                                                torchclr::AdadeltaOptions(0.5).weight_decay(1e-4));
  });
}

// The same on a GPU, where there is one: parameters, buffers and optimizer state live on the
// device, and the snapshot the finder restores from must come back there bitwise.
TEST(LRFinderRestore, OnCudaIsExact) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to LibTorch";
  expect_exact_restore(
      [](Net& net) {
        return std::make_unique<torch::optim::SGD>(net.parameters(),
                                                   torch::optim::SGDOptions(0.05).momentum(0.9));
      },
      {}, torch::kCUDA);
  const auto adam = [](Net& net) {
    return std::make_unique<torch::optim::Adam>(net.parameters(), torch::optim::AdamOptions(1e-3));
  };
  expect_exact_restore(adam, {}, torch::kCUDA);
  // Through a snapshot file: saved from the GPU, read back onto it.
  const TempDir dir;
  const std::string path = dir.file("snapshot.pt");
  expect_exact_restore(adam, RangeTestOptions().snapshot_path(path), torch::kCUDA);
  EXPECT_FALSE(std::ifstream(path).good());
}

// An optimizer from outside LibTorch, with its own param state: restored through its own
// save() and load().
struct CountState : torch::optim::OptimizerCloneableParamState<CountState> {
  TORCH_ARG(torch::Tensor, count);

 public:
  void serialize(torch::serialize::OutputArchive& archive) const override {
    archive.write("count", count_, /*is_buffer=*/true);
  }
  void serialize(torch::serialize::InputArchive& archive) override {
    archive.read("count", count_, /*is_buffer=*/true);
  }
};

class CountingSGD : public torch::optim::Optimizer {
 public:
  CountingSGD(std::vector<torch::Tensor> params, double lr)
      : Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                  std::make_unique<torch::optim::SGDOptions>(lr)) {}

  torch::Tensor step(LossClosure closure = nullptr) override {
    torch::NoGradGuard no_grad;
    for (auto& group : param_groups()) {
      const double lr = group.options().get_lr();
      for (auto& p : group.params()) {
        auto& slot = state()[torchclr::compat::state_key(p)];
        if (!slot) {
          auto s = std::make_unique<CountState>();
          s->count(torch::zeros({1}));
          slot = std::move(s);
        }
        auto& s = static_cast<CountState&>(*slot);
        s.count().add_(1);
        p.sub_(p.grad() * lr * s.count());
      }
    }
    return closure ? closure() : torch::Tensor();
  }

  void save(torch::serialize::OutputArchive& archive) const override {
    torch::optim::serialize<CountState, torch::optim::SGDOptions>(archive, *this);
  }
  void load(torch::serialize::InputArchive& archive) override {
    torch::optim::serialize<CountState, torch::optim::SGDOptions>(archive, *this);
  }
};

TEST(LRFinderRestore, OtherOptimizersRestoreThroughTheirOwnSerialization) {
  expect_exact_restore(
      [](Net& net) { return std::make_unique<CountingSGD>(net.parameters(), 1e-3); });
}

// An optimizer left with LibTorch's empty default save() and load(): its state cannot come back,
// which is an error once everything else is back, never a silent loss of the state.
class CountingSGDWithoutSerialization : public CountingSGD {
 public:
  using CountingSGD::CountingSGD;
  void save(torch::serialize::OutputArchive& archive) const override {
    torch::optim::Optimizer::save(archive);
  }
  void load(torch::serialize::InputArchive& archive) override {
    torch::optim::Optimizer::load(archive);
  }
};

TEST(LRFinderRestore, OptimizerStateThatDoesNotSerializeIsAnErrorAfterTheRestore) {
  torch::manual_seed(0);
  Net net;
  CountingSGDWithoutSerialization optimizer(net.parameters(), 1e-3);
  Stepper step{net, make_data(64, 1)};
  train_steps(optimizer, step, 2);
  const auto params = clone_all(net.parameters());
  expect_error([&] { LRFinder(net, optimizer).range_test(step, RangeTestOptions().num_iters(5)); },
               "LRFinder: expected the optimizer's save() and load() to carry its state of");
  expect_bitwise_equal(net.parameters(), params);
  EXPECT_EQ(optimizer.param_groups()[0].options().get_lr(), 1e-3);
}

TEST(LRFinderRestore, SnapshotFileIsExactAndRemoved) {
  const TempDir dir;
  const std::string path = dir.file("snapshot.pt");
  expect_exact_restore(
      [](Net& net) {
        return std::make_unique<torch::optim::Adam>(net.parameters(),
                                                    torch::optim::AdamOptions(1e-3));
      },
      RangeTestOptions().snapshot_path(path));
  EXPECT_FALSE(std::ifstream(path).good());
}

TEST(LRFinderRestore, FreshOptimizerGetsNoState) {
  torch::manual_seed(0);
  Net net;
  torch::optim::Adam optimizer(net.parameters(), torch::optim::AdamOptions(1e-3));
  Stepper step{net, make_data(64, 1)};
  LRFinder(net, optimizer).range_test(step, RangeTestOptions().num_iters(5));
  EXPECT_TRUE(optimizer.state().empty());
}

TEST(LRFinderRestore, AllGroupOptionsComeBack) {
  LeastSquares model(2);
  torch::optim::SGD optimizer(model.parameters(),
                              torch::optim::SGDOptions(0.3).momentum(0.7).weight_decay(0.01));
  LRFinder(model, optimizer)
      .range_test([&] { return model.w.pow(2).sum(); }, RangeTestOptions().num_iters(5));
  const auto& o =
      static_cast<const torch::optim::SGDOptions&>(optimizer.param_groups()[0].options());
  EXPECT_EQ(o.lr(), 0.3);
  EXPECT_EQ(o.momentum(), 0.7);
  EXPECT_EQ(o.weight_decay(), 0.01);
}

TEST(LRFinderRestore, TrainingModeOfEveryModuleComesBack) {
  torch::manual_seed(0);
  Net net;
  net.eval();
  net.bn->train();
  torch::optim::SGD optimizer(net.parameters(), torch::optim::SGDOptions(0.1));
  Stepper step{net, make_data(64, 1)};
  LRFinder(net, optimizer)
      .range_test(
          [&] {
            net.train();
            return step();
          },
          RangeTestOptions().num_iters(4));
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net.fc1->is_training());
  EXPECT_TRUE(net.bn->is_training());
}

TEST(LRFinderRestore, ExceptionInTrainStepRestoresThenPropagates) {
  torch::manual_seed(0);
  Net net;
  torch::optim::SGD optimizer(net.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  Stepper step{net, make_data(64, 1)};
  train_steps(optimizer, step, 2);
  const auto params = clone_all(net.parameters());
  const auto buffers = clone_all(net.buffers());
  int t = 0;
  EXPECT_THROW(LRFinder(net, optimizer)
                   .range_test(
                       [&] {
                         if (++t == 6) {
                           throw std::runtime_error("data loading failed");
                         }
                         return step();
                       },
                       RangeTestOptions().num_iters(20)),
               std::runtime_error);
  expect_bitwise_equal(net.parameters(), params);
  expect_bitwise_equal(net.buffers(), buffers);
  EXPECT_EQ(optimizer.param_groups()[0].options().get_lr(), 0.1);
}

// An exception from the user's code (train_step or one of the hooks) part-way through the test
// propagates after an exact restore: parameters, buffers and optimizer state (momentum buffers,
// Adam's moments and step counts), checked by training on afterwards.
std::unique_ptr<torch::optim::Optimizer> sgd_momentum(Net& net) {
  return std::make_unique<torch::optim::SGD>(net.parameters(),
                                             torch::optim::SGDOptions(0.05).momentum(0.9));
}

std::unique_ptr<torch::optim::Optimizer> adam(Net& net) {
  return std::make_unique<torch::optim::Adam>(net.parameters(), torch::optim::AdamOptions(1e-3));
}

// A callback that throws on its `n`-th call.
std::function<void()> fails_on_call(int n, const std::string& what) {
  auto calls = std::make_shared<int>(0);
  return [calls, n, what] {
    if (++*calls == n) throw std::runtime_error(what);
  };
}

// A range test whose `hook(options, fail)` makes one callback call `fail`, which throws.
void expect_exception_then_exact_restore(
    const std::function<RangeTestOptions(RangeTestOptions, std::function<void()>)>& hook,
    bool in_train_step = false) {
  for (auto make : {sgd_momentum, adam}) {
    expect_exact_restore_after(make, [&](LRFinder& finder, Stepper& step) {
      const auto fail = fails_on_call(6, "failed on purpose");
      const auto options = hook(RangeTestOptions().num_iters(20).end_lr(1.0), fail);
      try {
        finder.range_test(
            [&] {
              if (in_train_step) fail();
              return step();
            },
            options);
        ADD_FAILURE() << "the exception did not propagate";
      } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "failed on purpose");
      }
    });
  }
}

TEST(LRFinderRestore, ExceptionInTrainStepRestoresOptimizerStateExactly) {
  expect_exception_then_exact_restore([](RangeTestOptions o, std::function<void()>) { return o; },
                                      /*in_train_step=*/true);
}

TEST(LRFinderRestore, ExceptionInReduceLossRestoresExactly) {
  expect_exception_then_exact_restore([](RangeTestOptions o, std::function<void()> fail) {
    return o.reduce_loss([fail](double loss) {
      fail();
      return loss;
    });
  });
}

TEST(LRFinderRestore, ExceptionInAfterBackwardRestoresExactly) {
  expect_exception_then_exact_restore(
      [](RangeTestOptions o, std::function<void()> fail) { return o.after_backward(fail); });
}

TEST(LRFinderRestore, ExceptionInEvalRestoresExactly) {
  expect_exception_then_exact_restore([](RangeTestOptions o, std::function<void()> fail) {
    return o.eval_every(2).eval([fail] {
      fail();
      return 0.5;
    });
  });
}

TEST(LRFinderRestore, SnapshotFileWithAnExceptionRestoresExactlyAndIsRemoved) {
  const TempDir dir;
  const std::string path = dir.file("snapshot.pt");
  expect_exception_then_exact_restore(
      [&](RangeTestOptions o, std::function<void()>) { return o.snapshot_path(path); },
      /*in_train_step=*/true);
  EXPECT_FALSE(std::ifstream(path).good());
}

TEST(LRFinderRestore, AccumulationStepsRestoreExactly) {
  expect_exact_restore(sgd_momentum, RangeTestOptions().accumulation_steps(3));
  expect_exact_restore(adam, RangeTestOptions().accumulation_steps(2));
}

TEST(LRFinderRestore, RestoreFalseLeavesTheTrainedModel) {
  LeastSquares model(2);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  LRFinder(model, optimizer)
      .range_test([&] { return (model.w - 1).pow(2).sum(); },
                  RangeTestOptions().num_iters(5).start_lr(0.01).end_lr(0.2).restore(false));
  EXPECT_FALSE(torch::equal(model.w, torch::zeros({2}, torch::kDouble)));
  // The sweep's last LR, not the optimizer's 0.1 from before the test.
  EXPECT_EQ(optimizer.param_groups()[0].options().get_lr(), 0.2);
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST(LRFinderErrors, RejectsBadOptions) {
  LeastSquares model(1);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  LRFinder finder(model, optimizer);
  auto step = [&] { return model.w.sum(); };
  auto run = [&](RangeTestOptions o) { return [&finder, step, o] { finder.range_test(step, o); }; };
  expect_error(run(RangeTestOptions().start_lr(1).end_lr(1)),
               "LRFinder: expected start_lr < end_lr, but got start_lr 1 and end_lr 1");
  expect_error(run(RangeTestOptions().start_lr(2).end_lr(1)), "expected start_lr < end_lr");
  expect_error(run(RangeTestOptions().start_lr(0)),
               "LRFinder: expected start_lr to be positive and finite, but got 0");
  expect_error(run(RangeTestOptions().start_lr(-1)), "start_lr to be positive");
  expect_error(run(RangeTestOptions().end_lr(-1)),
               "LRFinder: expected end_lr to be positive and finite, but got -1");
  expect_error(run(RangeTestOptions().end_lr(kInf)), "end_lr to be positive and finite");
  expect_error(run(RangeTestOptions().num_iters(1)),
               "LRFinder: expected num_iters >= 2, but got 1");
  expect_error(run(RangeTestOptions().accumulation_steps(0)),
               "LRFinder: expected accumulation_steps >= 1, but got 0");
  expect_error(run(RangeTestOptions().diverge_threshold(1)),
               "LRFinder: expected diverge_threshold > 1, but got 1");
  expect_error(run(RangeTestOptions().smoothing_beta(1)),
               "LRFinder: expected smoothing_beta in [0, 1), but got 1");
  expect_error(run(RangeTestOptions().eval_every(0)),
               "LRFinder: expected eval_every >= 1, but got 0");
  EXPECT_EQ(model.w.item<double>(), 0.0);
}

TEST(LRFinderErrors, RejectsANonScalarLossAndRestores) {
  LeastSquares model(3);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  expect_error([&] { LRFinder(model, optimizer).range_test([&] { return model.w * 2; }); },
               "LRFinder: expected train_step to return a scalar loss, but got a tensor of "
               "shape [3]");
  EXPECT_EQ(optimizer.param_groups()[0].options().get_lr(), 0.1);
}

TEST(LRFinderErrors, RejectsALossWithoutGrad) {
  LeastSquares model(3);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  expect_error(
      [&] { LRFinder(model, optimizer).range_test([&] { return model.w.sum().detach(); }); },
      "LRFinder: expected train_step to return a loss that requires grad");
  expect_error(
      [&] {
        LRFinder(model, optimizer).range_test([&] {
          torch::NoGradGuard no_grad;
          return model.w.sum();
        });
      },
      "requires grad");
  expect_error([&] { LRFinder(model, optimizer).range_test([] { return torch::Tensor(); }); },
               "but got an undefined tensor");
}

TEST(LRFinderErrors, RejectsAnEmptyLoader) {
  auto dataset = torch::data::datasets::TensorDataset(torch::randn({0, 2}))
                     .map(torch::data::transforms::Stack<torch::data::TensorExample>());
  auto loader = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
      std::move(dataset), torch::data::DataLoaderOptions().batch_size(2));
  torch::nn::Linear model(2, 1);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  expect_error(
      [&] {
        LRFinder(*model, optimizer).range_test(*loader, [&](torch::data::TensorExample& batch) {
          return model->forward(batch.data).sum();
        });
      },
      "LRFinder: expected a data loader with at least one batch, but got an empty one");
}

TEST(LRFinderErrors, RejectsAGroupWithoutLrWhenKeepingRatios) {
  torch::nn::Linear a(2, 2), b(2, 2);
  torch::optim::SGD optimizer(
      std::vector<torch::optim::OptimizerParamGroup>{
          torch::optim::OptimizerParamGroup(a->parameters(),
                                            std::make_unique<torch::optim::SGDOptions>(1e-2)),
          torch::optim::OptimizerParamGroup(b->parameters(),
                                            std::make_unique<torch::optim::SGDOptions>(0.0))},
      torch::optim::SGDOptions(1e-2));
  expect_error(
      [&] { LRFinder(*a, optimizer).range_test([&] { return a->weight.sum(); }); },
      "LRFinder: expected positive LRs in every param group to keep their ratios, but got 0 for "
      "param group 1");
}

// ---------------------------------------------------------------------------------------------
// Suggestion rules on given curves

// A typical curve against log10(LR) from -6 to 0: flat, falling from 1e-4 to 1e-2, flat bottom,
// blow-up past 1e-1.5.
struct Curve {
  std::vector<double> lrs, losses;
};

Curve typical_curve(int n = 100, double noise = 0.0) {
  Curve c;
  torch::manual_seed(3);
  auto eps = torch::randn({n}, torch::kDouble);
  for (int i = 0; i < n; ++i) {
    const double x = -6 + 6.0 * i / (n - 1);  // log10(lr)
    double loss;
    if (x < -4) {
      loss = 2.0;
    } else if (x < -2) {
      loss = 2.0 - 1.5 * (x + 4) / 2;
    } else if (x < -1.5) {
      loss = 0.5;
    } else {
      loss = 0.5 * std::pow(10.0, 4 * (x + 1.5));
    }
    c.lrs.push_back(std::pow(10.0, x));
    c.losses.push_back(loss * (1 + noise * eps[i].item<double>()));
  }
  return c;
}

TEST(Suggest, LossEdgeOnATypicalCurve) {
  const auto c = typical_curve();
  const auto s = torchclr::suggest_from_loss(c.lrs, c.losses, RangeMode::Exponential, true);
  EXPECT_EQ(s.rule, SuggestionRule::LossEdge);
  // Start 2.0, minimum 0.5: the blow-up level 2 + 10 x 1.5 is crossed at 10^-1.12.
  EXPECT_GT(s.max_lr, std::pow(10.0, -1.2) / 6);
  EXPECT_LT(s.max_lr, std::pow(10.0, -1.12) / 6);
  EXPECT_GE(s.base_lr, s.max_lr / 10);
  EXPECT_LE(s.base_lr, s.max_lr / 2);
  EXPECT_GE(s.lr, s.base_lr);
  EXPECT_LE(s.lr, s.max_lr);
}

TEST(Suggest, NoisyCurveGivesTheSameAnswerWithinAFactorOfTwo) {
  const auto clean = typical_curve();
  const auto noisy = typical_curve(100, 0.15);
  const auto a = torchclr::suggest_from_loss(clean.lrs, clean.losses, RangeMode::Exponential, true);
  const auto b = torchclr::suggest_from_loss(noisy.lrs, noisy.losses, RangeMode::Exponential, true);
  EXPECT_LT(std::abs(std::log(a.max_lr / b.max_lr)), std::log(2.0));
  EXPECT_LT(std::abs(std::log(a.base_lr / b.base_lr)), std::log(2.0));
}

TEST(Suggest, ASingleSpikeDoesNotMoveTheEdge) {
  auto c = typical_curve();
  const auto a = torchclr::suggest_from_loss(c.lrs, c.losses, RangeMode::Exponential, true);
  c.losses[50] = 1e6;
  const auto b = torchclr::suggest_from_loss(c.lrs, c.losses, RangeMode::Exponential, true);
  EXPECT_EQ(a.max_lr, b.max_lr);
  EXPECT_EQ(a.base_lr, b.base_lr);
}

TEST(Suggest, SteepestDescentIsInTheFallingPart) {
  auto c = typical_curve();
  const auto s = torchclr::suggest_from_loss(c.lrs, c.losses, RangeMode::Exponential, true,
                                             torchclr::SuggestOptions().max_ratio(1e6));
  EXPECT_GE(s.lr, 1e-4);
  EXPECT_LE(s.lr, 1e-2);
}

TEST(Suggest, WithoutABlowUpMaxLrComesFromTheMinimum) {
  Curve c;
  for (int i = 0; i < 50; ++i) {
    c.lrs.push_back(std::pow(10.0, -5 + 0.1 * i));
    c.losses.push_back(1.0 / (1 + i));
  }
  const auto s = torchclr::suggest_from_loss(c.lrs, c.losses, RangeMode::Exponential, false);
  EXPECT_EQ(s.rule, SuggestionRule::LossMinimum);
  EXPECT_DOUBLE_EQ(s.max_lr, c.lrs.back() / 6);
  const auto blew_up = torchclr::suggest_from_loss(c.lrs, c.losses, RangeMode::Exponential, true);
  EXPECT_EQ(blew_up.rule, SuggestionRule::LossEdge);
}

TEST(Suggest, LinearModeWorksToo) {
  // Falling linearly to 0.1 at 0.03, then a parabola. Denoised start 0.88 and minimum 0.16 put
  // the blow-up level at 0.88 + 10 x 0.72 = 8.08, crossed between 0.038 and 0.039.
  Curve c;
  for (int i = 1; i <= 60; ++i) {
    const double lr = 0.001 * i;
    c.lrs.push_back(lr);
    c.losses.push_back(lr < 0.03 ? 1 - 30 * lr : 0.1 + 1e5 * (lr - 0.03) * (lr - 0.03));
  }
  const auto s = torchclr::suggest_from_loss(c.lrs, c.losses, RangeMode::Linear, false);
  EXPECT_EQ(s.rule, SuggestionRule::LossEdge);
  EXPECT_NEAR(s.max_lr, 0.038 / 6, 1e-12);
  EXPECT_LT(s.base_lr, s.max_lr);
}

TEST(Suggest, TooFewPointsOrNoDescentGiveNan) {
  const auto few =
      torchclr::suggest_from_loss({1e-3, 1e-2, 1e-1}, {3, 2, 1}, RangeMode::Exponential, false);
  EXPECT_EQ(few.rule, SuggestionRule::TooFewPoints);
  EXPECT_TRUE(std::isnan(few.max_lr));
  const auto rising = torchclr::suggest_from_loss({1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1},
                                                  {1, 2, 3, 4, 5, 6}, RangeMode::Exponential, true);
  EXPECT_EQ(rising.rule, SuggestionRule::NoDescent);
  EXPECT_TRUE(std::isnan(rising.lr));
  EXPECT_TRUE(std::isnan(rising.base_lr));
  EXPECT_EQ(torchclr::to_string(rising.rule), "no descent");
}

TEST(Suggest, RejectsMalformedCurves) {
  expect_error(
      [] {
        torchclr::suggest_from_loss({1, 2}, {1}, RangeMode::Linear, false);
      },
      "suggest: expected as many LRs as losses, but got 2 LRs and 1 losses");
  expect_error(
      [] {
        torchclr::suggest_from_loss({1, 2, 2, 3, 4}, {5, 4, 3, 2, 1}, RangeMode::Linear, false);
      },
      "suggest: expected increasing LRs");
  expect_error(
      [] {
        torchclr::suggest_from_loss({1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}, RangeMode::Linear, false,
                                    torchclr::SuggestOptions().max_ratio(1));
      },
      "suggest: expected max_ratio >= 2, but got 1");
}

TEST(Suggest, AccuracyRuleFollowsSmith) {
  // Accuracy flat at 10% until 0.002, rising to 80% at 0.008, ragged and falling after 0.012.
  std::vector<double> lrs, acc;
  for (int i = 1; i <= 40; ++i) {
    const double lr = 0.0005 * i;
    double a = 0.1;
    if (lr > 0.002) a = 0.1 + 0.7 * std::min(1.0, (lr - 0.002) / 0.006);
    if (lr > 0.012) a = 0.8 - 30 * (lr - 0.012) + (i % 2 ? 0.05 : -0.05);
    lrs.push_back(lr);
    acc.push_back(a);
  }
  const auto s = torchclr::suggest_from_metric(lrs, acc, RangeMode::Linear);
  EXPECT_EQ(s.rule, SuggestionRule::AccuracyCurve);
  EXPECT_NEAR(s.max_lr, 0.0074, 0.0006);  // 90% of the rise
  EXPECT_NEAR(s.base_lr, 0.003, 0.0006);  // 10% of the rise
  EXPECT_GE(s.lr, s.base_lr);
  EXPECT_LE(s.lr, s.max_lr);
}

TEST(Suggest, ResultUsesTheMetricWhenThereIsOne) {
  RangeTestResult r;
  r.mode = RangeMode::Linear;
  for (int i = 1; i <= 10; ++i) {
    r.lrs.push_back(0.1 * i);
    r.losses.push_back(1.0);
    r.smoothed_losses.push_back(1.0);
    r.metric_lrs.push_back(0.1 * i);
    r.metrics.push_back(std::min(i, 6) * 0.1);
  }
  EXPECT_EQ(r.suggest().rule, SuggestionRule::AccuracyCurve);
  r.metrics.clear();
  r.metric_lrs.clear();
  EXPECT_EQ(r.suggest().rule, SuggestionRule::NoDescent);
}

// ---------------------------------------------------------------------------------------------
// Analytic problems: the divergence LR is known

TEST(Analytic, SgdMaxLrIsBelowTwoOverLambdaMaxAndWithinTenfold) {
  for (const auto& c : analytic_cases({32, 64})) {
    LeastSquares model(10);
    torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
    const auto result = run_analytic(c, model, optimizer);
    EXPECT_TRUE(result.diverged());
    expect_pair_below_divergence("sgd", c, result, 2 / c.lambda_max);
  }
}

TEST(Analytic, MomentumMovesTheLimitToTwoTimesOnePlusMOverLambdaMax) {
  for (double m : {0.5, 0.9}) {
    for (const auto& c : analytic_cases({0, 32})) {
      LeastSquares model(10);
      torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1).momentum(m));
      const auto result = run_analytic(c, model, optimizer);
      SCOPED_TRACE("momentum " + std::to_string(m));
      EXPECT_TRUE(result.diverged());
      expect_pair_below_divergence(m == 0.5 ? "momentum0.5" : "momentum0.9", c, result,
                                   2 * (1 + m) / c.lambda_max);
    }
  }
}

TEST(Analytic, AdamGivesAFiniteOrderedPairBelowWhereItDiverged) {
  for (const auto& c : analytic_cases({0, 32})) {
    for (int64_t iters : {100, 300}) {
      LeastSquares model(10);
      torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(0.1));
      const int64_t n = 512;
      auto p = make_problem(c, n);
      torch::manual_seed(c.seed);
      const auto result =
          LRFinder(model, optimizer)
              .range_test(
                  [&] {
                    auto idx = torch::randint(n, {c.batch > 0 ? c.batch : n}, torch::kLong);
                    auto a = c.batch > 0 ? p.A.index_select(0, idx) : p.A;
                    auto b = c.batch > 0 ? p.b.index_select(0, idx) : p.b;
                    return 0.5 * (torch::matmul(a, model.w) - b).pow(2).mean();
                  },
                  RangeTestOptions().num_iters(iters));
      const auto s = result.suggest();
      EXPECT_TRUE(std::isfinite(s.max_lr));
      EXPECT_LT(s.base_lr, s.max_lr);
      EXPECT_GT(s.base_lr, 0);
      if (result.diverged()) {
        EXPECT_LT(s.max_lr, result.stop_lr);
      }
    }
  }
}

TEST(Analytic, PlainSgdWithoutNoiseIsTheKnownBlindSpot) {
  // Noiseless gradient descent solves the top eigendirection exactly as the LR passes
  // 1 / lambda_max; past 2 / lambda_max that direction regrows from rounding error, hidden under
  // the others' residual, so the loss blows up only 6 to 8 times past the limit. max_lr then
  // lands above it: 1.03 to 1.154 times with seed 1, up to 1.49 times over seeds 1 to 20
  // (bench/lr_finder_ratios.py --seeds 20). Batch noise (above) or momentum (below) make the edge
  // show.
  for (const auto& c : analytic_cases({0})) {
    LeastSquares model(10);
    torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
    const auto s = run_analytic(c, model, optimizer).suggest();
    ::testing::Test::RecordProperty(
        "sgd_noiseless_lambda" + std::to_string(static_cast<int>(c.lambda_max)) + "_cond" +
            std::to_string(static_cast<int>(c.condition)) + "_batch0_seed" + std::to_string(c.seed),
        std::to_string(s.max_lr / (2 / c.lambda_max)));
    EXPECT_LT(s.max_lr, (c.seed == 1 ? 1.16 : 1.5) * 2 / c.lambda_max) << "seed " << c.seed;
    EXPECT_GT(s.max_lr, 2 / c.lambda_max / 10);
  }
}

// Smith's accuracy form on a small classifier, LR rising linearly: the accuracy climbs, then turns
// ragged and collapses.
TEST(Analytic, AccuracyFormFindsWhereAccuracyRisesAndStops) {
  const auto data = make_data(512, 5);
  const auto val = make_data(256, 6);
  torch::manual_seed(0);
  Net net;
  torch::optim::SGD optimizer(net.parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  Stepper step{net, data, 32};
  auto result =
      LRFinder(net, optimizer)
          .range_test(step, RangeTestOptions()
                                .start_lr(1e-3)
                                .end_lr(3.0)
                                .num_iters(200)
                                .mode(RangeMode::Linear)
                                .diverge_threshold(kInf)
                                .eval_every(10)
                                .eval([&] {
                                  net.eval();
                                  auto pred = net.forward(val.x).argmax(1);
                                  net.train();
                                  return pred.eq(val.y).to(torch::kDouble).mean().item<double>();
                                }));
  ASSERT_EQ(result.metrics.size(), 20u);
  const auto s = result.suggest();
  EXPECT_EQ(s.rule, SuggestionRule::AccuracyCurve);
  EXPECT_LT(s.base_lr, s.max_lr);
  EXPECT_GE(s.base_lr, result.metric_lrs.front());
  const double peak = *std::max_element(result.metrics.begin(), result.metrics.end());
  EXPECT_GT(peak, 0.8);
  // max_lr comes before the collapse: the first LR where the accuracy falls under 0.6 after
  // having reached its peak.
  const auto peak_at = std::max_element(result.metrics.begin(), result.metrics.end());
  const auto collapse =
      std::find_if(peak_at, result.metrics.end(), [](double a) { return a < 0.6; });
  ASSERT_NE(collapse, result.metrics.end());
  EXPECT_LT(s.max_lr, result.metric_lrs[collapse - result.metrics.begin()]);
}

// The answer feeds CyclicLR directly, per group.
TEST(Analytic, SuggestionFeedsCyclicLr) {
  const Analytic c{10, 10, 32};
  LeastSquares model(10);
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  const auto result = run_analytic(c, model, optimizer);
  const auto s = result.suggest();
  torchclr::CyclicLR scheduler(optimizer, torchclr::CyclicLROptions(result.for_groups(s.base_lr),
                                                                    result.for_groups(s.max_lr))
                                              .step_size_up(10));
  EXPECT_DOUBLE_EQ(optimizer.param_groups()[0].options().get_lr(), s.base_lr);
  for (int i = 0; i < 10; ++i) {
    scheduler.step();
  }
  EXPECT_DOUBLE_EQ(optimizer.param_groups()[0].options().get_lr(), s.max_lr);
}

}  // namespace
