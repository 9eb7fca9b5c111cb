#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cifar10 {

/// A flat JSON object written in insertion order (enough for summary.json).
class Json {
 public:
  void add(const std::string& key, const std::string& value);
  void add(const std::string& key, const char* value) { add(key, std::string(value)); }
  void add(const std::string& key, double value);
  void add(const std::string& key, int64_t value);
  void add(const std::string& key, bool value);
  void add(const std::string& key, const std::optional<double>& value);
  std::string str() const;
  void write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// The number (null: nullopt) stored under `key` in a flat JSON object such as summary.json.
std::optional<double> json_number(const std::string& text, const std::string& key);
/// The string stored under `key`, or nullopt.
std::optional<std::string> json_string(const std::string& text, const std::string& key);
/// Whether `key` holds `true`.
bool json_true(const std::string& text, const std::string& key);

std::string read_text(const std::string& path);

/// Writes `bytes` to `path.partial`, flushes them to the disk and renames that file over `path`:
/// a kill at any moment leaves the old file or the new one, never a mix or an empty file.
void replace_file(const std::string& path, const std::string& bytes);

/// "AMD EPYC ... (2 cores), Linux 6.1": the CPU model, core count and kernel.
std::string machine_description();
std::string torch_version();

/// The command line as one shell-quoted string.
std::string command_line(int argc, char** argv);

/// Where a gnuplot script draws `image`: beside it, renamed over it once gnuplot has succeeded.
std::string gnuplot_output(const std::string& image);

/// Runs gnuplot on `script`, which draws each of `images` at its gnuplot_output(), then renames
/// them into place, so that a kill mid-plot never leaves a truncated image. Returns false (and
/// says why on stderr) when gnuplot is unavailable or fails.
bool run_gnuplot(const std::string& script_path, const std::vector<std::string>& images);

}  // namespace cifar10
