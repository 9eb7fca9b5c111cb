// The CIFAR-10 network's fused layers against the LibTorch operators they replace: forward values,
// gradients (also against finite differences in double), LibTorch's tie and NaN rules, threads.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "layers.h"
#include "model.h"

using namespace cifar10;

namespace {

using Layer = std::function<torch::Tensor(const torch::Tensor&)>;

struct FusedAndComposed {
  std::string name;
  Layer fused;
  Layer composed;
};

std::vector<FusedAndComposed> layers() {
  return {
      {"relu_max_pool", [](const torch::Tensor& x) { return relu_max_pool(x); },
       [](const torch::Tensor& x) { return composed::relu_max_pool(x); }},
      {"relu_avg_pool", [](const torch::Tensor& x) { return relu_avg_pool(x); },
       [](const torch::Tensor& x) { return composed::relu_avg_pool(x); }},
      {"relu_max_pool kernel 2 stride 1",
       [](const torch::Tensor& x) { return relu_max_pool(x, 2, 1); },
       [](const torch::Tensor& x) { return composed::relu_max_pool(x, 2, 1); }},
      {"relu_avg_pool kernel 3 stride 3",
       [](const torch::Tensor& x) { return relu_avg_pool(x, 3, 3); },
       [](const torch::Tensor& x) { return composed::relu_avg_pool(x, 3, 3); }},
      {"within_channel_lrn", [](const torch::Tensor& x) { return within_channel_lrn(x); },
       [](const torch::Tensor& x) { return composed::within_channel_lrn(x); }},
      {"within_channel_lrn size 5, beta 0.6",
       [](const torch::Tensor& x) { return within_channel_lrn(x, 5, 1e-3, 0.6); },
       [](const torch::Tensor& x) { return composed::within_channel_lrn(x, 5, 1e-3, 0.6); }},
      {"within_channel_lrn size 1",
       [](const torch::Tensor& x) { return within_channel_lrn(x, 1, 1e-3, 0.75); },
       [](const torch::Tensor& x) { return composed::within_channel_lrn(x, 1, 1e-3, 0.75); }},
  };
}

// The network's activations: tens to hundreds, both signs, none within 0.05 of ReLU's kink.
torch::Tensor activations(std::vector<int64_t> shape, torch::ScalarType dtype) {
  const auto magnitude = torch::randn(shape, torch::kDouble).abs() * 50 + 0.05;
  const auto sign = torch::randint(2, shape, torch::kDouble) * 2 - 1;
  return (magnitude * sign).to(dtype);
}

struct Result {
  torch::Tensor output, grad;
};

Result run(const Layer& layer, const torch::Tensor& input, const torch::Tensor& upstream) {
  auto x = input.detach().clone().requires_grad_(true);
  auto y = layer(x);
  y.backward(upstream);
  return {y.detach(), x.grad()};
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double rtol,
                  double atol, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const auto error = (actual - expected).abs().to(torch::kDouble);
  const auto bound = expected.abs().to(torch::kDouble) * rtol + atol;
  EXPECT_TRUE((error <= bound).all().item<bool>())
      << what << ": largest error " << error.max().item<double>() << " where the bound is "
      << bound.max().item<double>();
}

}  // namespace

TEST(Cifar10Layers, FusedEqualComposedAtTheNetworksShapes) {
  torch::manual_seed(0);
  // conv1 -> pool (100x32x32x32 in training; a slice here), conv2 -> pool -> LRN, conv3 -> pool.
  for (const auto& shape : std::vector<std::vector<int64_t>>{
           {4, 32, 32, 32}, {4, 32, 16, 16}, {4, 32, 8, 8}, {4, 64, 8, 8}}) {
    for (const auto& layer : layers()) {
      const auto x = activations(shape, torch::kFloat);
      const auto upstream = torch::randn_like(layer.composed(x));
      const auto fused = run(layer.fused, x, upstream);
      const auto composed = run(layer.composed, x, upstream);
      const std::string what = layer.name + " " + c10::str(x.sizes());
      expect_close(fused.output, composed.output, 2e-6, 1e-30, what + " forward");
      expect_close(fused.grad, composed.grad, 1e-5, 1e-6 * upstream.abs().max().item<double>(),
                   what + " backward");
    }
  }
}

TEST(Cifar10Layers, FusedEqualComposedInDoubleToRounding) {
  torch::manual_seed(1);
  // Odd sizes: the last pooling window runs past the edge in one direction, not the other.
  for (const auto& shape : std::vector<std::vector<int64_t>>{
           {2, 3, 7, 10}, {1, 2, 5, 5}, {3, 1, 3, 4}, {1, 1, 3, 9}, {2, 1, 4, 5}}) {
    for (const auto& layer : layers()) {
      const auto x = activations(shape, torch::kDouble);
      const auto upstream = torch::randn_like(layer.composed(x));
      const auto fused = run(layer.fused, x, upstream);
      const auto composed = run(layer.composed, x, upstream);
      const std::string what = layer.name + " " + c10::str(x.sizes());
      expect_close(fused.output, composed.output, 1e-14, 1e-300, what + " forward");
      expect_close(fused.grad, composed.grad, 1e-12, 1e-13, what + " backward");
    }
  }
}

// The gradient against central differences, in double: d(sum(y * v))/dx for a random v.
TEST(Cifar10Layers, GradientsMatchFiniteDifferences) {
  torch::manual_seed(2);
  for (const auto& layer : layers()) {
    const auto x = activations({1, 2, 6, 7}, torch::kDouble) / 10;
    const auto v = torch::randn_like(layer.composed(x));
    const auto analytic = run(layer.fused, x, v).grad;
    auto numeric = torch::empty_like(x);
    const double eps = 1e-6;
    auto flat_x = x.clone();
    auto xs = flat_x.view(-1);
    for (int64_t i = 0; i < xs.numel(); ++i) {
      const double keep = xs[i].item<double>();
      xs[i] = keep + eps;
      const double plus = (layer.fused(flat_x) * v).sum().item<double>();
      xs[i] = keep - eps;
      const double minus = (layer.fused(flat_x) * v).sum().item<double>();
      xs[i] = keep;
      numeric.view(-1)[i] = (plus - minus) / (2 * eps);
    }
    expect_close(analytic, numeric, 1e-6, 1e-7, layer.name + " against finite differences");
  }
}

TEST(Cifar10Layers, MaxPoolPicksLibTorchsElementOnTiesAndNaN) {
  // Every window holds equal values: LibTorch sends the gradient to the first of them.
  auto x = torch::full({1, 1, 5, 6}, 3.0f);
  x[0][0][4][5] = std::numeric_limits<float>::quiet_NaN();
  x[0][0][0][2] = std::numeric_limits<float>::quiet_NaN();
  const auto upstream = torch::arange(1, 7, torch::kFloat).view({1, 1, 2, 3});
  const auto fused = run([](const torch::Tensor& t) { return relu_max_pool(t); }, x, upstream);
  const auto composed =
      run([](const torch::Tensor& t) { return composed::relu_max_pool(t); }, x, upstream);
  EXPECT_TRUE(torch::equal(fused.grad, composed.grad)) << fused.grad << composed.grad;
  EXPECT_TRUE(fused.output.isnan().equal(composed.output.isnan()));
  EXPECT_TRUE(fused.output.nan_to_num(-1).equal(composed.output.nan_to_num(-1)));
}

// A channels-last input runs the channels-last kernels, which sum in the NCHW kernels' order:
// the same bits, in the input's layout, forward and backward.
TEST(Cifar10Layers, ChannelsLastGivesTheNchwBitsInItsOwnLayout) {
  torch::manual_seed(6);
  const auto channels_last = torch::MemoryFormat::ChannelsLast;
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const auto& shape : std::vector<std::vector<int64_t>>{{3, 32, 32, 32},
                                                               {3, 32, 16, 16},
                                                               {2, 64, 8, 8},
                                                               {2, 3, 7, 10},
                                                               {1, 5, 5, 5},
                                                               {2, 7, 3, 4},
                                                               {1, 2, 3, 9}}) {
      for (const auto& layer : layers()) {
        const auto x = activations(shape, dtype);
        const auto upstream = torch::randn_like(layer.composed(x));
        const auto nchw = run(layer.fused, x, upstream);
        const auto nhwc =
            run(layer.fused, x.contiguous(channels_last), upstream.contiguous(channels_last));
        const std::string what = layer.name + " " + c10::str(x.sizes()) + " " + c10::str(dtype);
        EXPECT_TRUE(torch::equal(nhwc.output, nchw.output)) << what;
        EXPECT_TRUE(torch::equal(nhwc.grad, nchw.grad)) << what;
        if (shape[1] > 1) {
          EXPECT_TRUE(nhwc.output.is_contiguous(channels_last)) << what;
          EXPECT_TRUE(nhwc.grad.is_contiguous(channels_last)) << what;
        }
      }
    }
  }
}

TEST(Cifar10Layers, ChannelsLastMaxPoolPicksLibTorchsElementOnTiesAndNaN) {
  // Three channels of equal values, a NaN in two of them at different places.
  auto x = torch::full({1, 3, 5, 6}, 3.0f);
  x[0][1][4][5] = std::numeric_limits<float>::quiet_NaN();
  x[0][2][0][2] = std::numeric_limits<float>::quiet_NaN();
  x[0][2][1][1] = std::numeric_limits<float>::quiet_NaN();
  x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto upstream = torch::arange(1, 19, torch::kFloat).view({1, 3, 2, 3});
  const auto fused = run([](const torch::Tensor& t) { return relu_max_pool(t); }, x, upstream);
  const auto composed = run([](const torch::Tensor& t) { return composed::relu_max_pool(t); },
                            x.contiguous(), upstream);
  EXPECT_TRUE(torch::equal(fused.grad, composed.grad)) << fused.grad << composed.grad;
  EXPECT_TRUE(fused.output.isnan().equal(composed.output.isnan()));
  EXPECT_TRUE(fused.output.nan_to_num(-1).equal(composed.output.nan_to_num(-1)));
}

namespace {

// Selects an instruction set's kernels for a scope.
class IsaScope {
 public:
  explicit IsaScope(FusedLayerIsa isa) : saved_(fused_layer_isa()) { set_fused_layer_isa(isa); }
  ~IsaScope() { set_fused_layer_isa(saved_); }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;

 private:
  FusedLayerIsa saved_;
};

}  // namespace

// The AVX2 kernels compute the generic kernels' operations in the same order, without FMA: the
// same bits, in both layouts and both types, at widths that leave vector remainders, with ties,
// NaNs and infinities.
TEST(Cifar10Layers, Avx2KernelsGiveTheGenericBits) {
  if (!fused_layer_isa_available(FusedLayerIsa::avx2)) {
    GTEST_SKIP() << "this build or CPU has no AVX2 kernels";
  }
  torch::manual_seed(8);
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const auto& shape : std::vector<std::vector<int64_t>>{
             {3, 32, 32, 32}, {2, 64, 8, 8}, {2, 13, 11, 17}, {1, 5, 5, 5}, {2, 7, 3, 4}}) {
      auto x = activations(shape, dtype);
      // Ties, signed zeros, NaN and infinities in a few places.
      x.view(-1).index_put_({torch::arange(0, x.numel(), 7)}, 2.5);
      x.view(-1).index_put_({torch::arange(3, x.numel(), 97)}, -0.0);
      x.view(-1)[x.numel() / 2] = std::numeric_limits<double>::quiet_NaN();
      x.view(-1)[x.numel() / 3] = std::numeric_limits<double>::infinity();
      x.view(-1)[x.numel() / 5] = -std::numeric_limits<double>::infinity();
      for (const auto layout :
           {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
        const auto input = x.contiguous(layout);
        for (const auto& layer : layers()) {
          const auto upstream = torch::randn_like(layer.composed(x)).contiguous(layout);
          Result generic, avx2;
          {
            IsaScope scope(FusedLayerIsa::generic);
            generic = run(layer.fused, input, upstream);
          }
          {
            IsaScope scope(FusedLayerIsa::avx2);
            avx2 = run(layer.fused, input, upstream);
          }
          const std::string what =
              layer.name + " " + c10::str(x.sizes()) + " " + c10::str(dtype) +
              (layout == torch::MemoryFormat::ChannelsLast ? " nhwc" : " nchw");
          // NaN != NaN: compare where each is NaN, then the rest.
          EXPECT_TRUE(torch::equal(avx2.output.isnan(), generic.output.isnan())) << what;
          EXPECT_TRUE(
              torch::equal(avx2.output.nan_to_num(0, 1, -1), generic.output.nan_to_num(0, 1, -1)))
              << what;
          EXPECT_TRUE(torch::equal(avx2.grad.isnan(), generic.grad.isnan())) << what;
          EXPECT_TRUE(
              torch::equal(avx2.grad.nan_to_num(0, 1, -1), generic.grad.nan_to_num(0, 1, -1)))
              << what;
          // Bit patterns too: the signs of zeros.
          EXPECT_TRUE(torch::equal(avx2.output.signbit(), generic.output.signbit())) << what;
          EXPECT_TRUE(torch::equal(avx2.grad.signbit(), generic.grad.signbit())) << what;
        }
      }
    }
  }
}

TEST(Cifar10Layers, KernelInstructionSetIsChosenAndCanBeSet) {
  const bool avx2 = fused_layer_isa_available(FusedLayerIsa::avx2);
  EXPECT_TRUE(fused_layer_isa_available(FusedLayerIsa::generic));
  EXPECT_EQ(fused_layer_isa(), avx2 ? FusedLayerIsa::avx2 : FusedLayerIsa::generic);
  {
    IsaScope scope(FusedLayerIsa::generic);
    EXPECT_EQ(fused_layer_isa(), FusedLayerIsa::generic);
  }
  EXPECT_STREQ(fused_layer_isa_name(FusedLayerIsa::avx2), "avx2");
  const auto unknown = static_cast<FusedLayerIsa>(7);
  try {
    set_fused_layer_isa(unknown);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("set_fused_layer_isa: expected an instruction set"), std::string::npos)
        << message;
    EXPECT_NE(message.find("but got unknown"), std::string::npos) << message;
  }
  EXPECT_EQ(fused_layer_isa(), avx2 ? FusedLayerIsa::avx2 : FusedLayerIsa::generic);
}

TEST(Cifar10Layers, ReluZeroesGradientWhereTheOutputIsZero) {
  const auto x = -torch::rand({1, 2, 6, 6}) - 0.1;  // all negative: ReLU zeroes everything
  for (const auto& layer : layers()) {
    if (layer.name.rfind("relu", 0) != 0) continue;
    const auto result = run(layer.fused, x, torch::ones_like(layer.fused(x)));
    EXPECT_EQ(result.output.abs().sum().item<double>(), 0.0) << layer.name;
    EXPECT_EQ(result.grad.abs().sum().item<double>(), 0.0) << layer.name;
  }
}

TEST(Cifar10Layers, ThreadCountDoesNotChangeTheResult) {
  torch::manual_seed(3);
  const auto x = activations({8, 32, 16, 16}, torch::kFloat);
  const int threads = torch::get_num_threads();
  for (const auto& input : {x, x.contiguous(torch::MemoryFormat::ChannelsLast)}) {
    for (const auto& layer : layers()) {
      const auto upstream = torch::randn_like(layer.fused(input));
      torch::set_num_threads(1);
      const auto one = run(layer.fused, input, upstream);
      torch::set_num_threads(4);
      const auto four = run(layer.fused, input, upstream);
      EXPECT_TRUE(torch::equal(one.output, four.output)) << layer.name;
      EXPECT_TRUE(torch::equal(one.grad, four.grad)) << layer.name;
    }
  }
  torch::set_num_threads(threads);
}

// The fused layers run on every thread torch::set_num_threads gives them (their at::parallel_for
// is serial when compiled without LibTorch's OpenMP).
TEST(Cifar10Layers, FusedLayersRunOnLibTorchsThreads) {
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  EXPECT_EQ(fused_layer_threads(100 * 32), 1);
  torch::set_num_threads(4);
  EXPECT_EQ(fused_layer_threads(100 * 32), 4);
  EXPECT_EQ(fused_layer_threads(16), 1) << "one grain of planes is one task";
  torch::set_num_threads(threads);
}

TEST(Cifar10Layers, NonContiguousInputIsAccepted) {
  torch::manual_seed(4);
  const auto x = activations({2, 3, 9, 9}, torch::kDouble).transpose(2, 3);
  for (const auto& layer : layers()) {
    expect_close(layer.fused(x), layer.composed(x), 1e-14, 1e-300, layer.name);
  }
}

TEST(Cifar10Layers, BadInputIsAClearError) {
  const auto image = torch::randn({3, 8, 8});
  EXPECT_THROW(
      {
        try {
          relu_max_pool(image);
        } catch (const c10::Error& e) {
          EXPECT_NE(std::string(e.what()).find("relu_max_pool: expected a 4-D (N, C, H, W) input, "
                                               "but got 3 dimensions"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      c10::Error);
  EXPECT_THROW(relu_avg_pool(torch::randn({1, 1, 8, 8}).to(torch::kInt)), c10::Error);
  EXPECT_THROW(within_channel_lrn(torch::randn({1, 1, 8, 8}), 2), c10::Error);
  EXPECT_THROW(relu_avg_pool(torch::randn({1, 1, 8, 8}), 0, 2), c10::Error);
}

TEST(Cifar10Layers, DoubleBackwardIsAClearError) {
  auto x = torch::randn({1, 1, 6, 6}, torch::kDouble).requires_grad_(true);
  auto y = within_channel_lrn(x).sum();
  EXPECT_THROW(torch::autograd::grad({y}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true),
               c10::Error);
}

TEST(Cifar10Layers, FusedNetworkTrainsLikeTheComposedOne) {
  // Same weights, same batches: the example's network (fused layers, channels-last) and LibTorch's
  // composed operators in NCHW give the same losses and gradients to rounding over a few SGD
  // steps. In double: in float the two drift apart by the steps' rounding, amplified, and by how
  // much depends on the CPU's convolution kernels (AVX2 or AVX-512).
  torch::manual_seed(5);
  CifarNet fused(3, 10, /*fused_layers=*/true, /*channels_last=*/true);
  CifarNet composed(3, 10, /*fused_layers=*/false, /*channels_last=*/false);
  fused->to(torch::kDouble);
  composed->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    auto from = fused->parameters();
    auto to = composed->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  torch::optim::SGD sgd_fused(fused->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  torch::optim::SGD sgd_composed(composed->parameters(),
                                 torch::optim::SGDOptions(0.01).momentum(0.9));
  for (int step = 0; step < 5; ++step) {
    const auto images = torch::randn({16, 3, 32, 32}, torch::kDouble) * 60;
    const auto targets = torch::randint(10, {16}, torch::kLong);
    sgd_fused.zero_grad();
    sgd_composed.zero_grad();
    auto loss_fused = torch::nn::functional::cross_entropy(fused->forward(images), targets);
    auto loss_composed = torch::nn::functional::cross_entropy(composed->forward(images), targets);
    loss_fused.backward();
    loss_composed.backward();
    EXPECT_NEAR(loss_fused.item<double>(), loss_composed.item<double>(),
                1e-10 * loss_composed.item<double>())
        << "step " << step;
    auto a = fused->parameters();
    auto b = composed->parameters();
    for (size_t i = 0; i < a.size(); ++i) {
      expect_close(a[i].grad(), b[i].grad(), 1e-10, 1e-12 * b[i].grad().abs().max().item<double>(),
                   "step " + std::to_string(step) + " parameter " + std::to_string(i));
    }
    sgd_fused.step();
    sgd_composed.step();
  }
}
