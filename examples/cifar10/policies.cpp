#include "policies.h"

#include <torch/torch.h>
#include <torchclr/adadelta.h>
#include <torchclr/cyclic_lr.h>
#include <torchclr/exponential_lr.h>
#include <torchclr/linear_lr.h>
#include <torchclr/momentum.h>
#include <torchclr/multi_step_lr.h>
#include <torchclr/one_cycle_lr.h>
#include <torchclr/sequential_lr.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>

namespace cifar10 {
namespace {

const std::vector<std::pair<std::string, OptimizerKind>> kOptimizers = {
    {"sgd", OptimizerKind::Sgd},         {"nesterov", OptimizerKind::Nesterov},
    {"adam", OptimizerKind::Adam},       {"rmsprop", OptimizerKind::RmsProp},
    {"adagrad", OptimizerKind::Adagrad}, {"adadelta", OptimizerKind::Adadelta}};

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

using SchedulerPtr = std::unique_ptr<torchclr::Scheduler>;

// What a policy's scheduler is built from: the optimizer (its groups already at the policy's
// initial LR), the options, each group's LR multiplier, whether the optimizer has a momentum to
// cycle, and the iteration to start at (-1: iteration 0).
struct BuildArgs {
  torch::optim::Optimizer& optimizer;
  const PolicyOptions& o;
  const std::vector<double>& multipliers;
  bool momentum;
  int64_t last_step;
};

SchedulerPtr cyclic(const BuildArgs& a, torchclr::CyclicMode mode, double base, double max,
                    int64_t step_size, int64_t last_step) {
  return std::make_unique<torchclr::CyclicLR>(
      a.optimizer,
      torchclr::CyclicLROptions(scaled(base, a.multipliers), scaled(max, a.multipliers))
          .step_size_up(step_size)
          .mode(mode)
          .gamma(a.o.effective_gamma())
          .cycle_momentum(false)
          .last_step(last_step));
}

// A cyclical policy: one CyclicLR, or with --stages one per stage in a SequentialLR (each stage
// restarts its cycle at its first iteration; the last runs on past its end).
SchedulerPtr cyclic(const BuildArgs& a, torchclr::CyclicMode mode) {
  const auto& o = a.o;
  if (o.stages.empty()) return cyclic(a, mode, o.base_lr, o.max_lr, o.step_size, a.last_step);
  std::vector<std::shared_ptr<torchclr::Scheduler>> stages;
  std::vector<int64_t> milestones;
  for (const auto& s : o.stages) {
    stages.push_back(cyclic(a, mode, s.base_lr, s.max_lr, s.step_size, -1));
    milestones.push_back(s.until);
  }
  milestones.pop_back();
  return std::make_unique<torchclr::SequentialLR>(a.optimizer, std::move(stages), milestones,
                                                  a.last_step);
}

std::string bounds(const PolicyOptions& o) { return number(o.base_lr) + "-" + number(o.max_lr); }

std::string cyclic_description(const PolicyOptions& o) {
  std::string text;
  if (o.stages.empty()) {
    text = bounds(o) + " step " + std::to_string(o.step_size);
  } else {
    for (size_t i = 0; i < o.stages.size(); ++i) {
      const auto& s = o.stages[i];
      text += (i ? "; " : "") + number(s.base_lr) + "-" + number(s.max_lr) + " step " +
              std::to_string(s.step_size) + " to " + std::to_string(s.until);
    }
  }
  return text;
}

// Every policy in one place: its name, what it does, the flags that define it (in the order
// `run_flags` writes them; --stages stands in for --base-lr, --max-lr and --step-size where it is
// given), its description after the name, and its scheduler.
struct PolicyEntry {
  Policy policy;
  const char* name;
  const char* help;
  std::vector<const char*> flags;
  bool takes_stages;
  bool starts_at_max;  // the LR starts at --max-lr rather than --base-lr
  std::string (*describe)(const PolicyOptions&);
  SchedulerPtr (*build)(const BuildArgs&);
};

const std::vector<PolicyEntry>& policy_table() {
  using torchclr::CyclicMode;
  static const std::vector<PolicyEntry> table = {
      {Policy::Fixed,
       "fixed",
       "--base-lr throughout",
       {"--base-lr"},
       false,
       false,
       [](const PolicyOptions& o) { return number(o.base_lr); },
       [](const BuildArgs& a) -> SchedulerPtr {
         return std::make_unique<torchclr::ExponentialLR>(
             a.optimizer, torchclr::ExponentialLROptions(1.0).last_step(a.last_step));
       }},
      {Policy::MultiStep,
       "multistep",
       "--base-lr, times --gamma (0.1) at each of --milestones (6/7 and 13/14 of --iters)",
       {"--base-lr", "--gamma", "--milestones"},
       false,
       false,
       [](const PolicyOptions& o) {
         std::string text = number(o.base_lr) + ", x" + number(o.effective_gamma()) + " at";
         for (const auto m : o.effective_milestones()) text += " " + std::to_string(m);
         return text;
       },
       [](const BuildArgs& a) -> SchedulerPtr {
         return std::make_unique<torchclr::MultiStepLR>(
             a.optimizer, torchclr::MultiStepLROptions(a.o.effective_milestones())
                              .gamma(a.o.effective_gamma())
                              .last_step(a.last_step));
       }},
      {Policy::Exp,
       "exp",
       "--base-lr times --gamma (0.99994) every iteration",
       {"--base-lr", "--gamma"},
       false,
       false,
       [](const PolicyOptions& o) {
         return number(o.base_lr) + ", gamma " + number(o.effective_gamma());
       },
       [](const BuildArgs& a) -> SchedulerPtr {
         return std::make_unique<torchclr::ExponentialLR>(
             a.optimizer,
             torchclr::ExponentialLROptions(a.o.effective_gamma()).last_step(a.last_step));
       }},
      {Policy::Decay,
       "decay",
       "linear from --max-lr to --base-lr over --step-size, then held",
       {"--base-lr", "--max-lr", "--step-size"},
       false,
       true,
       [](const PolicyOptions& o) {
         return number(o.max_lr) + " to " + number(o.base_lr) + " over " +
                std::to_string(o.step_size);
       },
       [](const BuildArgs& a) -> SchedulerPtr {
         return std::make_unique<torchclr::LinearLR>(a.optimizer,
                                                     torchclr::LinearLROptions(a.o.step_size)
                                                         .start_factor(1.0)
                                                         .end_factor(a.o.base_lr / a.o.max_lr)
                                                         .last_step(a.last_step));
       }},
      {Policy::Triangular,
       "triangular",
       "between --base-lr and --max-lr, half a cycle every --step-size (or --stages)",
       {"--base-lr", "--max-lr", "--step-size"},
       true,
       false,
       cyclic_description,
       [](const BuildArgs& a) { return cyclic(a, CyclicMode::Triangular); }},
      {Policy::Triangular2,
       "triangular2",
       "triangular, the amplitude halved every cycle",
       {"--base-lr", "--max-lr", "--step-size"},
       true,
       false,
       cyclic_description,
       [](const BuildArgs& a) { return cyclic(a, CyclicMode::Triangular2); }},
      {Policy::ExpRange,
       "exp_range",
       "triangular, the amplitude times --gamma (0.99994) every iteration",
       {"--base-lr", "--max-lr", "--step-size", "--gamma"},
       true,
       false,
       [](const PolicyOptions& o) {
         return cyclic_description(o) + ", gamma " + number(o.effective_gamma());
       },
       [](const BuildArgs& a) { return cyclic(a, CyclicMode::ExpRange); }},
      {Policy::OneCycle,
       "onecycle",
       "1cycle over --iters: up from --base-lr to --max-lr, then down far below --base-lr",
       {"--base-lr", "--max-lr"},
       false,
       false,
       bounds,
       [](const BuildArgs& a) -> SchedulerPtr {
         return std::make_unique<torchclr::OneCycleLR>(
             a.optimizer,
             torchclr::OneCycleLROptions(scaled(a.o.max_lr, a.multipliers), a.o.iterations)
                 .div_factor(a.o.max_lr / a.o.base_lr)
                 .cycle_momentum(a.momentum)
                 .last_step(a.last_step));
       }},
  };
  return table;
}

const PolicyEntry& entry(Policy policy) {
  for (const auto& e : policy_table()) {
    if (e.policy == policy) return e;
  }
  TORCH_CHECK(false, "unknown policy ", static_cast<int>(policy));
}

bool uses(const PolicyEntry& e, const std::string& flag) {
  return std::find(e.flags.begin(), e.flags.end(), flag) != e.flags.end();
}

}  // namespace

Policy parse_policy(const std::string& name) {
  for (const auto& e : policy_table()) {
    if (e.name == name) return e.policy;
  }
  TORCH_CHECK(false, "unknown policy '", name, "'");
}

std::string policy_name(Policy policy) { return entry(policy).name; }

std::string policy_help() {
  std::string text;
  for (const auto& e : policy_table()) {
    text += std::string(text.empty() ? "" : "\n") + e.name + ": " + e.help;
  }
  return text;
}

std::vector<Flag> policy_flags(const PolicyOptions& o) {
  const auto& e = entry(o.policy);
  std::vector<Flag> flags;
  for (const std::string flag : e.flags) {
    const bool bound = flag == "--base-lr" || flag == "--max-lr" || flag == "--step-size";
    if (bound && !o.stages.empty()) {
      if (flag == "--base-lr") flags.emplace_back("--stages", format_stages(o.stages));
    } else if (flag == "--base-lr") {
      flags.emplace_back(flag, exact_number(o.base_lr));
    } else if (flag == "--max-lr") {
      flags.emplace_back(flag, exact_number(o.max_lr));
    } else if (flag == "--step-size") {
      flags.emplace_back(flag, std::to_string(o.step_size));
    } else if (flag == "--gamma") {
      flags.emplace_back(flag, exact_number(o.effective_gamma()));
    } else if (flag == "--milestones") {
      std::string milestones;
      for (const auto m : o.effective_milestones()) {
        milestones += (milestones.empty() ? "" : ",") + std::to_string(m);
      }
      flags.emplace_back(flag, milestones);
    }
  }
  return flags;
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
  for (const auto& e : policy_table()) names.push_back(e.name);
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
  const auto& e = entry(o.policy);
  TORCH_CHECK(o.stages.empty() || e.takes_stages,
              "--stages: expected a cyclical policy (triangular, triangular2, exp_range), but got ",
              e.name);
  const bool bounded = uses(e, "--max-lr") && o.stages.empty();
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
  const auto& e = entry(policy);
  return std::string(e.name) + " " + e.describe(*this);
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

std::unique_ptr<torchclr::Scheduler> make_scheduler(torch::optim::Optimizer& optimizer,
                                                    OptimizerKind kind,
                                                    const PolicyOptions& options,
                                                    const std::vector<double>& multipliers,
                                                    int64_t start) {
  check_policy_options(options);
  TORCH_CHECK(multipliers.size() == optimizer.param_groups().size(), "make_scheduler: expected ",
              optimizer.param_groups().size(), " LR multipliers, but got ", multipliers.size());
  TORCH_CHECK(start >= 0, "make_scheduler: expected a start iteration >= 0, but got ", start);
  const auto& e = entry(options.policy);
  // Schedulers that scale the optimizer's LRs take those the groups have when they are built.
  const double initial = e.starts_at_max ? options.max_lr : options.base_lr;
  for (size_t g = 0; g < multipliers.size(); ++g) {
    optimizer.param_groups()[g].options().set_lr(initial * multipliers[g]);
  }
  return e.build({optimizer, options, multipliers, has_momentum(kind), start > 0 ? start : -1});
}

double current_lr(const torch::optim::Optimizer& optimizer) {
  return optimizer.param_groups()[0].options().get_lr();
}

}  // namespace cifar10
