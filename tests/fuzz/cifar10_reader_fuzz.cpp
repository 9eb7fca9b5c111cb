// libFuzzer target: the CIFAR-10 binary reader (and the Fashion-MNIST IDX reader) on any bytes.
// Build and run: scripts/fuzz.sh (docs/checks.md).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string scratch =
      (std::filesystem::temp_directory_path() / ("cifar10-reader-fuzz-" + std::to_string(getpid())))
          .string();
  cifar10_fuzz::read_data_file(data, size, scratch);
  return 0;
}
