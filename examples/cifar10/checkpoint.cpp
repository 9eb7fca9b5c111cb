#include "checkpoint.h"

#include <c10/util/Exception.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "report.h"

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

uint64_t little_endian64(const std::string& bytes, size_t at) {
  return uint64_t{little_endian(bytes, at + 4, 4)} << 32 | little_endian(bytes, at, 4);
}

// The CRC32 of a raw deflate stream's output, or nullopt when the stream is broken or does not
// inflate to exactly `size` bytes. Inflates in chunks: a forged size allocates nothing.
std::optional<uint32_t> inflated_crc32(const char* data, size_t size, uint64_t expected) {
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) return std::nullopt;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  stream.avail_in = static_cast<uInt>(size);
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t total = 0;
  std::vector<Bytef> chunk(1 << 16);
  int status = Z_OK;
  while (status == Z_OK && total <= expected) {
    stream.next_out = chunk.data();
    stream.avail_out = static_cast<uInt>(chunk.size());
    status = inflate(&stream, Z_NO_FLUSH);
    const auto produced = chunk.size() - stream.avail_out;
    crc = crc32(crc, chunk.data(), static_cast<uInt>(produced));
    total += produced;
    if (status == Z_BUF_ERROR && produced == 0) break;  // the input ended inside the stream
    if (status == Z_BUF_ERROR) status = Z_OK;
  }
  const bool whole = status == Z_STREAM_END && stream.avail_in == 0 && total == expected;
  inflateEnd(&stream);
  if (!whole) return std::nullopt;
  return static_cast<uint32_t>(crc);
}

// LibTorch's zip reader skips the CRC32 that the zip records for each entry, and its unpickler
// and TorchScript type parser are not hardened against damaged input (a fuzzer crashed them with
// a damaged checkpoint). So before LibTorch sees a file, its zip structure is checked the way that
// reader will walk it (end record, zip64 record, central directory, local headers) and every
// entry against its CRC32. This covers checkpoints from before the file's own checksum too.
// A file forged with correct CRC32s is another matter: like any PyTorch checkpoint, only load
// checkpoints you trust.
void verify_zip(const std::string& bytes, size_t end_at, const std::string& name) {
  const auto check = [&](bool ok, const std::string& what) {
    TORCH_CHECK(ok, "checkpoint '", name, "' is damaged or not a checkpoint: ", what,
                "; resume from an intact copy, or start again without --resume");
  };
  check(little_endian(bytes, end_at + 4, 2) == 0 && little_endian(bytes, end_at + 6, 2) == 0,
        "its zip end record names another disk");
  const uint64_t entries = little_endian(bytes, end_at + 10, 2);
  const uint64_t directory_size = little_endian(bytes, end_at + 12, 4);
  const uint64_t directory_at = little_endian(bytes, end_at + 16, 4);
  check(little_endian(bytes, end_at + 8, 2) == entries, "its zip end record disagrees with itself");
  // LibTorch writes a zip64 end record and its locator before the end record, and reads the
  // directory from the zip64 one when they are there, so they must say the same.
  constexpr size_t kLocatorSize = 20, kZip64EndSize = 56;
  if (end_at >= kLocatorSize && little_endian(bytes, end_at - kLocatorSize, 4) == 0x07064b50) {
    const size_t locator = end_at - kLocatorSize;
    const uint64_t zip64_at = little_endian64(bytes, locator + 8);
    check(zip64_at <= locator && locator - zip64_at >= kZip64EndSize &&
              little_endian(bytes, static_cast<size_t>(zip64_at), 4) == 0x06064b50,
          "its zip64 locator points nowhere");
    const auto at = static_cast<size_t>(zip64_at);
    check(little_endian64(bytes, at + 24) == entries &&
              little_endian64(bytes, at + 32) == entries &&
              little_endian64(bytes, at + 40) == directory_size &&
              little_endian64(bytes, at + 48) == directory_at,
          "its zip64 end record disagrees with its end record");
    end_at = at;
  }
  check(entries > 0 && directory_at <= end_at && directory_size <= end_at - directory_at,
        "its zip central directory lies outside the file");
  const size_t data_end = static_cast<size_t>(directory_at);
  size_t at = data_end;
  const size_t directory_end = data_end + static_cast<size_t>(directory_size);
  for (uint64_t i = 0; i < entries; ++i) {
    check(at + 46 <= directory_end && little_endian(bytes, at, 4) == 0x02014b50,
          "its zip central directory ends before its " + std::to_string(entries) + " entries");
    const uint32_t flags = little_endian(bytes, at + 8, 2);
    const uint32_t method = little_endian(bytes, at + 10, 2);
    const uint32_t crc = little_endian(bytes, at + 16, 4);
    const uint64_t packed = little_endian(bytes, at + 20, 4);
    const uint64_t size = little_endian(bytes, at + 24, 4);
    const size_t name_size = little_endian(bytes, at + 28, 2);
    const size_t header_size =
        46 + name_size + little_endian(bytes, at + 30, 2) + little_endian(bytes, at + 32, 2);
    const uint64_t local = little_endian(bytes, at + 42, 4);
    check(at + header_size <= directory_end, "its zip central directory is cut short");
    const std::string entry = bytes.substr(at + 46, name_size);
    const std::string which = "its entry '" + entry + "'";
    check((flags & 1) == 0 && (method == 0 || method == 8) && packed != 0xffffffff &&
              size != 0xffffffff && local != 0xffffffff,
          which + " is encrypted, compressed with an unknown method or zip64");
    check(
        local + 30 <= data_end && little_endian(bytes, static_cast<size_t>(local), 4) == 0x04034b50,
        which + " has no local header where the directory says");
    const auto header = static_cast<size_t>(local);
    const size_t data_at =
        header + 30 + little_endian(bytes, header + 26, 2) + little_endian(bytes, header + 28, 2);
    check(little_endian(bytes, header + 26, 2) == name_size &&
              bytes.compare(header + 30, name_size, entry) == 0,
          which + " has another name in its local header");
    check(data_at <= data_end && packed <= data_end - data_at, which + " runs past its data");
    std::optional<uint32_t> actual;
    if (method == 0) {
      if (packed == size) actual = crc32_of(bytes.data() + data_at, static_cast<size_t>(size));
    } else {
      actual = inflated_crc32(bytes.data() + data_at, static_cast<size_t>(packed), size);
    }
    check(actual.has_value(),
          which + " does not unpack to the " + std::to_string(size) + " bytes the zip records");
    check(*actual == crc, which + " does not match the CRC32 the zip records for it (CRC32 " +
                              hex(crc) + ", contents " + hex(*actual) +
                              "): it changed after it was written (a flipped bit, a partial copy)");
    at += header_size;
  }
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

CheckpointFile read_checkpoint_file(const std::string& path, torch::Device device) {
  TORCH_CHECK(fs::is_regular_file(path), "checkpoint: no checkpoint file at '", path, "'");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  TORCH_CHECK(!in.bad(), "checkpoint: cannot read '", path, "'");
  return read_checkpoint_bytes(bytes, path, device);
}

CheckpointFile read_checkpoint_bytes(const std::string& bytes, const std::string& name,
                                     torch::Device device) {
  // A checkpoint ends with a zip end record and either this program's checksum comment or, from
  // before checksums, no comment (LibTorch writes none).
  const auto checksum = find_checksum(bytes);
  const auto end_at = checksum ? end_record(bytes, kChecksumCommentSize) : end_record(bytes, 0);
  TORCH_CHECK(end_at.has_value(), "checkpoint '", name,
              "' is damaged or not a checkpoint: it does not end with a zip end record and this "
              "program's checksum (a partial copy, a changed end, or another kind of file)");
  if (checksum) {
    const uint32_t actual = crc32_of(bytes.data(), checksum->covered);
    TORCH_CHECK(actual == checksum->stored, "checkpoint '", name,
                "' is damaged: its checksum (CRC32 ", hex(checksum->stored),
                ") does not match its contents (CRC32 ", hex(actual),
                "), so it changed after it was written (a flipped bit, a partial copy); resume "
                "from an intact copy, or start again without --resume");
  }
  verify_zip(bytes, *end_at, name);
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
