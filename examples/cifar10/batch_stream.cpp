#include "batch_stream.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace cifar10 {

void shuffle_epoch(torch::Tensor& order, uint64_t seed, int64_t epoch) {
  auto* data = order.data_ptr<int64_t>();
  std::iota(data, data + order.numel(), int64_t{0});
  std::seed_seq seq{seed, static_cast<uint64_t>(epoch)};
  std::mt19937_64 rng(seq);
  std::shuffle(data, data + order.numel(), rng);
}

torch::Tensor rank_batch(const torch::Tensor& epoch_order, int64_t t, int64_t batch, int64_t rank,
                         int64_t world) {
  const int64_t local_batch = batch / world;
  return epoch_order.narrow(0, t * batch + rank * local_batch, local_batch);
}

BatchStream::BatchStream(const ImageData& data, int64_t batch, uint64_t seed, int64_t rank,
                         int64_t world)
    : data_(data), batch_(batch), rank_(rank), world_(world), seed_(seed) {
  TORCH_CHECK(world >= 1 && rank >= 0 && rank < world, "BatchStream: expected 0 <= rank < world, ",
              "but got rank ", rank, " of ", world);
  TORCH_CHECK(batch >= 1 && batch % world == 0, "--batch-size: expected a multiple of the ", world,
              " ranks, but got ", batch);
  TORCH_CHECK(batch <= data.size(), "--batch-size: expected at most ", data.size(),
              " (the training images), but got ", batch);
  batches_per_epoch_ = data.size() / batch;
  order_ = torch::empty({data.size()}, torch::kInt64);
  order_device_ = data.targets.is_cpu()
                      ? order_
                      : torch::empty({data.size()}, data.targets.options().dtype(torch::kInt64));
  const int64_t local_batch = batch / world;
  auto shape = data.images.sizes().vec();
  shape[0] = local_batch;
  images_ = torch::empty(shape, data.images.options());
  targets_ = torch::empty({local_batch}, data.targets.options());
}

void BatchStream::load(int64_t t) {
  const int64_t epoch = t / batches_per_epoch_;
  if (epoch != epoch_) {
    epoch_ = epoch;
    shuffle_epoch(order_, seed_, epoch);
    if (!order_device_.is_same(order_)) order_device_.copy_(order_);
  }
  gather_batch(data_, rank_batch(order_device_, t % batches_per_epoch_, batch_, rank_, world_),
               images_, targets_);
}

}  // namespace cifar10
