#include "model.h"

#include <torch/torch.h>

#include "layers.h"

namespace cifar10 {

CifarNetImpl::CifarNetImpl(int64_t in_channels, int64_t num_classes, bool fused_layers,
                           bool channels_last)
    : fused_layers(fused_layers), channels_last(channels_last) {
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
  // Pools are 3x3, stride 2, and round their output size up, as Caffe's; ReLU before an average
  // pool and after a max pool are the same function.
  if (channels_last && x.device().is_cpu()) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  if (fused_layers) {
    x = within_channel_lrn(relu_max_pool(conv1->forward(x)));
    x = within_channel_lrn(relu_avg_pool(conv2->forward(x)));
    x = relu_avg_pool(conv3->forward(x));
  } else {
    x = composed::within_channel_lrn(composed::relu_max_pool(conv1->forward(x)));
    x = composed::within_channel_lrn(composed::relu_avg_pool(conv2->forward(x)));
    x = composed::relu_avg_pool(conv3->forward(x));
  }
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
