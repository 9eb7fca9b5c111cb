#include "policies.h"

#include <torch/torch.h>
#include <torchclr/adadelta.h>
#include <torchclr/cyclic_lr.h>
#include <torchclr/exponential_lr.h>
#include <torchclr/linear_lr.h>
#include <torchclr/momentum.h>
#include <torchclr/multi_step_lr.h>
#include <torchclr/one_cycle_lr.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>

namespace cifar10 {
namespace {

const std::vector<std::pair<std::string, Policy>> kPolicies = {{"fixed", Policy::Fixed},
                                                               {"multistep", Policy::MultiStep},
                                                               {"exp", Policy::Exp},
                                                               {"decay", Policy::Decay},
                                                               {"triangular", Policy::Triangular},
                                                               {"triangular2", Policy::Triangular2},
                                                               {"exp_range", Policy::ExpRange},
                                                               {"onecycle", Policy::OneCycle}};

const std::vector<std::pair<std::string, OptimizerKind>> kOptimizers = {
    {"sgd", OptimizerKind::Sgd},         {"nesterov", OptimizerKind::Nesterov},
    {"adam", OptimizerKind::Adam},       {"rmsprop", OptimizerKind::RmsProp},
    {"adagrad", OptimizerKind::Adagrad}, {"adadelta", OptimizerKind::Adadelta}};

bool is_cyclic(Policy policy) {
  return policy == Policy::Triangular || policy == Policy::Triangular2 ||
         policy == Policy::ExpRange;
}

std::vector<double> scaled(double lr, const std::vector<double>& multipliers) {
  std::vector<double> values;
  for (const double m : multipliers) values.push_back(lr * m);
  return values;
}

// Caffe's `delta`, the epsilon of all its adaptive solvers (caffe.proto's default). LibTorch's
// Adam and RMSprop default to it already; Adagrad (1e-10) and Adadelta (1e-6) do not.
constexpr double kCaffeDelta = 1e-8;

// One param group's options, as the paper's Caffe solvers had them (Table 3's runs "invoked the
// respective option in Caffe" with cifar10_full's solver, momentum 0.9): SGD and Nesterov take
// `momentum`, Adam as beta1, and Adadelta as its decay rho, as Caffe's AdaDelta does; Caffe
// rejects a momentum for RMSProp and AdaGrad, and RMSprop's alpha 0.99 is Caffe's rms_decay.
std::unique_ptr<torch::optim::OptimizerOptions> make_options(OptimizerKind kind, double lr,
                                                             double weight_decay, double momentum) {
  using namespace torch::optim;
  switch (kind) {
    case OptimizerKind::Sgd:
    case OptimizerKind::Nesterov:
      return std::make_unique<SGDOptions>(SGDOptions(lr)
                                              .momentum(momentum)
                                              .weight_decay(weight_decay)
                                              .nesterov(kind == OptimizerKind::Nesterov));
    case OptimizerKind::Adam:
      return std::make_unique<AdamOptions>(
          AdamOptions(lr).betas({momentum, 0.999}).weight_decay(weight_decay));
    case OptimizerKind::RmsProp:
      return std::make_unique<RMSpropOptions>(RMSpropOptions(lr).weight_decay(weight_decay));
    case OptimizerKind::Adagrad:
      return std::make_unique<AdagradOptions>(
          AdagradOptions(lr).eps(kCaffeDelta).weight_decay(weight_decay));
    case OptimizerKind::Adadelta:
      return std::make_unique<torchclr::AdadeltaOptions>(
          torchclr::AdadeltaOptions(lr).rho(momentum).eps(kCaffeDelta).weight_decay(weight_decay));
  }
  TORCH_CHECK(false, "unknown optimizer");
}

// The comma-separated items of `text`; nullopt when one is empty (a leading, trailing or doubled
// comma).
std::optional<std::vector<std::string>> split_items(const std::string& text) {
  std::vector<std::string> items;
  size_t begin = 0;
  for (;;) {
    const auto comma = text.find(',', begin);
    items.push_back(text.substr(begin, comma == std::string::npos ? comma : comma - begin));
    if (items.back().empty()) return std::nullopt;
    if (comma == std::string::npos) return items;
    begin = comma + 1;
  }
}

// The network's weights are float32, and LibTorch refuses an LR beyond the largest float; the
// biases' LR is twice the policy's.
constexpr double kLargestLr = std::numeric_limits<float>::max() / 2.0;

// A growing exponential (gamma > 1) must keep the LR within a float up to the end of the run:
// its peak is the LR of exp at the last iteration, the envelope of exp_range there, or
// multistep's LR after its last milestone.
void check_lr_stays_finite(const PolicyOptions& o) {
  const double gamma = o.effective_gamma();
  if (!(gamma > 1)) return;
  const double end = static_cast<double>(std::max<int64_t>(o.iterations, 1));
  double peak = 0.0;
  if (o.policy == Policy::Exp) {
    peak = o.base_lr * std::pow(gamma, end);
  } else if (o.policy == Policy::ExpRange) {
    double max_lr = o.max_lr;
    for (const auto& s : o.stages) max_lr = std::max(max_lr, s.max_lr);
    peak = max_lr * std::pow(gamma, end);
  } else if (o.policy == Policy::MultiStep) {
    peak = o.base_lr * std::pow(gamma, static_cast<double>(o.effective_milestones().size()));
  }
  TORCH_CHECK(peak <= kLargestLr, "--gamma: expected a value that keeps the LR finite (at most ",
              kLargestLr, ") over the ", o.iterations, " iterations of the run, but got ", gamma);
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

Policy parse_policy(const std::string& name) {
  for (const auto& [key, value] : kPolicies) {
    if (key == name) return value;
  }
  TORCH_CHECK(false, "unknown policy '", name, "'");
}

std::string policy_name(Policy policy) {
  for (const auto& [key, value] : kPolicies) {
    if (value == policy) return key;
  }
  return "?";
}

OptimizerKind parse_optimizer(const std::string& name) {
  for (const auto& [key, value] : kOptimizers) {
    if (key == name) return value;
  }
  TORCH_CHECK(false, "unknown optimizer '", name, "'");
}

std::string optimizer_name(OptimizerKind kind) {
  for (const auto& [key, value] : kOptimizers) {
    if (value == kind) return key;
  }
  return "?";
}

std::vector<std::string> policy_names() {
  std::vector<std::string> names;
  for (const auto& entry : kPolicies) names.push_back(entry.first);
  return names;
}

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const auto& entry : kOptimizers) names.push_back(entry.first);
  return names;
}

std::vector<CyclicStage> parse_stages(const std::string& text) {
  const auto items = split_items(text);
  TORCH_CHECK(items.has_value(),
              "--stages: expected BASE:MAX:STEP:UNTIL items separated by single commas, but got '",
              text, "'");
  std::vector<CyclicStage> stages;
  for (const auto& item : *items) {
    CyclicStage stage{};
    char c1 = 0, c2 = 0, c3 = 0;
    std::istringstream in(item);
    in >> stage.base_lr >> c1 >> stage.max_lr >> c2 >> stage.step_size >> c3 >> stage.until;
    TORCH_CHECK(in && c1 == ':' && c2 == ':' && c3 == ':' && (in >> std::ws).eof(),
                "--stages: expected BASE:MAX:STEP:UNTIL, but got '", item, "'");
    TORCH_CHECK(stage.step_size >= 1 && stage.base_lr > 0 && stage.max_lr >= stage.base_lr,
                "--stages: expected 0 < BASE <= MAX and STEP >= 1, but got '", item, "'");
    TORCH_CHECK(stage.until >= 1, "--stages: expected UNTIL >= 1, but got '", item, "'");
    TORCH_CHECK(stages.empty() || stage.until > stages.back().until,
                "--stages: expected increasing UNTIL iterations, but got '", item, "'");
    stages.push_back(stage);
  }
  return stages;
}

std::vector<int64_t> parse_milestones(const std::string& text) {
  const auto items = split_items(text);
  TORCH_CHECK(items.has_value(), "--milestones: expected comma-separated iterations, but got '",
              text, "'");
  std::vector<int64_t> milestones;
  for (const auto& item : *items) {
    int64_t value = 0;
    std::istringstream in(item);
    in >> value;
    TORCH_CHECK(in && in.eof(),  // the whole item is the number
                "--milestones: expected comma-separated iterations, but got '", text, "'");
    TORCH_CHECK(value >= 1, "--milestones: expected iterations >= 1, but got '", text, "'");
    milestones.push_back(value);
  }
  return milestones;
}

std::string format_stages(const std::vector<CyclicStage>& stages) {
  std::string text;
  for (const auto& s : stages) {
    if (!text.empty()) text += ",";
    text += exact_number(s.base_lr) + ":" + exact_number(s.max_lr) + ":" +
            std::to_string(s.step_size) + ":" + std::to_string(s.until);
  }
  return text;
}

std::string exact_number(double value) {
  std::ostringstream out;
  for (int digits = 6; digits <= 17; ++digits) {
    out.str("");
    out.precision(digits);
    out << value;
    if (!std::isfinite(value) || std::strtod(out.str().c_str(), nullptr) == value) break;
  }
  return out.str();
}

void check_policy_options(const PolicyOptions& o) {
  const auto check_lr = [](const char* flag, double lr) {
    TORCH_CHECK(std::isfinite(lr) && lr > 0, flag, ": expected a positive finite number, but got ",
                lr);
    TORCH_CHECK(lr <= kLargestLr, flag, ": expected at most ", kLargestLr,
                " (half the largest float: the biases' LR is twice it), but got ", lr);
  };
  check_lr("--base-lr", o.base_lr);
  const bool bounded = o.policy == Policy::Decay || o.policy == Policy::OneCycle ||
                       (is_cyclic(o.policy) && o.stages.empty());
  if (bounded) {
    check_lr("--max-lr", o.max_lr);
    TORCH_CHECK(o.step_size >= 1, "--step-size: expected an integer >= 1, but got ", o.step_size);
    const bool strictly = o.policy == Policy::OneCycle;
    TORCH_CHECK(strictly ? o.base_lr < o.max_lr : o.base_lr <= o.max_lr, "--base-lr: expected a ",
                strictly ? "value below" : "value at most", " --max-lr (", o.max_lr, ") for ",
                policy_name(o.policy), ", but got ", o.base_lr);
  }
  if (o.gamma) {
    TORCH_CHECK(std::isfinite(*o.gamma) && *o.gamma > 0,
                "--gamma: expected a positive finite number, but got ", *o.gamma);
  }
  for (const auto m : o.milestones) {
    TORCH_CHECK(m >= 1, "--milestones: expected iterations >= 1, but got ", m);
  }
  check_lr_stays_finite(o);
}

double PolicyOptions::effective_gamma() const {
  if (gamma) return *gamma;
  return policy == Policy::MultiStep ? 0.1 : 0.99994;
}

std::vector<int64_t> PolicyOptions::effective_milestones() const {
  if (!milestones.empty() || iterations <= 0) return milestones;
  return {std::max<int64_t>(1, iterations * 6 / 7), std::max<int64_t>(1, iterations * 13 / 14)};
}

std::string PolicyOptions::describe() const {
  const std::string name = policy_name(policy);
  const auto bounds = number(base_lr) + "-" + number(max_lr);
  switch (policy) {
    case Policy::Fixed:
      return name + " " + number(base_lr);
    case Policy::MultiStep: {
      std::string text = name + " " + number(base_lr) + ", x" + number(effective_gamma()) + " at";
      for (const auto m : effective_milestones()) text += " " + std::to_string(m);
      return text;
    }
    case Policy::Exp:
      return name + " " + number(base_lr) + ", gamma " + number(effective_gamma());
    case Policy::Decay:
      return name + " " + number(max_lr) + " to " + number(base_lr) + " over " +
             std::to_string(step_size);
    case Policy::OneCycle:
      return name + " " + bounds;
    default:
      break;
  }
  std::string text = name + " ";
  if (stages.empty()) {
    text += bounds + " step " + std::to_string(step_size);
  } else {
    for (size_t i = 0; i < stages.size(); ++i) {
      const auto& s = stages[i];
      text += (i ? "; " : "") + number(s.base_lr) + "-" + number(s.max_lr) + " step " +
              std::to_string(s.step_size) + " to " + std::to_string(s.until);
    }
  }
  if (policy == Policy::ExpRange) text += ", gamma " + number(effective_gamma());
  return text;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(OptimizerKind kind,
                                                        const std::vector<ParamGroupSpec>& groups,
                                                        double lr, double momentum) {
  using namespace torch::optim;
  std::vector<OptimizerParamGroup> param_groups;
  for (const auto& g : groups) {
    param_groups.emplace_back(g.params,
                              make_options(kind, lr * g.lr_mult, g.weight_decay, momentum));
  }
  std::unique_ptr<Optimizer> optimizer;
  switch (kind) {
    case OptimizerKind::Sgd:
    case OptimizerKind::Nesterov:
      optimizer = std::make_unique<SGD>(param_groups, SGDOptions(lr));
      break;
    case OptimizerKind::Adam:
      optimizer = std::make_unique<Adam>(param_groups, AdamOptions(lr));
      break;
    case OptimizerKind::RmsProp:
      optimizer = std::make_unique<RMSprop>(param_groups, RMSpropOptions(lr));
      break;
    case OptimizerKind::Adagrad:
      optimizer = std::make_unique<Adagrad>(param_groups, AdagradOptions(lr));
      break;
    case OptimizerKind::Adadelta:
      optimizer = std::make_unique<torchclr::Adadelta>(param_groups, torchclr::AdadeltaOptions(lr));
      break;
  }
  TORCH_CHECK(optimizer != nullptr, "unknown optimizer");
  // LibTorch 2.x merges each group's options with the optimizer's defaults, taking a value equal
  // to the options' constructor default (an lr of exactly 1e-3) as unset: a x2 group at base LR
  // 0.0005 would get 0.0005. Setting the options after construction keeps them as given.
  for (size_t i = 0; i < param_groups.size(); ++i) {
    optimizer->param_groups()[i].set_options(param_groups[i].options().clone());
  }
  return optimizer;
}

bool has_momentum(OptimizerKind kind) {
  return torchclr::has_momentum(*make_options(kind, 1.0, 0.0, 0.9));
}

double current_momentum(const torch::optim::Optimizer& optimizer, OptimizerKind kind) {
  if (!has_momentum(kind)) return 0.0;
  return torchclr::get_momentum(optimizer.param_groups()[0].options());
}

Schedule::Schedule(torch::optim::Optimizer& optimizer, OptimizerKind kind, PolicyOptions options,
                   std::vector<double> multipliers, int64_t start)
    : optimizer_(optimizer),
      kind_(kind),
      options_(std::move(options)),
      multipliers_(std::move(multipliers)),
      iteration_(start) {
  check_policy_options(options_);
  TORCH_CHECK(multipliers_.size() == optimizer_.param_groups().size(), "Schedule: expected ",
              optimizer_.param_groups().size(), " LR multipliers, but got ", multipliers_.size());
  TORCH_CHECK(options_.stages.empty() || is_cyclic(options_.policy),
              "Schedule: stages need a cyclical policy (triangular, triangular2, exp_range), but "
              "got ",
              policy_name(options_.policy));
  if (options_.stages.empty()) {
    stages_.push_back({0, -1});
  } else {
    int64_t begin = 0;
    for (const auto& s : options_.stages) {
      stages_.push_back({begin, s.until});
      begin = s.until;
    }
    stages_.back().end = -1;  // the last stage runs on past its end, like a single stage
  }
  size_t stage = 0;
  while (stage + 1 < stages_.size() && start >= stages_[stage].end) ++stage;
  start_stage(stage, start - stages_[stage].begin);
}

void Schedule::start_stage(size_t stage, int64_t local_step) {
  stage_ = stage;
  const int64_t last_step = local_step > 0 ? local_step : -1;
  const auto& o = options_;
  // Schedulers that scale the optimizer's LRs take those the optimizer had when the first
  // scheduler still alive on it was built: drop the previous stage's first, then start from the
  // policy's initial LR in every group, multipliers applied.
  scheduler_.reset();
  const double initial = o.policy == Policy::Decay ? o.max_lr : o.base_lr;
  for (size_t g = 0; g < multipliers_.size(); ++g) {
    optimizer_.param_groups()[g].options().set_lr(initial * multipliers_[g]);
  }
  switch (o.policy) {
    case Policy::Fixed:
      scheduler_ = std::make_unique<torchclr::ExponentialLR>(
          optimizer_, torchclr::ExponentialLROptions(1.0).last_step(last_step));
      break;
    case Policy::MultiStep:
      scheduler_ = std::make_unique<torchclr::MultiStepLR>(
          optimizer_, torchclr::MultiStepLROptions(o.effective_milestones())
                          .gamma(o.effective_gamma())
                          .last_step(last_step));
      break;
    case Policy::Exp:
      scheduler_ = std::make_unique<torchclr::ExponentialLR>(
          optimizer_, torchclr::ExponentialLROptions(o.effective_gamma()).last_step(last_step));
      break;
    case Policy::Decay:
      scheduler_ =
          std::make_unique<torchclr::LinearLR>(optimizer_, torchclr::LinearLROptions(o.step_size)
                                                               .start_factor(1.0)
                                                               .end_factor(o.base_lr / o.max_lr)
                                                               .last_step(last_step));
      break;
    case Policy::OneCycle:
      scheduler_ = std::make_unique<torchclr::OneCycleLR>(
          optimizer_, torchclr::OneCycleLROptions(scaled(o.max_lr, multipliers_), o.iterations)
                          .div_factor(o.max_lr / o.base_lr)
                          .cycle_momentum(has_momentum(kind_))
                          .last_step(last_step));
      break;
    case Policy::Triangular:
    case Policy::Triangular2:
    case Policy::ExpRange: {
      const auto mode = o.policy == Policy::Triangular    ? torchclr::CyclicMode::Triangular
                        : o.policy == Policy::Triangular2 ? torchclr::CyclicMode::Triangular2
                                                          : torchclr::CyclicMode::ExpRange;
      double base = o.base_lr, max = o.max_lr;
      int64_t step_size = o.step_size;
      if (!o.stages.empty()) {
        base = o.stages[stage].base_lr;
        max = o.stages[stage].max_lr;
        step_size = o.stages[stage].step_size;
      }
      scheduler_ = std::make_unique<torchclr::CyclicLR>(
          optimizer_,
          torchclr::CyclicLROptions(scaled(base, multipliers_), scaled(max, multipliers_))
              .step_size_up(step_size)
              .mode(mode)
              .gamma(o.effective_gamma())
              .cycle_momentum(false)
              .last_step(last_step));
      break;
    }
  }
}

void Schedule::step() {
  ++iteration_;
  const auto& stage = stages_[stage_];
  if (stage.end >= 0 && iteration_ >= stage.end) {
    start_stage(stage_ + 1, iteration_ - stages_[stage_ + 1].begin);
  } else {
    scheduler_->step();
  }
}

double Schedule::lr() const { return optimizer_.param_groups()[0].options().get_lr(); }

void Schedule::save(torch::serialize::OutputArchive& archive) const {
  archive.write("iteration", torch::tensor(iteration_, torch::kInt64));
  archive.write("stage", torch::tensor(static_cast<int64_t>(stage_), torch::kInt64));
  torch::serialize::OutputArchive scheduler;
  scheduler_->save(scheduler);
  archive.write("scheduler", scheduler);
}

void Schedule::load(torch::serialize::InputArchive& archive) {
  torch::Tensor iteration, stage;
  archive.read("iteration", iteration);
  archive.read("stage", stage);
  TORCH_CHECK(iteration.item<int64_t>() == iteration_ &&
                  stage.item<int64_t>() == static_cast<int64_t>(stage_),
              "Schedule: the checkpoint is at iteration ", iteration.item<int64_t>(), " (stage ",
              stage.item<int64_t>(), "), but this schedule was built at iteration ", iteration_,
              " (stage ", stage_, ")");
  torch::serialize::InputArchive scheduler;
  archive.read("scheduler", scheduler);
  scheduler_->load(scheduler);
}

}  // namespace cifar10
