#include "archive.h"

#include <ATen/core/ivalue.h>
#include <c10/util/Exception.h>
#include <torch/types.h>

namespace torchclr {
namespace detail {
namespace {

c10::IValue read_value(torch::serialize::InputArchive& archive, const std::string& key,
                       const std::string& owner) {
  c10::IValue value;
  TORCH_CHECK(archive.try_read(key, value), owner, ": expected the key '", key,
              "' in the checkpoint, but it is missing");
  return value;
}

torch::Tensor read_tensor(torch::serialize::InputArchive& archive, const std::string& key,
                          const std::string& owner) {
  torch::Tensor tensor;
  TORCH_CHECK(archive.try_read(key, tensor), owner, ": expected the key '", key,
              "' in the checkpoint, but it is missing");
  return tensor.contiguous();
}

}  // namespace

void write_doubles(torch::serialize::OutputArchive& archive, const std::string& key,
                   const std::vector<double>& values) {
  archive.write(key, torch::tensor(values, torch::kFloat64));
}

std::vector<double> read_doubles(torch::serialize::InputArchive& archive, const std::string& key,
                                 const std::string& owner) {
  const torch::Tensor tensor = read_tensor(archive, key, owner);
  TORCH_CHECK(tensor.scalar_type() == torch::kFloat64 && tensor.dim() == 1, owner, ": expected '",
              key, "' to be a 1-d float64 tensor, but got ", tensor.scalar_type(), " with ",
              tensor.dim(), " dimensions");
  const double* data = tensor.data_ptr<double>();
  return std::vector<double>(data, data + tensor.numel());
}

std::vector<double> read_group_doubles(torch::serialize::InputArchive& archive,
                                       const std::string& key, const std::string& owner,
                                       size_t num_groups) {
  std::vector<double> values = read_doubles(archive, key, owner);
  TORCH_CHECK(values.size() == num_groups, owner, ": expected '", key, "' to hold one value per ",
              "param group (", num_groups, "), but got ", values.size());
  return values;
}

void write_ints(torch::serialize::OutputArchive& archive, const std::string& key,
                const std::vector<int64_t>& values) {
  archive.write(key, torch::tensor(values, torch::kInt64));
}

std::vector<int64_t> read_ints(torch::serialize::InputArchive& archive, const std::string& key,
                               const std::string& owner) {
  const torch::Tensor tensor = read_tensor(archive, key, owner);
  TORCH_CHECK(tensor.scalar_type() == torch::kInt64 && tensor.dim() == 1, owner, ": expected '",
              key, "' to be a 1-d int64 tensor, but got ", tensor.scalar_type(), " with ",
              tensor.dim(), " dimensions");
  const int64_t* data = tensor.data_ptr<int64_t>();
  return std::vector<int64_t>(data, data + tensor.numel());
}

void write_double(torch::serialize::OutputArchive& archive, const std::string& key, double value) {
  archive.write(key, c10::IValue(value));
}

double read_double(torch::serialize::InputArchive& archive, const std::string& key,
                   const std::string& owner) {
  const c10::IValue value = read_value(archive, key, owner);
  TORCH_CHECK(value.isDouble(), owner, ": expected '", key, "' to be a double, but got ",
              value.tagKind());
  return value.toDouble();
}

void write_int(torch::serialize::OutputArchive& archive, const std::string& key, int64_t value) {
  archive.write(key, c10::IValue(value));
}

int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key,
                 const std::string& owner) {
  const c10::IValue value = read_value(archive, key, owner);
  TORCH_CHECK(value.isInt(), owner, ": expected '", key, "' to be an integer, but got ",
              value.tagKind());
  return value.toInt();
}

}  // namespace detail
}  // namespace torchclr
