// Trains the CIFAR-10 network twice from the same initial weights on the same batches, once with
// the example's fused pooling/ReLU/LRN kernels and once with the LibTorch operators they replace,
// and prints how far apart the two loss curves and the final weights are. The first network is
// the example's own (fused layers, channels-last), the second LibTorch's composed operators in
// NCHW. `--pair layout` compares the example's network with the same fused layers in NCHW (the
// layout the example trained in before it went channels-last). `--pair ulp` is the yardstick: two
// composed networks, the second's first weight moved by one float ulp, so the printout shows how
// far training carries a single rounding difference in as many iterations. `--pair isa` trains the
// example's network twice, once with the fused layers' AVX2 kernels and once with the generic ones.
//
//   fused_layers_curve [--data-dir DIR] [--iters N] [--threads N] [--seed N] [--lr LR]
//                      [--pair fused|layout|ulp|isa]

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "batch_stream.h"
#include "dataset.h"
#include "layers.h"
#include "model.h"
#include "policies.h"
#include "train.h"

namespace F = torch::nn::functional;

int main(int argc, char** argv) {
  std::string data_dir = cifar10::find_cifar10_dir();
  int64_t iters = 1000;
  int threads = 1;
  uint64_t seed = 1;
  double lr = 0.001;
  std::string pair = "fused";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--data-dir") {
      data_dir = value;
    } else if (flag == "--iters") {
      iters = std::atoll(value.c_str());
    } else if (flag == "--threads") {
      threads = std::atoi(value.c_str());
    } else if (flag == "--seed") {
      seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--lr") {
      lr = std::atof(value.c_str());
    } else if (flag == "--pair") {
      pair = value;
    } else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0 || data_dir.empty() || iters <= 0 || threads <= 0 || !(lr > 0) ||
      (pair != "fused" && pair != "layout" && pair != "ulp" && pair != "isa")) {
    std::fprintf(stderr,
                 "usage: fused_layers_curve [--data-dir DIR] [--iters N>0] [--threads N>0] "
                 "[--seed N] [--lr LR>0] [--pair fused|layout|ulp|isa] (CIFAR-10 not found: give "
                 "--data-dir)\n");
    return 2;
  }
  if (pair == "isa" && !cifar10::fused_layer_isa_available(cifar10::FusedLayerIsa::avx2)) {
    std::fprintf(stderr, "--pair isa: this build or CPU has no AVX2 kernels to compare\n");
    return 2;
  }
  torch::set_num_threads(threads);
  const auto data = cifar10::load_data(cifar10::DatasetKind::Cifar10, data_dir);

  torch::manual_seed(seed);
  // "fused": the first network of the pair, "composed" the second (both composed for --pair ulp,
  // both fused for --pair layout, both the example's for --pair isa).
  cifar10::CifarNet fused(3, 10, pair != "ulp", pair != "ulp");
  cifar10::CifarNet composed(3, 10, pair == "layout" || pair == "isa", pair == "isa");
  {
    torch::NoGradGuard no_grad;
    const auto from = fused->parameters();
    auto to = composed->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
    if (pair == "ulp") {
      auto first = to[0].view(-1).narrow(0, 0, 1);
      const float w = first.item<float>();
      first.fill_(std::nextafter(w, std::numeric_limits<float>::infinity()));
    }
  }
  auto opt_fused =
      cifar10::make_optimizer(cifar10::OptimizerKind::Sgd, cifar10::caffe_param_groups(fused), lr);
  auto opt_composed = cifar10::make_optimizer(cifar10::OptimizerKind::Sgd,
                                              cifar10::caffe_param_groups(composed), lr);

  const int64_t batch = 100, per_epoch = data.train.size() / batch;
  auto order = torch::empty({data.train.size()}, torch::kLong);
  auto images = torch::empty({batch, 3, 32, 32});
  auto targets = torch::empty({batch}, torch::kLong);
  double worst = 0.0;
  std::printf("iteration,loss_fused,loss_composed,relative_difference\n");
  for (int64_t t = 0; t < iters; ++t) {
    if (t % per_epoch == 0) cifar10::shuffle_epoch(order, seed, t / per_epoch);
    cifar10::gather_batch(data.train, order.narrow(0, (t % per_epoch) * batch, batch), images,
                          targets);
    double losses[2];
    int k = 0;
    for (auto* net : {&fused, &composed}) {
      auto& optimizer = net == &fused ? *opt_fused : *opt_composed;
      if (pair == "isa") {
        cifar10::set_fused_layer_isa(net == &fused ? cifar10::FusedLayerIsa::avx2
                                                   : cifar10::FusedLayerIsa::generic);
      }
      (*net)->zero_grad(/*set_to_none=*/true);
      auto loss = F::cross_entropy((*net)->forward(images), targets);
      loss.backward();
      optimizer.step();
      losses[k++] = loss.item<double>();
    }
    const double difference = std::abs(losses[0] - losses[1]) / std::abs(losses[1]);
    worst = std::max(worst, difference);
    if ((t + 1) % 100 == 0 || t == 0) {
      std::printf("%lld,%.9g,%.9g,%.3g\n", static_cast<long long>(t), losses[0], losses[1],
                  difference);
      std::fflush(stdout);
    }
  }
  double weight_difference = 0.0;
  const auto a = fused->parameters(), b = composed->parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    weight_difference =
        std::max(weight_difference, ((a[i] - b[i]).abs().max() / b[i].abs().max()).item<double>());
  }
  std::printf(
      "%s, after %lld iterations (seed %llu, lr %g, %d thread(s)): largest relative loss "
      "difference %.3g; largest weight difference %.3g of the tensor's largest weight\n",
      pair == "fused"    ? "fused channels-last vs composed NCHW layers"
      : pair == "layout" ? "fused layers, channels-last vs NCHW"
      : pair == "isa"    ? "fused layers, AVX2 vs generic kernels"
                         : "composed vs composed, one weight 1 ulp apart",
      static_cast<long long>(iters), static_cast<unsigned long long>(seed), lr, threads, worst,
      weight_difference);
  return 0;
}
