#include "layers.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>
#include <torch/nn/functional/pooling.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <set>
#include <vector>

// AVX2 kernels beside the baseline ones: x86-64 builds with GCC, whose `#pragma GCC target` also
// reaches the lambdas the kernels hand to at::parallel_for.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CIFAR10_AVX2_KERNELS 1
#else
#define CIFAR10_AVX2_KERNELS 0
#endif

namespace cifar10 {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace F = torch::nn::functional;

// Planes of a few thousand elements: enough work per task that threads pay off.
constexpr int64_t kPlaneGrain = 16;
// Output rows of a channels-last image: a few thousand elements each.
constexpr int64_t kRowGrain = 4;

// LibTorch's output size for ceil-mode pooling without padding: windows may run past the end,
// but each one starts inside the input.
int64_t pooled_size(int64_t input, int64_t kernel, int64_t stride) {
  const int64_t span = input - kernel + stride - 1;
  int64_t output = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if ((output - 1) * stride >= input) --output;
  return output;
}

void check_input(const char* layer, const Tensor& x) {
  TORCH_CHECK(x.dim() == 4, layer, ": expected a 4-D (N, C, H, W) input, but got ", x.dim(),
              " dimensions");
  TORCH_CHECK(x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble, layer,
              ": expected a float or double input, but got ", x.scalar_type());
}

void check_pooling(const char* layer, const Tensor& x, int64_t kernel, int64_t stride) {
  check_input(layer, x);
  TORCH_CHECK(kernel >= 1 && stride >= 1, layer,
              ": expected kernel >= 1 and stride >= 1, but got kernel ", kernel, " and stride ",
              stride);
  TORCH_CHECK(
      pooled_size(x.size(2), kernel, stride) >= 1 && pooled_size(x.size(3), kernel, stride) >= 1,
      layer, ": expected an input of at least one window, but got size ", x.sizes(), " for kernel ",
      kernel, " and stride ", stride);
}

// The backward passes below are not themselves differentiable.
void check_first_order(const char* layer) {
  TORCH_CHECK(!torch::GradMode::is_enabled(), layer,
              ": expected a first-order backward, but got create_graph=true (double backward is "
              "not supported)");
}

// A batch's sizes: the channels-last kernels loop over images, each position's channels lying
// next to each other, so they read a window one position at a time and loop over the channels
// with unit stride.
struct ImageShape {
  int64_t images, channels, height, width, out_height, out_width;
};

ImageShape image_shape(const Tensor& x, int64_t kernel, int64_t stride) {
  return {x.size(0),
          x.size(1),
          x.size(2),
          x.size(3),
          pooled_size(x.size(2), kernel, stride),
          pooled_size(x.size(3), kernel, stride)};
}

// The same batch in NCHW, as the planes the NCHW kernels loop over.
struct PlaneShape {
  int64_t planes, height, width, out_height, out_width;
};

PlaneShape planes_of(const ImageShape& s) {
  return {s.images * s.channels, s.height, s.width, s.out_height, s.out_width};
}

PlaneShape pooling_shape(const Tensor& x, int64_t kernel, int64_t stride) {
  return planes_of(image_shape(x, kernel, stride));
}

// The layout a layer computes in: channels-last where its input is (the network's convolutions
// produce it from a channels-last image), NCHW otherwise. Outputs and gradients keep it.
at::MemoryFormat layout_of(const Tensor& x) {
  return x.suggest_memory_format() == at::MemoryFormat::ChannelsLast
             ? at::MemoryFormat::ChannelsLast
             : at::MemoryFormat::Contiguous;
}

// The layout a forward pass computed in, for its backward.
at::MemoryFormat saved_layout(AutogradContext* ctx) {
  return ctx->saved_data["channels_last"].toBool() ? at::MemoryFormat::ChannelsLast
                                                   : at::MemoryFormat::Contiguous;
}

struct LrnParams {
  int64_t size;
  double alpha;
  double beta;
};

// The planes an LRN loops over: N * C planes of height x width x 1 in NCHW, N images of
// height x width x C channels-last.
struct LrnShape {
  int64_t planes, height, width, lanes;
};

LrnShape lrn_shape(const Tensor& x, at::MemoryFormat layout) {
  return layout == at::MemoryFormat::ChannelsLast
             ? LrnShape{x.size(0), x.size(2), x.size(3), x.size(1)}
             : LrnShape{x.size(0) * x.size(1), x.size(2), x.size(3), 1};
}

// ---- the kernels, for the baseline instruction set and for AVX2 ------------------------------

namespace generic {
#include "layer_kernels.inc"
}  // namespace generic

#if CIFAR10_AVX2_KERNELS
// The same source again for AVX2 without FMA: the loops vectorise 8 floats wide instead of 4, with
// the same operations in the same order, so they give the same bits.
#pragma GCC push_options
#pragma GCC target("avx2,no-fma")
namespace avx2 {
#include "layer_kernels.inc"
}  // namespace avx2
#pragma GCC pop_options
#endif

std::atomic<FusedLayerIsa>& selected_isa() {
  static std::atomic<FusedLayerIsa> isa{fused_layer_isa_available(FusedLayerIsa::avx2)
                                            ? FusedLayerIsa::avx2
                                            : FusedLayerIsa::generic};
  return isa;
}

// Runs `call` with the selected instruction set's kernels.
template <typename Call>
void with_kernels(Call&& call) {
#if CIFAR10_AVX2_KERNELS
  if (selected_isa().load(std::memory_order_relaxed) == FusedLayerIsa::avx2) {
    call(avx2::Kernels{});
    return;
  }
#endif
  call(generic::Kernels{});
}

// ---- the layers ------------------------------------------------------------------------------

class ReluMaxPool : public torch::autograd::Function<ReluMaxPool> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& input, int64_t kernel, int64_t stride) {
    const auto layout = layout_of(input);
    const auto x = input.contiguous(layout);
    const auto s = pooling_shape(x, kernel, stride);
    auto out = torch::empty({x.size(0), x.size(1), s.out_height, s.out_width}, x.options(), layout);
    auto index = torch::empty(out.sizes(), x.options().dtype(torch::kInt), layout);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "relu_max_pool", [&] {
      with_kernels([&](auto k) {
        if (layout == at::MemoryFormat::ChannelsLast) {
          k.max_pool_forward(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                             index.data_ptr<int32_t>(), image_shape(x, kernel, stride), kernel,
                             stride);
        } else {
          k.max_pool_forward(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                             index.data_ptr<int32_t>(), s, kernel, stride);
        }
      });
    });
    ctx->save_for_backward({index});
    ctx->saved_data["height"] = x.size(2);
    ctx->saved_data["width"] = x.size(3);
    ctx->saved_data["channels_last"] = layout == at::MemoryFormat::ChannelsLast;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    check_first_order("relu_max_pool");
    const auto index = ctx->get_saved_variables()[0];
    const auto layout = saved_layout(ctx);
    const auto grad_out = grads[0].contiguous(layout);
    const ImageShape s{index.size(0),
                       index.size(1),
                       ctx->saved_data["height"].toInt(),
                       ctx->saved_data["width"].toInt(),
                       index.size(2),
                       index.size(3)};
    auto grad_in =
        torch::empty({s.images, s.channels, s.height, s.width}, grad_out.options(), layout);
    AT_DISPATCH_FLOATING_TYPES(grad_out.scalar_type(), "relu_max_pool_backward", [&] {
      with_kernels([&](auto k) {
        if (layout == at::MemoryFormat::ChannelsLast) {
          k.max_pool_backward(grad_out.data_ptr<scalar_t>(), index.data_ptr<int32_t>(),
                              grad_in.data_ptr<scalar_t>(), s);
        } else {
          k.max_pool_backward(grad_out.data_ptr<scalar_t>(), index.data_ptr<int32_t>(),
                              grad_in.data_ptr<scalar_t>(), planes_of(s));
        }
      });
    });
    return {grad_in, Tensor(), Tensor()};
  }
};

class ReluAvgPool : public torch::autograd::Function<ReluAvgPool> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& input, int64_t kernel, int64_t stride) {
    const auto layout = layout_of(input);
    const auto x = input.contiguous(layout);
    const auto s = pooling_shape(x, kernel, stride);
    auto out = torch::empty({x.size(0), x.size(1), s.out_height, s.out_width}, x.options(), layout);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "relu_avg_pool", [&] {
      with_kernels([&](auto k) {
        if (layout == at::MemoryFormat::ChannelsLast) {
          k.avg_pool_forward(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                             image_shape(x, kernel, stride), kernel, stride);
        } else {
          k.avg_pool_forward(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), s, kernel, stride);
        }
      });
    });
    ctx->save_for_backward({x});
    ctx->saved_data["kernel"] = kernel;
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["channels_last"] = layout == at::MemoryFormat::ChannelsLast;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    check_first_order("relu_avg_pool");
    const auto x = ctx->get_saved_variables()[0];
    const auto kernel = ctx->saved_data["kernel"].toInt();
    const auto stride = ctx->saved_data["stride"].toInt();
    const auto layout = saved_layout(ctx);
    const auto grad_out = grads[0].contiguous(layout);
    auto grad_in = torch::empty(x.sizes(), x.options(), layout);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "relu_avg_pool_backward", [&] {
      with_kernels([&](auto k) {
        if (layout == at::MemoryFormat::ChannelsLast) {
          k.avg_pool_backward(grad_out.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(),
                              grad_in.data_ptr<scalar_t>(), image_shape(x, kernel, stride), kernel,
                              stride);
        } else {
          k.avg_pool_backward(grad_out.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(),
                              grad_in.data_ptr<scalar_t>(), pooling_shape(x, kernel, stride),
                              kernel, stride);
        }
      });
    });
    return {grad_in, Tensor(), Tensor()};
  }
};

class WithinChannelLrn : public torch::autograd::Function<WithinChannelLrn> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& input, int64_t size, double alpha,
                        double beta) {
    const auto layout = layout_of(input);
    const auto x = input.contiguous(layout);
    auto y = torch::empty(x.sizes(), x.options(), layout);
    auto ratio = torch::empty(x.sizes(), x.options(), layout);
    auto scale = torch::empty(x.sizes(), x.options(), layout);
    const LrnParams p{size, alpha, beta};
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "within_channel_lrn", [&] {
      with_kernels([&](auto k) {
        k.lrn_forward(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), ratio.data_ptr<scalar_t>(),
                      scale.data_ptr<scalar_t>(), lrn_shape(x, layout), p);
      });
    });
    ctx->save_for_backward({x, ratio, scale});
    ctx->saved_data["channels_last"] = layout == at::MemoryFormat::ChannelsLast;
    ctx->saved_data["size"] = size;
    ctx->saved_data["alpha"] = alpha;
    ctx->saved_data["beta"] = beta;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    check_first_order("within_channel_lrn");
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &ratio = saved[1], &scale = saved[2];
    const LrnParams p{ctx->saved_data["size"].toInt(), ctx->saved_data["alpha"].toDouble(),
                      ctx->saved_data["beta"].toDouble()};
    const auto layout = saved_layout(ctx);
    const auto grad_y = grads[0].contiguous(layout);
    auto grad_x = torch::empty(x.sizes(), x.options(), layout);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "within_channel_lrn_backward", [&] {
      with_kernels([&](auto k) {
        k.lrn_backward(grad_y.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(),
                       ratio.data_ptr<scalar_t>(), scale.data_ptr<scalar_t>(),
                       grad_x.data_ptr<scalar_t>(), lrn_shape(x, layout), p);
      });
    });
    return {grad_x, Tensor(), Tensor(), Tensor()};
  }
};

// The fused kernels are CPU loops over float/double; anything else takes the composed path.
bool fused_path(const Tensor& x) {
  return x.device().is_cpu() && !x.is_sparse() &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
}

}  // namespace

Tensor relu_max_pool(const Tensor& x, int64_t kernel, int64_t stride) {
  if (!fused_path(x)) return composed::relu_max_pool(x, kernel, stride);
  check_pooling("relu_max_pool", x, kernel, stride);
  RECORD_FUNCTION("cifar10::relu_max_pool", std::vector<c10::IValue>({x}));
  return ReluMaxPool::apply(x, kernel, stride);
}

Tensor relu_avg_pool(const Tensor& x, int64_t kernel, int64_t stride) {
  if (!fused_path(x)) return composed::relu_avg_pool(x, kernel, stride);
  check_pooling("relu_avg_pool", x, kernel, stride);
  RECORD_FUNCTION("cifar10::relu_avg_pool", std::vector<c10::IValue>({x}));
  return ReluAvgPool::apply(x, kernel, stride);
}

Tensor within_channel_lrn(const Tensor& x, int64_t size, double alpha, double beta) {
  TORCH_CHECK(size >= 1 && size % 2 == 1, "within_channel_lrn: expected an odd size >= 1, but got ",
              size);
  if (!fused_path(x)) return composed::within_channel_lrn(x, size, alpha, beta);
  check_input("within_channel_lrn", x);
  RECORD_FUNCTION("cifar10::within_channel_lrn", std::vector<c10::IValue>({x}));
  return WithinChannelLrn::apply(x, size, alpha, beta);
}

namespace composed {

Tensor relu_max_pool(const Tensor& x, int64_t kernel, int64_t stride) {
  return F::max_pool2d(x, F::MaxPool2dFuncOptions(kernel).stride(stride).ceil_mode(true)).relu_();
}

Tensor relu_avg_pool(const Tensor& x, int64_t kernel, int64_t stride) {
  // Without padding, LibTorch divides each average by the part of the window inside the input.
  return F::avg_pool2d(x.relu(), F::AvgPool2dFuncOptions(kernel).stride(stride).ceil_mode(true));
}

Tensor within_channel_lrn(const Tensor& x, int64_t size, double alpha, double beta) {
  // Caffe builds this layer from a power, an average pooling (pad (size-1)/2, divisor size^2 at
  // every position) and a product; count_include_pad reproduces its divisor.
  const auto mean_square = F::avg_pool2d(
      x.square(),
      F::AvgPool2dFuncOptions(size).stride(1).padding((size - 1) / 2).count_include_pad(true));
  return x * mean_square.mul(alpha).add_(1.0).pow(-beta);
}

}  // namespace composed

int64_t fused_layer_threads(int64_t planes) {
  std::mutex mutex;
  std::set<int> threads;
  at::parallel_for(0, planes, kPlaneGrain, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> lock(mutex);
    threads.insert(at::get_thread_num());
  });
  return static_cast<int64_t>(threads.size());
}

const char* fused_layer_isa_name(FusedLayerIsa isa) {
  switch (isa) {
    case FusedLayerIsa::generic:
      return "generic";
    case FusedLayerIsa::avx2:
      return "avx2";
  }
  return "unknown";
}

bool fused_layer_isa_available(FusedLayerIsa isa) {
  switch (isa) {
    case FusedLayerIsa::generic:
      return true;
    case FusedLayerIsa::avx2:
#if CIFAR10_AVX2_KERNELS
      return __builtin_cpu_supports("avx2");
#else
      return false;
#endif
  }
  return false;
}

FusedLayerIsa fused_layer_isa() { return selected_isa().load(); }

void set_fused_layer_isa(FusedLayerIsa isa) {
  TORCH_CHECK(fused_layer_isa_available(isa),
              "set_fused_layer_isa: expected an instruction set this build and CPU can run "
              "(generic",
              fused_layer_isa_available(FusedLayerIsa::avx2) ? " or avx2" : "", "), but got ",
              fused_layer_isa_name(isa));
  selected_isa().store(isa);
}

}  // namespace cifar10
