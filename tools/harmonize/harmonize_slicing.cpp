// Window planning, gathering and scattering for harmonize.cpp.
#include "tools/harmonize/harmonize_slicing.h"

#include <algorithm>

namespace im::tools {

AxisWindows plan_axis_windows(int64_t length, int64_t size) {
  AxisWindows a;
  if (length <= size) {
    a.start = {-((size - length) / 2)};
    a.owner.assign(static_cast<size_t>(length), 0);
    return a;
  }
  // Enough evenly spaced windows that consecutive ones overlap: every position lies at least a
  // little inside some window, away from the zero padding the model sees at a window's edges.
  const int64_t count = length / size + 1;
  for (int64_t k = 0; k < count; ++k) a.start.push_back((k * (length - size) + (count - 1) / 2) / (count - 1));
  a.owner.resize(static_cast<size_t>(length));
  for (int64_t p = 0; p < length; ++p) {
    int64_t best = -1;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t s = a.start[static_cast<size_t>(k)];
      if (p < s || p >= s + size) continue;
      const int64_t depth = std::min(p - s, s + size - 1 - p);
      if (depth > best) best = depth, a.owner[static_cast<size_t>(p)] = static_cast<int>(k);
    }
  }
  return a;
}

WindowPlan::WindowPlan(const io::SliceStack& s, int64_t h, int64_t w)
    : h_(h), w_(w), rows_(plan_axis_windows(s.h, h)), cols_(plan_axis_windows(s.w, w)) {}

namespace {
// The part of window [start, start + size) inside [0, length).
inline int64_t lo(int64_t start) { return std::max<int64_t>(start, 0); }
inline int64_t hi(int64_t start, int64_t size, int64_t length) { return std::min(start + size, length); }
}  // namespace

std::vector<Patch> WindowPlan::foreground_patches(const io::SliceStack& s, float threshold) const {
  std::vector<Patch> out;
  for (int64_t i = 0; i < s.n; ++i) {
    const float* slice = s.slice(i);
    for (size_t rw = 0; rw < rows_.start.size(); ++rw)
      for (size_t cw = 0; cw < cols_.start.size(); ++cw) {
        const int64_t r0 = rows_.start[rw], c0 = cols_.start[cw];
        bool any = false;
        for (int64_t r = lo(r0); r < hi(r0, h_, s.h) && !any; ++r)
          for (int64_t c = lo(c0); c < hi(c0, w_, s.w); ++c)
            if (slice[r * s.w + c] >= threshold) {
              any = true;
              break;
            }
        if (any) out.push_back({i, static_cast<int>(rw), static_cast<int>(cw)});
      }
  }
  return out;
}

std::vector<Patch> WindowPlan::brain_patches(const io::SliceStack& m, double fraction) const {
  std::vector<Patch> out;
  for (int64_t i = 0; i < m.n; ++i) {
    const float* slice = m.slice(i);
    for (size_t rw = 0; rw < rows_.start.size(); ++rw)
      for (size_t cw = 0; cw < cols_.start.size(); ++cw) {
        const int64_t r0 = rows_.start[rw], c0 = cols_.start[cw];
        int64_t count = 0;
        for (int64_t r = lo(r0); r < hi(r0, h_, m.h); ++r)
          for (int64_t c = lo(c0); c < hi(c0, w_, m.w); ++c) count += slice[r * m.w + c] > 0.5f;
        if (count > 0 && static_cast<double>(count) >= fraction * static_cast<double>(h_ * w_))
          out.push_back({i, static_cast<int>(rw), static_cast<int>(cw)});
      }
  }
  return out;
}

void WindowPlan::gather(const io::SliceStack& s, const Patch& p, float* dst) const {
  const int64_t r0 = rows_.start[static_cast<size_t>(p.row_window)], c0 = cols_.start[static_cast<size_t>(p.col_window)];
  std::fill(dst, dst + h_ * w_, 0.f);
  const float* slice = s.slice(p.slice);
  for (int64_t r = lo(r0); r < hi(r0, h_, s.h); ++r)
    std::copy(slice + r * s.w + lo(c0), slice + r * s.w + hi(c0, w_, s.w), dst + (r - r0) * w_ + (lo(c0) - c0));
}

void WindowPlan::scatter(const float* src, const Patch& p, io::SliceStack& s) const {
  const int64_t r0 = rows_.start[static_cast<size_t>(p.row_window)], c0 = cols_.start[static_cast<size_t>(p.col_window)];
  float* slice = s.slice(p.slice);
  for (int64_t r = lo(r0); r < hi(r0, h_, s.h); ++r) {
    if (rows_.owner[static_cast<size_t>(r)] != p.row_window) continue;
    for (int64_t c = lo(c0); c < hi(c0, w_, s.w); ++c)
      if (cols_.owner[static_cast<size_t>(c)] == p.col_window) slice[r * s.w + c] = src[(r - r0) * w_ + (c - c0)];
  }
}

std::vector<Patch> every_kth_slice(const std::vector<Patch>& patches, int64_t k) {
  std::vector<Patch> out;
  for (const Patch& p : patches)
    if (is_kth_slice(p.slice, k)) out.push_back(p);
  return out.empty() ? patches : out;
}

}  // namespace im::tools
