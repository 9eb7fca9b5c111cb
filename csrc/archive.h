#pragma once

// Helpers for the named keys torchclr writes into torch::serialize archives (not installed).

#include <c10/util/Exception.h>
#include <torch/serialize/archive.h>

#include <cstdint>
#include <string>
#include <vector>

namespace torchclr {
namespace detail {

void write_doubles(torch::serialize::OutputArchive& archive, const std::string& key,
                   const std::vector<double>& values);
std::vector<double> read_doubles(torch::serialize::InputArchive& archive, const std::string& key,
                                 const std::string& owner);

/// Reads per-group values and checks that there is one per param group.
std::vector<double> read_group_doubles(torch::serialize::InputArchive& archive,
                                       const std::string& key, const std::string& owner,
                                       size_t num_groups);

void write_ints(torch::serialize::OutputArchive& archive, const std::string& key,
                const std::vector<int64_t>& values);
std::vector<int64_t> read_ints(torch::serialize::InputArchive& archive, const std::string& key,
                               const std::string& owner);

void write_double(torch::serialize::OutputArchive& archive, const std::string& key, double value);
double read_double(torch::serialize::InputArchive& archive, const std::string& key,
                   const std::string& owner);

void write_int(torch::serialize::OutputArchive& archive, const std::string& key, int64_t value);
int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key,
                 const std::string& owner);

/// An enum written by `write_int`, checked to be one of its `count` values.
template <typename Enum>
Enum read_enum(torch::serialize::InputArchive& archive, const std::string& key,
               const std::string& owner, int64_t count) {
  const int64_t value = read_int(archive, key, owner);
  TORCH_CHECK(value >= 0 && value < count, owner, ": expected '", key, "' between 0 and ",
              count - 1, " in the checkpoint, but got ", value);
  return static_cast<Enum>(value);
}

}  // namespace detail
}  // namespace torchclr
