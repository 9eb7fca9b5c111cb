#pragma once

// What differs between the LibTorch versions torchclr builds against (Debian's 1.13 and
// PyTorch's 2.x), in one place. Read off both versions' headers:
//
// - Optimizer::state() is keyed by the printed TensorImpl address (a std::string) in 1.13 and by
//   the address itself (void*) in 2.x: `StateKey`, `state_key()`.
// - c10d's collectives live on c10d::ProcessGroup in 1.13 and on c10d::Backend in 2.x (the
//   ProcessGroup there dispatches to one Backend per device type): `C10dBackend`.
// - Optimizer::load restores each param group's options in 2.x but not in 1.13. torchclr never
//   relies on either: the scheduler's load and the LR finder's restore write the options back.
// - A param group's options given to an optimizer's constructor are merged with the optimizer's
//   defaults in 2.x: a field equal to its constructor default (an SGD or Adam lr of exactly 1e-3)
//   takes the optimizer's default. Code that needs exact per-group options sets them after
//   construction with OptimizerParamGroup::set_options, which both versions honour as given.
// - LRScheduler (step(), get_lrs(), step_count_) is the same in both; 2.x adds
//   torch::optim::ReduceLROnPlateauScheduler, which torchclr does not use.

#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d

namespace torchclr::compat {

/// `Optimizer::state()` and its key type.
using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;
using StateKey = StateMap::key_type;

/// The key of `param`'s entry in `Optimizer::state()`. (A template, so that only the branch of
/// this LibTorch's key type is compiled.)
template <typename Key = StateKey>
Key state_key(const at::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;
    key << param.unsafeGetTensorImpl();
    return key.str();
  } else {
    return static_cast<Key>(param.unsafeGetTensorImpl());
  }
}

/// The c10d class whose allreduce/broadcast/barrier ProcessGroupGloo and ProcessGroupNCCL
/// implement.
#if TORCH_VERSION_MAJOR >= 2
using C10dBackend = c10d::Backend;
#else
using C10dBackend = c10d::ProcessGroup;
#endif

}  // namespace torchclr::compat
