#pragma once

// Option checks shared by the schedulers (not installed).

#include <c10/util/Exception.h>

#include <cmath>
#include <string>
#include <vector>

namespace torchclr {
namespace detail {

inline void check_positive_lrs(const std::string& owner, const char* name,
                               const std::vector<double>& lrs) {
  for (size_t g = 0; g < lrs.size(); ++g) {
    TORCH_CHECK(std::isfinite(lrs[g]) && lrs[g] > 0, owner, ": expected ", name,
                " to be positive and finite, but got ", lrs[g], " for param group ", g);
  }
}

/// An LR floor (eta_min, min_lr): finite and >= 0; it may be 0, unlike a base LR.
inline void check_floor_lrs(const std::string& owner, const char* name,
                            const std::vector<double>& lrs) {
  for (size_t g = 0; g < lrs.size(); ++g) {
    TORCH_CHECK(std::isfinite(lrs[g]) && lrs[g] >= 0, owner, ": expected ", name,
                " to be finite and >= 0, but got ", lrs[g], " for param group ", g);
  }
}

inline void check_momentums(const std::string& owner, const char* name,
                            const std::vector<double>& momentums) {
  for (size_t g = 0; g < momentums.size(); ++g) {
    TORCH_CHECK(momentums[g] >= 0 && momentums[g] < 1, owner, ": expected ", name,
                " in [0, 1), but got ", momentums[g], " for param group ", g);
  }
}

}  // namespace detail
}  // namespace torchclr
