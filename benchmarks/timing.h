// Wall-clock timing shared by the host-side benchmarks: the monotonic clock, seconds since a point,
// and the median of repeated runs. (GPU kernels are timed with CUDA events: cuda_timing.cuh.)
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

namespace im::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Seconds on the monotonic clock (differences only mean something).
inline double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace im::bench
