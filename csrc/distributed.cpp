#include <torchclr/distributed.h>
#include <torchclr/version.h>

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if TORCHCLR_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include <chrono>
#include <cmath>
#include <exception>
#include <utility>

#include "compat.h"

namespace torchclr {
namespace {

using C10dGroup = compat::C10dBackend;

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

/// Runs a collective and waits for it, turning c10d's failures (a peer that died, a timeout)
/// into one error that says which collective failed on which rank.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, const char* what, int64_t rank) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "torchclr::ProcessGroup: ", what, " failed on rank ", rank,
                " (another rank died or timed out?): ", e.what());
  }
}

class C10dProcessGroup final : public ProcessGroup {
 public:
  C10dProcessGroup(c10::intrusive_ptr<C10dGroup> group, int64_t rank, int64_t world_size,
                   torch::Device device)
      : group_(std::move(group)), rank_(rank), world_size_(world_size), device_(device) {}

  int64_t rank() const override { return rank_; }
  int64_t world_size() const override { return world_size_; }
  torch::Device device() const override { return device_; }

  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    // One collective per tensor (c10d's vector argument means one tensor per device), all in
    // flight before the first wait.
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    works.reserve(tensors.size());
    for (auto& tensor : tensors) {
      std::vector<torch::Tensor> one{tensor};
      works.push_back(group_->allreduce(one, c10d::AllreduceOptions()));
    }
    for (const auto& work : works) wait_for(work, "all-reduce", rank_);
  }

  void broadcast(std::vector<torch::Tensor>& tensors, int64_t root) override {
    TORCH_CHECK(root >= 0 && root < world_size_, "torchclr::ProcessGroup: expected a root rank ",
                "in [0, ", world_size_, "), but got ", root);
    for (auto& tensor : tensors) {  // c10d broadcasts one tensor per call on CPU
      std::vector<torch::Tensor> one{tensor};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      wait_for(group_->broadcast(one, options), "broadcast", rank_);
    }
  }

  void barrier() override { wait_for(group_->barrier(), "barrier", rank_); }

 private:
  c10::intrusive_ptr<C10dGroup> group_;
  int64_t rank_;
  int64_t world_size_;
  torch::Device device_;
};

c10::intrusive_ptr<c10d::Store> make_store(const RendezvousOptions& options) {
  const auto timeout = to_millis(options.timeout_seconds());
  if (!options.init_file().empty()) {
    auto store = c10::make_intrusive<c10d::FileStore>(options.init_file(),
                                                      static_cast<int>(options.world_size()));
    store->setTimeout(timeout);
    return store;
  }
  TORCH_CHECK(options.master_port() > 0 && options.master_port() < 65536,
              "torchclr::ProcessGroup: expected master_port in [1, 65535], but got ",
              options.master_port());
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(options.master_port());
  store_options.isServer = options.rank() == 0;
  store_options.numWorkers = static_cast<std::size_t>(options.world_size());
  store_options.waitWorkers = true;
  store_options.timeout = timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(options.master_addr(), store_options);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "torchclr::ProcessGroup: rank ", options.rank(),
                " could not rendezvous through the TCPStore at ", options.master_addr(), ":",
                options.master_port(), " within ", options.timeout_seconds(), " s: ", e.what());
  }
}

}  // namespace

std::shared_ptr<ProcessGroup> ProcessGroup::create(const RendezvousOptions& options) {
  TORCH_CHECK(options.world_size() >= 1, "torchclr::ProcessGroup: expected world_size >= 1, ",
              "but got ", options.world_size());
  TORCH_CHECK(options.rank() >= 0 && options.rank() < options.world_size(),
              "torchclr::ProcessGroup: expected rank in [0, ", options.world_size(), "), but got ",
              options.rank());
  TORCH_CHECK(std::isfinite(options.timeout_seconds()) && options.timeout_seconds() > 0,
              "torchclr::ProcessGroup: expected timeout_seconds > 0, but got ",
              options.timeout_seconds());
  const int rank = static_cast<int>(options.rank());
  const int size = static_cast<int>(options.world_size());
  auto store = c10::make_intrusive<c10d::PrefixStore>("torchclr", make_store(options));
  const auto timeout = to_millis(options.timeout_seconds());
  if (options.backend() == "gloo") {
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    const bool loopback = options.init_file().empty() && (options.master_addr() == "127.0.0.1" ||
                                                          options.master_addr() == "localhost");
    gloo_options->devices.push_back(
        loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                 : c10d::ProcessGroupGloo::createDefaultDevice());
    try {
      auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, gloo_options);
      return std::make_shared<C10dProcessGroup>(group, rank, size, torch::kCPU);
    } catch (const std::exception& e) {
      TORCH_CHECK(false, "torchclr::ProcessGroup: rank ", rank, " could not connect to the ",
                  "other ", size - 1, " ranks with Gloo within ", options.timeout_seconds(),
                  " s: ", e.what());
    }
  }
#if TORCHCLR_WITH_NCCL
  if (options.backend() == "nccl") {
    const auto devices = static_cast<int64_t>(torch::cuda::device_count());
    TORCH_CHECK(devices > 0, "torchclr::ProcessGroup: backend \"nccl\" needs a CUDA device, ",
                "but none is visible");
    const int64_t index = options.cuda_device() >= 0 ? options.cuda_device() : rank % devices;
    TORCH_CHECK(index < devices, "torchclr::ProcessGroup: expected cuda_device in [0, ", devices,
                "), but got ", index);
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
    nccl_options->timeout = timeout;
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, nccl_options);
    return std::make_shared<C10dProcessGroup>(
        group, rank, size, torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index)));
  }
#endif
  const char* const backends = TORCHCLR_WITH_NCCL ? "\"gloo\" or \"nccl\"" : "\"gloo\"";
  TORCH_CHECK(false, "torchclr::ProcessGroup: expected backend ", backends, ", but got \"",
              options.backend(), "\"");
}

double ProcessGroup::all_reduce_mean(double value) {
  std::vector<torch::Tensor> tensors{
      torch::full({1}, value, torch::TensorOptions(torch::kFloat64).device(device()))};
  all_reduce_sum(tensors);
  return tensors[0].item<double>() / static_cast<double>(world_size());
}

void broadcast_module(ProcessGroup& group, torch::nn::Module& module, int64_t root) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p.data());
  for (const auto& b : module.buffers()) tensors.push_back(b.data());
  torch::NoGradGuard no_grad;
  group.broadcast(tensors, root);
}

GradientAverager::GradientAverager(std::shared_ptr<ProcessGroup> group,
                                   std::vector<torch::Tensor> parameters, int64_t bucket_bytes)
    : group_(std::move(group)), parameters_(std::move(parameters)) {
  TORCH_CHECK(group_ != nullptr, "GradientAverager: expected a process group, but got null");
  TORCH_CHECK(bucket_bytes > 0, "GradientAverager: expected bucket_bytes > 0, but got ",
              bucket_bytes);
  // Parameters go into buckets in order, a new bucket when the type or device changes or the
  // bucket is full.
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& p = parameters_[i];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool fits = !buckets_.empty() && sizes.back() + bytes <= bucket_bytes &&
                      buckets_.back().flat.scalar_type() == p.scalar_type() &&
                      buckets_.back().flat.device() == p.device();
    if (!fits) {
      buckets_.push_back({torch::empty({0}, p.options().requires_grad(false)), {}});
      sizes.push_back(0);
    }
    buckets_.back().members.push_back(i);
    sizes.back() += bytes;
  }
  for (auto& bucket : buckets_) {
    int64_t numel = 0;
    for (const size_t i : bucket.members) numel += parameters_[i].numel();
    bucket.flat = torch::zeros({numel}, bucket.flat.options());
    flats_.push_back(bucket.flat);
  }
}

void GradientAverager::synchronize() {
  torch::NoGradGuard no_grad;
  for (auto& bucket : buckets_) {
    int64_t offset = 0;
    for (const size_t i : bucket.members) {
      const auto& p = parameters_[i];
      auto slot = bucket.flat.narrow(0, offset, p.numel());
      if (p.grad().defined()) {
        slot.copy_(p.grad().reshape({-1}));
      } else {
        slot.zero_();
      }
      offset += p.numel();
    }
  }
  group_->all_reduce_sum(flats_);
  const double scale = 1.0 / static_cast<double>(group_->world_size());
  for (auto& bucket : buckets_) {
    bucket.flat.mul_(scale);
    int64_t offset = 0;
    for (const size_t i : bucket.members) {
      auto& p = parameters_[i];
      auto slot = bucket.flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(slot);
      } else {
        p.mutable_grad() = slot.clone();
      }
      offset += p.numel();
    }
  }
}

std::function<double(double)> all_reduce_loss(std::shared_ptr<ProcessGroup> group) {
  TORCH_CHECK(group != nullptr, "all_reduce_loss: expected a process group, but got null");
  return [group](double loss) { return group->all_reduce_mean(loss); };
}

std::function<double(double)> all_reduce_metric(std::shared_ptr<ProcessGroup> group) {
  TORCH_CHECK(group != nullptr, "all_reduce_metric: expected a process group, but got null");
  return [group](double metric) { return group->all_reduce_mean(metric); };
}

}  // namespace torchclr
