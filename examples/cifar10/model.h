#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <vector>

namespace cifar10 {

/// The CLR paper's CIFAR-10 network, Caffe's `cifar10_full`:
/// conv 32 (5x5, pad 2) -> max-pool 3/2 -> ReLU -> LRN -> conv 32 -> ReLU -> avg-pool 3/2 -> LRN
/// -> conv 64 -> ReLU -> avg-pool 3/2 -> fully connected 10. Pools round their output size up
/// (32 -> 16 -> 8 -> 4), as Caffe does. 89,578 parameters for 3 input channels.
/// The pooling, ReLU and LRN layers run as the fused single-pass kernels of layers.h; with
/// `fused_layers` false they are composed from LibTorch's operators instead (same function).
/// With `channels_last`, a CPU input is laid out channels-last (NHWC) before the first
/// convolution, and every layer keeps that layout: LibTorch's oneDNN convolutions and the fused
/// layers are faster on it. The layout changes no value beyond rounding (the convolutions sum in
/// another order); the parameters stay in LibTorch's default layout either way.
class CifarNetImpl : public torch::nn::Module {
 public:
  explicit CifarNetImpl(int64_t in_channels = 3, int64_t num_classes = 10, bool fused_layers = true,
                        bool channels_last = true);

  torch::Tensor forward(torch::Tensor x);

  /// Caffe's initialisation: Gaussian weights (std 1e-4 for conv1, 0.01 elsewhere), zero biases.
  void reset_parameters();

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::Linear fc{nullptr};
  bool fused_layers;
  bool channels_last;
};
TORCH_MODULE(CifarNet);

/// One param group of Caffe's per-blob multipliers.
struct ParamGroupSpec {
  std::vector<torch::Tensor> params;
  double lr_mult;
  double weight_decay;
};

/// Caffe's `cifar10_full` multipliers for a base weight decay (0.004 in Caffe):
/// group 0: conv weights and conv3's bias (LR x1), group 1: conv1 and conv2 biases (LR x2),
/// group 2: fc weights (LR x1, weight decay x250), group 3: fc bias (LR x2, no weight decay).
/// Group 0 is the one of multiplier 1, whose LR the examples report.
std::vector<ParamGroupSpec> caffe_param_groups(CifarNet& model, double weight_decay = 0.004);

/// The LR multiplier of each group, in order.
std::vector<double> lr_multipliers(const std::vector<ParamGroupSpec>& groups);

}  // namespace cifar10
