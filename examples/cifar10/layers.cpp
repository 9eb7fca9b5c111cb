#include "layers.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>
#include <torch/nn/functional/pooling.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <set>
#include <vector>

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

// ---- relu(max_pool2d(x)) ----------------------------------------------------------------------

// A plane's pooling windows read one window offset (dh, dw) at a time: `candidates[o]` is the
// element at that offset in output o's window, or `pad` where the window is cut short by the
// edge. The loops over o then run over whole planes with unit stride and no branches, so they
// vectorise, and each output still sees its window's elements in LibTorch's row-major order.
template <typename scalar_t>
void gather_offset(const scalar_t* plane, const PlaneShape& s, int64_t stride, int64_t dh,
                   int64_t dw, scalar_t pad, scalar_t* candidates) {
  const int64_t reach =
      dw >= s.width ? 0 : std::min(s.out_width, (s.width - dw + stride - 1) / stride);
  for (int64_t oh = 0; oh < s.out_height; ++oh) {
    scalar_t* c = candidates + oh * s.out_width;
    const int64_t h = oh * stride + dh;
    const int64_t n = h < s.height ? reach : 0;
    const scalar_t* row = plane + h * s.width + dw;
    for (int64_t ow = 0; ow < n; ++ow) c[ow] = row[ow * stride];
    std::fill(c + n, c + s.out_width, pad);
  }
}

// Forward: the pooled maximum after ReLU, and for each output the flat in-plane index of the
// element it came from, or -1 where ReLU zeroed it (no gradient flows there).
template <typename scalar_t>
void relu_max_pool_forward(const scalar_t* in, scalar_t* out, int32_t* index, const PlaneShape& s,
                           int64_t kernel, int64_t stride) {
  const int64_t out_size = s.out_height * s.out_width;
  // Where each window starts: LibTorch's index when nothing in it beats -inf.
  std::vector<int32_t> corner(out_size);
  for (int64_t oh = 0; oh < s.out_height; ++oh) {
    for (int64_t ow = 0; ow < s.out_width; ++ow) {
      corner[oh * s.out_width + ow] = static_cast<int32_t>(oh * stride * s.width + ow * stride);
    }
  }
  at::parallel_for(0, s.planes, kPlaneGrain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> best(out_size), candidates(out_size);
    std::vector<int32_t> best_index(out_size);
    const scalar_t lowest = -std::numeric_limits<scalar_t>::infinity();
    for (int64_t p = begin; p < end; ++p) {
      const scalar_t* plane = in + p * s.height * s.width;
      scalar_t* o = out + p * out_size;
      int32_t* i = index + p * out_size;
      std::fill(best.begin(), best.end(), lowest);
      std::copy(corner.begin(), corner.end(), best_index.begin());
      for (int64_t dh = 0; dh < kernel; ++dh) {
        for (int64_t dw = 0; dw < kernel; ++dw) {
          gather_offset(plane, s, stride, dh, dw, lowest, candidates.data());
          const auto offset = static_cast<int32_t>(dh * s.width + dw);
          // LibTorch's rule: the first strictly larger value wins, and any NaN wins.
          for (int64_t k = 0; k < out_size; ++k) {
            // As a mask, without branches, so that the loop vectorises.
            const scalar_t value = candidates[k], current = best[k];
            const int32_t take =
                -static_cast<int32_t>((value > current) | __builtin_isunordered(value, value));
            best[k] = take ? value : current;
            best_index[k] = (take & (corner[k] + offset)) | (~take & best_index[k]);
          }
        }
      }
      // ReLU keeps NaN, as LibTorch's does; its gradient passes where the output is not <= 0.
      for (int64_t k = 0; k < out_size; ++k) {
        const bool zeroed = best[k] <= scalar_t(0);
        o[k] = zeroed ? scalar_t(0) : best[k];
        i[k] = zeroed ? -1 : best_index[k];
      }
    }
  });
}

template <typename scalar_t>
void relu_max_pool_backward(const scalar_t* grad_out, const int32_t* index, scalar_t* grad_in,
                            const PlaneShape& s) {
  at::parallel_for(0, s.planes, kPlaneGrain, [&](int64_t begin, int64_t end) {
    const int64_t in_size = s.height * s.width, out_size = s.out_height * s.out_width;
    for (int64_t p = begin; p < end; ++p) {
      scalar_t* g = grad_in + p * in_size;
      std::fill(g, g + in_size, scalar_t(0));
      const scalar_t* go = grad_out + p * out_size;
      const int32_t* i = index + p * out_size;
      for (int64_t o = 0; o < out_size; ++o) {
        if (i[o] >= 0) g[i[o]] += go[o];
      }
    }
  });
}

// Channels-last: LibTorch's rule (first strictly larger wins, any NaN wins) applied to one window
// position's channels at once; `flat` is that position's in-plane index.
template <typename scalar_t>
void take_larger(const scalar_t* __restrict__ value, scalar_t* __restrict__ best,
                 int32_t* __restrict__ best_index, int32_t flat, int64_t channels) {
  for (int64_t c = 0; c < channels; ++c) {
    const scalar_t v = value[c], current = best[c];
    const int32_t take = -static_cast<int32_t>((v > current) | __builtin_isunordered(v, v));
    best[c] = take ? v : current;
    best_index[c] = (take & flat) | (~take & best_index[c]);
  }
}

template <typename scalar_t>
void relu_max_pool_forward(const scalar_t* in, scalar_t* out, int32_t* index, const ImageShape& s,
                           int64_t kernel, int64_t stride) {
  const int64_t channels = s.channels, image_size = s.height * s.width * channels;
  at::parallel_for(0, s.images * s.out_height, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const scalar_t* image = in + (row / s.out_height) * image_size;
      const int64_t h0 = (row % s.out_height) * stride, h1 = std::min(h0 + kernel, s.height);
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        const int64_t w0 = ow * stride, w1 = std::min(w0 + kernel, s.width);
        scalar_t* best = out + (row * s.out_width + ow) * channels;
        int32_t* best_index = index + (row * s.out_width + ow) * channels;
        std::fill(best, best + channels, -std::numeric_limits<scalar_t>::infinity());
        std::fill(best_index, best_index + channels, static_cast<int32_t>(h0 * s.width + w0));
        for (int64_t h = h0; h < h1; ++h) {
          for (int64_t w = w0; w < w1; ++w) {
            take_larger(image + (h * s.width + w) * channels, best, best_index,
                        static_cast<int32_t>(h * s.width + w), channels);
          }
        }
        for (int64_t c = 0; c < channels; ++c) {
          const bool zeroed = best[c] <= scalar_t(0);
          best[c] = zeroed ? scalar_t(0) : best[c];
          best_index[c] = zeroed ? -1 : best_index[c];
        }
      }
    }
  });
}

// Each output's gradient goes to the element its index names; an image's outputs are visited in
// order, so every input sums its gradients in the NCHW kernel's order.
template <typename scalar_t>
void relu_max_pool_backward(const scalar_t* grad_out, const int32_t* index, scalar_t* grad_in,
                            const ImageShape& s) {
  const int64_t channels = s.channels, image_size = s.height * s.width * channels;
  const int64_t out_image_size = s.out_height * s.out_width * channels;
  at::parallel_for(0, s.images, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      scalar_t* g = grad_in + n * image_size;
      std::fill(g, g + image_size, scalar_t(0));
      const scalar_t* go = grad_out + n * out_image_size;
      const int32_t* i = index + n * out_image_size;
      for (int64_t o = 0; o < out_image_size; o += channels) {
        for (int64_t c = 0; c < channels; ++c) {
          if (i[o + c] >= 0) g[i[o + c] * channels + c] += go[o + c];
        }
      }
    }
  });
}

class ReluMaxPool : public torch::autograd::Function<ReluMaxPool> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& input, int64_t kernel, int64_t stride) {
    const auto layout = layout_of(input);
    const auto x = input.contiguous(layout);
    const auto s = pooling_shape(x, kernel, stride);
    auto out = torch::empty({x.size(0), x.size(1), s.out_height, s.out_width}, x.options(), layout);
    auto index = torch::empty(out.sizes(), x.options().dtype(torch::kInt), layout);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "relu_max_pool", [&] {
      if (layout == at::MemoryFormat::ChannelsLast) {
        relu_max_pool_forward(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                              index.data_ptr<int32_t>(), image_shape(x, kernel, stride), kernel,
                              stride);
      } else {
        relu_max_pool_forward(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                              index.data_ptr<int32_t>(), s, kernel, stride);
      }
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
      if (layout == at::MemoryFormat::ChannelsLast) {
        relu_max_pool_backward(grad_out.data_ptr<scalar_t>(), index.data_ptr<int32_t>(),
                               grad_in.data_ptr<scalar_t>(), s);
      } else {
        relu_max_pool_backward(grad_out.data_ptr<scalar_t>(), index.data_ptr<int32_t>(),
                               grad_in.data_ptr<scalar_t>(), planes_of(s));
      }
    });
    return {grad_in, Tensor(), Tensor()};
  }
};

// ---- avg_pool2d(relu(x)) ----------------------------------------------------------------------

template <typename scalar_t>
void relu_avg_pool_forward(const scalar_t* in, scalar_t* out, const PlaneShape& s, int64_t kernel,
                           int64_t stride) {
  const int64_t out_size = s.out_height * s.out_width;
  // Each window's mean is over the part of it inside the input.
  std::vector<scalar_t> count(out_size);
  for (int64_t oh = 0; oh < s.out_height; ++oh) {
    const int64_t rows = std::min(oh * stride + kernel, s.height) - oh * stride;
    for (int64_t ow = 0; ow < s.out_width; ++ow) {
      const int64_t columns = std::min(ow * stride + kernel, s.width) - ow * stride;
      count[oh * s.out_width + ow] = static_cast<scalar_t>(rows * columns);
    }
  }
  at::parallel_for(0, s.planes, kPlaneGrain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> sum(out_size), candidates(out_size);
    for (int64_t p = begin; p < end; ++p) {
      const scalar_t* plane = in + p * s.height * s.width;
      std::fill(sum.begin(), sum.end(), scalar_t(0));
      for (int64_t dh = 0; dh < kernel; ++dh) {
        for (int64_t dw = 0; dw < kernel; ++dw) {
          gather_offset(plane, s, stride, dh, dw, scalar_t(0), candidates.data());
          for (int64_t k = 0; k < out_size; ++k) {
            sum[k] += candidates[k] <= scalar_t(0) ? scalar_t(0) : candidates[k];
          }
        }
      }
      scalar_t* o = out + p * out_size;
      for (int64_t k = 0; k < out_size; ++k) o[k] = sum[k] / count[k];
    }
  });
}

// Backward: each output row spreads its gradient, divided by its windows' sizes, over the input
// columns its windows cover (a gather per input column), then adds that row to each input row of
// its windows.
template <typename scalar_t>
void relu_avg_pool_backward(const scalar_t* grad_out, const scalar_t* in, scalar_t* grad_in,
                            const PlaneShape& s, int64_t kernel, int64_t stride) {
  at::parallel_for(0, s.planes, kPlaneGrain, [&](int64_t begin, int64_t end) {
    const int64_t in_size = s.height * s.width, out_size = s.out_height * s.out_width;
    std::vector<scalar_t> share(s.out_width), spread(s.width);
    for (int64_t p = begin; p < end; ++p) {
      scalar_t* g = grad_in + p * in_size;
      std::fill(g, g + in_size, scalar_t(0));
      const scalar_t* go = grad_out + p * out_size;
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        const int64_t h0 = oh * stride, h1 = std::min(h0 + kernel, s.height);
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const int64_t w0 = ow * stride, w1 = std::min(w0 + kernel, s.width);
          share[ow] = go[oh * s.out_width + ow] / static_cast<scalar_t>((h1 - h0) * (w1 - w0));
        }
        for (int64_t w = 0; w < s.width; ++w) {
          // The windows ow with ow * stride <= w < ow * stride + kernel.
          const int64_t first = w >= kernel ? (w - kernel + stride) / stride : 0;
          const int64_t last = std::min(s.out_width - 1, w / stride);
          scalar_t total = 0;
          for (int64_t ow = first; ow <= last; ++ow) total += share[ow];
          spread[w] = total;
        }
        for (int64_t h = h0; h < h1; ++h) {
          scalar_t* row = g + h * s.width;
          for (int64_t w = 0; w < s.width; ++w) row[w] += spread[w];
        }
      }
      // ReLU's gradient: nothing flows where its output was 0.
      const scalar_t* x = in + p * in_size;
      for (int64_t i = 0; i < in_size; ++i) g[i] = x[i] <= scalar_t(0) ? scalar_t(0) : g[i];
    }
  });
}

// Channels-last: each output sums its window's positions in row-major order, as the NCHW kernel
// does, so both give the same bits.
template <typename scalar_t>
void relu_avg_pool_forward(const scalar_t* in, scalar_t* out, const ImageShape& s, int64_t kernel,
                           int64_t stride) {
  const int64_t channels = s.channels, image_size = s.height * s.width * channels;
  at::parallel_for(0, s.images * s.out_height, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const scalar_t* image = in + (row / s.out_height) * image_size;
      const int64_t h0 = (row % s.out_height) * stride, h1 = std::min(h0 + kernel, s.height);
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        const int64_t w0 = ow * stride, w1 = std::min(w0 + kernel, s.width);
        scalar_t* __restrict__ sum = out + (row * s.out_width + ow) * channels;
        std::fill(sum, sum + channels, scalar_t(0));
        for (int64_t h = h0; h < h1; ++h) {
          for (int64_t w = w0; w < w1; ++w) {
            const scalar_t* __restrict__ v = image + (h * s.width + w) * channels;
            for (int64_t c = 0; c < channels; ++c) {
              sum[c] += v[c] <= scalar_t(0) ? scalar_t(0) : v[c];
            }
          }
        }
        const auto count = static_cast<scalar_t>((h1 - h0) * (w1 - w0));
        for (int64_t c = 0; c < channels; ++c) sum[c] = sum[c] / count;
      }
    }
  });
}

// Channels-last backward, in the NCHW kernel's order: per output row, the gradient each input
// column gets from that row's windows, added to the rows the windows cover.
template <typename scalar_t>
void relu_avg_pool_backward(const scalar_t* grad_out, const scalar_t* in, scalar_t* grad_in,
                            const ImageShape& s, int64_t kernel, int64_t stride) {
  const int64_t channels = s.channels, image_size = s.height * s.width * channels;
  const int64_t row_size = s.width * channels;
  at::parallel_for(0, s.images, 1, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> share(s.out_width * channels), spread(row_size);
    for (int64_t n = begin; n < end; ++n) {
      scalar_t* g = grad_in + n * image_size;
      std::fill(g, g + image_size, scalar_t(0));
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        const int64_t h0 = oh * stride, h1 = std::min(h0 + kernel, s.height);
        const scalar_t* go = grad_out + (n * s.out_height + oh) * s.out_width * channels;
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const int64_t w0 = ow * stride, w1 = std::min(w0 + kernel, s.width);
          const auto count = static_cast<scalar_t>((h1 - h0) * (w1 - w0));
          for (int64_t c = 0; c < channels; ++c) {
            share[ow * channels + c] = go[ow * channels + c] / count;
          }
        }
        for (int64_t w = 0; w < s.width; ++w) {
          const int64_t first = w >= kernel ? (w - kernel + stride) / stride : 0;
          const int64_t last = std::min(s.out_width - 1, w / stride);
          scalar_t* __restrict__ total = spread.data() + w * channels;
          std::fill(total, total + channels, scalar_t(0));
          for (int64_t ow = first; ow <= last; ++ow) {
            const scalar_t* __restrict__ part = share.data() + ow * channels;
            for (int64_t c = 0; c < channels; ++c) total[c] += part[c];
          }
        }
        for (int64_t h = h0; h < h1; ++h) {
          scalar_t* __restrict__ target = g + h * row_size;
          for (int64_t i = 0; i < row_size; ++i) target[i] += spread[i];
        }
      }
      const scalar_t* x = in + n * image_size;
      for (int64_t i = 0; i < image_size; ++i) g[i] = x[i] <= scalar_t(0) ? scalar_t(0) : g[i];
    }
  });
}

class ReluAvgPool : public torch::autograd::Function<ReluAvgPool> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& input, int64_t kernel, int64_t stride) {
    const auto layout = layout_of(input);
    const auto x = input.contiguous(layout);
    const auto s = pooling_shape(x, kernel, stride);
    auto out = torch::empty({x.size(0), x.size(1), s.out_height, s.out_width}, x.options(), layout);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "relu_avg_pool", [&] {
      if (layout == at::MemoryFormat::ChannelsLast) {
        relu_avg_pool_forward(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                              image_shape(x, kernel, stride), kernel, stride);
      } else {
        relu_avg_pool_forward(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), s, kernel, stride);
      }
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
      if (layout == at::MemoryFormat::ChannelsLast) {
        relu_avg_pool_backward(grad_out.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(),
                               grad_in.data_ptr<scalar_t>(), image_shape(x, kernel, stride), kernel,
                               stride);
      } else {
        relu_avg_pool_backward(grad_out.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(),
                               grad_in.data_ptr<scalar_t>(), pooling_shape(x, kernel, stride),
                               kernel, stride);
      }
    });
    return {grad_in, Tensor(), Tensor()};
  }
};

// ---- within-channel LRN -----------------------------------------------------------------------

// sum[h][w] = the sum of v over the size x size window centred on (h, w), zero outside the
// plane, for each of the `lanes` values stored at a position (1 for an NCHW plane, the channels for
// a channels-last image): a horizontal pass into `rows`, then a vertical one. The interior loops
// run over whole rows without bounds checks, so they vectorise; every lane sums in the same order.
template <typename scalar_t>
void window_sum(const scalar_t* v, scalar_t* sum, scalar_t* rows, int64_t height, int64_t width,
                int64_t lanes, int64_t radius) {
  const int64_t row_size = width * lanes;
  const bool interior = width > 2 * radius;
  for (int64_t h = 0; h < height; ++h) {
    const scalar_t* in = v + h * row_size;
    scalar_t* row = rows + h * row_size;
    for (int64_t w = 0; w < width; ++w) {
      if (interior && w == radius) {  // the interior comes below
        w = width - radius - 1;
        continue;
      }
      scalar_t* __restrict__ acc = row + w * lanes;
      std::fill(acc, acc + lanes, scalar_t(0));
      const int64_t w0 = std::max<int64_t>(0, w - radius), w1 = std::min(width, w + radius + 1);
      for (int64_t j = w0; j < w1; ++j) {
        const scalar_t* __restrict__ e = in + j * lanes;
        for (int64_t l = 0; l < lanes; ++l) acc[l] += e[l];
      }
    }
    if (interior) {
      const int64_t first = radius * lanes, last = (width - radius) * lanes;
      for (int64_t i = first; i < last; ++i) row[i] = in[i - first];
      for (int64_t j = 1 - radius; j <= radius; ++j) {
        const scalar_t* shifted = in + j * lanes;
        for (int64_t i = first; i < last; ++i) row[i] += shifted[i];
      }
    }
  }
  for (int64_t h = 0; h < height; ++h) {
    scalar_t* out = sum + h * row_size;
    const int64_t h0 = std::max<int64_t>(0, h - radius), h1 = std::min(height, h + radius + 1);
    const scalar_t* first = rows + h0 * row_size;
    for (int64_t i = 0; i < row_size; ++i) out[i] = first[i];
    for (int64_t r = h0 + 1; r < h1; ++r) {
      const scalar_t* row = rows + r * row_size;
      for (int64_t i = 0; i < row_size; ++i) out[i] += row[i];
    }
  }
}

// base^-beta; the network's beta of 3/4 through square roots, which vectorise and round
// within an ulp or two of pow.
template <typename scalar_t>
void negative_power(const scalar_t* base, scalar_t* out, int64_t n, double beta) {
  if (beta == 0.75) {
    for (int64_t i = 0; i < n; ++i) {
      const scalar_t root = std::sqrt(base[i]);
      out[i] = scalar_t(1) / (root * std::sqrt(root));
    }
  } else {
    const auto exponent = static_cast<scalar_t>(-beta);
    for (int64_t i = 0; i < n; ++i) out[i] = std::pow(base[i], exponent);
  }
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

// Forward: y = x * scale with denom = 1 + alpha * mean(x^2) and scale = denom^-beta; scale and
// ratio = scale / denom are kept for the backward.
template <typename scalar_t>
void lrn_forward(const scalar_t* x, scalar_t* y, scalar_t* ratio, scalar_t* scale,
                 const LrnShape& shape, const LrnParams& p) {
  const int64_t plane_size = shape.height * shape.width * shape.lanes;
  const int64_t grain = shape.lanes == 1 ? kPlaneGrain : 1;
  const auto divisor = static_cast<scalar_t>(p.size * p.size);
  const auto alpha = static_cast<scalar_t>(p.alpha);
  at::parallel_for(0, shape.planes, grain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> square(plane_size), rows(plane_size), denom(plane_size);
    for (int64_t q = begin; q < end; ++q) {
      const int64_t offset = q * plane_size;
      const scalar_t* xp = x + offset;
      scalar_t* d = denom.data();
      for (int64_t i = 0; i < plane_size; ++i) square[i] = xp[i] * xp[i];
      window_sum(square.data(), d, rows.data(), shape.height, shape.width, shape.lanes,
                 (p.size - 1) / 2);
      for (int64_t i = 0; i < plane_size; ++i) d[i] = d[i] / divisor * alpha + scalar_t(1);
      scalar_t* sp = scale + offset;
      negative_power(d, sp, plane_size, p.beta);
      scalar_t *yp = y + offset, *rp = ratio + offset;
      for (int64_t i = 0; i < plane_size; ++i) {
        yp[i] = xp[i] * sp[i];
        rp[i] = sp[i] / d[i];
      }
    }
  });
}

// Backward: dx = dy * scale - (2 alpha beta / size^2) x * window_sum(dy * x * scale / denom).
template <typename scalar_t>
void lrn_backward(const scalar_t* grad_y, const scalar_t* x, const scalar_t* ratio,
                  const scalar_t* scale, scalar_t* grad_x, const LrnShape& shape,
                  const LrnParams& p) {
  const int64_t plane_size = shape.height * shape.width * shape.lanes;
  const int64_t grain = shape.lanes == 1 ? kPlaneGrain : 1;
  const auto coefficient = static_cast<scalar_t>(2.0 * p.alpha * p.beta / (p.size * p.size));
  at::parallel_for(0, shape.planes, grain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> term(plane_size), sum(plane_size), rows(plane_size);
    for (int64_t q = begin; q < end; ++q) {
      const int64_t offset = q * plane_size;
      const scalar_t *gy = grad_y + offset, *xp = x + offset, *r = ratio + offset,
                     *s = scale + offset;
      for (int64_t i = 0; i < plane_size; ++i) term[i] = gy[i] * xp[i] * r[i];
      window_sum(term.data(), sum.data(), rows.data(), shape.height, shape.width, shape.lanes,
                 (p.size - 1) / 2);
      scalar_t* gx = grad_x + offset;
      for (int64_t i = 0; i < plane_size; ++i) {
        gx[i] = gy[i] * s[i] - coefficient * xp[i] * sum[i];
      }
    }
  });
}

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
      lrn_forward(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), ratio.data_ptr<scalar_t>(),
                  scale.data_ptr<scalar_t>(), lrn_shape(x, layout), p);
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
      lrn_backward(grad_y.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), ratio.data_ptr<scalar_t>(),
                   scale.data_ptr<scalar_t>(), grad_x.data_ptr<scalar_t>(), lrn_shape(x, layout),
                   p);
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

}  // namespace cifar10
