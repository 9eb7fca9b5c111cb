#include "model.h"

#include <torch/torch.h>

namespace cifar10 {

namespace F = torch::nn::functional;

torch::Tensor within_channel_lrn(const torch::Tensor& x, int64_t size, double alpha, double beta) {
  // Caffe builds this layer from a power, an average pooling (pad (size-1)/2, divisor size^2 at
  // every position) and a product; count_include_pad reproduces its divisor.
  const auto mean_square = F::avg_pool2d(
      x.square(),
      F::AvgPool2dFuncOptions(size).stride(1).padding((size - 1) / 2).count_include_pad(true));
  return x * mean_square.mul(alpha).add_(1.0).pow(-beta);
}

CifarNetImpl::CifarNetImpl(int64_t in_channels, int64_t num_classes) {
  using torch::nn::Conv2dOptions;
  conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(in_channels, 32, 5).padding(2)));
  conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(32, 32, 5).padding(2)));
  conv3 = register_module("conv3", torch::nn::Conv2d(Conv2dOptions(32, 64, 5).padding(2)));
  fc = register_module("fc", torch::nn::Linear(64 * 4 * 4, num_classes));
  reset_parameters();
}

void CifarNetImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  conv1->weight.normal_(0.0, 1e-4);
  conv2->weight.normal_(0.0, 0.01);
  conv3->weight.normal_(0.0, 0.01);
  fc->weight.normal_(0.0, 0.01);
  for (auto* bias : {&conv1->bias, &conv2->bias, &conv3->bias, &fc->bias}) bias->zero_();
}

torch::Tensor CifarNetImpl::forward(torch::Tensor x) {
  // Caffe rounds pooled sizes up; with no padding both libraries divide an average by the part
  // of the window inside the input.
  const auto max_pool = F::MaxPool2dFuncOptions(3).stride(2).ceil_mode(true);
  const auto avg_pool = F::AvgPool2dFuncOptions(3).stride(2).ceil_mode(true);
  x = within_channel_lrn(F::max_pool2d(conv1->forward(x), max_pool).relu_());
  x = within_channel_lrn(F::avg_pool2d(conv2->forward(x).relu_(), avg_pool));
  x = F::avg_pool2d(conv3->forward(x).relu_(), avg_pool);
  return fc->forward(x.flatten(1));
}

std::vector<ParamGroupSpec> caffe_param_groups(CifarNet& model, double weight_decay) {
  return {
      {{model->conv1->weight, model->conv2->weight, model->conv3->weight, model->conv3->bias},
       1.0,
       weight_decay},
      {{model->conv1->bias, model->conv2->bias}, 2.0, weight_decay},
      {{model->fc->weight}, 1.0, weight_decay * 250.0},
      {{model->fc->bias}, 2.0, 0.0},
  };
}

std::vector<double> lr_multipliers(const std::vector<ParamGroupSpec>& groups) {
  std::vector<double> multipliers;
  for (const auto& group : groups) multipliers.push_back(group.lr_mult);
  return multipliers;
}

}  // namespace cifar10
