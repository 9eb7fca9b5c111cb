#pragma once

// Option checks shared by the schedulers (not installed).

#include <c10/util/Exception.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
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

/// The last iteration a scheduler's step counter reaches.
constexpr int64_t kLastReachableStep = std::numeric_limits<unsigned>::max();

/// The first iteration (up to the step counter's last) at which `finite(t, g)` fails for some
/// param group g, with that group; {int64 max, 0} when there is none. `finite` must hold up to
/// some iteration and fail from there on, as it does for an LR that grows geometrically.
template <typename Finite>
std::pair<int64_t, size_t> first_non_finite_step(size_t num_groups, Finite finite) {
  std::pair<int64_t, size_t> first{std::numeric_limits<int64_t>::max(), 0};
  for (size_t g = 0; g < num_groups; ++g) {
    if (finite(kLastReachableStep, g)) continue;
    int64_t good = -1, bad = kLastReachableStep;  // finite(good) holds, finite(bad) fails
    while (bad - good > 1) {
      const int64_t mid = good + (bad - good) / 2;
      (finite(mid, g) ? good : bad) = mid;
    }
    if (bad < first.first) first = {bad, g};
  }
  return first;
}

/// Throws when iteration `t` is at or past `first`, the iteration from which `gamma` has taken
/// the LR past the largest double.
inline void check_finite_step(const std::string& owner, const std::pair<int64_t, size_t>& first,
                              double gamma, int64_t t) {
  TORCH_CHECK(t < first.first, owner, ": expected a finite LR at every iteration, but gamma ",
              gamma, " takes param group ", first.second,
              "'s LR past the largest double at iteration ", first.first,
              "; lower gamma or stop stepping before that iteration");
}

}  // namespace detail
}  // namespace torchclr
