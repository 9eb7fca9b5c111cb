#pragma once

// Checkpoint files: one LibTorch archive, written atomically, with a CRC32 of its bytes.

#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace cifar10 {

/// A command-line flag of a run and its value, e.g. {"--policy", "triangular2"}.
using Flag = std::pair<std::string, std::string>;

/// The checkpoint format this program writes: 2 adds the run's flags and a CRC32 (in the zip
/// comment, so the file stays an ordinary LibTorch archive); 1 had neither.
constexpr int64_t kCheckpointFormat = 2;

/// Writes `archive` to `path` with a CRC32 of its bytes, through `replace_file`.
void write_checkpoint_file(torch::serialize::OutputArchive& archive, const std::string& path);

/// A checkpoint read back, its CRC32 verified.
struct CheckpointFile {
  torch::serialize::InputArchive archive;
  /// 1: written before flags and checksums were recorded (only its zip entries' CRC32s were
  /// verified); 2: the file's CRC32 verified too.
  int64_t format = 1;
};

/// Reads the checkpoint at `path` onto `device`. A file whose CRC32 does not match its bytes,
/// a zip entry that does not match its own CRC32 (checked before LibTorch reads the file, which
/// skips them), a truncated or damaged archive, or a file that is not a checkpoint is a
/// c10::Error that names the file.
CheckpointFile read_checkpoint_file(const std::string& path, torch::Device device = torch::kCPU);

/// The same for the bytes of a file; `name` stands for the file in errors.
CheckpointFile read_checkpoint_bytes(const std::string& bytes, const std::string& name,
                                     torch::Device device = torch::kCPU);

/// Flags as stored in a checkpoint: one "flag=value" line each.
std::string format_flags(const std::vector<Flag>& flags);
std::vector<Flag> parse_flags(const std::string& text);

/// One line per flag whose value differs, in the order of `recorded` then `given`:
/// "--policy: the checkpoint has triangular, the flags give triangular2" ("none" for a flag one
/// side does not have).
std::vector<std::string> flag_differences(const std::vector<Flag>& recorded,
                                          const std::vector<Flag>& given);

}  // namespace cifar10
