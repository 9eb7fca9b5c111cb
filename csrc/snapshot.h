#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <vector>

namespace torchclr::detail {

/// Everything a few training steps change, put back bitwise: the model's parameters and buffers,
/// the optimizer's state and each param group's options, and every module's training flag.
///
/// Parameters, buffers and the optimizer (through its own `Optimizer::save`, so any optimizer
/// with a serialization is covered) go into one archive, kept as bytes in CPU memory or, with a
/// `path`, in that file; never on the accelerator. `Optimizer::load` puts the state back (LibTorch
/// 1.13's does not restore the group options, 2.x's does), and the options cloned here are set
/// back on top, so every option comes back under either version.
class Snapshot {
 public:
  /// Takes the snapshot; `path` empty keeps it in memory, otherwise writes that file (removed by
  /// the destructor).
  Snapshot(torch::nn::Module& model, torch::optim::Optimizer& optimizer, std::string path);

  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  ~Snapshot();

  /// Writes everything back and clears the gradients. Can be called more than once.
  void restore();

 private:
  torch::nn::Module& model_;
  torch::optim::Optimizer& optimizer_;
  std::string path_;
  /// The archive, when it is kept in memory.
  std::string bytes_;
  std::vector<bool> training_;
  std::vector<std::unique_ptr<torch::optim::OptimizerOptions>> options_;
  size_t state_entries_ = 0;
};

}  // namespace torchclr::detail
