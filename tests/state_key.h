#pragma once

// The key of a parameter's entry in `torch::optim::Optimizer::state()`: the printed TensorImpl
// address in LibTorch 1.x, the address itself in 2.x.

#include <torch/torch.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace torchclr_test {

template <typename Key =
              std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type>
Key state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream out;
    out << p.unsafeGetTensorImpl();
    return out.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace torchclr_test
