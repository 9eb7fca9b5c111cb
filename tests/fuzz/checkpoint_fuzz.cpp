// libFuzzer target: `cifar10 train --resume` on any bytes: the checkpoint reader, its checksum
// and header, and the restore of model, optimizer and schedule.
// Build and run: scripts/fuzz.sh (docs/checks.md).
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>

#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool single_thread = [] {
    torch::set_num_threads(1);
    return true;
  }();
  (void)single_thread;
  cifar10_fuzz::resume_from_checkpoint(data, size);
  return 0;
}
