#include "cli.h"

#include <malloc.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <cmath>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace cifar10 {

// LibTorch's CPU allocator frees every activation at the end of an iteration. By default glibc
// returns the top of the heap to the system and the next iteration faults the same pages in
// again, zero-filled; keeping them (up to glibc's 32 MiB mmap limit per block) removes that cost.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

CLI::Validator integer_at_least(int64_t min) {
  return integer_in<int64_t>(min, std::numeric_limits<int64_t>::max());
}

CLI::Validator number_in(double min, bool inclusive, double max, const std::string& expected) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error == std::errc() && stop == end && std::isfinite(value) &&
            (inclusive ? value >= min : value > min) && value <= max) {
          return "";
        }
        return "expected " + expected + ", but got '" + text + "'";
      },
      expected);
}

CLI::Validator positive_number() {
  return number_in(0.0, false, std::numeric_limits<double>::max(), "a positive finite number");
}

void add_common(CLI::App& app, Common& common) {
  app.add_option("--dataset", common.dataset,
                 "cifar10, fashion-mnist, or auto: CIFAR-10 when found, else Fashion-MNIST")
      ->check(CLI::IsMember({"auto", "cifar10", "fashion-mnist"}))
      ->capture_default_str();
  app.add_option("--data-dir", common.data_dir,
                 "CIFAR-10's cifar-10-batches-bin (or its parent); default $CIFAR10_DIR or "
                 "data/cifar10. Fashion-MNIST: default /usr/share/datasets/fashion-mnist");
  app.add_option("--threads", common.threads, "intra-op threads (default: all cores)")
      ->check(integer_in<int>(1, 4096))
      ->capture_default_str();
  app.add_option("--device", common.device, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--seed", common.seed, "initialisation and data-order seed")
      ->check(integer_in<uint64_t>(0, std::numeric_limits<uint64_t>::max()))
      ->capture_default_str();
  app.add_flag("--flush-denormal", common.flush_denormal,
               "treat denormal floats as zero on the CPU: many times faster where the adaptive "
               "optimizers' running averages decay into the denormal range (RMSprop, AdaGrad, "
               "AdaDelta, Adam on CPUs that slow down on denormals); training goes on to other "
               "bits than without it");
}

DatasetKind resolve_dataset(const Common& common) {
  if (common.dataset == "cifar10") return DatasetKind::Cifar10;
  if (common.dataset == "fashion-mnist") return DatasetKind::FashionMnist;
  if (!common.data_dir.empty() || !find_cifar10_dir().empty()) {
    return DatasetKind::Cifar10;
  }
  std::cerr << "CIFAR-10 not found ($CIFAR10_DIR, data/cifar10): using Fashion-MNIST. Run "
               "scripts/get_cifar10.sh to get CIFAR-10.\n";
  return DatasetKind::FashionMnist;
}

torch::Device setup(const Common& common) {
  keep_freed_memory();
  // Before any intra-op thread exists: the flush is the calling thread's, and a new thread starts
  // with its creator's floating-point environment, so LibTorch's threads flush denormals too.
  if (common.flush_denormal && !at::globalContext().setFlushDenormal(true)) {
    throw std::runtime_error(
        "--flush-denormal: this CPU cannot treat denormal floats as zero (it needs SSE3's "
        "denormals-are-zero); run without the flag");
  }
  torch::set_num_threads(common.threads);
  if (common.device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw std::runtime_error(
          "--device cuda: no CUDA device is available to this LibTorch (a CPU-only build, or no "
          "GPU visible); use --device cpu");
    }
    return torch::kCUDA;
  }
  return torch::kCPU;
}

DataPair load(const Common& common, DatasetKind kind) {
  std::cerr << "loading " << (kind == DatasetKind::Cifar10 ? "CIFAR-10" : "Fashion-MNIST")
            << "...\n";
  auto data = load_data(kind, common.data_dir);
  std::cerr << describe_counts(data) << "\n";
  for (const auto& warning : data.warnings) std::cerr << "warning: " << warning << "\n";
  return data;
}

int exit_status(const std::function<int()>& body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 1;
}

}  // namespace cifar10
