#pragma once

// What the command-line programs built on this example share: checked numeric flags, the data
// set flags, and the process set-up (threads, device, allocator, loading with a report).

#include <torch/types.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <thread>

#include "dataset.h"

namespace cifar10 {

// CLI11's own checks print their bounds with std::to_string (a 309-digit DBL_MAX), and its
// integer conversion clamps values past 64 bits and reads "010" as octal. These checks run on
// the text first and say what was expected and what was given; CLI11 prefixes the flag.
template <typename Int>
CLI::Validator integer_in(Int min, Int max) {
  const std::string expected =
      "an integer between " + std::to_string(min) + " and " + std::to_string(max);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        Int value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        const bool leading_zero = text.size() > 1 && text[0] == '0';
        if (error == std::errc() && stop == end && !leading_zero && value >= min && value <= max) {
          return "";
        }
        return "expected " + expected + ", but got '" + text + "'";
      },
      expected);
}

/// An integer of at least `min`.
CLI::Validator integer_at_least(int64_t min);

/// A finite number above `min` (or at least `min` when `inclusive`) and at most `max`.
CLI::Validator number_in(double min, bool inclusive, double max, const std::string& expected);

/// A positive finite number.
CLI::Validator positive_number();

/// The flags every subcommand takes: the data set, threads, device and seed.
struct Common {
  std::string dataset = "auto";
  std::string data_dir;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string device = "cpu";
  uint64_t seed = 1;
  /// Denormal floats as zero on the CPU (`--flush-denormal`).
  bool flush_denormal = false;
};

void add_common(CLI::App& app, Common& common);

/// The data set the flags name (auto: CIFAR-10 when found, else Fashion-MNIST, said on stderr).
DatasetKind resolve_dataset(const Common& common);

/// Threads, the allocator's settings and the device; a clear error for --device cuda without one.
/// With `flush_denormal`, denormals are flushed before LibTorch starts its threads, which inherit
/// the setting (a CPU that cannot flush them is an error naming the flag).
torch::Device setup(const Common& common);

/// The allocator's settings `setup` makes: glibc keeps the memory an iteration frees for the next
/// one instead of returning it to the system and faulting it back in.
void keep_freed_memory();

/// Loads the data and says how many images there are, warning where the files differ from the
/// official release (a file cut short trains on fewer images).
DataPair load(const Common& common, DatasetKind kind);

/// Runs a program's body and returns its exit status; an exception becomes "error: ..." on stderr
/// (LibTorch's without its backtrace) and status 1.
int exit_status(const std::function<int()>& body);

}  // namespace cifar10
