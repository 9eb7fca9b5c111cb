#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace torchclr {

/// How the ranks of a data-parallel run find each other: through c10d's `TCPStore` at
/// `master_addr:master_port` (rank 0 serves it), or through c10d's `FileStore` at `init_file` (a
/// path every rank can reach) when it is set.
///
/// Example:
/// ```
/// auto group = torchclr::ProcessGroup::create(
///     torchclr::RendezvousOptions(2, rank).master_addr("127.0.0.1").master_port(29500));
/// ```
struct RendezvousOptions {
  RendezvousOptions(int64_t world_size, int64_t rank) : world_size_(world_size), rank_(rank) {}

  /// Number of ranks.
  TORCH_ARG(int64_t, world_size);
  /// This process's rank, in [0, world_size).
  TORCH_ARG(int64_t, rank);
  /// Address of rank 0's TCPStore. Default: "127.0.0.1"
  TORCH_ARG(std::string, master_addr) = "127.0.0.1";
  /// Port of rank 0's TCPStore. Default: 29500
  TORCH_ARG(int64_t, master_port) = 29500;
  /// A FileStore path shared by all ranks; when set, used instead of the TCPStore. Default: ""
  TORCH_ARG(std::string, init_file) = "";
  /// How long rendezvous and every collective may wait for the other ranks before failing with
  /// an error (a rank that died makes the others fail, not hang). Default: 60
  TORCH_ARG(double, timeout_seconds) = 60.0;
  /// c10d backend: "gloo" (CPU tensors), or "nccl" (CUDA tensors, where LibTorch was built with
  /// it). Default: "gloo"
  TORCH_ARG(std::string, backend) = "gloo";
  /// NCCL only: the CUDA device of this rank. Default: -1, meaning rank modulo the number of
  /// devices
  TORCH_ARG(int64_t, cuda_device) = -1;
};

/// The collectives data-parallel training needs, on torch.distributed's c10d process groups
/// (`ProcessGroupGloo`, `ProcessGroupNCCL`). The c10d types stay out of this header, so it
/// reads the same against LibTorch 1.13 and 2.x.
class ProcessGroup {
 public:
  /// Rendezvous with the other ranks and build the process group; a clear error after
  /// `timeout_seconds` when they don't come.
  static std::shared_ptr<ProcessGroup> create(const RendezvousOptions& options);

  virtual ~ProcessGroup() = default;

  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;

  /// Where this group's tensors must live: the CPU for Gloo, this rank's CUDA device for NCCL.
  virtual torch::Device device() const = 0;

  /// Sums each tensor over all ranks in place; the collectives of all tensors run concurrently.
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;

  /// Overwrites the tensors with those of rank `root`.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int64_t root) = 0;

  /// Waits until every rank gets here.
  virtual void barrier() = 0;

  /// The mean of a value over all ranks (a NaN or infinity on any rank makes the result
  /// non-finite on every rank).
  double all_reduce_mean(double value);
};

/// Makes every rank start from rank `root`'s parameters and buffers.
void broadcast_module(ProcessGroup& group, torch::nn::Module& module, int64_t root = 0);

/// Gradient averaging after `backward()`, in buckets: the gradients are packed into a few flat
/// buffers (allocated once, at most `bucket_bytes` each), all-reduced in one call, divided by the
/// world size and unpacked. Parameters without a gradient contribute zeros, so every rank sends
/// the same layout.
///
/// Example:
/// ```
/// torchclr::GradientAverager averager(group, model->parameters());
/// loss.backward();
/// averager.synchronize();
/// optimizer.step();
/// ```
class GradientAverager {
 public:
  GradientAverager(std::shared_ptr<ProcessGroup> group, std::vector<torch::Tensor> parameters,
                   int64_t bucket_bytes = 25 * 1024 * 1024);

  /// Averages the gradients of all parameters over the ranks, in place.
  void synchronize();

  /// Number of flat buffers the gradients travel in.
  size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    torch::Tensor flat;
    std::vector<size_t> members;  // indices into parameters_
  };

  std::shared_ptr<ProcessGroup> group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<torch::Tensor> flats_;  // the buckets' buffers, as one collective argument
};

/// A `RangeTestOptions::reduce_loss` that averages every loss of an LR range test over the
/// ranks, so that all ranks record the same curve and stop at the same iteration.
std::function<double(double)> all_reduce_loss(std::shared_ptr<ProcessGroup> group);

/// A `ReduceLROnPlateauOptions::reduce_metric` that averages the metric over the ranks, so that
/// every rank reduces its LR at the same step.
std::function<double(double)> all_reduce_metric(std::shared_ptr<ProcessGroup> group);

}  // namespace torchclr
