#include "report.h"

#include <c10/util/Exception.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <torch/version.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace cifar10 {
namespace {

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

}  // namespace

std::string machine_description() {
  std::string cpu = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ostringstream out;
  out << cpu << " (" << std::thread::hardware_concurrency() << " cores)";
  utsname name{};
  if (uname(&name) == 0) out << ", " << name.sysname << " " << name.release;
  return out.str();
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

std::string command_line(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    const bool plain = !arg.empty() && arg.find_first_of(" \t\"'$\\;&|<>*?()") == std::string::npos;
    if (i) out += " ";
    if (plain) {
      out += arg;
    } else {
      std::string quoted = "'";
      for (const char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += quoted + "'";
    }
  }
  return out;
}

void replace_file(const std::string& path, const std::string& bytes) {
  const std::string partial = path + ".partial";
  write_durably(partial, bytes);
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  TORCH_CHECK(!error, "cannot replace '", path, "': ", error.message());
}

std::string gnuplot_output(const std::string& image) { return image + ".partial"; }

bool run_gnuplot(const std::string& script_path, const std::vector<std::string>& images) {
  const std::string command = "gnuplot '" + script_path + "'";
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::cerr << "gnuplot not found: the plots were not drawn (the script is " << script_path
              << "; on Debian: apt install gnuplot-nox)\n";
    return false;
  }
  if (std::system(command.c_str()) != 0) {
    std::cerr << "gnuplot failed on " << script_path << "\n";
    return false;
  }
  for (const auto& image : images) {
    std::error_code error;
    std::filesystem::rename(gnuplot_output(image), image, error);
    if (error) {
      std::cerr << "gnuplot drew no " << gnuplot_output(image) << " (" << error.message() << ")\n";
      return false;
    }
  }
  return true;
}

}  // namespace cifar10
