#pragma once

#include <torch/types.h>

#include <cstdint>

#include "dataset.h"

namespace cifar10 {

/// Fills the int64 tensor `order` with the data order of epoch `epoch`: a function of the seed
/// and the epoch only, so a resumed run sees the same batches as an uninterrupted one.
void shuffle_epoch(torch::Tensor& order, uint64_t seed, int64_t epoch);

/// The indices, in `epoch_order`, of this rank's share of global batch `t`: the global batch is
/// `batch` consecutive entries, and each of the `world` ranks takes `batch / world` of them.
torch::Tensor rank_batch(const torch::Tensor& epoch_order, int64_t t, int64_t batch, int64_t rank,
                         int64_t world);

/// The training batches of a run, shared by `train` and `range-test`. Global batch t is the
/// (t mod batches-per-epoch)-th run of `batch` images in epoch t / batches-per-epoch's order
/// (`shuffle_epoch`); in data-parallel training each rank takes its share (`rank_batch`). The
/// batch tensors are allocated once, on the data's device, and refilled in place.
class BatchStream {
 public:
  BatchStream(const ImageData& data, int64_t batch, uint64_t seed, int64_t rank = 0,
              int64_t world = 1);

  /// Fills `images()` and `targets()` with this rank's share of global batch `t`.
  void load(int64_t t);
  const torch::Tensor& images() const { return images_; }
  const torch::Tensor& targets() const { return targets_; }
  int64_t batches_per_epoch() const { return batches_per_epoch_; }

 private:
  ImageData data_;
  int64_t batch_, rank_, world_, batches_per_epoch_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  torch::Tensor order_;         // on the CPU, where it is shuffled
  torch::Tensor order_device_;  // order_ on the data's device (order_ itself on the CPU)
  torch::Tensor images_, targets_;
};

}  // namespace cifar10
