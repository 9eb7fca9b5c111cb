#include "report.h"

#include <c10/util/Exception.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <torch/version.h>
#include <unistd.h>

#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace cifar10 {
namespace {

std::string quote(const std::string& value) {
  std::string out = "\"";
  for (const char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string format_double(double value) {
  if (!std::isfinite(value)) return "null";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.10g", value);
  return buffer;
}

// The raw text after `"key":`, or npos.
size_t value_position(const std::string& text, const std::string& key) {
  const auto at = text.find("\"" + key + "\"");
  if (at == std::string::npos) return std::string::npos;
  auto colon = text.find(':', at + key.size() + 2);
  if (colon == std::string::npos) return std::string::npos;
  ++colon;
  while (colon < text.size() && std::isspace(static_cast<unsigned char>(text[colon]))) ++colon;
  return colon;
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

}  // namespace

void Json::add(const std::string& key, const std::string& value) {
  fields_.emplace_back(key, quote(value));
}
void Json::add(const std::string& key, double value) {
  fields_.emplace_back(key, format_double(value));
}
void Json::add(const std::string& key, int64_t value) {
  fields_.emplace_back(key, std::to_string(value));
}
void Json::add(const std::string& key, bool value) {
  fields_.emplace_back(key, value ? "true" : "false");
}
void Json::add(const std::string& key, const std::optional<double>& value) {
  fields_.emplace_back(key, value ? format_double(*value) : "null");
}

std::string Json::str() const {
  std::string out = "{\n";
  for (size_t i = 0; i < fields_.size(); ++i) {
    out += "  " + quote(fields_[i].first) + ": " + fields_[i].second;
    out += i + 1 < fields_.size() ? ",\n" : "\n";
  }
  return out + "}\n";
}

void Json::write(const std::string& path) const { replace_file(path, str()); }

std::optional<double> json_number(const std::string& text, const std::string& key) {
  const auto at = value_position(text, key);
  if (at == std::string::npos || text.compare(at, 4, "null") == 0) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str() + at, &end);
  if (end == text.c_str() + at) return std::nullopt;
  return value;
}

std::optional<std::string> json_string(const std::string& text, const std::string& key) {
  const auto at = value_position(text, key);
  if (at == std::string::npos || text[at] != '"') return std::nullopt;
  std::string value;
  for (size_t i = at + 1; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    value += text[i];
  }
  return value;
}

bool json_true(const std::string& text, const std::string& key) {
  const auto at = value_position(text, key);
  return at != std::string::npos && text.compare(at, 4, "true") == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

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
