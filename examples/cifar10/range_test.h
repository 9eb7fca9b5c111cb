#pragma once

#include <torch/types.h>
#include <torchclr/distributed.h>

#include <cstdint>
#include <memory>
#include <string>

#include "dataset.h"

namespace cifar10 {

/// Smith's LR range test on the paper's network (the CLR paper, section 3.3): the LR rises
/// linearly from `start_lr` to `end_lr` over `epochs` epochs while test accuracy is measured.
struct RangeTestCliOptions {
  double start_lr = 1e-4;
  double end_lr = 0.02;
  double epochs = 8;
  std::string optimizer = "sgd";
  int64_t batch_size = 100;
  int64_t eval_every = 100;
  /// Test images per accuracy measurement (the first N of the test set).
  int64_t eval_images = 2000;
  std::string out_dir = "results/range-test";
  uint64_t seed = 1;
  torch::Device device = torch::kCPU;
  int threads = 1;
  bool flush_denormal = false;  ///< recorded in summary.json; the caller sets it (cifar10::setup)
  std::string command;
  /// Data-parallel: every rank takes its share of each global batch, gradients are averaged after
  /// backward, the recorded loss is the mean over the ranks (so every rank stops at the same
  /// iteration), accuracy is measured on a shard per rank, and rank 0 alone writes files.
  /// Null: one process.
  std::shared_ptr<torchclr::ProcessGroup> group;
};

/// Runs the test through `torchclr::LRFinder`, writes range_test.csv, range_test.png and
/// summary.json to `out_dir` (rank 0 of a data-parallel run), and returns the suggestion as text.
std::string run_range_test(const RangeTestCliOptions& options, const DataPair& data);

}  // namespace cifar10
