#pragma once

#include <string>
#include <vector>

namespace cifar10 {

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
