// The CIFAR-10 network's fused layers at the shapes they train at (batch 100), forward and
// forward + backward, in NCHW and channels-last, with each instruction set's kernels this build
// and CPU can run (fused-generic, fused-avx2), beside the LibTorch operators they replace.
//
//   fused_layers_bench [--threads N] [Google Benchmark flags]

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "layers.h"

namespace {

using Layer = std::function<torch::Tensor(const torch::Tensor&)>;

struct Case {
  std::string name;
  std::vector<int64_t> shape;
  Layer fused, composed;
};

std::vector<Case> cases() {
  return {
      {"relu_max_pool/100x32x32x32",
       {100, 32, 32, 32},
       [](const torch::Tensor& x) { return cifar10::relu_max_pool(x); },
       [](const torch::Tensor& x) { return cifar10::composed::relu_max_pool(x); }},
      {"lrn/100x32x16x16",
       {100, 32, 16, 16},
       [](const torch::Tensor& x) { return cifar10::within_channel_lrn(x); },
       [](const torch::Tensor& x) { return cifar10::composed::within_channel_lrn(x); }},
      {"relu_avg_pool/100x32x16x16",
       {100, 32, 16, 16},
       [](const torch::Tensor& x) { return cifar10::relu_avg_pool(x); },
       [](const torch::Tensor& x) { return cifar10::composed::relu_avg_pool(x); }},
      {"lrn/100x32x8x8",
       {100, 32, 8, 8},
       [](const torch::Tensor& x) { return cifar10::within_channel_lrn(x); },
       [](const torch::Tensor& x) { return cifar10::composed::within_channel_lrn(x); }},
      {"relu_avg_pool/100x64x8x8",
       {100, 64, 8, 8},
       [](const torch::Tensor& x) { return cifar10::relu_avg_pool(x); },
       [](const torch::Tensor& x) { return cifar10::composed::relu_avg_pool(x); }},
  };
}

void run(benchmark::State& state, const Layer& layer, const std::vector<int64_t>& shape,
         bool channels_last, bool backward) {
  torch::manual_seed(0);
  auto x = torch::randn(shape) * 50;
  if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  x.requires_grad_(backward);
  torch::Tensor upstream;
  {
    torch::NoGradGuard no_grad;
    upstream = torch::randn_like(layer(x));
  }
  for (auto _ : state) {
    x.mutable_grad() = torch::Tensor();
    auto y = layer(x);
    if (backward) y.backward(upstream);
    benchmark::DoNotOptimize(y.data_ptr());
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
      if (threads <= 0) {
        std::fprintf(stderr, "--threads: expected a positive integer, but got '%s'\n", argv[i]);
        return 2;
      }
    } else {
      rest.push_back(argv[i]);
    }
  }
  torch::set_num_threads(threads);
  for (const auto& c : cases()) {
    for (const bool backward : {false, true}) {
      for (const bool channels_last : {false, true}) {
        const std::string suffix =
            std::string(backward ? "/fwd+bwd" : "/fwd") + (channels_last ? "/nhwc" : "/nchw");
        for (const auto isa : {cifar10::FusedLayerIsa::generic, cifar10::FusedLayerIsa::avx2}) {
          if (!cifar10::fused_layer_isa_available(isa)) continue;
          const std::string name =
              std::string("fused-") + cifar10::fused_layer_isa_name(isa) + "/" + c.name + suffix;
          benchmark::RegisterBenchmark(name.c_str(), [c, channels_last, backward,
                                                      isa](benchmark::State& state) {
            cifar10::set_fused_layer_isa(isa);
            run(state, c.fused, c.shape, channels_last, backward);
          })->Unit(benchmark::kMillisecond);
        }
        benchmark::RegisterBenchmark(("composed/" + c.name + suffix).c_str(),
                                     [c, channels_last, backward](benchmark::State& state) {
                                       run(state, c.composed, c.shape, channels_last, backward);
                                     })
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
