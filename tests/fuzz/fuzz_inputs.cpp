#include "fuzz_inputs.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "checkpoint.h"
#include "dataset.h"
#include "model.h"
#include "policies.h"
#include "resume.h"
#include "train.h"

namespace fs = std::filesystem;

namespace cifar10_fuzz {
namespace {

void write_bytes(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// A valid Fashion-MNIST label file for `images` images, so that the image file is what varies.
void write_labels(const fs::path& path, uint32_t images) {
  std::vector<uint8_t> bytes{0, 0, 8, 1};
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<uint8_t>(images >> shift));
  bytes.resize(bytes.size() + std::min<uint32_t>(images, 1u << 20), 0);
  write_bytes(path, bytes.data(), bytes.size());
}

uint32_t idx_count(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  return uint32_t{data[4]} << 24 | uint32_t{data[5]} << 16 | uint32_t{data[6]} << 8 | data[7];
}

}  // namespace

void read_data_file(const uint8_t* data, size_t size, const std::string& scratch) {
  const fs::path dir = fs::path(scratch) / "cifar-10-batches-bin";
  fs::create_directories(dir);
  try {
    if (size == 0 || data[0] % 2 == 0) {
      write_bytes(dir / "test_batch.bin", data, size);
      const auto images = cifar10::read_cifar10(scratch, cifar10::Split::Test);
      (void)images.images.sum().item<float>();
    } else {
      write_bytes(fs::path(scratch) / "t10k-images-idx3-ubyte", data + 1, size - 1);
      write_labels(fs::path(scratch) / "t10k-labels-idx1-ubyte", idx_count(data + 1, size - 1));
      const auto images = cifar10::read_fashion_mnist(scratch, cifar10::Split::Test);
      (void)images.images.sum().item<float>();
    }
  } catch (const std::exception&) {
    // Rejected with an error: what a bad file should get.
  }
}

void resume_from_checkpoint(const uint8_t* data, size_t size) {
  try {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    auto file = cifar10::read_checkpoint_bytes(bytes, "fuzz input");
    const auto header = cifar10::read_checkpoint_header(file, "fuzz input");
    cifar10::CifarNet model;
    const auto groups = cifar10::caffe_param_groups(model);
    auto optimizer = cifar10::make_optimizer(cifar10::OptimizerKind::Sgd, groups, 0.001);
    cifar10::PolicyOptions policy;
    policy.iterations = std::max<int64_t>(header.iteration, 1);
    const auto scheduler =
        cifar10::make_scheduler(*optimizer, cifar10::OptimizerKind::Sgd, policy,
                                cifar10::lr_multipliers(groups), header.iteration);
    cifar10::restore_checkpoint(file.archive, "fuzz input", model, *optimizer, *scheduler);
  } catch (const std::exception&) {
    // Rejected with an error: what a damaged checkpoint should get.
  }
}

}  // namespace cifar10_fuzz
