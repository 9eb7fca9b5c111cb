#pragma once

#include <torch/types.h>

#include <cstdint>

namespace cifar10 {

// The network's memory-bound layers as single passes over float or double tensors, each with a
// hand-written backward. They compute what the composed LibTorch ops below compute, to rounding,
// in a fraction of the time: one read and one write per element instead of a chain of
// temporaries, and no index tensors beyond what the backward needs. A channels-last input
// (`suggest_memory_format()`) runs kernels that loop over each position's channels and gives a
// channels-last output and gradient, with the same bits as the NCHW kernels; any other input runs
// on its contiguous NCHW copy.

/// `relu(max_pool2d(x, kernel, stride, ceil_mode=true))` without padding. Ties and NaNs pick the
/// element LibTorch's max pooling picks (the first maximum in row-major order; a NaN wins).
torch::Tensor relu_max_pool(const torch::Tensor& x, int64_t kernel = 3, int64_t stride = 2);

/// `avg_pool2d(relu(x), kernel, stride, ceil_mode=true)` without padding: each window's mean
/// over the part of it inside the input.
torch::Tensor relu_avg_pool(const torch::Tensor& x, int64_t kernel = 3, int64_t stride = 2);

/// Caffe's within-channel local response normalisation:
/// `x / (1 + alpha * mean(x^2 over the size x size window around x))^beta`, the window
/// zero-padded at the borders and always divided by size^2, as Caffe computes it.
torch::Tensor within_channel_lrn(const torch::Tensor& x, int64_t size = 3, double alpha = 5e-5,
                                 double beta = 0.75);

/// How many of LibTorch's intra-op threads (torch::set_num_threads) the fused layers' loop over
/// `planes` planes runs on: 1 when this file was built without the OpenMP that LibTorch uses.
int64_t fused_layer_threads(int64_t planes);

/// The instruction sets the fused layers' kernels are built for: the build's baseline, and AVX2 in
/// x86-64 builds with GCC. The AVX2 kernels compute the same operations in the same order, without
/// FMA, so both give the same bits; the AVX2 ones run where the CPU has AVX2.
enum class FusedLayerIsa { generic, avx2 };

/// "generic", "avx2" ("unknown" for any other value).
const char* fused_layer_isa_name(FusedLayerIsa isa);

/// Whether this build and this CPU can run `isa`'s kernels.
bool fused_layer_isa_available(FusedLayerIsa isa);

/// The kernels the fused layers run: AVX2 where available, else generic, unless
/// set_fused_layer_isa chose otherwise.
FusedLayerIsa fused_layer_isa();

/// Makes the fused layers run `isa`'s kernels, in every thread (to compare or time the two);
/// throws c10::Error naming the choices if this build or CPU cannot run it.
void set_fused_layer_isa(FusedLayerIsa isa);

/// The same three layers composed from LibTorch's own operators: the reference the fused
/// versions are tested against.
namespace composed {
torch::Tensor relu_max_pool(const torch::Tensor& x, int64_t kernel = 3, int64_t stride = 2);
torch::Tensor relu_avg_pool(const torch::Tensor& x, int64_t kernel = 3, int64_t stride = 2);
torch::Tensor within_channel_lrn(const torch::Tensor& x, int64_t size = 3, double alpha = 5e-5,
                                 double beta = 0.75);
}  // namespace composed

}  // namespace cifar10
