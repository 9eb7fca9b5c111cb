#pragma once

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace torchclr {

/// Options of `Adadelta`: the arguments of PyTorch's `torch.optim.Adadelta`.
///
/// Example (the CLR paper's Table 3 bounds for AdaDelta, the LR cycled by `CyclicLR`):
/// ```
/// torchclr::Adadelta optimizer(model->parameters(), torchclr::AdadeltaOptions(0.01));
/// torchclr::CyclicLR scheduler(optimizer, torchclr::CyclicLROptions(0.01, 0.1)
///                                             .step_size_up(2000)
///                                             .cycle_momentum(false));
/// ```
struct AdadeltaOptions : public torch::optim::OptimizerCloneableOptions<AdadeltaOptions> {
  AdadeltaOptions(double lr = 1.0);  // NOLINT(google-explicit-constructor)

  /// Factor applied to each update; what the LR schedulers drive. Default: 1.0
  TORCH_ARG(double, lr) = 1.0;
  /// Decay of the running averages of squared gradients and squared updates, in [0, 1].
  /// Default: 0.9
  TORCH_ARG(double, rho) = 0.9;
  /// Added inside both square roots, for numerical stability. Default: 1e-6
  TORCH_ARG(double, eps) = 1e-6;
  /// L2 penalty: `weight_decay * param` is added to the gradient. Default: 0
  TORCH_ARG(double, weight_decay) = 0;
  /// Ascend the objective instead of descending it. Default: false
  TORCH_ARG(bool, maximize) = false;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  friend bool operator==(const AdadeltaOptions& lhs, const AdadeltaOptions& rhs);
  double get_lr() const override;
  void set_lr(const double lr) override;
};

/// The state `Adadelta` keeps for each parameter, created at its first step with a gradient.
struct AdadeltaParamState : public torch::optim::OptimizerCloneableParamState<AdadeltaParamState> {
  /// Steps taken with a gradient.
  TORCH_ARG(int64_t, step) = 0;
  /// Running average of the squared gradients.
  TORCH_ARG(torch::Tensor, square_avg);
  /// Running average of the squared updates.
  TORCH_ARG(torch::Tensor, acc_delta);

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  friend bool operator==(const AdadeltaParamState& lhs, const AdadeltaParamState& rhs);
};

/// Adadelta (Zeiler, arXiv 1212.5701) with the update of PyTorch's `torch.optim.Adadelta`
/// (single-tensor path), which LibTorch does not ship. For each parameter with a gradient g:
///
///     g <- -g if maximize;  g <- g + weight_decay * param
///     square_avg <- rho * square_avg + (1 - rho) * g^2
///     delta      <- sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
///     acc_delta  <- rho * acc_delta + (1 - rho) * delta^2
///     param      <- param - lr * delta
///
/// Options are checked when the optimizer is built and at every step (a param group added or
/// changed later is checked too). `save`/`load` carry the per-parameter state like LibTorch's
/// own optimizers; as with them, `load` does not restore each group's options. Adadelta has no
/// momentum: torchclr schedulers drive its LR and need `cycle_momentum(false)`.
class Adadelta : public torch::optim::Optimizer {
 public:
  explicit Adadelta(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                    AdadeltaOptions defaults = {});
  explicit Adadelta(std::vector<torch::Tensor> params, AdadeltaOptions defaults = {});

  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  AdadeltaParamState& state_of(const torch::Tensor& param);
};

}  // namespace torchclr
