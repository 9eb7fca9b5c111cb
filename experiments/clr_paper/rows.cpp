#include "rows.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace clr_paper {

using cifar10::OptimizerKind;
using cifar10::Policy;

namespace {

CompareRow row(std::string id, std::string label, OptimizerKind optimizer, Policy policy,
               int64_t iterations, std::optional<double> paper, std::string source) {
  CompareRow r;
  r.id = std::move(id);
  r.label = std::move(label);
  r.options.optimizer = optimizer;
  r.options.policy.policy = policy;
  r.options.iterations = iterations;
  r.paper_accuracy = paper;
  r.paper_source = std::move(source);
  return r;
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// One optimizer of the paper's Table 3 (arXiv 1506.01186v6, page 5): its LR bounds and the
// accuracies the paper reports for it.
struct Table3Optimizer {
  const char* id;
  const char* name;
  OptimizerKind kind;
  double low;
  double high;
  double fixed_70k;
  double triangular_25k;
  std::optional<double> triangular_70k;
};

const Table3Optimizer kTable3[] = {
    {"nesterov", "Nesterov", OptimizerKind::Nesterov, 0.001, 0.006, 82.1, 81.3, std::nullopt},
    {"adam", "Adam", OptimizerKind::Adam, 0.0005, 0.002, 81.4, 79.8, 81.1},
    {"rmsprop", "RMSprop", OptimizerKind::RmsProp, 0.0001, 0.0003, 75.2, 72.8, 75.1},
    {"adagrad", "AdaGrad", OptimizerKind::Adagrad, 0.003, 0.035, 74.6, 76.0, std::nullopt},
    {"adadelta", "AdaDelta", OptimizerKind::Adadelta, 0.01, 0.1, 67.3, 67.3, std::nullopt},
};

}  // namespace

int64_t scaled(int64_t iterations, double scale) {
  return std::max<int64_t>(1, std::llround(iterations * scale));
}

std::vector<CompareRow> paper_rows(double scale) {
  TORCH_CHECK(scale > 0 && scale <= 1, "compare: expected 0 < scale <= 1, but got ", scale);
  const auto n = [scale](int64_t iterations) { return scaled(iterations, scale); };
  const double gamma = std::pow(0.99994, 1.0 / scale);
  std::vector<CompareRow> rows;

  auto r = row("triangular2", "triangular2, 0.001-0.006", OptimizerKind::Sgd, Policy::Triangular2,
               n(25000), 81.4, "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.max_lr = 0.006;
  r.options.policy.step_size = n(2000);
  rows.push_back(r);

  r = row("fixed", "fixed (Caffe: 0.001, x0.1 at 60k and 65k)", OptimizerKind::Sgd,
          Policy::MultiStep, n(70000), 81.4, "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.milestones = {n(60000), n(65000)};
  r.options.policy.gamma = 0.1;
  rows.push_back(r);

  r = row("triangular2-stages", "triangular2 in three stages (Table 2)", OptimizerKind::Sgd,
          Policy::Triangular2, n(25000), 81.4, "Tables 1-2");
  r.options.policy.stages = {{0.001, 0.005, n(2000), n(16000)},
                             {0.0001, 0.0005, n(1000), n(22000)},
                             {0.00001, 0.00005, n(500), n(25000)}};
  r.options.policy.base_lr = 0.001;
  rows.push_back(r);

  r = row("decay", "decay, 0.007 to 0.001 over 4000", OptimizerKind::Sgd, Policy::Decay, n(25000),
          78.5, "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.max_lr = 0.007;
  r.options.policy.step_size = n(4000);
  rows.push_back(r);

  r = row("exp_range", "exp_range, 0.001-0.006, gamma 0.99994", OptimizerKind::Sgd,
          Policy::ExpRange, n(42000), 82.2, "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.max_lr = 0.006;
  r.options.policy.step_size = n(2000);
  r.options.policy.gamma = gamma;
  rows.push_back(r);

  r = row("exp", "exp, 0.001, gamma 0.99994", OptimizerKind::Sgd, Policy::Exp, n(70000), 79.1,
          "Table 1");
  r.options.policy.base_lr = 0.001;
  r.options.policy.gamma = gamma;
  rows.push_back(r);

  // Table 3 (section 4.1.1): each optimizer with the bounds of its own LR range test. Fixed
  // starts at the lower bound ("Just the lower bound was used for base lr for the fixed
  // policy"); its drops at 60k and 65k are our reading of "fixed" as Caffe's cifar10_full
  // schedule, as for the SGD fixed row. Triangular cycles between the bounds with the section's
  // stepsize, 2000 (Table 3 gives none).
  for (const auto& t : kTable3) {
    const std::string bounds = number(t.low) + "-" + number(t.high);
    r = row(std::string(t.id) + "-fixed",
            std::string(t.name) + ", fixed (" + number(t.low) + ", x0.1 at 60k and 65k)", t.kind,
            Policy::MultiStep, n(70000), t.fixed_70k, "Table 3");
    r.options.policy.base_lr = t.low;
    r.options.policy.milestones = {n(60000), n(65000)};
    r.options.policy.gamma = 0.1;
    rows.push_back(r);

    r = row(std::string(t.id) + "-triangular", std::string(t.name) + ", triangular " + bounds,
            t.kind, Policy::Triangular, n(25000), t.triangular_25k, "Table 3");
    r.options.policy.base_lr = t.low;
    r.options.policy.max_lr = t.high;
    r.options.policy.step_size = n(2000);
    rows.push_back(r);

    if (t.triangular_70k) {
      r.id += "-70k";
      r.label += ", 70k";
      r.options.iterations = n(70000);
      r.paper_accuracy = t.triangular_70k;
      rows.push_back(r);
    }
  }
  return rows;
}

std::vector<CompareRow> select_rows(const std::vector<CompareRow>& rows,
                                    const std::vector<std::string>& ids) {
  if (ids.empty()) return rows;
  std::string known;
  for (const auto& r : rows) known += (known.empty() ? "" : ", ") + r.id;
  std::vector<CompareRow> selected;
  for (const auto& id : ids) {
    const auto match =
        std::find_if(rows.begin(), rows.end(), [&](const CompareRow& r) { return r.id == id; });
    TORCH_CHECK(match != rows.end(), "compare: unknown row '", id, "' (rows: ", known, ")");
    selected.push_back(*match);
  }
  return selected;
}

std::vector<CompareRow> demo_rows(int64_t iterations) {
  TORCH_CHECK(iterations >= 4, "compare: expected at least 4 demo iterations, but got ",
              iterations);
  std::vector<CompareRow> rows;
  auto r = row("triangular2", "triangular2, 0.001-0.006", OptimizerKind::Sgd, Policy::Triangular2,
               iterations, std::nullopt, "");
  r.options.policy.base_lr = 0.001;
  r.options.policy.max_lr = 0.006;
  r.options.policy.step_size = std::max<int64_t>(1, iterations / 4);
  rows.push_back(r);

  r = row("step", "step decay (0.001, x0.1 at 6/7 and 13/14)", OptimizerKind::Sgd,
          Policy::MultiStep, iterations, std::nullopt, "");
  r.options.policy.base_lr = 0.001;
  r.options.policy.gamma = 0.1;
  rows.push_back(r);

  r = row("adam-triangular", "Adam, triangular 0.0005-0.002", OptimizerKind::Adam,
          Policy::Triangular, iterations, std::nullopt, "");
  r.options.policy.base_lr = 0.0005;
  r.options.policy.max_lr = 0.002;
  r.options.policy.step_size = std::max<int64_t>(1, iterations / 4);
  rows.push_back(r);
  return rows;
}

}  // namespace clr_paper
