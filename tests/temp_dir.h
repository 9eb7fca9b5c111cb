#pragma once

// A directory of its own for one test, removed at the end: ctest runs tests in parallel, and other
// builds of the project may run the same tests on the same machine, so no test uses a fixed path.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace torchclr_test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "torchclr-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary directory from " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The path of `name` inside the directory.
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace torchclr_test
