// Slice extraction/insertion for the three orientations, brain-slice selection, median fusion.
#include "io/slices.h"

#include <algorithm>

#include "io/error.h"
#include "io/grid.h"

namespace im::io {
namespace {

// For slice s, row r, column c (unpadded in-plane coordinates), the volume index.
struct Layout {
  int64_t n, rows, cols, s_stride, r_stride, c_stride;
};

Layout layout(const Dims& d, SliceAxis axis) {
  const int64_t sx = 1, sy = d[0], sz = d[0] * d[1];
  switch (axis) {
    case SliceAxis::sagittal: return {d[0], d[2], d[1], sx, sz, sy};
    case SliceAxis::coronal: return {d[1], d[2], d[0], sy, sz, sx};
    default: return {d[2], d[1], d[0], sz, sy, sx};
  }
}

template <class F>
void for_each_voxel(const SliceStack& st, const Layout& l, F&& f) {
#pragma omp parallel for schedule(static) if (st.n * st.h * st.w > (1 << 20))
  for (int64_t s = 0; s < l.n; ++s)
    for (int64_t r = 0; r < l.rows; ++r)
      for (int64_t c = 0; c < l.cols; ++c)
        f(s * l.s_stride + r * l.r_stride + c * l.c_stride, (s * st.h + r + st.row_offset) * st.w + c + st.col_offset);
}

}  // namespace

const char* slice_axis_name(SliceAxis a) {
  return a == SliceAxis::axial ? "axial" : a == SliceAxis::coronal ? "coronal" : "sagittal";
}

SliceStack extract_slices(const Volume& v, SliceAxis axis, int64_t multiple) {
  const Layout l = layout(v.dim, axis);
  SliceStack st;
  st.axis = axis;
  st.vol_dim = v.dim;
  st.n = l.n, st.h = round_up(l.rows, multiple), st.w = round_up(l.cols, multiple);
  st.row_offset = (st.h - l.rows) / 2, st.col_offset = (st.w - l.cols) / 2;
  st.data.assign(static_cast<size_t>(st.n * st.h * st.w), 0.0f);
  for_each_voxel(st, l, [&](int64_t vi, int64_t si) { st.data[si] = v.data[vi]; });
  return st;
}

void insert_slices(const SliceStack& st, Volume& v) {
  if (v.dim != st.vol_dim) throw Error("insert_slices: the volume's grid is not the one the slices came from");
  const Layout l = layout(v.dim, st.axis);
  for_each_voxel(st, l, [&](int64_t vi, int64_t si) { v.data[vi] = st.data[si]; });
}

std::vector<int64_t> brain_slices(const Mask& m, const Dims& d, SliceAxis axis, double min_fraction) {
  const Layout l = layout(d, axis);
  std::vector<int64_t> out;
  for (int64_t s = 0; s < l.n; ++s) {
    int64_t count = 0;
    for (int64_t r = 0; r < l.rows; ++r)
      for (int64_t c = 0; c < l.cols; ++c) count += m[s * l.s_stride + r * l.r_stride + c * l.c_stride] != 0;
    if (static_cast<double>(count) >= min_fraction * static_cast<double>(l.rows * l.cols) && count > 0) out.push_back(s);
  }
  return out;
}

Volume median_fusion(const Volume& a, const Volume& b, const Volume& c) {
  if (a.dim != b.dim || a.dim != c.dim) throw Error("median_fusion: the three volumes are on different grids");
  Volume out = zeros_like(a);
  const int64_t n = a.size();
#pragma omp parallel for schedule(static) if (n > (1 << 20))
  for (int64_t i = 0; i < n; ++i) {
    const float x = a.data[i], y = b.data[i], z = c.data[i];
    out.data[i] = std::max(std::min(x, y), std::min(std::max(x, y), z));
  }
  return out;
}

}  // namespace im::io
