#pragma once

// The key of a parameter's entry in `Optimizer::state()` (not installed).

#include <torch/optim/optimizer.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace torchclr {
namespace detail {

// LibTorch 1.x keys the optimizer state by the printed TensorImpl address, 2.x by the address.
using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;
using StateKey = StateMap::key_type;

template <typename Key = StateKey>
Key state_key(c10::TensorImpl* impl) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;
    key << impl;
    return key.str();
  } else {
    return impl;
  }
}

}  // namespace detail
}  // namespace torchclr
