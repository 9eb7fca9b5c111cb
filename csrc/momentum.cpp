#include <c10/util/Exception.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>
#include <torchclr/momentum.h>

#include <tuple>
#include <type_traits>
#include <typeinfo>

namespace torchclr {
namespace {

[[noreturn]] void fail_no_momentum() {
  TORCH_CHECK(false,
              "torchclr: expected an optimizer with a momentum to cycle (SGD or RMSprop "
              "'momentum', Adam or AdamW 'betas'), but got another optimizer; pass "
              "cycle_momentum(false)");
}

// The options as T, or null. The exact type first: `typeid` is a comparison where the
// `dynamic_cast` it saves walks the class hierarchy, and a scheduler that cycles momentum asks
// once per group at every step. Subclasses of T still match through the cast.
template <typename T, typename Options>
auto* as(Options& options) {
  using Result = std::conditional_t<std::is_const_v<Options>, const T, T>;
  if (typeid(options) == typeid(T)) return static_cast<Result*>(&options);
  return dynamic_cast<Result*>(&options);
}

}  // namespace

bool has_momentum(const torch::optim::OptimizerOptions& options) {
  return dynamic_cast<const torch::optim::SGDOptions*>(&options) != nullptr ||
         dynamic_cast<const torch::optim::RMSpropOptions*>(&options) != nullptr ||
         dynamic_cast<const torch::optim::AdamOptions*>(&options) != nullptr ||
         dynamic_cast<const torch::optim::AdamWOptions*>(&options) != nullptr;
}

double get_momentum(const torch::optim::OptimizerOptions& options) {
  if (const auto* sgd = as<torch::optim::SGDOptions>(options)) {
    return sgd->momentum();
  }
  if (const auto* rmsprop = as<torch::optim::RMSpropOptions>(options)) {
    return rmsprop->momentum();
  }
  if (const auto* adam = as<torch::optim::AdamOptions>(options)) {
    return std::get<0>(adam->betas());
  }
  if (const auto* adamw = as<torch::optim::AdamWOptions>(options)) {
    return std::get<0>(adamw->betas());
  }
  fail_no_momentum();
}

void set_momentum(torch::optim::OptimizerOptions& options, double momentum) {
  if (auto* sgd = as<torch::optim::SGDOptions>(options)) {
    sgd->momentum(momentum);
  } else if (auto* rmsprop = as<torch::optim::RMSpropOptions>(options)) {
    rmsprop->momentum(momentum);
  } else if (auto* adam = as<torch::optim::AdamOptions>(options)) {
    adam->betas(std::make_tuple(momentum, std::get<1>(adam->betas())));
  } else if (auto* adamw = as<torch::optim::AdamWOptions>(options)) {
    adamw->betas(std::make_tuple(momentum, std::get<1>(adamw->betas())));
  } else {
    fail_no_momentum();
  }
}

}  // namespace torchclr
