#pragma once

#include <torch/data/datasets/base.h>
#include <torch/data/example.h>
#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cifar10 {

/// Which half of a data set to read.
enum class Split { Train, Test };

/// A whole image-classification data set held in two contiguous tensors.
///
/// `images` is float32 `[N, C, 32, 32]`, `targets` is int64 `[N]`. A batch is gathered with one
/// `index_select` per tensor, never by stacking per-example tensors.
struct ImageData {
  torch::Tensor images;
  torch::Tensor targets;
  int64_t size() const { return targets.size(0); }
};

/// The number of bytes of one record of CIFAR-10's binary release: a label byte, then the red,
/// green and blue 32x32 planes.
constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;
/// Records in each file of the official release.
constexpr int64_t kCifarRecordsPerFile = 10000;

/// The files of a split in `cifar-10-batches-bin/` (full paths).
std::vector<std::string> cifar10_files(const std::string& root, Split split);

/// Reads CIFAR-10's binary release. `root` is either the `cifar-10-batches-bin` directory or a
/// directory that contains it. Pixels are returned as float32 in [0, 255], not yet centred.
/// A missing directory or file, a file whose size is not a multiple of 3073 bytes, or a label
/// above 9 throws a `c10::Error` naming the file.
ImageData read_cifar10(const std::string& root, Split split);

/// Reads Fashion-MNIST's IDX files (gzipped or not) from `root`, padding every 28x28 image with
/// zeros to 32x32 (one channel), float32 in [0, 255].
ImageData read_fashion_mnist(const std::string& root, Split split);

/// Caffe's preprocessing: the per-pixel mean image of `train` (shape `[C, 32, 32]`).
torch::Tensor mean_image(const ImageData& train);

/// Subtracts `mean` (from `mean_image`) from every image, in place.
void subtract_mean(ImageData& data, const torch::Tensor& mean);

/// The data sets the examples know.
enum class DatasetKind { Cifar10, FashionMnist };

/// A train and a test split, both centred with the training set's mean image.
struct DataPair {
  ImageData train;
  ImageData test;
  DatasetKind kind = DatasetKind::Cifar10;
  std::string description;  ///< e.g. "CIFAR-10 (data/cifar10/cifar-10-batches-bin)"
  /// What differs from the official release: a file with another number of records, other
  /// totals than 50,000 and 10,000 images (Fashion-MNIST: 60,000 and 10,000). Empty when none.
  std::vector<std::string> warnings;
};

/// Loads `kind` from `dir` (for Fashion-MNIST an empty `dir` means Debian's
/// /usr/share/datasets/fashion-mnist) and subtracts the training mean from both splits.
DataPair load_data(DatasetKind kind, const std::string& dir);

/// "CIFAR-10 (...): 50000 training and 10000 test images".
std::string describe_counts(const DataPair& data);

/// Where CIFAR-10 is looked for when no directory is given: `$CIFAR10_DIR`, then
/// `data/cifar10` under the working directory. Returns "" when neither holds the binary release.
std::string find_cifar10_dir();

/// CIFAR-10 (or any `ImageData`) as a `torch::data` dataset whose `get_batch` gathers a whole
/// batch with `index_select`, so `torch::data::make_data_loader` works without stacking.
class TensorImageDataset
    : public torch::data::datasets::BatchDataset<TensorImageDataset, torch::data::Example<>,
                                                 c10::ArrayRef<size_t>> {
 public:
  explicit TensorImageDataset(ImageData data) : data_(std::move(data)) {}

  torch::data::Example<> get_batch(c10::ArrayRef<size_t> indices) override;
  c10::optional<size_t> size() const override { return static_cast<size_t>(data_.size()); }

  const ImageData& data() const { return data_; }

 private:
  ImageData data_;
};

/// Gathers rows `indices` of `data` into preallocated `images` and `targets` (no allocation).
void gather_batch(const ImageData& data, const torch::Tensor& indices, torch::Tensor& images,
                  torch::Tensor& targets);

}  // namespace cifar10
