#include "dataset.h"

#include <torch/torch.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace cifar10 {
namespace {

constexpr int64_t kImageSide = 32;
constexpr int64_t kPlane = kImageSide * kImageSide;

// A data directory that exists but is a file: said as such, not as "does not exist".
void check_not_a_file(const char* dataset, const std::string& root) {
  TORCH_CHECK(!fs::exists(root) || fs::is_directory(root), dataset, ": expected --data-dir to be ",
              "a directory, but '", root, "' is a file, not a directory");
}

// Records per file and images per split that differ from the official releases.
std::vector<std::string> count_warnings(const DataPair& pair, const std::string& root) {
  std::vector<std::string> warnings;
  if (pair.kind == DatasetKind::Cifar10) {
    for (const auto split : {Split::Train, Split::Test}) {
      for (const auto& path : cifar10_files(root, split)) {
        const auto records = static_cast<int64_t>(fs::file_size(path)) / kCifarRecordBytes;
        if (records != kCifarRecordsPerFile) {
          warnings.push_back(path + " holds " + std::to_string(records) + " records, not " +
                             std::to_string(kCifarRecordsPerFile));
        }
      }
    }
  }
  const int64_t expected_train = pair.kind == DatasetKind::Cifar10 ? 50000 : 60000;
  if (pair.train.size() != expected_train || pair.test.size() != 10000) {
    warnings.push_back("the official release has " + std::to_string(expected_train) +
                       " training and 10000 test images, but these files hold " +
                       std::to_string(pair.train.size()) + " and " +
                       std::to_string(pair.test.size()) +
                       ": results are not comparable with the paper's");
  }
  return warnings;
}

std::string batches_dir(const std::string& root) {
  TORCH_CHECK(!root.empty(), "CIFAR-10: no data directory given");
  check_not_a_file("CIFAR-10", root);
  TORCH_CHECK(fs::is_directory(root), "CIFAR-10: data directory '", root,
              "' does not exist (expected the cifar-10-batches-bin directory of the binary "
              "release, or a directory that contains it)");
  const fs::path nested = fs::path(root) / "cifar-10-batches-bin";
  return fs::is_directory(nested) ? nested.string() : root;
}

// One file of the binary release as a uint8 tensor of shape [records, 3073].
torch::Tensor read_records(const std::string& path) {
  TORCH_CHECK(fs::is_regular_file(path), "CIFAR-10: missing file '", path, "' (expected ",
              kCifarRecordsPerFile * kCifarRecordBytes, " bytes: ", kCifarRecordsPerFile,
              " records of ", kCifarRecordBytes, " bytes)");
  const auto bytes = static_cast<int64_t>(fs::file_size(path));
  TORCH_CHECK(bytes > 0 && bytes % kCifarRecordBytes == 0, "CIFAR-10: '", path, "' has ", bytes,
              " bytes, which is not a whole number of ", kCifarRecordBytes,
              "-byte records (expected ", kCifarRecordsPerFile * kCifarRecordBytes,
              " bytes: ", kCifarRecordsPerFile, " records)");
  auto records = torch::empty({bytes / kCifarRecordBytes, kCifarRecordBytes}, torch::kUInt8);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(records.data_ptr<uint8_t>()), bytes);
  TORCH_CHECK(in.gcount() == bytes, "CIFAR-10: could not read '", path, "' (read ", in.gcount(),
              " of ", bytes, " bytes)");
  return records;
}

void check_labels(const torch::Tensor& labels, const std::string& path) {
  const auto max = labels.max().item<int64_t>();
  if (max > 9) {
    const auto record = labels.gt(9).nonzero()[0].item<int64_t>();
    TORCH_CHECK(false, "CIFAR-10: '", path, "' has label ", max, " in record ", record,
                " (labels are 0-9; is this a CIFAR-100 file?)");
  }
}

std::vector<uint8_t> read_maybe_gzipped(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  TORCH_CHECK(file != nullptr, "Fashion-MNIST: cannot open '", path, "'");
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0)
    bytes.insert(bytes.end(), buffer, buffer + n);
  const bool failed = n < 0;
  gzclose(file);
  TORCH_CHECK(!failed, "Fashion-MNIST: '", path, "' is not a valid gzip or IDX file");
  return bytes;
}

uint32_t big_endian(const std::vector<uint8_t>& bytes, size_t offset) {
  return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) |
         (uint32_t{bytes[offset + 2]} << 8) | uint32_t{bytes[offset + 3]};
}

std::string idx_path(const std::string& root, const std::string& name) {
  const fs::path plain = fs::path(root) / name;
  if (fs::is_regular_file(plain)) return plain.string();
  const fs::path gz = fs::path(root) / (name + ".gz");
  TORCH_CHECK(fs::is_regular_file(gz), "Fashion-MNIST: missing file '", gz.string(), "' (or '",
              plain.string(), "')");
  return gz.string();
}

}  // namespace

std::vector<std::string> cifar10_files(const std::string& root, Split split) {
  const std::string dir = batches_dir(root);
  std::vector<std::string> files;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) {
      files.push_back((fs::path(dir) / ("data_batch_" + std::to_string(i) + ".bin")).string());
    }
  } else {
    files.push_back((fs::path(dir) / "test_batch.bin").string());
  }
  return files;
}

ImageData read_cifar10(const std::string& root, Split split) {
  std::vector<torch::Tensor> parts;
  for (const auto& path : cifar10_files(root, split)) {
    auto records = read_records(path);
    check_labels(records.select(1, 0), path);
    parts.push_back(std::move(records));
  }
  const auto records = parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
  ImageData data;
  data.targets = records.select(1, 0).to(torch::kInt64);
  data.images = records.narrow(1, 1, 3 * kPlane)
                    .reshape({-1, 3, kImageSide, kImageSide})
                    .to(torch::kFloat32)
                    .contiguous();
  return data;
}

ImageData read_fashion_mnist(const std::string& root, Split split) {
  check_not_a_file("Fashion-MNIST", root);
  TORCH_CHECK(fs::is_directory(root), "Fashion-MNIST: data directory '", root,
              "' does not exist (Debian's dataset-fashion-mnist package installs it in "
              "/usr/share/datasets/fashion-mnist)");
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const auto images_path = idx_path(root, prefix + "-images-idx3-ubyte");
  const auto labels_path = idx_path(root, prefix + "-labels-idx1-ubyte");
  const auto images = read_maybe_gzipped(images_path);
  const auto labels = read_maybe_gzipped(labels_path);
  TORCH_CHECK(images.size() >= 16 && big_endian(images, 0) == 0x803, "Fashion-MNIST: '",
              images_path, "' is not an IDX image file");
  TORCH_CHECK(labels.size() >= 8 && big_endian(labels, 0) == 0x801, "Fashion-MNIST: '", labels_path,
              "' is not an IDX label file");
  const int64_t n = big_endian(images, 4), rows = big_endian(images, 8),
                cols = big_endian(images, 12);
  TORCH_CHECK(rows == 28 && cols == 28 && static_cast<int64_t>(images.size()) == 16 + n * 784,
              "Fashion-MNIST: '", images_path, "' should hold ", n, " 28x28 images (", 16 + n * 784,
              " bytes), but has ", images.size(), " bytes");
  TORCH_CHECK(big_endian(labels, 4) == n && static_cast<int64_t>(labels.size()) == 8 + n,
              "Fashion-MNIST: '", labels_path, "' should hold ", n, " labels");
  auto raw =
      torch::from_blob(const_cast<uint8_t*>(images.data()) + 16, {n, 1, 28, 28}, torch::kUInt8);
  ImageData data;
  data.images = torch::constant_pad_nd(raw.to(torch::kFloat32), {2, 2, 2, 2}).contiguous();
  data.targets = torch::from_blob(const_cast<uint8_t*>(labels.data()) + 8, {n}, torch::kUInt8)
                     .to(torch::kInt64);
  check_labels(data.targets, labels_path);
  return data;
}

torch::Tensor mean_image(const ImageData& train) {
  return train.images.to(torch::kFloat64).mean(0).to(torch::kFloat32);
}

void subtract_mean(ImageData& data, const torch::Tensor& mean) { data.images.sub_(mean); }

DataPair load_data(DatasetKind kind, const std::string& dir) {
  DataPair pair;
  pair.kind = kind;
  if (kind == DatasetKind::Cifar10) {
    const std::string root = dir.empty() ? find_cifar10_dir() : dir;
    TORCH_CHECK(!root.empty(),
                "CIFAR-10: not found in $CIFAR10_DIR or data/cifar10; run scripts/get_cifar10.sh "
                "or pass --data-dir");
    pair.train = read_cifar10(root, Split::Train);
    pair.test = read_cifar10(root, Split::Test);
    pair.description = "CIFAR-10 (" + batches_dir(root) + ")";
    pair.warnings = count_warnings(pair, root);
  } else {
    const std::string root = dir.empty() ? "/usr/share/datasets/fashion-mnist" : dir;
    pair.train = read_fashion_mnist(root, Split::Train);
    pair.test = read_fashion_mnist(root, Split::Test);
    pair.description = "Fashion-MNIST (" + root + ", padded to 32x32)";
    pair.warnings = count_warnings(pair, root);
  }
  const auto mean = mean_image(pair.train);
  subtract_mean(pair.train, mean);
  subtract_mean(pair.test, mean);
  return pair;
}

std::string describe_counts(const DataPair& data) {
  return data.description + ": " + std::to_string(data.train.size()) + " training and " +
         std::to_string(data.test.size()) + " test images";
}

std::string find_cifar10_dir() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("CIFAR10_DIR")) candidates.emplace_back(env);
  candidates.emplace_back("data/cifar10");
  for (const auto& dir : candidates) {
    for (const auto& sub : {fs::path(dir), fs::path(dir) / "cifar-10-batches-bin"}) {
      if (fs::is_regular_file(sub / "test_batch.bin")) return dir;
    }
  }
  return "";
}

torch::data::Example<> TensorImageDataset::get_batch(c10::ArrayRef<size_t> indices) {
  auto index = torch::empty({static_cast<int64_t>(indices.size())}, torch::kInt64);
  auto* out = index.data_ptr<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) out[i] = static_cast<int64_t>(indices[i]);
  return {data_.images.index_select(0, index), data_.targets.index_select(0, index)};
}

void gather_batch(const ImageData& data, const torch::Tensor& indices, torch::Tensor& images,
                  torch::Tensor& targets) {
  torch::index_select_out(images, data.images, 0, indices);
  torch::index_select_out(targets, data.targets, 0, indices);
}

}  // namespace cifar10
