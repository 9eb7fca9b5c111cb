#pragma once

// Helpers for the named keys torchclr writes into torch::serialize archives (not installed).

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

}  // namespace detail
}  // namespace torchclr
