#pragma once

// What the fuzz targets feed outside input to, through the CIFAR-10 example's public API. Shared
// by the libFuzzer entry points (tests/fuzz/*_fuzz.cpp) and the regression test that replays
// every committed input in an ordinary build (tests/cifar10_test.cpp).

#include <cstddef>
#include <cstdint>
#include <string>

namespace cifar10_fuzz {

/// Writes `data` as a CIFAR-10 test_batch.bin (first byte even) or as a Fashion-MNIST image file
/// (first byte odd; the rest of the input after it) in a scratch directory under `scratch` and
/// reads it with the example's readers. Returns normally when the input is read or rejected with
/// an exception; anything else (a crash, a sanitizer report) is a finding.
void read_data_file(const uint8_t* data, size_t size, const std::string& scratch);

/// Reads `data` as a checkpoint and, when that succeeds, resumes the paper's network, an SGD
/// optimizer and a schedule from it, as `cifar10 train --resume` does.
void resume_from_checkpoint(const uint8_t* data, size_t size);

}  // namespace cifar10_fuzz
