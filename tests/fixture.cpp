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

}  // namespace

std::unique_ptr<torchclr::Scheduler> make_scheduler(const Fixture& fixture,
                                                    torch::optim::Optimizer& optimizer,
                                                    int64_t last_step) {
  const auto& c = fixture.config;
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
  throw std::runtime_error("unknown scheduler " + kind);
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
