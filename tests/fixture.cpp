#include "fixture.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace torchclr_test {

size_t Fixture::num_groups() const { return parse_doubles(config.at("lrs")).size(); }

bool Fixture::has_momentum() const {
  return std::find(columns.begin(), columns.end(), "momentum0") != columns.end();
}

bool Fixture::has_metric() const { return !columns.empty() && columns.back() == "metric"; }

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  DIR* dir = opendir(TORCHCLR_FIXTURES_DIR);
  if (dir == nullptr) {
    return names;
  }
  while (const dirent* entry = readdir(dir)) {
    const std::string file = entry->d_name;
    if (file.size() > 4 && file.compare(file.size() - 4, 4, ".txt") == 0) {
      names.push_back(file.substr(0, file.size() - 4));
    }
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Fixture load_fixture(const std::string& name) {
  Fixture fixture;
  fixture.name = name;
  std::ifstream in(std::string(TORCHCLR_FIXTURES_DIR) + "/" + name + ".txt");
  if (!in) {
    throw std::runtime_error("cannot open fixture " + name);
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string head;
    words >> head;
    if (head == "#") {
      continue;
    }
    if (head == "config") {
      std::string pair;
      while (words >> pair) {
        const auto eq = pair.find('=');
        fixture.config[pair.substr(0, eq)] = pair.substr(eq + 1);
      }
    } else if (head == "columns") {
      std::string column;
      while (words >> column) fixture.columns.push_back(column);
    } else if (!head.empty()) {
      fixture.iterations.push_back(std::stoll(head));
      std::vector<double> row;
      std::string value;
      while (words >> value) row.push_back(std::stod(value));
      fixture.rows.push_back(row);
    }
  }
  return fixture;
}

std::vector<double> parse_doubles(const std::string& text) {
  std::vector<double> values;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stod(item));
  return values;
}

namespace {

// One optimizer kind: its options for a given LR, and the optimizer over some param groups.
template <typename Optimizer, typename Options>
OptimizerUnderTest build(const std::vector<double>& lrs,
                         const std::function<Options(double)>& options) {
  OptimizerUnderTest out;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const double lr : lrs) {
    out.params.push_back(torch::zeros({1}, torch::requires_grad()));
    groups.emplace_back(std::vector<torch::Tensor>{out.params.back()},
                        std::make_unique<Options>(options(lr)));
  }
  out.optimizer = std::make_unique<Optimizer>(groups, options(lrs[0]));
  return out;
}

}  // namespace

OptimizerUnderTest make_optimizer(const std::string& kind, const std::vector<double>& lrs,
                                  double momentum) {
  namespace O = torch::optim;
  if (kind == "sgd") {
    return build<O::SGD, O::SGDOptions>(
        lrs, [momentum](double lr) { return O::SGDOptions(lr).momentum(momentum); });
  }
  if (kind == "rmsprop") {
    return build<O::RMSprop, O::RMSpropOptions>(
        lrs, [momentum](double lr) { return O::RMSpropOptions(lr).momentum(momentum); });
  }
  if (kind == "adam") {
    return build<O::Adam, O::AdamOptions>(lrs, [](double lr) { return O::AdamOptions(lr); });
  }
  if (kind == "adamw") {
    return build<O::AdamW, O::AdamWOptions>(lrs, [](double lr) { return O::AdamWOptions(lr); });
  }
  if (kind == "adagrad") {
    return build<O::Adagrad, O::AdagradOptions>(lrs,
                                                [](double lr) { return O::AdagradOptions(lr); });
  }
  throw std::runtime_error("unknown optimizer " + kind);
}

std::function<double(double)> scale_fn_named(const std::string& name) {
  if (name == "hyperbolic") return [](double x) { return 1.0 / (1.0 + 0.5 * x); };
  if (name == "slow_decay") return [](double x) { return 1.0 / (1.0 + 0.01 * x); };
  return nullptr;
}

std::function<double(int64_t)> lambda_named(const std::string& name) {
  if (name == "warmup_rsqrt") {
    return [](int64_t t) {
      return t < 10 ? static_cast<double>(t + 1) / 10.0
                    : std::pow(10.0 / static_cast<double>(t + 1), 0.5);
    };
  }
  if (name == "step_thirds") {
    return [](int64_t t) { return 1.0 / static_cast<double>(1 + t / 3); };
  }
  throw std::runtime_error("unknown lambda " + name);
}

namespace {

torchclr::CyclicMode cyclic_mode(const std::string& mode) {
  if (mode == "triangular") return torchclr::CyclicMode::Triangular;
  if (mode == "triangular2") return torchclr::CyclicMode::Triangular2;
  if (mode == "exp_range") return torchclr::CyclicMode::ExpRange;
  throw std::runtime_error("unknown mode " + mode);
}

std::vector<int64_t> parse_ints(const std::string& text) {
  std::vector<int64_t> values;
  for (const double v : parse_doubles(text)) values.push_back(static_cast<int64_t>(v));
  return values;
}

using Config = std::map<std::string, std::string>;

std::unique_ptr<torchclr::Scheduler> make_from_config(const Config& c,
                                                      torch::optim::Optimizer& optimizer,
                                                      int64_t last_step);

/// The composite's children, built in order on the optimizer as a user builds them.
std::vector<std::shared_ptr<torchclr::Scheduler>> make_children(
    const Config& c, torch::optim::Optimizer& optimizer) {
  std::vector<std::shared_ptr<torchclr::Scheduler>> children;
  const int64_t count = std::stoll(c.at("children"));
  for (int64_t i = 0; i < count; ++i) {
    const std::string prefix = "child" + std::to_string(i) + ".";
    Config child;
    for (const auto& entry : c) {
      if (entry.first.compare(0, prefix.size(), prefix) == 0) {
        child[entry.first.substr(prefix.size())] = entry.second;
      }
    }
    children.push_back(make_from_config(child, optimizer, -1));
  }
  return children;
}

torchclr::DecayShape decay_shape(const std::string& name) {
  if (name == "linear") return torchclr::DecayShape::Linear;
  if (name == "cosine") return torchclr::DecayShape::Cosine;
  if (name == "one_minus_sqrt") return torchclr::DecayShape::OneMinusSqrt;
  throw std::runtime_error("unknown decay " + name);
}

std::unique_ptr<torchclr::Scheduler> make_from_config(const Config& c,
                                                      torch::optim::Optimizer& optimizer,
                                                      int64_t last_step) {
  const std::string kind = c.at("scheduler");
  if (kind == "CyclicLR") {
    auto options =
        torchclr::CyclicLROptions(parse_doubles(c.at("base_lr")), parse_doubles(c.at("max_lr")))
            .step_size_up(std::stoll(c.at("step_size_up")))
            .step_size_down(std::stoll(c.at("step_size_down")))
            .mode(cyclic_mode(c.at("mode")))
            .gamma(std::stod(c.at("gamma")))
            .scale_fn(scale_fn_named(c.at("scale_fn")))
            .scale_mode(c.at("scale_mode") == "cycle" ? torchclr::ScaleMode::Cycle
                                                      : torchclr::ScaleMode::Iterations)
            .cycle_momentum(c.at("cycle_momentum") == "1")
            .base_momentum(parse_doubles(c.at("base_momentum")))
            .max_momentum(parse_doubles(c.at("max_momentum")))
            .last_step(last_step);
    return std::make_unique<torchclr::CyclicLR>(optimizer, options);
  }
  if (kind == "OneCycleLR") {
    auto options =
        torchclr::OneCycleLROptions(parse_doubles(c.at("max_lr")), std::stoll(c.at("total_steps")))
            .pct_start(std::stod(c.at("pct_start")))
            .anneal_strategy(c.at("anneal_strategy") == "cos" ? torchclr::AnnealStrategy::Cos
                                                              : torchclr::AnnealStrategy::Linear)
            .div_factor(std::stod(c.at("div_factor")))
            .final_div_factor(std::stod(c.at("final_div_factor")))
            .three_phase(c.at("three_phase") == "1")
            .cycle_momentum(c.at("cycle_momentum") == "1")
            .base_momentum(parse_doubles(c.at("base_momentum")))
            .max_momentum(parse_doubles(c.at("max_momentum")))
            .last_step(last_step);
    return std::make_unique<torchclr::OneCycleLR>(optimizer, options);
  }
  if (kind == "MultiStepLR") {
    return std::make_unique<torchclr::MultiStepLR>(
        optimizer, torchclr::MultiStepLROptions(parse_ints(c.at("milestones")))
                       .gamma(std::stod(c.at("gamma")))
                       .last_step(last_step));
  }
  if (kind == "ExponentialLR") {
    return std::make_unique<torchclr::ExponentialLR>(
        optimizer, torchclr::ExponentialLROptions(std::stod(c.at("gamma"))).last_step(last_step));
  }
  if (kind == "LinearLR") {
    return std::make_unique<torchclr::LinearLR>(
        optimizer, torchclr::LinearLROptions(std::stoll(c.at("total_iters")))
                       .start_factor(std::stod(c.at("start_factor")))
                       .end_factor(std::stod(c.at("end_factor")))
                       .last_step(last_step));
  }
  if (kind == "StepLR") {
    return std::make_unique<torchclr::StepLR>(optimizer,
                                              torchclr::StepLROptions(std::stoll(c.at("step_size")))
                                                  .gamma(std::stod(c.at("gamma")))
                                                  .last_step(last_step));
  }
  if (kind == "ConstantLR") {
    return std::make_unique<torchclr::ConstantLR>(optimizer,
                                                  torchclr::ConstantLROptions()
                                                      .factor(std::stod(c.at("factor")))
                                                      .total_iters(std::stoll(c.at("total_iters")))
                                                      .last_step(last_step));
  }
  if (kind == "PolynomialLR") {
    return std::make_unique<torchclr::PolynomialLR>(
        optimizer, torchclr::PolynomialLROptions(std::stoll(c.at("total_iters")))
                       .power(std::stod(c.at("power")))
                       .last_step(last_step));
  }
  if (kind == "LambdaLR") {
    std::vector<torchclr::LambdaLROptions::Factor> factors;
    std::istringstream names(c.at("lambdas"));
    std::string name;
    while (std::getline(names, name, ',')) factors.push_back(lambda_named(name));
    return std::make_unique<torchclr::LambdaLR>(
        optimizer, torchclr::LambdaLROptions(factors).last_step(last_step));
  }
  if (kind == "CosineAnnealingLR") {
    return std::make_unique<torchclr::CosineAnnealingLR>(
        optimizer, torchclr::CosineAnnealingLROptions(std::stoll(c.at("t_max")))
                       .eta_min(parse_doubles(c.at("eta_min")))
                       .last_step(last_step));
  }
  if (kind == "CosineAnnealingWarmRestarts") {
    return std::make_unique<torchclr::CosineAnnealingWarmRestarts>(
        optimizer, torchclr::CosineAnnealingWarmRestartsOptions(std::stoll(c.at("t_0")))
                       .t_mult(std::stoll(c.at("t_mult")))
                       .eta_min(parse_doubles(c.at("eta_min")))
                       .cycle_decay(std::stod(c.at("cycle_decay")))
                       .cycle_limit(std::stoll(c.at("cycle_limit")))
                       .last_step(last_step));
  }
  if (kind == "WarmupStableDecay") {
    auto options = torchclr::WarmupStableDecayOptions(std::stoll(c.at("total_steps")))
                       .warmup_steps(std::stoll(c.at("warmup_steps")))
                       .decay_steps(std::stoll(c.at("decay_steps")))
                       .decay(decay_shape(c.at("decay")))
                       .min_lr(parse_doubles(c.at("min_lr")))
                       .last_step(last_step);
    if (c.at("decay_from") != "none") options.decay_from(std::stoll(c.at("decay_from")));
    return std::make_unique<torchclr::WarmupStableDecay>(optimizer, options);
  }
  if (kind == "ReduceLROnPlateau") {
    // No last_step: a plateau schedule resumes from a checkpoint only.
    return std::make_unique<torchclr::ReduceLROnPlateau>(
        optimizer,
        torchclr::ReduceLROnPlateauOptions()
            .mode(c.at("mode") == "min" ? torchclr::PlateauMode::Min : torchclr::PlateauMode::Max)
            .factor(std::stod(c.at("factor")))
            .patience(std::stoll(c.at("patience")))
            .threshold(std::stod(c.at("threshold")))
            .threshold_mode(c.at("threshold_mode") == "rel" ? torchclr::ThresholdMode::Rel
                                                            : torchclr::ThresholdMode::Abs)
            .cooldown(std::stoll(c.at("cooldown")))
            .min_lr(parse_doubles(c.at("min_lr")))
            .eps(std::stod(c.at("eps"))));
  }
  if (kind == "SequentialLR") {
    auto children = make_children(c, optimizer);
    return std::make_unique<torchclr::SequentialLR>(optimizer, children,
                                                    parse_ints(c.at("milestones")), last_step);
  }
  if (kind == "ChainedScheduler") {
    auto children = make_children(c, optimizer);
    return std::make_unique<torchclr::ChainedScheduler>(optimizer, children, last_step);
  }
  throw std::runtime_error("unknown scheduler " + kind);
}

}  // namespace

std::unique_ptr<torchclr::Scheduler> make_scheduler(const Fixture& fixture,
                                                    torch::optim::Optimizer& optimizer,
                                                    int64_t last_step) {
  return make_from_config(fixture.config, optimizer, last_step);
}

void step_to(const Fixture& fixture, torchclr::Scheduler& scheduler, int64_t t) {
  while (scheduler.last_step() < t) {
    if (fixture.has_metric()) {
      scheduler.step(fixture.metric(scheduler.last_step() + 1));
    } else {
      scheduler.step();
    }
  }
}

std::string checkpoint_bytes(const torchclr::Scheduler& scheduler) {
  torch::serialize::OutputArchive archive;
  scheduler.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  return bytes.str();
}

void load_bytes(torchclr::Scheduler& scheduler, const std::string& bytes) {
  torch::serialize::InputArchive archive;
  std::istringstream stream(bytes);
  archive.load_from(stream);
  scheduler.load(archive);
}

void expect_error(const std::function<void()>& action, const std::string& message) {
  try {
    action();
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
        << "message was: " << e.what() << "\nexpected to contain: " << message;
    return;
  }
  ADD_FAILURE() << "expected an error containing: " << message;
}

::testing::AssertionResult close_relative(double expected, double actual, double tolerance) {
  const double scale = std::max(std::abs(expected), std::abs(actual));
  if (expected == actual || std::abs(expected - actual) <= tolerance * scale) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "expected " << expected << " but got " << actual << " (relative error "
         << std::abs(expected - actual) / scale << ")";
}

}  // namespace torchclr_test
