#include <torch/optim/serialize.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>
#include <torchclr/adadelta.h>

#include <string>
#include <utility>
#include <vector>

#include "compat.h"

namespace torchclr {
namespace {

// `group` is empty for the defaults, " for param group g" for a group's own options.
void check_options(const AdadeltaOptions& o, const std::string& group) {
  TORCH_CHECK(o.lr() >= 0, "Adadelta: expected lr >= 0, but got ", o.lr(), group);
  TORCH_CHECK(o.rho() >= 0 && o.rho() <= 1, "Adadelta: expected rho in [0, 1], but got ", o.rho(),
              group);
  TORCH_CHECK(o.eps() >= 0, "Adadelta: expected eps >= 0, but got ", o.eps(), group);
  TORCH_CHECK(o.weight_decay() >= 0, "Adadelta: expected weight_decay >= 0, but got ",
              o.weight_decay(), group);
}

void check_groups(const std::vector<torch::optim::OptimizerParamGroup>& groups) {
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto* options = dynamic_cast<const AdadeltaOptions*>(&groups[g].options());
    TORCH_CHECK(options != nullptr,
                "Adadelta: expected AdadeltaOptions, but got options of another optimizer for "
                "param group ",
                g);
    check_options(*options, " for param group " + std::to_string(g));
  }
}

}  // namespace

AdadeltaOptions::AdadeltaOptions(double lr) : lr_(lr) {}

bool operator==(const AdadeltaOptions& lhs, const AdadeltaOptions& rhs) {
  return lhs.lr() == rhs.lr() && lhs.rho() == rhs.rho() && lhs.eps() == rhs.eps() &&
         lhs.weight_decay() == rhs.weight_decay() && lhs.maximize() == rhs.maximize();
}

void AdadeltaOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(rho);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(maximize);
}

void AdadeltaOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, rho);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, maximize);
}

double AdadeltaOptions::get_lr() const { return lr(); }

void AdadeltaOptions::set_lr(const double lr) { this->lr(lr); }

bool operator==(const AdadeltaParamState& lhs, const AdadeltaParamState& rhs) {
  return lhs.step() == rhs.step() && torch::equal(lhs.square_avg(), rhs.square_avg()) &&
         torch::equal(lhs.acc_delta(), rhs.acc_delta());
}

void AdadeltaParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(square_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(acc_delta);
}

void AdadeltaParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, square_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, acc_delta);
}

Adadelta::Adadelta(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                   AdadeltaOptions defaults)
    : Optimizer(param_groups, std::make_unique<AdadeltaOptions>(defaults)) {
  // LibTorch 2.x's Optimizer builds each group's options from the defaults and merges in the
  // group's own values only for its built-in optimizer types: for any other it keeps the
  // defaults alone. Put each group's own options back (a no-op on 1.13, which keeps them).
  for (size_t i = 0; i < param_groups.size(); ++i) {
    if (param_groups[i].has_options()) {
      param_groups_[i].set_options(param_groups[i].options().clone());
    }
  }
  check_options(defaults, "");
  check_groups(param_groups_);
}

Adadelta::Adadelta(std::vector<torch::Tensor> params, AdadeltaOptions defaults)
    : Adadelta({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}

AdadeltaParamState& Adadelta::state_of(const torch::Tensor& param) {
  auto& slot = state_[compat::state_key(param)];
  if (slot == nullptr) {
    auto state = std::make_unique<AdadeltaParamState>();
    state->square_avg(torch::zeros_like(param, at::MemoryFormat::Preserve));
    state->acc_delta(torch::zeros_like(param, at::MemoryFormat::Preserve));
    slot = std::move(state);
  }
  return static_cast<AdadeltaParamState&>(*slot);
}

torch::Tensor Adadelta::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  check_groups(param_groups_);
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const AdadeltaOptions&>(group.options());
    const double rho = options.rho();
    for (auto& param : group.params()) {
      if (!param.grad().defined()) {
        continue;
      }
      TORCH_CHECK(!param.grad().is_sparse(),
                  "Adadelta: expected dense gradients, but got a sparse gradient");
      auto grad = options.maximize() ? param.grad().neg() : param.grad();
      if (options.weight_decay() != 0) {
        grad = grad.add(param, options.weight_decay());
      }
      auto& state = state_of(param);
      state.step(state.step() + 1);
      // The operations of PyTorch's _single_tensor_adadelta, in its order.
      auto& square_avg = state.square_avg();
      auto& acc_delta = state.acc_delta();
      square_avg.mul_(rho).addcmul_(grad, grad, 1 - rho);
      const auto std_dev = square_avg.add(options.eps()).sqrt_();
      const auto delta = acc_delta.add(options.eps()).sqrt_().div_(std_dev).mul_(grad);
      acc_delta.mul_(rho).addcmul_(delta, delta, 1 - rho);
      param.add_(delta, -options.lr());
    }
  }
  return loss;
}

void Adadelta::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<AdadeltaParamState, AdadeltaOptions>(archive, *this);
}

void Adadelta::load(torch::serialize::InputArchive& archive) {
  torch::optim::serialize<AdadeltaParamState, AdadeltaOptions>(archive, *this);
}

}  // namespace torchclr
