#pragma once

// Reads the golden fixtures written by generate_fixtures.py and builds the matching optimizer and
// torchclr scheduler from a fixture's config line.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torchclr/torchclr.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace torchclr_test {

struct Fixture {
  std::string name;
  std::map<std::string, std::string> config;
  std::vector<std::string> columns;
  std::vector<int64_t> iterations;        // the iteration of each row: 0, 1, 2, ... or a sample
  std::vector<std::vector<double>> rows;  // rows[i][column], at iteration iterations[i]

  size_t num_groups() const;
  bool has_momentum() const;
  int64_t last_iteration() const { return iterations.back(); }
  /// Whether each step takes a metric (the `metric` column: ReduceLROnPlateau and composites).
  /// Such fixtures hold every iteration, so row t is iteration t.
  bool has_metric() const;
  /// The metric passed to the step to iteration t.
  double metric(int64_t t) const { return rows.at(static_cast<size_t>(t)).back(); }
};

/// All fixture names (file stems) under TORCHCLR_FIXTURES_DIR, sorted.
std::vector<std::string> fixture_names();
Fixture load_fixture(const std::string& name);

/// Parameters and optimizer of a fixture: one single-element parameter per param group.
struct OptimizerUnderTest {
  std::vector<torch::Tensor> params;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
};
OptimizerUnderTest make_optimizer(const std::string& kind, const std::vector<double>& lrs,
                                  double momentum = 0.9);

/// The fixture's scheduler on `optimizer`, resuming at `last_step` when >= 0.
std::unique_ptr<torchclr::Scheduler> make_scheduler(const Fixture& fixture,
                                                    torch::optim::Optimizer& optimizer,
                                                    int64_t last_step = -1);

/// Steps a fixture's scheduler forward to iteration t, each step with the fixture's metric where
/// it has one.
void step_to(const Fixture& fixture, torchclr::Scheduler& scheduler, int64_t t);

std::vector<double> parse_doubles(const std::string& text);

/// The custom scale functions of the fixtures, as in generate_fixtures.py.
std::function<double(double)> scale_fn_named(const std::string& name);

/// The LambdaLR factors of the fixtures, as in generate_fixtures.py.
std::function<double(int64_t)> lambda_named(const std::string& name);

/// A scheduler's checkpoint as bytes, and the bytes loaded into a scheduler.
std::string checkpoint_bytes(const torchclr::Scheduler& scheduler);
void load_bytes(torchclr::Scheduler& scheduler, const std::string& bytes);

/// Expects `action` to throw a c10::Error whose message contains `message`.
void expect_error(const std::function<void()>& action, const std::string& message);

/// |a - b| <= 1e-12 * max(|a|, |b|), or both exactly zero.
::testing::AssertionResult close_relative(double expected, double actual, double tolerance = 1e-12);

}  // namespace torchclr_test
