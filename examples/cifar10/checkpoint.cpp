#include "checkpoint.h"

#include <c10/util/Exception.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace fs = std::filesystem;

namespace cifar10 {
namespace {

// Every zip file ends with a 22-byte end-of-central-directory record and an optional comment;
// the comment's length is the record's last two bytes. LibTorch writes no comment, and reads
// files with one, so the checksum lives there.
constexpr size_t kEndRecordSize = 22;
constexpr uint32_t kEndRecordSignature = 0x06054b50;
const std::string kChecksumTag = "torchclr-crc32 ";  // followed by 8 hex digits
constexpr size_t kChecksumCommentSize = 15 + 8;

uint32_t little_endian(const std::string& bytes, size_t at, int size) {
  uint32_t value = 0;
  for (int i = size - 1; i >= 0; --i) {
    value = value << 8 | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
  }
  return value;
}

uint32_t crc32_of(const char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {  // zlib takes lengths as uInt
    const auto chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string hex(uint32_t value) {
  char buffer[9];
  std::snprintf(buffer, sizeof(buffer), "%08x", value);
  return buffer;
}

// Where the end record starts if `bytes` ends with one followed by a `comment_size`-byte comment.
std::optional<size_t> end_record(const std::string& bytes, size_t comment_size) {
  if (bytes.size() < kEndRecordSize + comment_size) return std::nullopt;
  const size_t at = bytes.size() - comment_size - kEndRecordSize;
  if (little_endian(bytes, at, 4) != kEndRecordSignature ||
      little_endian(bytes, at + 20, 2) != comment_size) {
    return std::nullopt;
  }
  return at;
}

struct Checksum {
  uint32_t stored;
  size_t covered;  // the bytes before the comment length, which the CRC32 covers
};

std::optional<Checksum> find_checksum(const std::string& bytes) {
  const auto at = end_record(bytes, kChecksumCommentSize);
  if (!at) return std::nullopt;
  const std::string comment = bytes.substr(*at + kEndRecordSize);
  if (comment.compare(0, kChecksumTag.size(), kChecksumTag) != 0) return std::nullopt;
  const std::string digits = comment.substr(kChecksumTag.size());
  if (digits.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  return Checksum{static_cast<uint32_t>(std::stoul(digits, nullptr, 16)), *at + 20};
}

// Writes `bytes` to `path` and flushes them to the disk before returning.
void write_durably(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TORCH_CHECK(fd >= 0, "cannot create '", path, "': ", std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      TORCH_CHECK(false, "cannot write '", path, "': ", std::strerror(error));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  TORCH_CHECK(::close(fd) == 0 && synced, "cannot write '", path, "': ", std::strerror(error));
}

// The first line of a LibTorch error, without its C++ backtrace.
std::string first_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  const std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  return text.substr(0, text.find('\n'));
}

int64_t read_format(torch::serialize::InputArchive& archive, const std::string& name) {
  c10::IValue format;
  if (!archive.try_read("format", format)) return 1;
  TORCH_CHECK(format.isInt() && format.toInt() >= 2 && format.toInt() <= kCheckpointFormat,
              "checkpoint '", name, "': expected format 1 to ", kCheckpointFormat, ", but got ",
              format.isInt() ? std::to_string(format.toInt()) : format.tagKind(),
              " (written by a newer cifar10?)");
  return format.toInt();
}

}  // namespace

void write_checkpoint_file(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream stream;
  archive.save_to(stream);
  std::string bytes = stream.str();
  const auto at = end_record(bytes, 0);
  TORCH_CHECK(at.has_value(), "checkpoint: expected LibTorch's archive for '", path,
              "' to end with a zip end record without a comment");
  const std::string comment = kChecksumTag + hex(crc32_of(bytes.data(), *at + 20));
  bytes[*at + 20] = static_cast<char>(comment.size() & 0xff);
  bytes[*at + 21] = static_cast<char>(comment.size() >> 8);
  bytes += comment;
  replace_file(path, bytes);
}

void replace_file(const std::string& path, const std::string& bytes) {
  const std::string partial = path + ".partial";
  write_durably(partial, bytes);
  std::error_code error;
  fs::rename(partial, path, error);
  TORCH_CHECK(!error, "cannot replace '", path, "': ", error.message());
}

CheckpointFile read_checkpoint_file(const std::string& path, torch::Device device) {
  TORCH_CHECK(fs::is_regular_file(path), "checkpoint: no checkpoint file at '", path, "'");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  TORCH_CHECK(!in.bad(), "checkpoint: cannot read '", path, "'");
  return read_checkpoint_bytes(bytes, path, device);
}

CheckpointFile read_checkpoint_bytes(const std::string& bytes, const std::string& name,
                                     torch::Device device) {
  const auto checksum = find_checksum(bytes);
  if (checksum) {
    const uint32_t actual = crc32_of(bytes.data(), checksum->covered);
    TORCH_CHECK(actual == checksum->stored, "checkpoint '", name,
                "' is damaged: its checksum (CRC32 ", hex(checksum->stored),
                ") does not match its contents (CRC32 ", hex(actual),
                "), so it changed after it was written (a flipped bit, a partial copy); resume "
                "from an intact copy, or start again without --resume");
  }
  CheckpointFile file;
  try {
    file.archive.load_from(bytes.data(), bytes.size(), device);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "checkpoint '", name, "' is damaged or not a checkpoint (", first_line(e),
                ")");
  }
  file.format = read_format(file.archive, name);
  TORCH_CHECK(file.format == 1 || checksum.has_value(), "checkpoint '", name,
              "' is damaged: it is format ", file.format,
              " but its checksum is missing (the end of the file changed)");
  return file;
}

std::string format_flags(const std::vector<Flag>& flags) {
  std::string text;
  for (const auto& [flag, value] : flags) text += flag + "=" + value + "\n";
  return text;
}

std::vector<Flag> parse_flags(const std::string& text) {
  std::vector<Flag> flags;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find('=');
    if (equals != std::string::npos)
      flags.emplace_back(line.substr(0, equals), line.substr(equals + 1));
  }
  return flags;
}

std::vector<std::string> flag_differences(const std::vector<Flag>& recorded,
                                          const std::vector<Flag>& given) {
  const auto value_in = [](const std::vector<Flag>& flags, const std::string& flag) {
    for (const auto& [name, value] : flags) {
      if (name == flag) return value;
    }
    return std::string("none");
  };
  std::vector<std::string> differences;
  const auto compare = [&](const std::string& flag) {
    const auto before = value_in(recorded, flag), now = value_in(given, flag);
    if (before != now) {
      differences.push_back(flag + ": the checkpoint has " + before + ", the flags give " + now);
    }
  };
  for (const auto& entry : recorded) compare(entry.first);
  for (const auto& entry : given) {
    if (value_in(recorded, entry.first) == "none") compare(entry.first);
  }
  return differences;
}

}  // namespace cifar10
