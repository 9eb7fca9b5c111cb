#pragma once

#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>
#include <torchclr/scheduler.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "model.h"

namespace cifar10 {

/// The LR policies of the CLR paper, plus step decay and 1cycle. Each has one entry in
/// policies.cpp's table: name, help, flags, description and scheduler.
enum class Policy { Fixed, MultiStep, Exp, Decay, Triangular, Triangular2, ExpRange, OneCycle };

/// The optimizers of the paper's Table 3 (Adadelta is torchclr's; LibTorch has none).
enum class OptimizerKind { Sgd, Nesterov, Adam, RmsProp, Adagrad, Adadelta };

Policy parse_policy(const std::string& name);
std::string policy_name(Policy policy);
/// One line per policy: "triangular2: triangular, the amplitude halved every cycle".
std::string policy_help();
OptimizerKind parse_optimizer(const std::string& name);
std::string optimizer_name(OptimizerKind kind);
/// Every accepted name, for the CLI's checks.
std::vector<std::string> policy_names();
std::vector<std::string> optimizer_names();

/// One stage of a multi-stage cyclical schedule (the paper's Table 2): the policy's mode with
/// these bounds and step size until iteration `until`.
struct CyclicStage {
  double base_lr;
  double max_lr;
  int64_t step_size;
  int64_t until;
};

/// Parses "BASE:MAX:STEP:UNTIL,BASE:MAX:STEP:UNTIL,..." (0 < BASE <= MAX, STEP >= 1, UNTIL >= 1
/// and increasing); anything else, an empty item included, is an error naming --stages.
std::vector<CyclicStage> parse_stages(const std::string& text);
/// "60000,65000" as iteration counts; anything else is an error naming the option.
std::vector<int64_t> parse_milestones(const std::string& text);
/// The stages as `parse_stages` reads them, every number exact.
std::string format_stages(const std::vector<CyclicStage>& stages);
/// The shortest text that reads back as exactly `value` ("0.001", "0.99970004499...").
std::string exact_number(double value);

/// What defines an LR schedule. LRs are those of the multiplier-1 param group.
struct PolicyOptions {
  Policy policy = Policy::Fixed;
  double base_lr = 0.001;
  double max_lr = 0.006;
  int64_t step_size = 2000;
  /// exp and exp_range: 0.99994; multistep: 0.1.
  std::optional<double> gamma;
  /// multistep; empty: 6/7 and 13/14 of the run, Caffe's 60k and 65k of 70k.
  std::vector<int64_t> milestones;
  /// triangular, triangular2, exp_range: further stages after the first (see `CyclicStage`).
  /// When set, they replace base_lr/max_lr/step_size entirely.
  std::vector<CyclicStage> stages;
  /// The length of the run (onecycle's total steps; multistep's default milestones).
  int64_t iterations = 0;

  double effective_gamma() const;
  std::vector<int64_t> effective_milestones() const;
  /// "triangular2 0.001-0.006 step 2000" and the like.
  std::string describe() const;
};

/// The flags that define the policy's schedule, each number written so that it reads back
/// exactly: those the policy uses, in a fixed order per policy ("--stages" in place of the bounds
/// and step size where stages are given).
std::vector<Flag> policy_flags(const PolicyOptions& options);

/// Checks every value the policy uses, naming its flag: positive finite LRs in the order the
/// policy needs them (--base-lr below --max-lr for onecycle, at most --max-lr for the others),
/// --step-size >= 1, a positive finite --gamma that keeps the LR finite over the run's
/// `iterations`, milestones >= 1.
void check_policy_options(const PolicyOptions& options);

/// Builds an optimizer with one param group per `ParamGroupSpec`; group g starts at
/// `lr * groups[g].lr_mult`, with the settings of the paper's Caffe solvers: SGD and Nesterov
/// momentum 0.9; Adam betas (0.9, 0.999); Adadelta rho 0.9 (Caffe's AdaDelta decays by the
/// momentum); RMSprop alpha 0.99 without momentum; epsilon 1e-8 (Caffe's delta) for Adam,
/// RMSprop, Adagrad and Adadelta.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(OptimizerKind kind,
                                                        const std::vector<ParamGroupSpec>& groups,
                                                        double lr, double momentum = 0.9);

/// Whether this optimizer has a momentum torchclr can cycle: torchclr::has_momentum's rule
/// (SGD, Nesterov, RMSprop and Adam do; Adagrad and Adadelta do not).
bool has_momentum(OptimizerKind kind);

/// The momentum (SGD/RMSprop) or beta1 (Adam) of param group 0 right now; 0 for Adagrad and
/// Adadelta.
double current_momentum(const torch::optim::Optimizer& optimizer, OptimizerKind kind);

/// The LR schedule of `options` as one torchclr scheduler on `optimizer`, whose group g has LR
/// multiplier `multipliers[g]`, at iteration `start`: every torchclr schedule is a pure function
/// of the iteration, so starting at k resumes exactly, and the scheduler's `last_step()` is the
/// run's iteration. A multi-stage policy is a `torchclr::SequentialLR` of one `CyclicLR` per
/// stage. The groups' LRs are set to the policy's initial LR first.
std::unique_ptr<torchclr::Scheduler> make_scheduler(torch::optim::Optimizer& optimizer,
                                                    OptimizerKind kind,
                                                    const PolicyOptions& options,
                                                    const std::vector<double>& multipliers,
                                                    int64_t start = 0);

/// The LR of param group 0 (multiplier 1) right now.
double current_lr(const torch::optim::Optimizer& optimizer);

}  // namespace cifar10
